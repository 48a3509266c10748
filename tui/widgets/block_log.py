"""A scrolling log of blocks on Textual's Line API: only visible lines are drawn.

Convention (Textual's ``ScrollView`` + ``render_line``, as ``RichLog`` and ``Log`` do): every block
is rendered once to wrapped ``Strip`` lines at the widget's width (again after a resize or a theme
change); ``offsets[i]`` is the first line of block ``i``, so finding a block's line, drawing line
``y`` and highlighting one block (the inspector's selected call) are lookups, whatever the length
of the trace. ``render`` is the caller's ``(block, dark) -> Text``.
"""

from __future__ import annotations

import bisect
from typing import Callable

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class BlockLog(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    BlockLog { background: $surface; scrollbar-gutter: stable; }
    BlockLog > .block-log--selected { background: $primary 25%; }
    """
    COMPONENT_CLASSES = {"block-log--selected"}

    def __init__(self, render: Callable[[object, bool], Text], *, id: str | None = None):
        super().__init__(id=id)
        self.render_fn = render
        self.items: list = []
        self.strips: list[list[Strip]] = []  # per item, at self.width_
        self.offsets: list[int] = [0]
        self.width_ = 0
        self.dark_ = True
        self.selected: int | None = None

    # --- content ----------------------------------------------------------------------------------
    def append(self, items: list) -> None:
        for it in items:
            self.items.append(it)
            if self.width_:
                s = self._render(it)
                self.strips.append(s)
                self.offsets.append(self.offsets[-1] + len(s))
        self._sized()

    def drop_first(self, n: int) -> None:
        del self.items[:n]
        self.relayout()

    def clear(self) -> None:
        self.items, self.strips, self.offsets, self.selected = [], [], [0], None
        self._sized()
        self.refresh()

    def relayout(self) -> None:
        """Render every item again (a new width or theme)."""
        self.strips = [self._render(it) for it in self.items] if self.width_ else []
        self.offsets = [0]
        for s in self.strips:
            self.offsets.append(self.offsets[-1] + len(s))
        self._sized()
        self.refresh()

    def _render(self, item) -> list[Strip]:
        console = self.app.console
        lines = console.render_lines(self.render_fn(item, self.dark_), console.options.update_width(self.width_),
                                     pad=False)
        return [Strip(line).adjust_cell_length(self.width_) for line in lines] or [Strip.blank(self.width_)]

    def _sized(self) -> None:
        self.virtual_size = Size(self.width_, self.offsets[-1])

    def on_resize(self) -> None:
        w = self.scrollable_content_region.width
        if w and w != self.width_:
            self.width_ = w
            self.relayout()

    def set_dark(self, dark: bool) -> None:
        if dark != self.dark_:
            self.dark_ = dark
            self.relayout()

    # --- positions ----------------------------------------------------------------------------------
    @property
    def laid_out(self) -> bool:
        return len(self.strips) == len(self.items) and self.width_ > 0

    def line_of(self, i: int) -> int:
        return self.offsets[i]

    def item_at_line(self, y: int) -> int | None:
        i = bisect.bisect_right(self.offsets, y) - 1
        return i if 0 <= i < len(self.strips) else None

    @property
    def at_end(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1

    def select(self, i: int | None, scroll: bool = True) -> None:
        self.selected = i
        if scroll and i is not None and self.laid_out:
            self.scroll_to(y=max(0, self.offsets[i] - self.size.height // 3), animate=False)
        self.refresh()

    # --- drawing ----------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line = scroll_y + y
        i = self.item_at_line(line)
        if i is None:
            return Strip.blank(self.size.width, self.rich_style)
        strip = self.strips[i][line - self.offsets[i]]
        if i == self.selected:
            strip = strip.apply_style(self.get_component_rich_style("block-log--selected"))
        strip = strip.apply_style(self.rich_style)  # the widget's own background beneath everything
        return strip.crop_extend(scroll_x, scroll_x + self.size.width, self.rich_style)

