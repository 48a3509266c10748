"""The run screen: the live trace, the tool calls, the tape or the workspace, and the status bar.

Convention: the screen owns a ``RunDriver`` (``tui/driver.py``) and runs it in a Textual thread
worker (group ``agent``, exclusive); the worker only fills the driver's ``Batch`` and the screen
drains it every ``1/REFRESH_HZ`` s (``tui/batch.py``), so the policy's decode rate does not depend
on how fast the terminal draws. When the worker returns, its ``Outcome`` decides what comes next:
the approval modal (``screens/approval.py``), the end of the run (for coding: the diff to accept
or discard), a pause. Layout after Textual's examples: one ``Horizontal`` of the trace and a side
column, the status bar and the footer; ``run.tcss`` styles it.
"""

from __future__ import annotations

from functools import partial

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState, get_current_worker

from tapehead.agent.graph import events as ev
from tapehead.tui.batch import REFRESH_HZ
from tapehead.tui.driver import UNSET, Outcome, RunDriver
from tapehead.tui.widgets.status_bar import StatusBar
from tapehead.tui.widgets.tape_view import TapeView
from tapehead.tui.widgets.tool_calls import ToolCallPanel
from tapehead.tui.widgets.trace_view import TraceView
from tapehead.tui.widgets.workspace_panel import WorkspacePanel
from .approval import Answer, ApprovalModal
from .confirm import ConfirmModal

BUSY = ("starting", "running", "pausing", "stopping")


