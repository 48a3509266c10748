"""Untrusted JSON of the agent -- trajectory files, scripts, sessions' recorded runs -- checked before use.

DESIGN.md ("Trust"): trajectory files are untrusted input, validated before anything is allocated.
A replay file with ``prompt_len`` 10^9 used to take 7.9 GB (``[INPUT] * prompt_len``); a float or
out-of-vocabulary token, a JSON list or a missing field raised deep inside the loop. Here each is one
``ValueError`` naming the file, the field and what is wrong, raised before the value is used.

The twin of ``model/schema.py`` (which ``agent/`` may not import): ``typed`` checks one value (``int``
is never a bool; ``float`` is an int or a finite float; bounds inclusive), ``read_json`` reads a
file only when its size is within a limit (parsed JSON takes several times its size),
``check_trajectory`` and ``check_run`` check the two records.
"""

from __future__ import annotations

import json
import math
import os

from .tokens import decode, token_array

MAX_FILE_BYTES = 64 << 20  # a 100,000-digit addition's trajectory is ~2 MB (~17 MB in the old list format)
MAX_TOKENS = 1 << 28  # tokens in one trajectory (a 1 MiB input's addition: ~19M)
MAX_TEXT = 64 << 20  # characters of any one string field
_KINDS = {int: "an integer", float: "a number", str: "a string", dict: "a JSON object", list: "a list", bool: "true or false"}


def typed(where: str, name: str, value, kind: type, lo: float | None = None, hi: float | None = None, *,
          none: bool = False):
    """``value`` if it is a ``kind`` within ``lo..hi`` (``None`` too, with ``none``); else ``ValueError``."""
    if value is None and none:
        return None
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ValueError(f"{where}: {name} must be {_KINDS.get(kind, kind.__name__)}"
                         f"{' or null' if none else ''}, got {json.dumps(value)[:40] if _jsonable(value) else type(value).__name__}")
    if kind in (int, float) and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        span = f"{'' if lo is None else f'{lo:,}'}..{'' if hi is None else f'{hi:,}'}"
        raise ValueError(f"{where}: {name} = {value} is out of range ({span})")
    if kind is str and len(value) > MAX_TEXT:
        raise ValueError(f"{where}: {name} is {len(value):,} characters, more than {MAX_TEXT:,}")
    return value


def _jsonable(v) -> bool:
    try:
        json.dumps(v)
        return True
    except (TypeError, ValueError):
        return False


def read_json(path, what: str, max_bytes: int = MAX_FILE_BYTES):
    """The parsed JSON of ``path``; ``ValueError`` if it is missing, larger than ``max_bytes``
    (checked before reading) or not JSON."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"no {what} file {path}")
    size = os.path.getsize(path)
    if size > max_bytes:
        raise ValueError(f"{what} file {path} is {size:,} bytes, more than the limit of {max_bytes:,} "
                         f"(pass max_bytes= to read a larger one)")
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{what} file {path} is not JSON: {e}") from None


def check_token_list(where: str, tokens, vocab_size: int):
    """A JSON list of token ids (the old trajectory format, scripts) as an array: ints, in the vocabulary."""
    typed(where, "tokens", tokens, list)
    if len(tokens) > MAX_TOKENS:
        raise ValueError(f"{where}: {len(tokens):,} tokens, more than {MAX_TOKENS:,}")
    for i, t in enumerate(tokens):
        if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t < vocab_size:
            raise ValueError(f"{where}: tokens[{i}] = {json.dumps(t)[:40]} is not a token id "
                             f"(an integer in 0..{vocab_size - 1})")
    return token_array(tokens)


# Trajectory fields (agent/trace/trajectory.py) and how each is checked; ``tokens`` apart.
_TRAJECTORY = {"task": (str,), "input": (str,), "answer": (str,), "exit": (str,), "policy": (str,),
               "counts": (dict,), "seconds": (float, 0, 1e9), "meta": (dict,)}
REQUIRED = ("task", "input", "prompt_len", "tokens")


def check_trajectory(data, *, fmt: str, versions: tuple, vocab_size: int, where: str) -> dict:
    """The keyword arguments of ``Trajectory`` from a file's JSON (format ``fmt``, one of
    ``versions``), every field checked; token ids decoded and checked against ``vocab_size``."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: not a tapehead trajectory (a JSON {type(data).__name__}, not an object)")
    if data.get("format") != fmt:
        raise ValueError(f"{where}: not a tapehead trajectory (format {data.get('format')!r:.40})")
    version = data.get("version")
    if version not in versions:
        raise ValueError(f"{where}: trajectory version {version!r:.20} is not supported "
                         f"(this tapehead reads {', '.join(map(str, versions))})")
    fields = {k: v for k, v in data.items() if k not in ("format", "version")}
    unknown = sorted(set(fields) - set(_TRAJECTORY) - set(REQUIRED))
    if unknown:
        raise ValueError(f"{where}: unknown fields {unknown[:6]}")
    missing = [k for k in REQUIRED if k not in fields]
    if missing:
        raise ValueError(f"{where}: missing fields {missing}")
    for name, (kind, *bounds) in _TRAJECTORY.items():
        if name in fields:
            typed(where, name, fields[name], kind, *bounds)
    tokens = fields["tokens"]
    if version == 1:
        fields["tokens"] = check_token_list(where, tokens, vocab_size)
    else:
        fields["tokens"] = decode(tokens, vocab_size=vocab_size, max_tokens=MAX_TOKENS, where=f"{where}: tokens")
    n = len(fields["tokens"])
    plen = typed(where, "prompt_len", fields["prompt_len"], int, 1, max(n, 1))
    if plen > n:
        raise ValueError(f"{where}: prompt_len {plen} is more than the {n} tokens")
    want = 1 + len(fields["input"].encode("utf-8"))  # [BOS] + the input's bytes (agent/trace/codec.py)
    if plen != want:
        raise ValueError(f"{where}: prompt_len {plen} does not match the input ({want} prompt tokens)")
    for k, v in (fields.get("counts") or {}).items():
        typed(where, f"counts[{k!r:.20}]", v, int, 0, MAX_TOKENS)
    run = (fields.get("meta") or {}).get("run")
    if run is not None:
        check_run(run, f"{where}: meta.run")
    return fields


def check_run(run, where: str) -> dict:
    """A recorded run (a session's, or a trajectory's ``meta.run``: ``Agent._start`` writes it): the
    fields that are read back typed and bounded. Fields added later by other parts pass through."""
    typed(where, "run", run, dict)
    for name in ("task", "input", "text", "policy"):
        typed(where, name, run.get(name, ""), str, none=True)
    typed(where, "step_tokens", run.get("step_tokens", 1), int, 1, 1 << 20)
    for name in ("approval", "limits", "workspace"):
        typed(where, name, run.get(name), dict, none=True)
    for k, v in (run.get("approval") or {}).items():
        typed(where, f"approval[{k!r:.20}]", v, str)
    typed(where, "out", run.get("out"), str, none=True)
    typed(where, "tools", run.get("tools"), list, none=True)
    return run


__all__ = ["MAX_FILE_BYTES", "MAX_TOKENS", "check_run", "check_token_list", "check_trajectory", "read_json", "typed"]
