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
``deny``), or ``{"approve": bool, "note": str}``; a denied call is answered with an observation
saying so (the policy may try something else) and does not count as malformed.
"""

from __future__ import annotations

from typing import Any

MODES = ("confirm", "yolo")
SIDE_EFFECT_CATEGORIES = ("read", "edit", "exec", "git")
DEFAULT_MODES = {"read": "yolo", "edit": "confirm", "exec": "confirm", "git": "confirm"}

_YES = {"y", "yes", "approve", "approved", "ok", "true", "1"}
_NO = {"n", "no", "deny", "denied", "reject", "false", "0"}


def modes(yolo: bool = False, overrides: dict[str, str] | str | None = None) -> dict[str, str]:
    """Approval modes: the defaults, all yolo with ``yolo``, then ``overrides`` (a dict, or a string
    ``"exec=yolo,edit=confirm"``; ``all=MODE`` sets every category)."""
    out = {c: ("yolo" if yolo else DEFAULT_MODES[c]) for c in SIDE_EFFECT_CATEGORIES}
    if isinstance(overrides, str):
        pairs = [p.split("=", 1) for p in overrides.split(",") if p.strip()]
        if any(len(p) != 2 for p in pairs):
            raise ValueError(f"--approve takes CATEGORY=MODE pairs, e.g. exec=yolo,edit=confirm; got {overrides!r}")
        overrides = {k.strip(): v.strip() for k, v in pairs}
    for cat, mode in (overrides or {}).items():
        if mode not in MODES:
            raise ValueError(f"approval mode must be one of {', '.join(MODES)}; got {mode!r} for {cat}")
        if cat == "all":
            out = {c: mode for c in out}
        elif cat in out:
            out[cat] = mode
        else:
            raise ValueError(f"no tool category {cat!r}; categories: {', '.join(SIDE_EFFECT_CATEGORIES)}, all")
    return out


def needs_approval(modes_: dict[str, str], category: str) -> bool:
    return modes_.get(category, "confirm") == "confirm"


def request(tool: str, category: str, args: dict, index: int) -> dict:
    return {"kind": "approval", "tool": tool, "category": category, "args": args, "index": index}


def decision(value: Any) -> tuple[bool, str]:
    """(approved, note) from a resume value; anything unrecognised is a denial (safe default)."""
    note = ""
    if isinstance(value, dict):
        note = str(value.get("note", ""))
        value = value.get("approve", value.get("approved", False))
    if isinstance(value, bool):
        return value, note
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _YES:
            return True, note
        if v in _NO:
            return False, note
        return False, note or f"unrecognised answer {value!r}"
    return False, note


def denied_text(tool: str, note: str = "") -> str:
    return f"denied: the user did not approve this {tool} call" + (f" ({note})" if note else "")
