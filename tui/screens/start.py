"""The start screen: pick a task and type its input, or a repository and its check; pick the policy.

Convention: every field is checked as it is typed and the error is shown under it, in place: the
input by the task's own parser (``Task.parse``, ``agent/tasks.py``: the message a headless run
would print), the repository as an existing directory, the policy by what ``--policy`` accepts
(empty for the task's shipped policy, ``teacher``, ``script:FILE``, a checkpoint path without
suffix). Start is refused until every field is valid; then the run screen opens on a ``RunSpec``
made exactly as ``tapehead tui --task ... --input ...`` makes it (``tui/cli.py``). A coding task
(one with workspace tools) or "a repository" asks for the repository and its check instead.
"""

from __future__ import annotations

import os

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

from tapehead.agent.tasks import get_task, task_names
from tapehead.tui.driver import RunSpec, check_policy, statement

REPO = "__repository__"  # the Select value for a coding run (a repository and a check command)


class StartScreen(Screen):
    CSS_PATH = "start.tcss"
    BINDINGS = [Binding("ctrl+s", "start", "Start run"), Binding("escape", "back", "Back")]

    def __init__(self, db: str | None = None):
        super().__init__()
        self.db = db

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="start-form"):
            yield Static("Start a run", id="start-title")
            yield Label("task")
            yield Select([(n, n) for n in task_names()] + [("a repository (coding)", REPO)],
                         value="addition" if "addition" in task_names() else Select.NULL, allow_blank=False,
                         id="task")
            with Vertical(id="reasoning-fields"):
                yield Label("input (in the task's own form, e.g. 123+456)")
                yield Input(placeholder="123+456", id="input")
                yield Static("", classes="error", id="input-error")
            with Vertical(id="coding-fields"):
                yield Label("repository (a directory: the agent works on a scratch copy)")
                yield Input(placeholder="path/to/project", id="repo")
                yield Static("", classes="error", id="repo-error")
                yield Label("check command (what must pass)")
                yield Input(placeholder="python main.py", id="check")
                yield Static("", classes="error", id="check-error")
            yield Label("policy (empty: the task's shipped policy; teacher; script:FILE; a checkpoint path)")
            yield Input(placeholder="", id="policy")
            yield Static("", classes="error", id="policy-error")
            with Horizontal(id="start-buttons"):
                yield Button("Start [ctrl+s]", variant="primary", id="start")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "new run"
        self._mode()
        self.query_one("#input", Input).focus()

    @property
    def task(self) -> str | None:
        v = self.query_one("#task", Select).value
        return None if v in (REPO, Select.NULL) else str(v)

    @property
    def coding(self) -> bool:
        """A repository run: no task, or a coding task (one that gives workspace tools)."""
        return self.task is None or hasattr(get_task(self.task), "tools")

    def _mode(self) -> None:
        coding = self.coding
        self.query_one("#reasoning-fields").display = not coding
        self.query_one("#coding-fields").display = coding

    def on_select_changed(self, event: Select.Changed) -> None:
        self._mode()
        self.validate()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.validate(only=event.input.id)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    def errors(self) -> dict[str, str]:
        """Field id -> error message, for every invalid field."""
        v = {i: self.query_one(f"#{i}", Input).value.strip() for i in ("input", "repo", "check", "policy")}
        out: dict[str, str] = {}
        task = self.task
        if not self.coding:
            if not v["input"]:
                out["input"] = "type the problem"
            else:
                try:
                    get_task(task).parse(v["input"])
                except ValueError as e:
                    out["input"] = str(e)
        else:
            if not v["repo"]:
                out["repo"] = "type a directory"
            elif not os.path.isdir(v["repo"]):
                out["repo"] = f"no such directory: {v['repo']}"
            if not v["check"]:
                out["check"] = "type the command that must pass, e.g. python main.py"
            elif task is not None:
                try:
                    get_task(task).parse(statement(v["check"]))
                except ValueError as e:
                    out["check"] = str(e)
        msg = check_policy(v["policy"], task)
        if msg:
            out["policy"] = msg
        return out

    def validate(self, only: str | None = None) -> dict[str, str]:
        errs = self.errors()
        for field in ("input", "repo", "check", "policy"):
            if only is None or only == field:
                self.query_one(f"#{field}-error", Static).update(errs.get(field, ""))
        return errs

    def action_start(self) -> None:
        errs = self.validate()
        if errs:
            self.notify("fix the fields marked in red first", severity="warning", timeout=4)
            return
        v = {i: self.query_one(f"#{i}", Input).value.strip() for i in ("input", "repo", "check", "policy")}
        if not self.coding:
            spec = RunSpec(task=self.task, input=v["input"], policy=v["policy"] or None, db=self.db)
        else:
            spec = RunSpec(task=self.task, input=statement(v["check"]), workspace=v["repo"], check=v["check"],
                           policy=v["policy"] or None, db=self.db)
        self.app.open_run(spec)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_start()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
