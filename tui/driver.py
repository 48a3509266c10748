"""The run driver: one agent run, decoded in a Textual thread worker, answered from the UI.

Convention (``agent/agent.py``, docs/agent.md): the driver owns one ``Agent`` and drives its
LangGraph graph through ``Agent.stream`` -- the same graph, the same typed events, the same
session database as ``tapehead run``, so whatever the TUI shows a headless run records too. All
use of the agent happens in the worker thread (``run`` and the workspace decisions), never
concurrently: one ``Agent`` drives one run at a time.

Steering follows the graph's own boundaries:

- *approval*: the graph pauses at its ``interrupt()`` and ``stream`` yields ``ApprovalRequested``;
  the answer is sent back with ``run(answer=...)`` (``Command(resume=...)`` underneath);
  "approve the rest of this category" switches the category to ``yolo`` for this agent;
- *pause* and *stop*: the worker stops iterating after the next ``Stats`` (the end of a policy
  step) or ``ToolResult``; closing the stream waits for the node in flight, whose writes LangGraph
  has already saved, so the session is consistent and ``run()`` (or ``tapehead run --resume ID``,
  after a stop or a quit) continues exactly where it was;
- the trace the UI has not seen yet (a session opened from the database, or tokens of a step that
  finished after the UI let go) is *backfilled* from the checkpoint as one ``Tokens`` event.
"""

from __future__ import annotations

import inspect
import os
import threading
from dataclasses import dataclass, field

from tapehead.agent.graph import events as ev
from .batch import Batch

UNSET = object()
STEP_ENDS = (ev.Stats, ev.ToolResult)  # a pause or stop takes effect after one of these


@dataclass
class RunSpec:
    """What to run: the options of ``tapehead run`` that the TUI shares (``tui/cli.py``)."""

    task: str | None = None
    input: str | None = None
    policy: str | None = None
    workspace: str | None = None
    check: str | None = None
    resume: str | None = None  # a session id to continue
    thread: str | None = None  # the new session's id
    db: str | None = None
    out: str | None = None
    yolo: bool = False
    approve: str | None = None
    limits: dict | None = None
    step_tokens: int | None = None
    token_events: int = 256  # a long policy step still shows its tokens as it goes
    device: str = "cpu"
    compile: bool = False

    @property
    def coding(self) -> bool:
        return bool(self.workspace)


def statement(check: str) -> str:
    """The problem statement of a repository run, in the coding tasks' own form."""
    return f"Fix the bug: `{check}` fails."


def check_policy(policy: str, task_name: str | None) -> str | None:
    """An error message for a policy that certainly cannot run, else None (the policy loads in the
    run's worker, which reports anything else)."""
    from tapehead.agent.policies.source import has_default_policy
    from tapehead.agent.tasks import get_task

    if policy in ("", "teacher"):
        if policy == "" and task_name:
            if not has_default_policy(get_task(task_name)):
                return f"no policy ships for {task_name} yet: use the teacher, script:FILE or a checkpoint path"
        if policy == "" and not task_name:
            return "a repository run needs a policy: script:FILE or a checkpoint path"
        if policy == "teacher" and not task_name:
            return "the teacher belongs to a task; a repository run takes script:FILE or a checkpoint"
        return None
    if policy.startswith("script:"):
        return None if os.path.isfile(policy[7:]) else f"no such script file: {policy[7:]}"
    if os.sep in policy and not os.path.isfile(policy + ".json"):  # (a bare name may be a shipped policy's)
        return f"no checkpoint {policy}.json (give the path without suffix)"
    return None


@dataclass
class Outcome:
    """How a ``run()`` call ended: finished, approval, paused, stopped, or error."""

    status: str
    request: dict | None = None
    error: str | None = None
    workspace: dict | None = None  # ``workspace_state()`` when the run has a workspace
    extra: dict = field(default_factory=dict)


