"""Colours of the trace kinds, readable on dark and on light terminals.

Convention: on a dark theme the colours are exactly ``tapehead solve --trace``'s (``Codec.STYLES``,
the paper's Figure 2: input yellow, thoughts blue, outputs purple, commands orange, observations
green); on a light theme the same hues, darkened until they read on a white background. The
app's theme decides (``App.current_theme.dark``); widgets re-render when it changes.
"""

from __future__ import annotations

from rich.style import Style

from tapehead.agent.trace.codec import Codec

DARK = {k.value: s for k, s in Codec.STYLES.items()}
LIGHT = {
    "input": "bold #8a5a00", "thought": "#1f4fd1", "ans": "bold white on #1f4fd1", "output": "bold #9b1d8f",
    "command": "#b34700", "observation": "#1a7f37", "eos": "bold white on #9b1d8f", "invalid": "bold white on #c62828",
}
# block labels (``tui/blocks.py``) take the colour of the kind they are mostly made of
LABEL_KIND = {"input": "input", "tape": "command", "think": "thought", "answer": "output", "call": "command",
              "obs": "observation", "end": "eos"}


def styles(dark: bool) -> dict[str, Style]:
    return {k: Style.parse(v) for k, v in (DARK if dark else LIGHT).items()}


def label_style(label: str, dark: bool) -> Style:
    s = styles(dark)[LABEL_KIND.get(label, "invalid")]
    return Style(color=s.color if s.bgcolor is None else s.bgcolor, bold=True)
