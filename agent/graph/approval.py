"""Approval of side-effecting tool calls: a mode per tool category, answered through ``interrupt()``.

Convention: categories are ``tapehead.tools.base.CATEGORIES`` minus ``memory`` (memory tools run inside the
policy step and are never asked about). Each category is in one of two modes:

- ``confirm``: the tool node calls LangGraph's ``interrupt(request)`` before running the call; the
  run pauses (its state is checkpointed) until someone resumes it with
  ``Command(resume=decision)``: the CLI's prompt or ``--answer``, the TUI's dialog, a Python
  ``approver`` callback, or any LangGraph client;
- ``yolo``: the call runs without asking.

Defaults: ``read`` is yolo (it reads the scratch copy only), ``edit``, ``exec`` and ``git`` confirm.
``request`` (the interrupt payload) is JSON: ``{"kind": "approval", "tool", "category", "args",
"index"}``. A decision is ``True``/``False``, ``"yes"``/``"no"`` (also ``y``, ``n``, ``approve``,
``deny``, ``true``, ``false``), or ``{"approve": bool, "note": str}`` (also as a JSON string, as
``--answer`` gives it); a denied call is answered with an observation saying so (the policy may try
something else) and does not count as malformed. Answers are parsed strictly, by ``parse_answer``
behind every door (the CLI prompt, ``--answer``, ``Agent.resume``/``approver``, a raw
``Command(resume=...)``): anything else is refused with a ValueError and the approval stays pending
(the tool node asks again, ``ask``), so a typo never counts as a denial nor uses the approval up.
"""

from __future__ import annotations

import json
from typing import Any, Callable

MODES = ("confirm", "yolo")
SIDE_EFFECT_CATEGORIES = ("read", "edit", "exec", "git")
DEFAULT_MODES = {"read": "yolo", "edit": "confirm", "exec": "confirm", "git": "confirm"}

_YES = {"y", "yes", "approve", "approved", "ok", "true", "1"}
_NO = {"n", "no", "deny", "denied", "reject", "false", "0"}


def parse_modes(overrides: dict[str, str] | str | None) -> dict[str, str]:
    """Mode overrides, checked: a dict, or a string ``"exec=yolo,edit=confirm"`` (``all=MODE`` for
    every category). ValueError naming the bad pair otherwise."""
    if overrides is None:
        return {}
    if isinstance(overrides, str):
        pairs = [p.split("=", 1) for p in overrides.split(",") if p.strip()]
        if not pairs or any(len(p) != 2 for p in pairs):
            raise ValueError(f"--approve takes CATEGORY=MODE pairs, e.g. exec=yolo,edit=confirm; got {overrides!r}")
        overrides = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(overrides, dict):
        raise ValueError(f"approval modes must be CATEGORY=MODE pairs, got {type(overrides).__name__}")
    for cat, mode in overrides.items():
        if mode not in MODES:
            raise ValueError(f"approval mode must be one of {', '.join(MODES)}; got {mode!r} for {cat}")
        if cat != "all" and cat not in SIDE_EFFECT_CATEGORIES:
            raise ValueError(f"no tool category {cat!r}; categories: {', '.join(SIDE_EFFECT_CATEGORIES)}, all")
    return dict(overrides)


def merge(base: dict[str, str], overrides: dict[str, str] | str | None) -> dict[str, str]:
    """``base`` with ``overrides`` (``parse_modes``) applied in order (``all=`` sets every category)."""
    out = dict(base)
    for cat, mode in parse_modes(overrides).items():
        if cat == "all":
            out = {c: mode for c in out}
        else:
            out[cat] = mode
    return out


def modes(yolo: bool = False, overrides: dict[str, str] | str | None = None) -> dict[str, str]:
    """Approval modes: the defaults, all yolo with ``yolo``, then ``overrides`` (``parse_modes``)."""
    return merge({c: ("yolo" if yolo else DEFAULT_MODES[c]) for c in SIDE_EFFECT_CATEGORIES}, overrides)


def needs_approval(modes_: dict[str, str], category: str) -> bool:
    return modes_.get(category, "confirm") == "confirm"


def request(tool: str, category: str, args: dict, index: int) -> dict:
    return {"kind": "approval", "tool": tool, "category": category, "args": args, "index": index}


_HINT = 'give yes or no (y/n, approve/deny, true/false), or {"approve": true, "note": "..."}'
MAX_NOTE = 500  # characters: a note goes into the policy's observation


def parse_answer(value: Any) -> tuple[bool, str]:
    """(approved, note) from an answer; ValueError (one line) for anything not clearly yes or no."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise ValueError(f"the answer is not valid JSON ({e.msg} at character {e.pos}): {_HINT}") from None
    note = ""
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"approve", "approved", "note"})
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))} in the answer: {_HINT}")
        if ("approve" in value) == ("approved" in value):
            raise ValueError(f"the answer needs one \"approve\" key: {_HINT}")
        note = value.get("note", "")
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise ValueError(f"the answer's note must be a string of at most {MAX_NOTE} characters")
        value = value["approve"] if "approve" in value else value["approved"]
    if isinstance(value, bool):
        return value, note
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _YES:
            return True, note
        if v in _NO:
            return False, note
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:39] + "…"
    raise ValueError(f"unknown answer {shown}: {_HINT}")


def decision(value: Any) -> tuple[bool, str]:
    """``parse_answer`` (the name the graph's tool node used first)."""
    return parse_answer(value)


def ask(interrupt: Callable[[dict], Any], req: dict) -> tuple[bool, str]:
    """(approved, note) through LangGraph's ``interrupt``: an answer ``parse_answer`` refuses does not
    count; the node interrupts again with the same request plus ``error`` (a LangGraph node may
    interrupt several times: each resume answers the next one), so the approval stays pending."""
    while True:
        value = interrupt(req)
        try:
            return parse_answer(value)
        except ValueError as e:
            req = {**req, "error": str(e)}


def denied_text(tool: str, note: str = "") -> str:
    return f"denied: the user did not approve this {tool} call" + (f" ({note})" if note else "")
