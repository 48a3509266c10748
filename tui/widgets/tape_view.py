"""The tape view: the pointer tape's memory around each head, live from ``TapeSnapshot`` events.

Convention: a snapshot is ``PointerTape.snapshot(window=W)`` (``tools/memory/pointer_tape.py``):
``length``, ``heads`` (a position per head, 0-based), ``ops`` and ``windows`` of symbols around
the heads. Each window is drawn as a row of cells (special tokens shortened to one reversed
letter: ``[BOS]`` -> B, ``[ANS]`` -> A) with the heads marked under their cells, one colour per
head; positions outside every window are not shown (a 100,000-digit tape stays one screen).
``MemorySnapshot`` events (the search memory) are shown under it as JSON.
"""

from __future__ import annotations

import json

from rich.text import Text
from textual.widgets import Static

HEAD_STYLES = ("bold #e07000", "bold #2a7de1", "bold #b040c0", "bold #1a9f47", "bold #c0a000", "bold #d03030")


def cell(symbol: str) -> tuple[str, str]:
    """(one character, style) for a tape symbol."""
    if len(symbol) == 1:
        return symbol, ""
    if symbol.startswith("[") and len(symbol) > 2:
        return symbol[1], "reverse"
    return "?", "reverse"


def merged(windows: list[dict]) -> list[dict]:
    """Overlapping or touching windows as one (heads close together share their window)."""
    out: list[dict] = []
    for w in sorted(windows, key=lambda w: int(w.get("start", 0))):
        start, symbols = int(w.get("start", 0)), list(w.get("symbols") or [])
        if out and start <= out[-1]["start"] + len(out[-1]["symbols"]):
            last = out[-1]
            overlap = last["start"] + len(last["symbols"]) - start
            last["symbols"] = last["symbols"] + symbols[overlap:]
        else:
            out.append({"start": start, "symbols": symbols})
    return out


def render_tape(snap: dict | None, memory: dict[str, dict] | None = None, width: int = 48) -> Text:
    """The snapshot as rows of at most ``width`` cells, each with its head marks under it."""
    t = Text()
    if not snap:
        t.append("no tape yet", style="dim")
        return t
    heads = list(snap.get("heads") or [])
    t.append(f"{snap.get('length', 0)} cells · {snap.get('ops', 0)} ops · heads", style="dim")
    for h, pos in enumerate(heads):
        t.append("  ")
        t.append(f"p{h + 1}@{pos}", style=HEAD_STYLES[h % len(HEAD_STYLES)])
    windows = snap.get("windows")
    if windows is None and "memory" in snap:
        windows = [{"start": 0, "symbols": snap["memory"]}]
    per_row = max(8, width - 9)
    rows = [(w["start"] + i, w["symbols"][i:i + per_row]) for w in merged(windows or [])
            for i in range(0, max(1, len(w["symbols"])), per_row)]
    for start, symbols in rows:
        t.append(f"\n{start:>7} ", style="dim")
        for s in symbols:
            ch, style = cell(str(s))
            t.append(ch, style=style)
        marks = Text(" " * 8)
        for i in range(len(symbols)):
            here = [h for h, pos in enumerate(heads) if pos == start + i]
            if not here:
                marks.append(" ")
            elif len(here) == 1:
                marks.append(str(here[0] + 1), style=HEAD_STYLES[here[0] % len(HEAD_STYLES)])
            else:
                marks.append("*", style="bold")
        t.append("\n")
        t.append_text(marks)
    for name, m in (memory or {}).items():
        t.append(f"\n{name}: ", style="bold")
        t.append(json.dumps(m, ensure_ascii=False)[:400], style="dim")
    return t


class TapeView(Static):
    DEFAULT_CSS = """
    TapeView { height: auto; min-height: 5; max-height: 50%; border: round $primary 40%; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self, *, id: str | None = None):
        super().__init__(render_tape(None), id=id)
        self.border_title = "tape"
        self.snapshot: dict | None = None
        self.memory: dict[str, dict] = {}

    def show(self, snap: dict | None, memory: dict[str, dict] | None = None) -> None:
        if snap is not None:
            self.snapshot = snap
        if memory:
            self.memory.update(memory)
        self.update(render_tape(self.snapshot, self.memory, self.content_size.width or 48))

    def on_resize(self) -> None:
        self.show(None)
