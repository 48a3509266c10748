"""The inspector: step through a finished session's trajectory, call by call.

Convention (after mini-swe-agent's inspector, which steps through an agent's turns): the steps
are the trace's calls (``tui/records.py``: tape commands and ``[CALL]`` spans, joined to the tool
node's records); the cursor moves next/previous, to the first or last, or to the first error
(an ``[ERR]``, an ``error:`` observation, a failed or denied call). For the selected step the
trace highlights its block, a panel gives the call in full (arguments, observation, decision,
duration), and for tape tasks the tape view shows the memory and heads as they were right after
it (rebuilt from the recorded tokens by ``Episode.resume``).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from tapehead.agent.cli.common import short
from tapehead.tui import records
from tapehead.tui.widgets.tape_view import TapeView
from tapehead.tui.widgets.trace_view import TraceView

TAPE_LIMIT = 400_000  # tokens: beyond this the tape at a step is not rebuilt on every move


def render_step(n: int, total: int, s: records.Step) -> Text:
    t = Text()
    t.append(f"step {n + 1}/{total}", style="bold")
    t.append(f" · token {s.index} · {s.tool}" + (f" ({s.category})" if s.category else "") + "\n")
    t.append("call: ", style="bold")
    t.append(f"{s.call}\n")
    if s.approved is not None:
        t.append("decision: ", style="bold")
        t.append("approved" if s.approved else "denied", style="green" if s.approved else "red")
        if s.seconds is not None:
            t.append(f" · {s.seconds:.3f} s", style="dim")
        t.append("\n")
    t.append("observation: ", style="bold")
    t.append(s.observation if s.observation is not None else "(none)", style="red" if s.error else "")
    return t


class InspectScreen(Screen):
    CSS_PATH = "inspect.tcss"
    BINDINGS = [
        Binding("j,down", "next", "Next call"),
        Binding("k,up", "previous", "Previous call"),
        Binding("e", "first_error", "First error"),
        Binding("g,home", "first", "First", show=False),
        Binding("G,end", "last", "Last", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, db: str, thread_id: str):
        super().__init__()
        from tapehead.agent import models

        self.db, self.thread_id = db, thread_id
        self.codec = models.codec()
        saver, index = records.open_index(db)
        try:
            self.session = records.load(saver, index, thread_id)
        finally:
            saver.conn.close()
        self.steps = records.steps(self.codec, self.session.trajectory)
        self.cursor = 0

    def compose(self) -> ComposeResult:
        traj = self.session.trajectory
        yield Header()
        yield Static(self._summary(), id="inspect-summary")
        with Horizontal(id="inspect-main"):
            yield DataTable(cursor_type="row", id="steps")
            with Vertical(id="inspect-side"):
                yield TraceView(self.codec.symbols, id="inspect-trace")
                with VerticalScroll(id="step-box"):
                    yield Static("", id="step-detail")
                if self.codec.heads and not (traj.meta.get("run") or {}).get("workspace"):
                    yield TapeView(id="inspect-tape")
        yield Footer()

    def _summary(self) -> Text:
        traj, row = self.session.trajectory, self.session.row
        t = Text()
        t.append(f"{row['thread_id']}", style="bold")
        t.append(f" · {row['task'] or 'no task'} · {short(row['input'] or '', 40)} · exit {self.session.status}"
                 f" · {len(traj.tokens) - traj.prompt_len:,} tokens · {len(self.steps):,} calls"
                 f" · answer {short(traj.answer, 40)!r}")
        errors = sum(1 for s in self.steps if s.error)
        if errors:
            t.append(f" · {errors} error(s)", style="bold red")
        return t

    def on_mount(self) -> None:
        self.sub_title = f"inspect · {self.thread_id}"
        traj = self.session.trajectory
        trace = self.query_one(TraceView)
        kinds = [k.value for k in self.codec.kinds(traj.tokens, traj.prompt_len)]
        trace.add(0, list(traj.tokens), kinds)
        trace.finish()
        table = self.query_one(DataTable)
        table.add_columns("#", "token", "tool", "call", "observation")
        table.add_rows([(str(i + 1), str(s.index), s.tool, short(s.call, 40),
                         Text(short((s.observation or "").replace("\n", " "), 40), style="red" if s.error else ""))
                        for i, s in enumerate(self.steps)])
        table.focus()
        self.call_after_refresh(self.select, 0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row != self.cursor:
            self.select(event.cursor_row, move_table=False)

    def select(self, n: int, move_table: bool = True) -> None:
        if not self.steps:
            self.query_one("#step-detail", Static).update(Text("this trajectory has no calls", style="dim"))
            return
        n = max(0, min(n, len(self.steps) - 1))
        self.cursor = n
        s = self.steps[n]
        if move_table:
            self.query_one(DataTable).move_cursor(row=n)
        self.query_one(TraceView).show_index(s.index)
        self.query_one("#step-detail", Static).update(render_step(n, len(self.steps), s))
        tapes = self.query(TapeView)
        traj = self.session.trajectory
        if tapes and len(traj.tokens) <= TAPE_LIMIT:
            end = s.index + (2 if s.observation is not None and s.tool == "tape" else 1)
            tapes.first().show(records.tape_at(self.codec, traj, end))

    def action_next(self) -> None:
        self.select(self.cursor + 1)

    def action_previous(self) -> None:
        self.select(self.cursor - 1)

    def action_first(self) -> None:
        self.select(0)

    def action_last(self) -> None:
        self.select(len(self.steps) - 1)

    def action_first_error(self) -> None:
        n = next((i for i, s in enumerate(self.steps) if s.error), None)
        if n is None:
            self.notify("no errors in this trajectory", timeout=4)
        else:
            self.select(n)

    def action_back(self) -> None:
        self.app.pop_screen()
