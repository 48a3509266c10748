"""The argument format inside a call span, and its checks against a tool's spec.

Convention: a multi-token call is ``[CALL] name ARGS [/CALL]`` (``agent/trace/codec.py``); the text
between the tokens is split at the first space into the tool's name and ``ARGS``, which is one of

- nothing: no arguments (``[CALL]git_status[/CALL]``);
- a JSON object whose keys are the tool's argument names:
  ``[CALL]run {"command": "python -c 'print(1)'", "timeout_s": 5}[/CALL]``;
- any other text: the value of the tool's *first* argument, verbatim (the short form for the
  common case): ``[CALL]run python -c 'print(1)'[/CALL]``, ``[CALL]read_file src/app.py[/CALL]``.
  An ``int``/``float``/``bool`` first argument is converted from the text;
- for a tool whose spec says ``short_form="words"`` (the structured edits of
  ``tools/code/refactor_tools.py``, whose arguments are all short), the text is split into words
  (shell quoting): the words fill the arguments in order, and ``name=value`` names one:
  ``[CALL]pass_arg f7.py foo v10 line=6[/CALL]``.

``parse_args`` checks names, required arguments and types against the tool's ``ToolSpec`` and
raises ``CallError`` with a message written for the policy; the agent answers it with an error
observation that counts as malformed (Limits.max_consecutive_malformed). A well-formed call that the
tool itself refuses (a missing file) is an ordinary observation and does not count.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

_TYPES = {"str": (str,), "int": (int,), "bool": (bool,), "float": (int, float)}


class CallError(ValueError):
    """A call the policy wrote that cannot be run; the message is the observation."""


def split_call(text: str) -> tuple[str, str]:
    """``"name args"`` -> ``(name, args)`` (the codec's rule: split at the first space)."""
    name, _, args = text.partition(" ")
    return name, args


def format_call(name: str, args: dict | None = None) -> str:
    """The text of a call in the JSON form (what a teacher or a script writes)."""
    return name if not args else f"{name} {json.dumps(args, ensure_ascii=False)}"


def parse_args(spec, text: str) -> dict[str, Any]:
    """Arguments of a call to the tool described by ``spec`` (a ``tapehead.tools.base.ToolSpec``)."""
    stripped = text.strip()
    if not stripped:
        args: dict[str, Any] = {}
    elif stripped.startswith("{"):
        try:
            args = json.loads(stripped)
        except json.JSONDecodeError as e:
            raise CallError(f"{spec.name}: arguments are not valid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(args, dict):
            raise CallError(f"{spec.name}: arguments must be a JSON object")
    else:
        if not spec.args:
            raise CallError(f"{spec.name} takes no arguments, got {_short(text)!r}")
        if getattr(spec, "short_form", "first") == "words":
            args = _words(spec, stripped)
        else:
            first = spec.args[0]
            args = {first.name: _convert(spec.name, first, text)}
    return check_args(spec, args)


def _words(spec, text: str) -> dict[str, Any]:
    """``a b name=c`` -> the arguments in order, then the named ones (``short_form="words"``)."""
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise CallError(f"{spec.name}: cannot split the arguments into words ({e})") from None
    known = {a.name: a for a in spec.args}
    args: dict[str, Any] = {}
    positional = iter(spec.args)
    for w in words:
        key, eq, value = w.partition("=")
        if eq and key in known:
            arg = known[key]
        else:
            arg, value = next(positional, None), w
            while arg is not None and arg.name in args:
                arg = next(positional, None)
            if arg is None:
                raise CallError(f"{spec.name}: too many arguments ({_short(text)!r}); expected "
                                f"{' '.join(a.name for a in spec.args)}")
        if arg.name in args:
            raise CallError(f"{spec.name}: argument {arg.name!r} given twice")
        args[arg.name] = _convert(spec.name, arg, value)
    return args


def check_args(spec, args: dict[str, Any]) -> dict[str, Any]:
    """Names, required arguments and types; defaults are left to the tool."""
    known = {a.name: a for a in spec.args}
    unknown = sorted(set(args) - set(known))
    if unknown:
        raise CallError(f"{spec.name}: unknown argument(s) {', '.join(unknown)}; "
                        f"expected {', '.join(known) or 'none'}")
    for a in spec.args:
        v = args.get(a.name)
        if v is None:
            if a.required:
                raise CallError(f"{spec.name}: missing argument {a.name!r} ({a.type}: {a.doc})")
            continue
        want = _TYPES.get(a.type, (object,))
        if (isinstance(v, bool) and a.type != "bool") or not isinstance(v, want):
            raise CallError(f"{spec.name}: argument {a.name!r} must be {a.type}, got {type(v).__name__}")
    return {k: v for k, v in args.items() if v is not None}


def _convert(tool: str, arg, text: str):
    if arg.type == "str":
        return text
    s = text.strip()
    try:
        if arg.type == "int":
            return int(s)
        if arg.type == "float":
            return float(s)
        if arg.type == "bool" and s.lower() in ("true", "false"):
            return s.lower() == "true"
    except ValueError:
        pass
    raise CallError(f"{tool}: argument {arg.name!r} must be {arg.type}, got {_short(text)!r}")


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n] + "..."
