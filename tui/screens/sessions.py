"""The sessions screen: list, open, resume and delete the agent's sessions.

Convention: the rows are ``SessionIndex``'s (``agent/graph/sessions.py``), the same as ``tapehead
sessions`` lists, in a Textual ``DataTable`` (row cursor). Opening a finished session steps
through its trajectory (``screens/inspect.py``); opening an unfinished one -- still running,
killed, paused, waiting for approval -- resumes it on a run screen, as ``tapehead run --resume``
does. Deleting asks first, then removes what ``sessions delete`` removes.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from tapehead.agent.cli.common import short
from tapehead.tui import records
from .confirm import ConfirmModal

COLUMNS = ("id", "task", "input", "status", "tokens", "steps", "answer", "updated")


class SessionsScreen(Screen):
    CSS_PATH = "sessions.tcss"
    BINDINGS = [
        Binding("enter,o", "open", "Open"),
        Binding("r", "resume", "Resume"),
        Binding("d,delete", "delete", "Delete"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, db: str | None = None):
        super().__init__()
        from tapehead.agent.graph.sessions import default_db

        self.db = db or default_db()
        self.rows: list[dict] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="sessions-note")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="sessions-table")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"sessions · {self.db}"
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self.reload()
        table.focus()

    def reload(self) -> None:
        table = self.query_one(DataTable)
        keep = (self.current or {}).get("thread_id")  # the cursor stays on its session
        table.clear()
        note = self.query_one("#sessions-note", Static)
        if not records.exists(self.db):
            self.rows = []
            note.update(f"no sessions yet ({self.db}): n starts a run")
            return
        saver, index = records.open_index(self.db)
        try:
            self.rows = list(reversed(index.list()))  # newest first
        finally:
            saver.conn.close()
        for r in self.rows:
            table.add_row(r["thread_id"], r["task"] or "-", short(r["input"] or "", 30), r["status"],
                          str(r["tokens"]), str(r["steps"]), short(r["answer"] or "", 24),
                          time.strftime("%m-%d %H:%M:%S", time.localtime(r["updated"])), key=r["thread_id"])
        ids = [r["thread_id"] for r in self.rows]
        if keep in ids:
            table.move_cursor(row=ids.index(keep))
        note.update(f"{len(self.rows)} session(s) · enter opens (a finished one steps through its trajectory; "
                    "an unfinished one resumes) · r resumes · d deletes")

    @property
    def current(self) -> dict | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def check_action(self, action: str, parameters) -> bool | None:
        if action in ("open", "resume", "delete"):
            row = self.current
            if row is None:
                return None
            if action == "resume":
                return row["status"] in records.UNFINISHED or None
        return True

    def action_open(self) -> None:
        row = self.current
        if row is None:
            return
        if row["status"] in records.UNFINISHED:
            self.action_resume()
            return
        from .inspect import InspectScreen

        self.app.push_screen(InspectScreen(self.db, row["thread_id"]))

    def action_resume(self) -> None:
        from tapehead.tui.driver import RunSpec

        row = self.current
        if row is not None:
            self.app.open_run(RunSpec(resume=row["thread_id"], db=self.db))

    def action_delete(self) -> None:
        row = self.current
        if row is None:
            return
        tid = row["thread_id"]

        def delete(yes: bool | None) -> None:
            if not yes:
                return
            saver, index = records.open_index(self.db)
            try:
                note = index.delete(tid)
            finally:
                saver.conn.close()
            self.notify(f"deleted {tid}: {note}", timeout=6)
            self.reload()

        self.app.push_screen(ConfirmModal(f"Delete session {tid} (checkpoints, workspace copy, trajectory)?",
                                          "Delete"), delete)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def on_screen_resume(self) -> None:
        self.reload()  # a run may have changed or added sessions meanwhile