class RunScreen(Screen):
    CSS_PATH = "run.tcss"
    BINDINGS = [
        Binding("space", "toggle_pause", "Pause/Resume"),
        Binding("x", "stop", "Stop"),
        Binding("a", "accept", "Accept diff"),
        Binding("d", "discard", "Discard diff"),
        Binding("u", "undo", "Undo accept"),
        Binding("end", "follow", "Follow", show=False),
    ]

    def __init__(self, driver: RunDriver, *, names=None):
        super().__init__()
        from tapehead.agent import models

        self.driver = driver
        self.names = names or models.codec().symbols
        self.status = "starting"
        self.worker: Worker | None = None
        self.approvals = 0  # answered from the modal (for tests and the summary)

    # --- layout ---------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="run-main"):
            yield TraceView(self.names, id="trace")
            with Vertical(id="side", classes="coding" if self.driver.spec.coding else "tape"):
                yield ToolCallPanel(id="calls")
                if self.driver.spec.coding:
                    yield WorkspacePanel(id="workspace")
                else:
                    yield TapeView(id="tape")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        s = self.driver.spec
        self.title = "tapehead"
        self.sub_title = " · ".join(x for x in (s.task or ("coding" if s.coding else ""), s.resume or s.thread) if x)
        self.set_interval(1 / REFRESH_HZ, self.pump)
        self.start()

    # --- the worker -------------------------------------------------------------------------------
    def start(self, answer=UNSET) -> None:
        self.set_status("running" if self.status != "starting" else "starting")
        self.worker = self.run_worker(partial(self._work, answer), thread=True, group="agent", exclusive=True,
                                      exit_on_error=False)

    def _work(self, answer) -> Outcome:
        return self.driver.run(answer, worker=get_current_worker())

    @property
    def busy(self) -> bool:
        return self.worker is not None and self.worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "agent" and event.state == WorkerState.SUCCESS:
            self.pump()
            self.outcome(event.worker.result)
        elif event.worker.group == "agent" and event.state == WorkerState.ERROR:
            self.set_status("error")
            self.notify(str(event.worker.error), severity="error", timeout=10)
        elif event.worker.group == "decide" and event.state == WorkerState.SUCCESS:
            text, ok, state = event.worker.result
            self.workspace_state(state, text)
            self.notify(text, severity="information" if ok else "error", timeout=8)
            self.refresh_bindings()

    def outcome(self, o: Outcome) -> None:
        if o.workspace is not None:
            self.workspace_state(o.workspace)
        if o.status == "approval":
            self.set_status("awaiting approval")
            self.app.push_screen(ApprovalModal(o.request or {}), self.answered)
        elif o.status == "finished":
            fin = self.driver.finished
            self.query_one(TraceView).finish()
            self.set_status(fin.exit if fin else "finished")
            if fin is not None and fin.error:
                self.notify(fin.error, severity="error", timeout=10)
            if self.driver.spec.coding and self.query_one(WorkspacePanel).has_changes:
                self.notify("the run ended: [b]a[/] accepts the diff into your tree, [b]d[/] discards it",
                            timeout=8)
        elif o.status == "error":
            self.set_status("error")
            self.notify(o.error or "error", severity="error", timeout=10)
        else:
            self.set_status(o.status)  # paused, stopped: the session is resumable
        self.refresh_bindings()

    def answered(self, answer: Answer | None) -> None:
        if answer is None:
            return
        self.approvals += 1
        if answer.category:
            self.driver.approve_category(answer.category)
        self.start(answer.value())

    # --- applying a batch -------------------------------------------------------------------------
    def pump(self) -> None:
        u = self.driver.batch.drain()
        if not u:
            return
        trace = self.query_one(TraceView)
        bar = self.query_one(StatusBar)
        if u.tokens:
            if u.start == 0:
                bar.prompt_len = next((i for i, k in enumerate(u.kinds) if k != "input"), len(u.kinds))
            trace.add(u.start, u.tokens, u.kinds)
        if (u.tape or u.memory) and not self.driver.spec.coding:
            self.query_one(TapeView).show(u.tape, u.memory)
        calls = self.query_one(ToolCallPanel)
        for e in u.events:
            if isinstance(e, (ev.ToolCall, ev.ToolResult, ev.MalformedCall, ev.ApprovalRequested)) \
                    or e.type == "InFlightCall":
                calls.on_event_(e)
            if isinstance(e, ev.ToolResult) and self.driver.spec.coding and self._is_exec(e.tool):
                self.query_one(WorkspacePanel).show_output(e.text)
            elif isinstance(e, ev.RunStarted):
                self.sub_title = " · ".join(x for x in (e.task or ("coding" if self.driver.spec.coding else ""),
                                                        e.thread_id) if x)
                if self.status == "starting":
                    self.set_status("running")
        bar.show(u.stats)

    def _is_exec(self, tool: str) -> bool:
        agent = self.driver.agent
        t = agent.toolset.actions.get(tool) if agent is not None else None
        return t is not None and t.spec.category == "exec"

    def workspace_state(self, state: dict | None, note: str = "") -> None:
        if self.driver.spec.coding:
            self.query_one(WorkspacePanel).show_state(state, note)

    def set_status(self, status: str) -> None:
        self.status = status
        self.query_one(StatusBar).show(status=status)

    # --- steering ----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters) -> bool | None:
        if action in ("toggle_pause", "stop"):
            return self.status in ("running", "paused", "starting") or None
        if action in ("accept", "discard", "undo"):
            if not self.driver.spec.coding:
                return False
            ws = self.query_one(WorkspacePanel)
            idle = not self.busy and self.status not in ("awaiting approval",)
            if action == "undo":
                return (idle and bool(ws.state and ws.state.get("accepts"))) or None
            return (idle and ws.has_changes) or None
        return True

    def action_toggle_pause(self) -> None:
        if self.busy:
            self.driver.request_pause()
            self.set_status("pausing")
        elif self.status in ("paused", "stopped"):
            self.start()

    def action_stop(self) -> None:
        if self.busy:
            self.driver.request_stop()
            self.set_status("stopping")

    def action_follow(self) -> None:
        self.query_one(TraceView).action_follow()

    def _decide(self, what: str) -> None:
        self.run_worker(partial(self.driver.decide, what), thread=True, group="decide", exclusive=True,
                        exit_on_error=False)

    def action_accept(self) -> None:
        ws = self.query_one(WorkspacePanel)
        n = len((ws.state or {}).get("changes") or [])
        self.app.push_screen(ConfirmModal(f"Apply the diff ({n} file(s)) to {(ws.state or {}).get('source')}?",
                                          "Accept"), lambda yes: yes and self._decide("accept"))

    def action_discard(self) -> None:
        self.app.push_screen(ConfirmModal("Discard the diff and the scratch copy? Your tree is not touched.",
                                          "Discard"), lambda yes: yes and self._decide("discard"))

    def action_undo(self) -> None:
        self._decide("undo")

    async def stop_and_wait(self) -> None:
        """Stop after the step in flight and wait for it (quitting leaves the session resumable)."""
        if self.busy:
            self.driver.request_stop()
            self.set_status("stopping")
            await self.worker.wait()
