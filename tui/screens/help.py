"""Help (F1 or ``?``): the keys of the screen below, the app's keys, and the trace's colours.

Convention: the keys are read from the live bindings (``Screen.active_bindings`` of the screen the
help was opened over), so the help never disagrees with the footer; the colour legend is drawn
with the same styles as the trace (``tui/palette.py``).
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tapehead.tui import palette

ABOUT = ("tapehead's terminal UI: a small Mamba-2 policy reasons with a pointer tape (or codes in a scratch copy "
         "of your repository) and you watch and steer it. Every run is a session: quit at any moment and "
         "`tapehead tui --resume ID` (or `tapehead run --resume ID`) continues it.")


def key_rows(screen: Screen) -> list[tuple[str, str]]:
    """(key, what it does) for every described binding active on ``screen`` (app's included): the
    footer's first, then the rest (scrolling, focus) in their order."""
    rows, seen = [], set()
    for active in screen.active_bindings.values():
        b = active.binding
        if b.description and (b.action, b.description) not in seen:
            seen.add((b.action, b.description))
            rows.append((not b.show, screen.app.get_key_display(b), b.description))
    return [(key, what) for _, key, what in sorted(rows, key=lambda r: r[0])]


def keys_table(screen: Screen) -> Table:
    t = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    t.add_column("key", no_wrap=True)
    t.add_column("action")
    for key, what in key_rows(screen):
        t.add_row(key, what)
    return t


def legend(dark: bool) -> Text:
    t = Text()
    st = palette.styles(dark)
    for kind, what in (("input", "the problem"), ("thought", "thoughts (the tape's memory)"),
                       ("output", "the answer, after [ANS]"), ("command", "tape commands and tool calls"),
                       ("observation", "what the tools answered")):
        t.append(f" {kind} ", style=st[kind])
        t.append(f" {what}\n")
    return t


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,f1,question_mark,q", "close", "Close")]

    def __init__(self, under: Screen):
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        dark = self.app.current_theme.dark
        with Vertical(id="help-box") as box:
            box.border_title = "help"
            with VerticalScroll():
                yield Static(ABOUT, id="help-about")
                yield Static(Text("keys here", style="bold underline"))
                yield Static(keys_table(self.under), id="help-keys")
                yield Static(Text("\nthe trace's colours", style="bold underline"))
                yield Static(legend(dark), id="help-legend")
                yield Static("ctrl+p opens the command palette: every action of the app, by name.", id="help-palette")

    def action_close(self) -> None:
        self.dismiss(None)
