"""Stored sessions, read without loading a policy: the rows, one session's trajectory, its steps.

Convention: sessions are LangGraph threads in the SQLite database of ``agent/graph/sessions.py``
(``SessionIndex`` rows beside ``SqliteSaver``'s checkpoints). A session's state is read through a
graph compiled over the same checkpointer with a ``RuntimeCache`` that never builds a policy --
as ``tapehead sessions show`` does -- and turned into a ``Trajectory`` by ``agent.trajectory_of``.
Its *steps* are the calls of the trace (``Codec.calls``: tape commands and ``[CALL]`` spans, in
order), each joined to the tool node's record of a side-effecting call (decision, ok, seconds):
the inspector steps through them, like mini-swe-agent's inspector steps through turns.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tapehead.agent.loops import limits as lim

UNFINISHED = (lim.RUNNING, lim.PAUSED)


@dataclass
class Step:
    index: int  # trace index of the command or [CALL]
    tool: str
    call: str  # the call as text: "p1.read", or a call span's arguments
    observation: str | None
    ok: bool = True
    approved: bool | None = None
    seconds: float | None = None
    category: str = ""

    @property
    def error(self) -> bool:
        obs = self.observation or ""
        return not self.ok or self.approved is False or obs == "[ERR]" or obs.startswith("error")


@dataclass
class Session:
    row: dict
    status: str
    trajectory: object  # tapehead.agent.trace.trajectory.Trajectory
    request: dict | None

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED


def open_index(db: str):
    """(saver, SessionIndex) of ``db``; the caller closes ``saver.conn``."""
    from tapehead.agent.graph.sessions import SessionIndex, open_saver

    saver = open_saver(db)
    return saver, SessionIndex(saver)


def load(saver, index, thread_id: str) -> Session:
    from tapehead.agent import models
    from tapehead.agent.agent import trajectory_of
    from tapehead.agent.graph.build import GraphContext, build_graph
    from tapehead.agent.graph.runtime import RuntimeCache
    from tapehead.agent.graph.toolset import Toolset

    tid = index.find(thread_id)
    row = index.get(tid)
    codec = models.codec()
    ctx = GraphContext(codec, Toolset(), RuntimeCache(codec, lambda: None, lambda *a, **k: None), row["policy"])
    snap = build_graph(ctx).compile(checkpointer=saver).get_state({"configurable": {"thread_id": tid}})
    v = snap.values
    if not v:
        raise KeyError(f"session {tid!r} has no recorded state")
    status = v.get("exit") or (lim.PAUSED if snap.interrupts else lim.RUNNING)
    request = snap.interrupts[0].value if snap.interrupts else None
    return Session(row, status, trajectory_of(v, tid, row["policy"], status), request)


def steps(codec, trajectory) -> list[Step]:
    """Every call of the trace, in order, with the recorded decision of side-effecting ones, and
    every invalid token the policy wrote (a token only tools may write, answered ``[ERR]``)."""
    from tapehead.agent.trace.codec import Kind

    records = {c.get("index"): c for c in trajectory.meta.get("calls") or []}
    tokens, plen = trajectory.tokens, trajectory.prompt_len
    out = [Step(i, "invalid", codec.name(tokens[i]), "[ERR]", ok=False)
           for i, k in enumerate(codec.kinds(tokens, plen)) if k is Kind.INVALID]
    for c in codec.calls(trajectory.tokens, trajectory.prompt_len):
        call = c["call"]
        if c["tool"] == "tape":
            out.append(Step(c["index"], "tape", f"p{call['head']}.{call['op']}", c["observation"]))
            continue
        r = records.get(c["index"])
        step = Step(c["index"], c["tool"], call.get("text", ""), c["observation"])
        if r is not None:
            step.ok, step.approved, step.seconds = bool(r.get("ok")), r.get("approved"), r.get("seconds")
            step.category = r.get("category", "")
        out.append(step)
    return sorted(out, key=lambda s: s.index)


def tape_at(codec, trajectory, end: int, window: int = 16) -> dict | None:
    """The tape's snapshot after the first ``end`` tokens (``Episode.resume``: no tool runs)."""
    from tapehead.agent.loops.episode import Episode

    try:
        ep = Episode.resume(codec, trajectory.input, trajectory.tokens[:end], task=trajectory.task)
    except Exception:  # a trace this version cannot replay: no tape, the rest still shows
        return None
    return ep.tape.snapshot(window=window)


def exists(db: str) -> bool:
    return db == ":memory:" or os.path.exists(db)
