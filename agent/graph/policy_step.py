"""The graph's policy node: decode one bounded step of the episode, in process.

Convention: the per-token rules are ``Episode``'s (``agent/loops/episode.py``), as in the bare loop:
``check_limits()``, ``propose()``, ``accept(token)``, feed what it returns. Tape commands and memory
tools run inside ``accept``. A step ends after ``step_tokens`` written tokens, at the end of the
episode, or at a ``[/CALL]`` of an action tool (``Episode.defer``): its arguments are parsed here
(``agent/trace/calls.py``) and the call is handed to the tool node as ``pending``; a call that cannot be
parsed is answered at once with an error observation that counts as malformed. A tool node's answer
(``result``) is fed first thing in the next step.

Before decoding, the graph-level limits (``agent/loops/limits.py``) are checked. Any exception from the
policy or the episode (a token id outside the vocabulary, a failing network) ends the run with exit
``error`` and the message in ``error``: the loop never crashes on what a policy writes.

Returns the step's update: the new chunk of tokens (only that chunk is checkpointed), counters,
``pending``/``result``, and on the last step ``exit`` and ``answer``. Events: ``RunStarted`` (first
step, or first step after a rebuild), ``Tokens``, ``MalformedCall``, ``TapeSnapshot`` and
``MemorySnapshot``, ``Stats``, ``RunFinished``.
"""

from __future__ import annotations

import time

from langgraph.config import get_stream_writer

from tapehead.agent.loops import limits as lim
from tapehead.agent.trace.calls import CallError, parse_args
from . import events as ev
from .state import chunk_of


def policy_node(ctx, state: dict, config) -> dict:
    t0 = time.perf_counter()
    thread = config["configurable"]["thread_id"]
    write = get_stream_writer()
    run = state["run"]
    try:
        rt = ctx.runtimes.get(thread, state)
    except Exception as e:  # a policy that cannot be rebuilt (missing checkpoint, bad script)
        return _finish_without_runtime(ctx, state, thread, write, t0, f"{type(e).__name__}: {e}")
    ep, policy = rt.episode, rt.policy
    start_len = len(ep.tokens)
    if state["steps"] == 0 or rt.rebuilt:
        write(ev.RunStarted(thread, run.get("task", ""), run.get("input", ""), ctx.policy_name, resumed=rt.rebuilt))
        rt.rebuilt = False
    pending = None
    exit_, error = None, None
    try:
        result = state.get("result")
        if result is not None:
            for t in ep.answer_call(result["text"], not result.get("malformed", False)):
                policy.feed(t)
        exit_ = lim.check(ctx.limits_for(run), state["steps"], state["seconds"])
        if exit_ is None:
            pending = _decode(ctx, rt, thread, write)
    except Exception as e:
        exit_, error = "error", f"{type(e).__name__}: {e}"
        ctx.runtimes.drop(thread)  # the episode may be half-way through a token: rebuild next time
    exit_ = exit_ or ep.exit
    if exit_ is not None:
        pending = None
    chunk = ep.tokens[start_len:]
    _emit_tokens(rt, thread, write)
    dt = time.perf_counter() - t0
    update = {"n_tokens": len(ep.tokens), "counts": dict(ep.counts), "malformed_run": ep.malformed_run,
              "steps": state["steps"] + 1, "seconds": state["seconds"] + dt, "pending": pending, "result": None}
    if chunk:
        update["chunks"] = [chunk_of(chunk)]
    if exit_ is not None:
        update.update(exit=exit_, error=error, answer=rt.tracker.answer)
    _snapshots(ctx, rt, thread, write)
    rate = round(len(chunk) / dt, 1) if dt > 0 else None
    write(ev.Stats(thread, len(ep.tokens), len(chunk), rate, _state_bytes(policy), update["steps"],
                   ep.counts["tool_calls"], ep.counts["malformed"], round(update["seconds"], 6)))
    ctx.save_trajectory(state, thread, ep.tokens, rt.tracker.answer, update, _state_bytes(policy))
    if exit_ is not None:
        write(ev.RunFinished(thread, exit_, rt.tracker.answer, dict(ep.counts), error))
    return update


def _decode(ctx, rt, thread, write) -> dict | None:
    """Decode up to ``ctx.step_tokens`` written tokens; returns a pending action call or None."""
    ep, policy = rt.episode, rt.policy
    propose, feed, accept, check = policy.propose, policy.feed, ep.accept, ep.check_limits
    size = ep.codec.size
    every = ctx.token_events
    n = 0
    while n < ctx.step_tokens and check():
        tok = propose()
        if not (isinstance(tok, int) and 0 <= tok < size):
            raise ValueError(f"the policy wrote token {tok!r}, outside the vocabulary (0..{size - 1})")
        for t in accept(tok):
            feed(t)
        n += 1
        if ep.deferred is not None:
            pending = _defer(ctx, rt, thread, write)
            if pending is not None:
                return pending
        if every and len(ep.tokens) - rt.emitted >= every:
            _emit_tokens(rt, thread, write)
    return None


def _defer(ctx, rt, thread, write) -> dict | None:
    """The call the episode deferred: a pending action, or (malformed) answered here with an error."""
    ep = rt.episode
    name, text = ep.deferred
    tool = ctx.toolset.actions.get(name)
    try:
        if tool is None:
            known = sorted(set(ctx.toolset.actions) | set(ep.call_tools)) or ["none in this run"]
            raise CallError(f"no tool {name!r} (tools: {', '.join(known)})")
        args = parse_args(tool.spec, text)
    except CallError as e:
        msg = str(e)
        write(ev.MalformedCall(thread, f"{name} {text}".strip(), msg))
        for t in ep.answer_call(msg if msg.startswith("error") else f"error: {msg}", False):
            rt.policy.feed(t)
        return None
    return {"tool": name, "category": tool.spec.category, "args": args, "index": ep._call_start}


def _emit_tokens(rt, thread, write) -> None:
    toks = rt.episode.tokens
    if len(toks) > rt.emitted:
        new = toks[rt.emitted:].tolist()  # events carry plain lists (a step's worth)
        write(ev.Tokens(thread, rt.emitted, new, rt.tracker.feed(new)))
        rt.emitted = len(toks)


def _snapshots(ctx, rt, thread, write) -> None:
    ep = rt.episode
    write(ev.TapeSnapshot(thread, ep.tape.snapshot(window=ctx.snapshot_window)))
    for tool in getattr(ep, "memory_tools", ()):
        write(ev.MemorySnapshot(thread, getattr(tool, "name", type(tool).__name__), tool.snapshot()))


def _state_bytes(policy) -> int:
    try:
        return int(policy.state_bytes())
    except Exception:
        return 0


def _finish_without_runtime(ctx, state, thread, write, t0, error: str) -> dict:
    dt = time.perf_counter() - t0
    update = {"steps": state["steps"] + 1, "seconds": state["seconds"] + dt, "pending": None, "result": None,
              "exit": "error", "error": error, "answer": state.get("answer", "")}
    write(ev.RunFinished(thread, "error", update["answer"], dict(state.get("counts") or {}), error))
    return update
