"""The trace, block by block, coloured by kind: the run screen's and the inspector's main view.

Convention: a ``BlockLog`` (``tui/widgets/block_log.py``, Textual's Line API: only visible lines
are drawn, so a trace of 100,000 tokens scrolls as fast as one of 100) holds the finished blocks
of ``tui/blocks.py``; the block still growing sits in a short tail under it. The view
follows the tail while the user is at the bottom and stays put once they scroll up (``End``
follows again). Colours come from ``tui/palette.py``; a theme change re-renders every block.
"""

from __future__ import annotations

import bisect

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tapehead.tui import palette
from tapehead.tui.blocks import Block, BlockBuilder
from .block_log import BlockLog

GUTTER = 7  # width of the block label column
MAX_OBS_LINES = 12  # an observation longer than this is cut here (the calls panel has it all)
MAX_BLOCKS = 20_000  # blocks kept for display (a 100,000-digit run has ~10x more)


def render_block(block: Block, names, dark: bool, max_lines: int = MAX_OBS_LINES) -> Table:
    """One block: its label in the gutter, then its tokens in their kinds' colours (special tokens
    by name, bytes as characters; call and observation spans as text), wrapped under itself."""
    st = palette.styles(dark)
    text = Text(overflow="fold")
    span = block.label in ("call", "obs", "input")
    for t, k in zip(block.tokens, block.kinds):
        name = names[t]
        if t < 256:
            ch = name if t < 128 else "\N{REPLACEMENT CHARACTER}"
            text.append(ch if span or k != "observation" else f"{ch} ", style=st[k])
        else:
            text.append(f"{name} " if not span or name in ("[CALL]", "[OBS]") else name, style=st[k])
    if block.label in ("call", "obs"):
        lines = text.split("\n", allow_blank=True)
        if len(lines) > max_lines:
            text = Text("\n").join(lines[:max_lines])
            text.append(f"\n… {len(lines) - max_lines} more lines", style="dim")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=GUTTER - 1, justify="right", no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(Text(block.label, style=palette.label_style(block.label, dark)), text)
    return grid


class TraceView(Vertical):
    """Feed it ``add(start, tokens, kinds)``; ``finish()`` when the run ended."""

    DEFAULT_CSS = """
    TraceView { height: 1fr; }
    TraceView > BlockLog { height: 1fr; }
    TraceView > #trace-tail { height: auto; max-height: 4; padding: 0 0; background: $surface; }
    """
    BINDINGS = [("end", "follow", "Follow")]

    def __init__(self, names, *, id: str | None = None):
        super().__init__(id=id)
        self.names = names
        self.builder = BlockBuilder(names)

    def compose(self) -> ComposeResult:
        yield BlockLog(lambda b, dark: render_block(b, self.names, dark), id="trace-log")
        yield Static("", id="trace-tail")

    @property
    def log(self) -> BlockLog:
        return self.query_one(BlockLog)

    @property
    def blocks(self) -> list[Block]:
        return self.log.items

    def on_mount(self) -> None:
        self.log.dark_ = self.app.current_theme.dark
        self.watch(self.app, "theme", lambda *_: self._theme(), init=False)

    def _theme(self) -> None:
        self.log.set_dark(self.app.current_theme.dark)
        self._show_tail()

    def add(self, start: int, tokens: list[int], kinds: list[str]) -> None:
        self._write(self.builder.feed(start, tokens, kinds))
        self._show_tail()

    def finish(self) -> None:
        self._write(self.builder.finish())
        self._show_tail()

    def _write(self, done: list[Block]) -> None:
        if not done:
            return
        log = self.log
        follow = log.at_end or not log.laid_out  # at the bottom: follow; scrolled up: stay put
        log.append(done)
        self.builder.closed.clear()  # the log holds them (bounded)
        if len(log.items) > MAX_BLOCKS:  # memory stays bounded on huge runs
            log.drop_first(len(log.items) - MAX_BLOCKS)
        if follow:
            log.scroll_end(animate=False, immediate=False)

    def _show_tail(self) -> None:
        b = self.builder.open
        self.query_one("#trace-tail", Static).update(
            render_block(b, self.names, self.log.dark_, max_lines=3) if b is not None else "")

    def action_follow(self) -> None:
        self.log.scroll_end(animate=False)

    def block_at(self, index: int) -> int | None:
        """The position in ``log.items`` of the block holding trace index ``index``."""
        items = self.log.items
        i = bisect.bisect_right([b.start for b in items], index) - 1
        return i if 0 <= i < len(items) and index < items[i].end else None

    def show_index(self, index: int) -> None:
        """Highlight the block holding trace index ``index`` and scroll it into view."""
        self.log.select(self.block_at(index))
