"""The agent's limits, checked before each policy step, and the exit statuses they end a run with.

Convention: one ``episode.Limits`` object carries every limit. Per token, ``Episode`` enforces
``max_tokens``, ``max_tool_calls`` (every tool call, tape commands included) and
``max_consecutive_malformed``; before each policy step the graph also checks ``max_steps`` (graph
steps: policy decode steps and tool steps) and ``max_seconds`` (running time over all resumes,
time spent waiting for an approval excluded). LangGraph's own ``recursion_limit`` is set above
``max_steps`` so that the graph's check, with its clear exit status, always fires first.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields

from tapehead.agent.trace.schema import typed
from .episode import Limits

EXIT_STATUSES = {
    "eos": "the policy wrote [EOS]",
    "max_tokens": "the token limit was reached",
    "max_tool_calls": "the tool-call limit was reached",
    "malformed": "too many malformed outputs in a row",
    "max_steps": "the step limit was reached",
    "max_seconds": "the wall-time limit was reached",
    "error": "the policy or a tool failed (see the error)",
}
PAUSED = "awaiting_approval"  # not an exit: the run waits at an interrupt()
RUNNING = "running"

DEFAULT_MAX_STEPS = 100_000


def max_steps(limits: Limits) -> int:
    return limits.max_steps if limits.max_steps is not None else DEFAULT_MAX_STEPS


def recursion_limit(limits: Limits) -> int:
    """LangGraph's superstep limit for one invocation: above ``max_steps`` (a step's own check
    ends the run first), and it counts from each resume, so it never binds earlier."""
    return max_steps(limits) + 10


def check(limits: Limits, steps: int, seconds: float) -> str | None:
    """The exit status if a graph-level limit is reached before the next policy step, else None."""
    if steps >= max_steps(limits):
        return "max_steps"
    if limits.max_seconds is not None and seconds >= limits.max_seconds:
        return "max_seconds"
    return None


def to_json(limits: Limits) -> dict:
    return asdict(limits)


_BIG = 1 << 62
# A recorded run's limits are untrusted JSON (a session database, a trajectory's meta.run): each
# field typed and bounded (kind, lo, hi, may be null), as agent/trace/schema.py checks the rest.
_FIELDS = {"max_tokens": (int, 0, _BIG, False), "max_tool_calls": (int, 0, _BIG, True),
           "max_consecutive_malformed": (int, 1, _BIG, False), "max_call_tokens": (int, 1, _BIG, False),
           "max_steps": (int, 0, _BIG, True), "max_seconds": (float, 0, 1e12, True),
           "max_input_bytes": (int, 1, _BIG, True)}


def from_json(data: dict | None, where: str = "recorded limits") -> Limits:
    """``Limits`` from recorded JSON; unknown names are ignored (written by a newer tapehead), known
    ones checked (``ValueError`` naming the field)."""
    typed(where, "limits", data, dict, none=True)
    names = {f.name for f in fields(Limits)}
    kw = {k: v for k, v in (data or {}).items() if k in names}
    for k, v in kw.items():
        kind, lo, hi, none = _FIELDS[k]
        typed(where, k, v, kind, lo, hi, none=none)
    return Limits(**kw)


def describe(limits: Limits) -> str:
    return json.dumps({k: v for k, v in asdict(limits).items() if v is not None})
