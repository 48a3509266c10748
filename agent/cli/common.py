"""What the agent's commands share: the consoles they print on, the sessions-database option, and
shortening a value to print.

One rich ``Console`` setup for the whole CLI (``console``): never soft-wrapped (a long line stays one
line), and when its stream is not a terminal (a pipe, a file) no colour and no width limit, so
tables, JSON and paths come out intact; ``out`` and ``err`` are views that make that choice when
they print (tests and pipes swap ``sys.stdout`` after import). Machine output (``--json``) is
plain ``print``. A closed pipe (``tapehead sessions --json | head -1``) raises ``BrokenPipeError``
from rich as from ``print``; ``agent/cli/main.py`` ends the command quietly.
"""

from __future__ import annotations

import sys

from rich.console import Console

from . import options

PIPE_WIDTH = 100_000  # "no limit": rich lays a table out to at most this many columns


class _Console(Console):
    def on_broken_pipe(self) -> None:  # rich's own handler exits 1; main decides, once, for every printer
        raise BrokenPipeError


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    tty = bool(getattr(stream, "isatty", lambda: False)())
    return _Console(file=stream, soft_wrap=True, width=None if tty else PIPE_WIDTH, highlight=False, emoji=False)


class _View:
    """``out.print(...)``: the console of the stream as it is now."""

    def __init__(self, stderr: bool):
        self.stderr = stderr

    def __getattr__(self, name):
        return getattr(console(self.stderr), name)


out = _View(False)
err = _View(True)


def db_option(p) -> None:
    options.add(p, "db")


def short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
