"""The workspace panel of a coding run: changed files, the diff, the last run's output, the decision.

Convention: the scratch copy's state comes from the ``Workspace`` API (``changes()``,
``diff_text()``, ``tools/workspace/workspace.py``), read by the driver in the worker thread
between runs (``RunDriver._workspace_state``: never while a tool step may be using the copy's
index); the last run's output is the latest ``ToolResult`` of an ``exec`` tool, live. The diff is
drawn with rich's ``Syntax`` ("diff" lexer). The user's decision -- accept, discard, undo -- is
the run screen's (its bindings); this panel shows the result.
"""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

STATUS_STYLE = {"A": "bold green", "M": "bold yellow", "D": "bold red", "T": "bold magenta"}
OUTPUT_LINES = 30


def render_changes(state: dict | None, note: str = "") -> Text:
    t = Text()
    if state is None:
        t.append("the workspace is shown when the run pauses or ends", style="dim")
        return t
    t.append(f"{state.get('source', '')}\n", style="bold")
    if state.get("closed"):
        t.append("discarded: the scratch copy is gone\n", style="dim")
    elif state.get("error"):
        t.append(f"error: {state['error']}\n", style="red")
    elif not state.get("changes"):
        t.append("no changes\n", style="dim")
    for status, path in state.get("changes") or []:
        t.append(f"{status} ", style=STATUS_STYLE.get(status, "bold"))
        t.append(f"{path}\n")
    if state.get("accepts"):
        t.append(f"accepted {state['accepts']} time(s) into your tree\n", style="green")
    if note:
        t.append(note, style="italic")
    return t


def render_output(text: str | None) -> Text:
    if not text:
        return Text("no run yet", style="dim")
    lines = text.rstrip("\n").split("\n")
    shown = "\n".join(lines[-OUTPUT_LINES:])
    return Text(("…\n" if len(lines) > OUTPUT_LINES else "") + shown)


class WorkspacePanel(Vertical):
    DEFAULT_CSS = """
    WorkspacePanel { height: 2fr; }
    WorkspacePanel > #ws-files { height: auto; max-height: 10; border: round $primary 40%; padding: 0 1; }
    WorkspacePanel > #ws-diff { height: 1fr; border: round $primary 40%; }
    WorkspacePanel > #ws-output { height: auto; max-height: 12; border: round $primary 40%; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.state: dict | None = None
        self.last_output: str | None = None
        self.note = ""

    def compose(self) -> ComposeResult:
        files = Static(render_changes(None), id="ws-files")
        files.border_title = "changed files"
        yield files
        diff = VerticalScroll(Static("", id="ws-diff-text"), id="ws-diff")
        diff.border_title = "diff"
        yield diff
        output = Static(render_output(None), id="ws-output")
        output.border_title = "last run"
        yield output

    def show_state(self, state: dict | None, note: str = "") -> None:
        self.state, self.note = state, note
        self.query_one("#ws-files", Static).update(render_changes(state, note))
        diff = (state or {}).get("diff") or ""
        self.query_one("#ws-diff-text", Static).update(
            Syntax(diff, "diff", theme="ansi_dark" if self.app.current_theme.dark else "ansi_light", word_wrap=True)
            if diff else Text("no diff", style="dim"))

    def show_output(self, text: str) -> None:
        self.last_output = text
        self.query_one("#ws-output", Static).update(render_output(text))

    @property
    def has_changes(self) -> bool:
        return bool(self.state and self.state.get("changes") and not self.state.get("closed"))
