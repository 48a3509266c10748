"""The graph's tool node: run one side-effecting call, after approval when its category asks for it.

Convention (``agent/graph/approval.py``): in ``confirm`` mode the node first calls ``interrupt(request)``;
LangGraph checkpoints the run and pauses; ``Command(resume=decision)`` re-enters the node, where
``interrupt`` now returns the decision. Nothing runs before the decision, so re-entering is safe.
A denied call, and a call the tool refuses, are answered with an ordinary observation (neither
counts as malformed: the call was well formed). The answer goes to ``result`` for the next policy
step to feed; the call, its decision and its answer are appended to ``calls``.

A tool node killed mid-call runs the call again on resume (at-least-once): tool steps are
checkpointed when they finish.
"""

from __future__ import annotations

import time

from langgraph.config import get_stream_writer
from langgraph.types import interrupt

from . import approval
from . import events as ev
from .state import tokens_of


def tool_node(ctx, state: dict, config) -> dict:
    thread = config["configurable"]["thread_id"]
    write = get_stream_writer()
    call = state["pending"]
    name, category, args = call["tool"], call["category"], call["args"]
    confirm = approval.needs_approval(ctx.modes, category)
    approved, note = True, ""
    if confirm:
        approved, note = approval.ask(interrupt, approval.request(name, category, args, call["index"]))
    t0 = time.perf_counter()
    write(ev.ToolCall(thread, name, category, args, call["index"], confirm))
    tool = ctx.toolset.actions.get(name)
    if not approved:
        text, ok = approval.denied_text(name, note), False
    elif tool is None:  # the toolset changed between the step that wrote the call and this one
        text, ok = f"error: no tool {name!r} in this run", False
    else:
        obs = tool.call(**args)
        text, ok = obs.text, obs.ok
    dt = time.perf_counter() - t0
    write(ev.ToolResult(thread, name, text, ok, approved, round(dt, 6)))
    record = {**call, "approved": approved, "ok": ok, "observation": text, "seconds": round(dt, 6)}
    if note:
        record["note"] = note
    update = {"pending": None, "result": {"text": text, "malformed": False}, "calls": [record],
              "steps": state["steps"] + 1, "seconds": state["seconds"] + dt}
    ctx.save_trajectory(state, thread, tokens_of(state), state.get("answer", ""), update, None)
    return update
