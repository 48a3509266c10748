"""The Python API: an ``Agent`` you build once (policy, tools, approval, sessions) and call ``solve`` on.

::

    from tapehead import Agent

    agent = Agent(task="addition")                  # the shipped policy; sessions in memory
    print(agent.solve("123+456").answer)            # 579

    agent = Agent(task="addition", db="runs.sqlite", step_tokens=1024)
    for event in agent.stream("9" * 1000 + "+1"):   # typed events (agent/graph/events.py)
        ...
    agent.resume(thread_id)                         # after a crash, or to answer an approval

Convention: the ``Agent`` owns the pieces that are not graph state -- the policy source and its
cache, the tools, the approval modes and approver, the checkpointer and the session index -- and
drives the graph of ``agent/graph/build.py`` with ``durability="sync"``. Everything about a run that is
needed to continue it is in its thread's state (``run``), so ``Agent.from_session`` rebuilds an
equivalent agent in another process. ``approver(request) -> decision`` answers approval interrupts
in-process; without one, a run pauses and ``solve`` returns with ``exit == "awaiting_approval"``.
After a crash, a side-effecting call that was running is never re-run blindly: the resumed run asks
(request kind ``"rerun"``) or follows the approval mode (``agent/graph/inflight.py``).
One ``Agent`` drives one run at a time (its policy cache is not shared across OS threads); make one
per concurrent run.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from tapehead.agent.graph import approval as appr
from tapehead.agent.graph import events as ev
from tapehead.agent.graph.build import GraphContext, build_graph, run_config
from tapehead.agent.graph.inflight import InFlight
from tapehead.agent.graph.runtime import RuntimeCache
from tapehead.agent.graph.sessions import SessionIndex, check_thread_id, open_saver
from tapehead.agent.graph.state import initial_state, tokens_of
from tapehead.agent.graph.toolset import Toolset
from tapehead.agent.loops import limits as lim
from tapehead.agent.loops.episode import Episode, Limits, check_input_size
from tapehead.agent.policies.source import PolicySource
from tapehead.agent.trace.schema import check_run
from tapehead.agent.trace.trajectory import Trajectory
from . import models
from .errors import NotFound
from .tasks import get_task

_UNSET = object()


@dataclass
class RunResult:
    thread_id: str
    exit: str  # an exit status (agent/loops/limits.py), "awaiting_approval" or "running"
    answer: str
    trajectory: Trajectory | None
    request: dict | None = None  # the approval being waited for
    error: str | None = None
    correct: bool | None = None  # with a task: the answer is right

    @property
    def paused(self) -> bool:
        return self.exit == lim.PAUSED


class Agent:
    def __init__(self, task: Any = None, policy: Any = None, *, tools=None, workspace: str | None = None,
                 memory_tools=None, approval: dict | str | None = None, yolo: bool = False,
                 approver: Callable[[dict], Any] | None = None, limits: Limits | dict | None = None,
                 step_tokens: int = 2048, token_events: int | None = None, db: str | None = ":memory:",
                 checkpointer=None, out_dir: str | None = None, device: str = "cpu", policy_name: str | None = None,
                 toolset: Toolset | None = None, compile: bool = False):
        step_tokens, limits = check_arguments(step_tokens=step_tokens, token_events=token_events, limits=limits,
                                              workspace=workspace, device=device, db=db)
        self.task = get_task(task) if isinstance(task, str) and task else (task or None)
        self.codec = models.codec()
        if policy is not None and not isinstance(policy, str):
            self.source = PolicySource.of(policy, policy_name)
        else:
            self.source = PolicySource.resolve(policy, self.task, device=device, compile=compile)
        # a scratch copy this agent made belongs to it while its sessions are in memory (close() discards it)
        self._own_workspace = toolset is None and bool(workspace)
        if toolset is None:
            toolset = Toolset.for_workspace(workspace) if workspace else Toolset()
            toolset.actions.update(Toolset(tools or ()).actions)  # (checks their categories)
            toolset.memory = memory_tools
        self.toolset = toolset
        self.modes = appr.modes(yolo, approval)
        self.approver = approver
        # a Limits: for every run; a dict: Limits fields over each run's default (or recorded) limits
        self.limits = limits if isinstance(limits, Limits) else None
        self.limit_overrides = dict(limits) if isinstance(limits, dict) else {}
        self.out_dir = out_dir
        self.saver = checkpointer if checkpointer is not None else open_saver(db)
        self.index = SessionIndex(self.saver)
        self.runtimes = RuntimeCache(self.codec, self.source.make, self._make_episode, shared=self.source.shared)
        self.ctx = GraphContext(self.codec, self.toolset, self.runtimes, self.source.spec, limits=self.limits,
                                limit_overrides=self.limit_overrides,
                                modes=self.modes, step_tokens=step_tokens, token_events=token_events,
                                on_step=self._on_step, inflight=InFlight.of(self.saver))
        self.graph = build_graph(self.ctx).compile(checkpointer=self.saver)

    # --- sessions in another process ---------------------------------------------------------------------
    @classmethod
    def from_session(cls, thread_id: str, *, db: str | None = None, **overrides) -> "Agent":
        """An agent that continues session ``thread_id`` of ``db`` (policy, task, tools, approval
        modes, limits and step size as recorded, unless overridden)."""
        saver = overrides.pop("checkpointer", None) or open_saver(db)
        index = SessionIndex(saver)
        thread_id = index.find(thread_id)
        run = (index.get(thread_id) or {}).get("run") or {}
        if not run:
            raise NotFound(f"session {thread_id!r} has no recorded run")
        check_run(run, f"session {thread_id}")  # the database is input too: its record typed and bounded
        kw: dict[str, Any] = dict(task=run.get("task") or None, policy=run.get("policy"),
                                  approval=run.get("approval"), step_tokens=run.get("step_tokens", 2048))
        if run.get("workspace") and "toolset" not in overrides and "workspace" not in overrides:
            kw["toolset"] = Toolset.reattach(run["workspace"])
        kw.update(overrides)
        agent = cls(checkpointer=saver, **kw)
        agent.resumed_thread = thread_id
        return agent

    # --- running ---------------------------------------------------------------------------------------
    def stream(self, input: str | None = None, *, thread_id: str | None = None, out: str | None = None,
               resume: Any = _UNSET) -> Iterator[ev.Event]:
        """Start a run on ``input`` (or continue ``thread_id`` when ``input`` is None) and yield its
        events. ``resume`` answers a pending approval; else the approver does, or the run pauses
        (an ``ApprovalRequested`` event is the last one)."""
        if input is not None:
            thread_id = check_thread_id(thread_id) if thread_id is not None else new_thread_id()
            if self.graph.get_state({"configurable": {"thread_id": thread_id}}).values:
                raise ValueError(f"session {thread_id!r} exists: resume it, or start a run under another id")
            graph_input: Any = self._start(input, thread_id, out)
        else:
            if thread_id is None:
                raise ValueError("give an input to start a run, or a thread_id to continue one")
            snap = self.graph.get_state({"configurable": {"thread_id": thread_id}})
            if not snap.values:
                raise NotFound(f"no session {thread_id!r}")
            if snap.values.get("exit") and not snap.interrupts:  # finished (``next`` alone can be
                v = snap.values                                     # empty with a step's writes pending)
                yield ev.RunFinished(thread_id, v.get("exit") or "", v.get("answer", ""), v.get("counts", {}), v.get("error"))
                return
            graph_input = None
            if snap.interrupts:
                request = self._request(thread_id, snap)
                if request is None:  # answered before the agent stopped, and the call had finished
                    graph_input = Command(resume="recovered")  # the node uses the recorded answer
                elif resume is _UNSET and self.approver is None:
                    self.index.update(thread_id, status=lim.PAUSED)  # (still "running" after a kill)
                    yield ev.ApprovalRequested(thread_id, request)
                    return
                else:
                    answer = resume if resume is not _UNSET else self.approver(request)
                    appr.parse_answer(answer)  # a bad answer is refused here: the approval stays pending
                    graph_input = Command(resume=answer)
        config = run_config(thread_id, self._run_limits(thread_id))
        while True:
            request = None
            for mode, chunk in self.graph.stream(graph_input, config, stream_mode=["custom", "updates"],
                                                 durability="sync"):
                if mode == "custom":
                    yield chunk
                elif "__interrupt__" in chunk:
                    request = chunk["__interrupt__"][0].value
            if request is None:
                return
            self.index.update(thread_id, status=lim.PAUSED)
            if self.approver is None:
                yield ev.ApprovalRequested(thread_id, request)
                return
            answer = self.approver(request)
            appr.parse_answer(answer)
            graph_input = Command(resume=answer)

    def solve(self, input: str, *, thread_id: str | None = None, out: str | None = None,
              on_event: Callable[[ev.Event], None] | None = None) -> RunResult:
        """Run ``input`` to the end (or to a pause for approval); the result."""
        thread_id = thread_id if thread_id is not None else new_thread_id()
        for e in self.stream(input, thread_id=thread_id, out=out):
            if on_event is not None:
                on_event(e)
        return self.result(thread_id)

    def resume(self, thread_id: str, approve: Any = _UNSET,
               on_event: Callable[[ev.Event], None] | None = None) -> RunResult:
        """Continue a session: after a crash or a kill, or with the answer to its pending approval."""
        for e in self.stream(thread_id=thread_id, resume=approve):
            if on_event is not None:
                on_event(e)
        return self.result(thread_id)

    # --- inspection --------------------------------------------------------------------------------------
    def state(self, thread_id: str) -> dict:
        return self.graph.get_state({"configurable": {"thread_id": thread_id}}).values

    def result(self, thread_id: str) -> RunResult:
        snap = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        v = snap.values
        if not v:
            raise NotFound(f"no session {thread_id!r}")
        request = self._request(thread_id, snap)
        status = v.get("exit") or (lim.PAUSED if request is not None else lim.RUNNING)
        traj = trajectory_of(v, thread_id, self.source.spec, status)
        correct = None
        if self.task is not None and v.get("exit"):
            correct = v.get("answer", "") == self.task.answer(v["run"]["text"])
        return RunResult(thread_id, status, v.get("answer", ""), traj, request, v.get("error"), correct)

    def trajectory(self, thread_id: str) -> Trajectory:
        return self.result(thread_id).trajectory

    def sessions(self) -> list[dict]:
        return self.index.list()

    def delete(self, thread_id: str) -> str:
        self.runtimes.drop(thread_id)
        return self.index.delete(thread_id)

    def close(self) -> None:
        """Close the sessions database. With sessions in memory (no ``db``), also discard the scratch
        copy this agent made: nothing could continue its sessions. With a database the copy belongs to
        the session (``tapehead accept/undo ID``), until ``sessions delete`` or ``discard`` removes it."""
        conn = getattr(self.saver, "conn", None)
        if conn is not None:
            conn.close()
        ws = self.toolset.workspace
        if self._own_workspace and isinstance(self.saver, InMemorySaver) and ws is not None and not ws.closed:
            ws.discard()

    def __enter__(self) -> "Agent":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- internals ---------------------------------------------------------------------------------------
    def _start(self, input: str, thread_id: str, out: str | None) -> dict:
        text = self.task.parse(input) if self.task is not None else input
        limits = self.limits or default_limits(self.task, text)
        if self.limit_overrides:
            limits = replace(limits, **self.limit_overrides)
        check_input_size(text, limits)  # the task text, as every loop checks it: before anything is recorded
        if out is None and self.out_dir:
            out = os.path.join(self.out_dir, f"{thread_id}.json")
        run = {"task": self.task.name if self.task is not None else "", "input": input, "text": text,
               "policy": self.source.spec, "approval": dict(self.modes), "limits": lim.to_json(limits),
               "step_tokens": self.ctx.step_tokens, "workspace": self.toolset.describe()["workspace"],
               "tools": self.toolset.names(), "out": os.path.abspath(out) if out else None,
               "created": time.time()}
        self.index.add(thread_id, task=run["task"], input=input, policy=run["policy"], out=run["out"],
                       workspace=run["workspace"], run=run)
        return initial_state(run, self.codec.prompt(text))

    def _request(self, thread_id: str, snap) -> dict | None:
        """The pending interrupt's request; after a crash during an approved call, the re-run
        question instead (agent/graph/inflight.py), or None when that call had finished."""
        request = snap.interrupts[0].value if snap.interrupts else None
        store = self.ctx.inflight
        return store.current_request(thread_id, request) if store is not None else request

    def _run_limits(self, thread_id: str) -> Limits:
        row = self.index.get(thread_id)
        return self.ctx.limits_for((row or {}).get("run") or {})

    def _make_episode(self, run: dict, tokens=None, counts=None, malformed_run: int = 0) -> Episode:
        box: dict = {}

        def call_tools(tape):
            fns, objs = self.toolset.call_tools(tape)
            task_tools = getattr(self.task, "call_tools", None)  # e.g. the search memory over this tape
            for name, fn in (task_tools(tape) if task_tools is not None else {}).items():
                fns[name] = fn
                if hasattr(fn, "snapshot"):
                    objs.append(fn)
            box["objs"] = objs
            return fns

        kw = dict(task=run.get("task", ""), limits=self.ctx.limits_for(run), call_tools=call_tools)
        if tokens is not None:
            ep = Episode.resume(self.codec, run["text"], tokens, counts=counts, malformed_run=malformed_run, **kw)
        else:
            ep = Episode(self.codec, run["text"], **kw)
        ep.defer = lambda name: name not in ep.call_tools
        ep.memory_tools = box.get("objs", [])
        return ep

    def _on_step(self, thread_id: str, summary: dict) -> None:
        self.index.update(thread_id, **summary)


def check_arguments(*, step_tokens, token_events, limits, workspace, device, db):
    """The Agent's arguments checked with the CLI's option types (``agent/cli/options.py``): ValueError
    with one line before anything is built (``step_tokens=-5`` would loop for ever)."""
    from dataclasses import fields

    from tapehead.agent.cli import options as o

    def check(name, t, v):
        try:
            return t.typed(v)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None

    step_tokens = check("step_tokens", o.SCHEMA["step_tokens"].type, step_tokens)
    if token_events is not None:
        check("token_events", o.positive_int, token_events)
    if limits is not None and not isinstance(limits, (dict, Limits)):
        raise ValueError(f"limits must be a Limits or a dict of its fields, got {type(limits).__name__}")
    names = {f.name for f in fields(Limits)}
    given = limits if isinstance(limits, dict) else ({f: getattr(limits, f) for f in names} if limits else {})
    for k, v in given.items():
        if k not in names:
            raise ValueError(f"limits: no limit {k!r}; limits: {', '.join(sorted(names))}")
        if v is not None:
            check(f"limits.{k}", o.number(0) if k == "max_seconds" else o.nonneg_int, v)  # 0: stop at once
    if workspace is not None:
        check("workspace", o.existing_dir, workspace)
    check("device", o.device, device)
    if db not in (None, ":memory:"):
        check("db", o.db_file, db)
    return step_tokens, limits


def new_thread_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def default_limits(task, text: str) -> Limits:
    """For a task, as ``tapehead solve``: ``task.max_tokens(text)`` (a bound on its teacher's trace),
    else 60 tokens per input character; without a task, ``Limits()``."""
    if task is None:
        return Limits()
    bound = getattr(task, "max_tokens", None)
    return Limits(max_tokens=bound(text) if bound is not None else 60 * (len(text) + 10))


def trajectory_of(values: dict, thread_id: str, policy: str, status: str) -> Trajectory:
    run = values["run"]
    return Trajectory(task=run.get("task", ""), input=run["text"], prompt_len=values["prompt_len"],
                      tokens=tokens_of(values), answer=values.get("answer", ""), exit=status,
                      counts=dict(values.get("counts") or {}), seconds=round(values.get("seconds", 0.0), 6),
                      policy=policy, meta={"thread_id": thread_id, "steps": values.get("steps", 0),
                                           "calls": list(values.get("calls") or []), "run": run,
                                           "error": values.get("error")})
