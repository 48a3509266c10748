"""The graph's tool node: run one side-effecting call, after approval when its category asks for it.

Convention (``agent/graph/approval.py``): in ``confirm`` mode the node first calls ``interrupt(request)``;
LangGraph checkpoints the run and pauses; ``Command(resume=decision)`` re-enters the node, where
``interrupt`` now returns the decision. Nothing runs before the decision, so re-entering is safe.
A denied call, and a call the tool refuses, are answered with an ordinary observation (neither
counts as malformed: the call was well formed). The answer goes to ``result`` for the next policy
step to feed; the call, its decision and its answer are appended to ``calls``.

Tool steps are checkpointed when they finish, so a node killed mid-call is entered again on
resume. It never re-runs an ``edit``/``exec``/``git`` call blindly (``agent/graph/inflight.py``):
the call is recorded in the sessions database before it starts and its answer when it returns;
found unfinished, the node asks through the same ``interrupt`` (request kind ``"rerun"``) or
follows the approval mode (yolo: run again, the observation says so); found finished, the
recorded answer is used.
"""

from __future__ import annotations

import time

from langgraph.config import get_stream_writer
from langgraph.types import interrupt

from . import approval
from . import events as ev
from .inflight import RECORDED, rerun_request
from .state import tokens_of


def tool_node(ctx, state: dict, config) -> dict:
    thread = config["configurable"]["thread_id"]
    write = get_stream_writer()
    call = state["pending"]
    name, category, args, index = call["tool"], call["category"], call["args"], call["index"]
    store = ctx.inflight if category in RECORDED else None
    found = store.get(thread, index, name, args) if store is not None else None
    if found is not None and not found.running:  # it ran to the end before the agent stopped
        write(ev.InFlightCall(thread, name, category, args, index, found.started, "recovered"))
        return _answered(ctx, state, thread, write, call, found.observation, bool(found.ok), True, "", 0.0)
    confirm = approval.needs_approval(ctx.modes, category)
    approved, note = True, ""
    if confirm:
        ask = rerun_request(call, found) if found is not None else approval.request(name, category, args, index)
        approved, note = approval.ask(interrupt, ask)
    if found is not None:
        write(ev.InFlightCall(thread, name, category, args, index, found.started,
                              "rerun" if approved else "not_rerun"))
    t0 = time.perf_counter()
    write(ev.ToolCall(thread, name, category, args, index, confirm))
    tool = ctx.toolset.actions.get(name)
    if not approved:
        text = found.not_rerun_text(note) if found is not None else approval.denied_text(name, note)
        ok = False
    elif tool is None:  # the toolset changed between the step that wrote the call and this one
        text, ok = f"error: no tool {name!r} in this run", False
    else:
        if store is not None:
            store.begin(thread, index, name, args)  # committed before the call can do anything
        obs = tool.call(**args)
        text, ok = (found.rerun_note() if found is not None else "") + obs.text, obs.ok
        if store is not None:
            store.end(thread, index, text, ok)
    return _answered(ctx, state, thread, write, call, text, ok, approved, note, time.perf_counter() - t0)


def _answered(ctx, state, thread, write, call, text: str, ok: bool, approved: bool, note: str, dt: float) -> dict:
    """The step's update: the answer as ``result`` and in ``calls``, the trajectory rewritten."""
    write(ev.ToolResult(thread, call["tool"], text, ok, approved, round(dt, 6)))
    record = {**call, "approved": approved, "ok": ok, "observation": text, "seconds": round(dt, 6)}
    if note:
        record["note"] = note
    update = {"pending": None, "result": {"text": text, "malformed": False}, "calls": [record],
              "steps": state["steps"] + 1, "seconds": state["seconds"] + dt}
    ctx.save_trajectory(state, thread, tokens_of(state), state.get("answer", ""), update, None)
    return update
