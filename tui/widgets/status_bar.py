"""The status bar: tokens, tool calls, tokens/s, the policy's state size, elapsed time, status.

Convention: the figures are the latest ``Stats`` event's (``agent/graph/events.py``): ``tokens`` is
the trace length (prompt included), ``tokens_per_s`` the last step's decode rate, ``state_bytes`` the
policy's recurrent state (constant for an SSM: the paper's point), ``seconds`` the running time
over all resumes (time waiting for approval excluded). ``status`` is the run's: running, paused,
awaiting approval, stopped, or its exit status.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tapehead.agent.graph import events as ev

STATUS_STYLE = {"running": "bold green", "eos": "bold green", "awaiting approval": "bold yellow",
                "paused": "bold yellow", "stopped": "bold yellow", "starting": "italic"}


def size_text(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} B"


def render_status(stats: ev.Stats | None, status: str, prompt_len: int = 0) -> Text:
    t = Text()
    t.append(f" {status} ", style=STATUS_STYLE.get(status, "bold red") + " reverse")
    if stats is not None:
        parts = [f"{max(0, stats.tokens - prompt_len):,} tokens", f"{stats.tool_calls:,} tool calls"]
        if stats.malformed:
            parts.append(f"{stats.malformed} malformed")
        if stats.tokens_per_s:
            parts.append(f"{stats.tokens_per_s:,.0f} tok/s")
        parts += [f"state {size_text(stats.state_bytes)}", f"{stats.seconds:.1f} s", f"{stats.steps} step{'s' if stats.steps != 1 else ''}"]
        t.append("  " + " · ".join(parts))
    return t


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; }
    """

    def __init__(self, *, id: str | None = None):
        super().__init__(render_status(None, "starting"), id=id)
        self.stats: ev.Stats | None = None
        self.status = "starting"
        self.prompt_len = 0

    def show(self, stats: ev.Stats | None = None, status: str | None = None) -> None:
        if stats is not None:
            self.stats = stats
        if status is not None:
            self.status = status
        self.update(render_status(self.stats, self.status, self.prompt_len))
