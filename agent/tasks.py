"""The task protocol and registry (tasks live in ``evals/tasks``; the agent finds them by name).

Tasks sit above the agent (docs/design.md), so the agent never imports them: each task module is
registered under the entry-point group ``tapehead.tasks`` in ``pyproject.toml`` and loaded here
by name when a command needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Protocol

from .errors import NotFound


@dataclass(frozen=True)
class Instance:
    text: str  # the episode input, canonical (e.g. "123+456=")
    answer: str  # the right output stream
    size: int  # the task's size parameter (digits, disks, nodes)
    kind: str = "random"  # random, or the name of a hard case


class Task(Protocol):
    name: str
    heads: int
    default_policy: str  # name of its shipped policy (agent/policies/shipped.py), or ""

    def parse(self, user_input: str) -> str:
        """Validate a user's input; the canonical episode text. Raises ValueError with a clear message.
        Digits are ASCII ``[0-9]`` only (``\\d`` and ``str.isdigit`` take ``١٢٣``, which the
        byte-level policy has never seen: it would loop to its token limit)."""

    def answer(self, text: str) -> str:
        """The right output stream for an episode text."""

    def max_tokens(self, text: str) -> int:
        """A bound on the teacher's trace length for this input (episode limits derive from it)."""

    # optional: ``call_tools(tape) -> {name: fn(args) -> text}`` for tasks that use multi-token
    # tools (the search memory); passed to the loops as ``call_tools``.

    def sample(self, size: int, rng, *, train: bool = False) -> Instance:
        """A random instance: for training, sizes up to ``size``; for tests, exactly ``size``."""

    def hard_cases(self, size: int, rng) -> list[Instance]:
        """Adversarial instances of ``size`` (carry chains, unequal lengths, zeros, ...)."""

    def teacher(self, codec):
        """A policy that writes the reference trace, run through the real tools."""


@cache
def _names() -> tuple[str, ...]:
    return tuple(sorted(ep.name for ep in entry_points(group="tapehead.tasks")))


def task_names() -> list[str]:
    """The registered tasks' names (cached as ``get_task``: the entry-point scan costs ~25 ms, and
    building the CLI's parsers asks three times)."""
    return list(_names())


@cache
def get_task(name: str) -> Task:
    """The task registered as ``name``. Cached: scanning the installed distributions' entry points
    costs ~25 ms, and training looks a task up for every trace it builds (256,000 per study cell)."""
    for ep in entry_points(group="tapehead.tasks"):
        if ep.name == name:
            return ep.load()
    known = ", ".join(task_names()) or "none (is tapehead installed? pip install -e .)"
    raise NotFound(f"unknown task {name!r}; known tasks: {known}")