class RunDriver:
    def __init__(self, spec: RunSpec, batch: Batch | None = None):
        self.spec = spec
        self.batch = batch or Batch()
        self.agent = None
        self.thread_id: str | None = spec.resume
        self.sent = 0  # trace tokens handed to the UI so far
        self.request: dict | None = None  # the approval being waited for
        self.finished: ev.RunFinished | None = None
        self._pause = threading.Event()
        self._stop = threading.Event()

    # --- from the UI thread ---------------------------------------------------------------------
    def request_pause(self) -> None:
        self._pause.set()

    def request_stop(self) -> None:
        self._stop.set()

    # --- in the worker thread -------------------------------------------------------------------
    def build(self):
        """The agent (loading the policy: seconds for a network, hence in the worker)."""
        if self.agent is not None:
            return self.agent
        from tapehead.agent.agent import Agent, new_thread_id
        from tapehead.agent.graph.sessions import default_db

        s = self.spec
        kw: dict = {"token_events": s.token_events}
        if s.yolo or s.approve:
            kw.update(yolo=s.yolo, approval=s.approve)
        if s.step_tokens:
            kw["step_tokens"] = s.step_tokens
        if s.limits:
            kw["limits"] = s.limits
        db = s.db or default_db()
        if s.resume:
            self.agent = Agent.from_session(s.resume, db=db, device=s.device, compile=s.compile, **kw)
            self.thread_id = self.agent.resumed_thread
        else:
            if s.workspace and s.check:
                kw["toolset"] = checked_toolset(s.workspace, s.check)
            self.agent = Agent(task=s.task, policy=s.policy, workspace=None if "toolset" in kw else s.workspace,
                               db=db, device=s.device, compile=s.compile, **kw)
            self.thread_id = s.thread or new_thread_id()
        return self.agent

    def run(self, answer=UNSET, worker=None) -> Outcome:
        """Start (or continue) the run and feed its events to the batch until it finishes, waits for
        approval, or is paused or stopped. ``answer`` answers the pending approval."""
        self._pause.clear()
        try:
            agent = self.build()
            started = self.sent > 0 or self.spec.resume or self._exists()
            if started:
                self._backfill()
                stream = agent.stream(thread_id=self.thread_id, **({} if answer is UNSET else {"resume": answer}))
            else:
                stream = agent.stream(self.spec.input, thread_id=self.thread_id, out=self._out())
            self.request = None
            status = "finished"
            for e in stream:
                if isinstance(e, ev.Tokens) and e.start != self.sent:
                    self._backfill()  # (never expected: the stream's tokens are contiguous)
                    continue
                self._send(e)
                if isinstance(e, ev.ApprovalRequested):
                    self.request = e.request
                    status = "approval"
                elif isinstance(e, ev.RunFinished):
                    self.finished = e
                if isinstance(e, STEP_ENDS) and (self._pause.is_set() or self._stop.is_set()
                                                 or (worker is not None and worker.is_cancelled)):
                    status = "stopped" if self._stop.is_set() else "paused"
                    break
            if status == "finished" and self.finished is None:
                status = "stopped"  # (the stream ended without a result: treat as resumable)
            self._backfill()  # a break can leave a finished step's tail unseen
        except Exception as e:  # a policy that cannot load, a corrupt session: shown, never raised
            return Outcome("error", error=f"{type(e).__name__}: {e}", workspace=self._workspace_state())
        return Outcome(status, self.request, workspace=self._workspace_state())

    def _exists(self) -> bool:
        return bool(self.thread_id) and bool(self.agent.state(self.thread_id))

    def _out(self) -> str:
        if self.spec.out:
            return self.spec.out
        from tapehead.agent.graph.sessions import home

        return str(home() / "trajectories" / f"{self.thread_id}.json")

    def _send(self, e: ev.Event) -> None:
        if isinstance(e, ev.Tokens):
            self.sent = e.start + len(e.tokens)
        self.batch.add(e)

    def _backfill(self) -> None:
        """Send the recorded tokens the UI has not had yet, as one ``Tokens`` event."""
        from tapehead.agent.graph.state import tokens_of

        v = self.agent.state(self.thread_id)
        if not v:
            return
        tokens = tokens_of(v)
        if len(tokens) > self.sent:
            kinds = [k.value for k in self.agent.codec.kinds(tokens, v["prompt_len"])]
            self._send(ev.Tokens(self.thread_id, self.sent, tokens[self.sent:], kinds[self.sent:]))

    # --- decisions on the approval and the workspace (worker thread, between runs) -----------------
    def approve_category(self, category: str) -> None:
        """Approve every later call of ``category`` in this run (its mode becomes ``yolo``)."""
        self.agent.modes[category] = "yolo"
        self.agent.ctx.modes[category] = "yolo"

    @property
    def workspace(self):
        return None if self.agent is None else self.agent.toolset.workspace

    def _workspace_state(self) -> dict | None:
        ws = self.workspace
        if ws is None:
            return None
        if ws.closed:
            return {"source": ws.source, "closed": True, "changes": [], "diff": "", "accepts": len(ws.accepts)}
        try:
            changes = [(c.status, c.path) for c in ws.changes()]
            diff = ws.diff_text()
        except Exception as e:  # a broken scratch copy: say so in the panel
            return {"source": ws.source, "closed": False, "changes": [], "diff": "", "error": str(e),
                    "accepts": len(ws.accepts)}
        return {"source": ws.source, "closed": False, "changes": changes, "diff": diff, "accepts": len(ws.accepts)}

    def decide(self, what: str) -> tuple[str, bool, dict | None]:
        """``accept``, ``undo`` or ``discard`` the workspace's diff: (message, ok, workspace state)."""
        ws = self.workspace
        if ws is None:
            return "this run has no workspace", False, None
        if what == "discard":
            text, ok = ws.discard(), True
        else:
            obs = ws.accept() if what == "accept" else ws.undo()
            text, ok = obs.text, obs.ok
        return text, ok, self._workspace_state()

    def result(self):
        return self.agent.result(self.thread_id) if self.agent is not None and self.thread_id else None

    def close(self) -> None:
        if self.agent is not None:
            self.agent.close()


def checked_toolset(directory: str, check: str):
    """The workspace toolset with ``check`` as the repository's check command, where the toolset
    takes one (the coding tools' ``check``); otherwise the plain workspace tools."""
    from tapehead.agent.graph.toolset import Toolset

    if "check" in inspect.signature(Toolset.for_workspace).parameters:
        return Toolset.for_workspace(directory, check=check)
    return Toolset.for_workspace(directory)
