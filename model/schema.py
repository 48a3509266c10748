"""Typed, bounded fields of untrusted JSON (checkpoint configs), checked before anything is allocated.

A checkpoint's JSON is input like any other (DESIGN.md, "Trust"): a 2 KB file can ask for a
``d_model`` of 10^7, and building that network takes gigabytes before anything fails. So every
field is checked for its type and range first, with one message naming the field, the value and
the allowed range, and only then is anything built. ``model/`` imports nothing of ``agent/``, so this
helper is model's own; ``agent/trace/schema.py`` is its twin for trajectories and recorded runs.

A ``Field`` says what a value may be: ``int`` (never a bool, whose type is a subclass of int),
``float`` (an int or a finite float), ``bool``, ``str`` (optionally one of ``choices``), or a list of
``length`` numbers (``item``); ``lo``/``hi`` bound numbers inclusively, and list items alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    kind: type  # int, float, bool, str or list
    lo: float | None = None
    hi: float | None = None
    choices: tuple = ()
    length: int | None = None  # lists: exact length
    item: type = float  # lists: the kind of every item


def _kind_name(kind: type) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string", list: "a list"}[kind]


def _bounds(f: Field) -> str:
    if f.lo is not None and f.hi is not None:
        return f"{f.lo:g}..{f.hi:g}"
    return f">= {f.lo:g}" if f.lo is not None else f"<= {f.hi:g}"


def _scalar(where: str, name: str, value, kind: type, f: Field):
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ValueError(f"{where}: {name} must be {_kind_name(kind)}, got {value!r:.60}")
    if kind in (int, float) and ((f.lo is not None and value < f.lo) or (f.hi is not None and value > f.hi)):
        raise ValueError(f"{where}: {name} = {value!r} is out of range ({_bounds(f)})")
    if f.choices and value not in f.choices:
        raise ValueError(f"{where}: {name} = {value!r:.60} is not one of {', '.join(map(str, f.choices))}")
    return value


def check(where: str, name: str, value, f: Field):
    """``value`` if it is what ``f`` allows, else ``ValueError`` naming ``where``, ``name`` and why."""
    if f.kind is not list:
        return _scalar(where, name, value, f.kind, f)
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{where}: {name} must be a list, got {value!r:.60}")
    if f.length is not None and len(value) != f.length:
        raise ValueError(f"{where}: {name} must hold {f.length} values, got {len(value)}")
    for i, v in enumerate(value):
        _scalar(where, f"{name}[{i}]", v, f.item, f)
    return value


def check_fields(where: str, data: dict, spec: dict[str, Field]) -> dict:
    """Check every field of ``data`` against ``spec`` (missing ones are left to the defaults);
    unknown fields are refused. Returns ``data``."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(spec), key=str)
    if unknown:
        raise ValueError(f"{where}: unknown fields {unknown[:8]}: written by a newer tapehead?")
    for name, value in data.items():
        check(where, name, value, spec[name])
    return data
