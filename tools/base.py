"""What every tool is: a self-describing, stateful oracle that never raises on bad input.

docs/design.md ("Tools"): tools never see token ids; a bad call returns an observation that says what
was wrong; every tool describes itself (name, arguments, doc) and shows a JSON snapshot of its state
for trajectories and the TUI. ``Tool.call`` enforces the first two rules for every subclass:
arguments are checked against the spec, and any exception inside ``_run`` becomes an error
observation instead of escaping into the agent loop.

Categories drive approval in the agent (``memory`` tools run in process without asking; ``read``,
``edit``, ``exec`` and ``git`` are LangGraph tool steps that approval may interrupt).
"""

from __future__ import annotations

import abc
import re
from dataclasses import asdict, dataclass, field
from typing import Any

CATEGORIES = ("memory", "read", "edit", "exec", "git")
_INT = re.compile(r"\s*-?[0-9]+\s*")
_TYPES = {"str": str, "int": int, "bool": bool, "float": (int, float)}


@dataclass(frozen=True)
class Arg:
    name: str
    type: str  # one of str, int, bool, float
    doc: str
    required: bool = True
    default: Any = None


@dataclass(frozen=True)
class ToolSpec:
    name: str
    doc: str  # one line
    category: str
    args: tuple[Arg, ...] = ()
    # The short call form (agent/trace/calls.py): "first" = the text is the first argument,
    # verbatim; "words" = whitespace-separated words fill the arguments in order, ``name=value``
    # names one (for tools whose arguments are all short: paths, identifiers, line numbers).
    short_form: str = "first"

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Observation:
    """A tool's answer. ``ok`` is False when the call was refused or failed; ``text`` says why."""

    text: str
    ok: bool = True
    data: dict = field(default_factory=dict)  # optional structured extras (JSON-able)

    def __str__(self) -> str:
        return self.text


def error(message: str, **data) -> Observation:
    return Observation(text=f"error: {message}", ok=False, data=data)


class Tool(abc.ABC):
    """Subclasses set ``spec`` and implement ``_run(**kwargs) -> Observation | str`` and
    ``snapshot()``."""

    spec: ToolSpec

    @property
    def name(self) -> str:
        return self.spec.name

    def describe(self) -> dict:
        return self.spec.to_json()

    def call(self, **kwargs) -> Observation:
        """Run the tool; never raises for bad input (the observation says what was wrong)."""
        try:
            args = self._check_args(kwargs)
        except ValueError as e:
            return error(str(e))
        try:
            out = self._run(**args)
        except Exception as e:  # a tool bug or an OS error must not kill the agent loop
            return error(f"{self.spec.name} failed: {type(e).__name__}: {e}")
        return out if isinstance(out, Observation) else Observation(text=str(out))

    def _check_args(self, kwargs: dict) -> dict:
        known = {a.name: a for a in self.spec.args}
        unknown = sorted(set(kwargs) - set(known))
        if unknown:
            raise ValueError(f"{self.spec.name}: unknown argument(s) {', '.join(unknown)}; "
                             f"expected {', '.join(known) or 'none'}")
        out = {}
        for a in self.spec.args:
            if a.name not in kwargs or kwargs[a.name] is None:
                if a.required:
                    raise ValueError(f"{self.spec.name}: missing argument {a.name!r} ({a.type}: {a.doc})")
                out[a.name] = a.default
                continue
            v = kwargs[a.name]
            want = _TYPES.get(a.type, object)
            if a.type == "int" and isinstance(v, str) and _INT.fullmatch(v):  # ASCII digits: isdigit takes ١٢٣ and ²
                v = int(v)
            if isinstance(v, bool) and a.type in ("int", "float"):
                raise ValueError(f"{self.spec.name}: argument {a.name!r} must be {a.type}, got a bool")
            if not isinstance(v, want):
                raise ValueError(f"{self.spec.name}: argument {a.name!r} must be {a.type}, got {type(v).__name__}")
            out[a.name] = v
        return out

    @abc.abstractmethod
    def _run(self, **kwargs) -> Observation | str: ...

    @abc.abstractmethod
    def snapshot(self) -> dict: ...
