"""The ``tapehead`` command. Subcommands are plugins found through the entry-point group
``tapehead.commands`` (each a ``register(subparsers)`` function), because most of them live in the
layers above the agent (evals, tui) that the agent must not import (DESIGN.md).

Every parser is a ``Parser``: no abbreviated flags (``allow_abbrev=False``: ``--teach`` is an
error, not ``--teacher-workers``), every default shown in ``--help`` (with the configuration file
it came from, ``agent/cli/config.py``), and argparse's errors as one line. Options come from the
one schema of ``agent/cli/options.py``.

Errors a user can cause (bad input, an unknown task, a missing or corrupt file, a bad
configuration) print one line, ``error: ...``, and exit with status 2; they never show a
traceback. A closed output pipe ends the command quietly with status 141 (128 + SIGPIPE, as a
shell reports ``yes | head``); Ctrl-C exits 130. An error that is tapehead's own bug prints one line
too and exits 70 (EX_SOFTWARE); ``-v`` shows its traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sqlite3
import sys
from importlib.metadata import PackageNotFoundError, entry_points, version

from rich.markup import escape

from . import config
from .common import err


class UserError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 2."""


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, with ``(default: X)`` after every option that has a default, and the
    configuration file when the default came from one."""

    def _split_lines(self, text, width):  # never break a path or a flag in two
        import textwrap

        return textwrap.wrap(" ".join(text.split()), width, break_long_words=False, break_on_hyphens=False)

    def _get_help_string(self, action):
        h = action.help or ""
        if "%(default)" in h or not action.option_strings or any(action.default is x for x in
                                                                   (None, False, argparse.SUPPRESS)):
            return h
        src = getattr(action, "config_source", None)
        return h + " (default: %(default)s" + (f", from {src}".replace("%", "%%") if src else "") + ")"


_DASH_INPUT = re.compile(r"-[0-9]")


class Parser(argparse.ArgumentParser):
    argv: list[str] = []  # the command line being parsed (for the hint in ``error``)
    deepest: "Parser | None" = None

    def __init__(self, *a, **kw):
        kw.setdefault("allow_abbrev", False)
        kw.setdefault("formatter_class", HelpFormatter)
        super().__init__(*a, **kw)

    def parse_known_args(self, args=None, namespace=None):
        Parser.deepest = self  # subparsers parse inside their parent's call: the last one in is the command's
        return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):
        ns, extra = self.parse_known_args(args, namespace)
        if extra:  # said by the command's own parser (``tapehead solve: error: ...``), not the root's
            Parser.deepest.error(f"unrecognized arguments: {' '.join(extra)}")
        return ns

    def error(self, message: str):
        """One line (argparse prints the usage block first), exit 2."""
        hint = ""
        dashed = [a for a in self.argv if _DASH_INPUT.match(a)]
        flag = re.match(r"argument (--[\w-]+)(?:/[\w-]+)?: expected one argument", message)
        if dashed and flag:
            hint = f"; a value that starts with '-' is written {flag.group(1)}={dashed[0]}"
        elif dashed and ("required" in message or "unrecognized" in message):
            hint = f"; an input that starts with '-' goes after '--' (e.g. {self.prog} ... -- {dashed[0]})"
        self.exit(2, f"{self.prog}: error: {message}{hint} (see {self.prog} --help)\n")


def _version() -> str:
    try:
        return version("tapehead")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> Parser:
    parser = Parser(prog="tapehead", description="A tool-augmented Mamba-2 agent.")
    parser.add_argument("--version", action="version", version=f"tapehead {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log which model path runs, and more; "
                        "tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for ep in sorted(entry_points(group="tapehead.commands"), key=lambda e: e.name):
        ep.load()(sub)
    return parser


def say(message: str) -> None:
    """The one-line error (markup in the message is printed as is)."""
    line = " ".join(str(message).split("\n")).strip() or "unknown error"
    err.print(f"[bold red]error:[/] {escape(line)}")


def _message(e: BaseException) -> str:
    if isinstance(e, KeyError) and e.args:
        return str(e.args[0])
    if isinstance(e, OSError) and e.strerror:
        return f"{e.filename}: {e.strerror}" if e.filename else e.strerror
    if isinstance(e, sqlite3.DatabaseError):
        return f"the sessions database cannot be used: {e} (--db names the file)"
    return str(e) or type(e).__name__


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        settings = config.load()
    except config.ConfigError as e:
        say(str(e))
        return 2
    parser = build_parser()
    applied = config.apply(parser, settings)
    Parser.argv = argv
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help, --version, or its one-line error
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    args.settings, args.configured = settings, applied
    try:
        with config.environment(settings):
            rc = int(args.func(args) or 0)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is caught below
        return rc
    except BrokenPipeError:
        _quiet_pipe()
        return 141
    except (UserError, ValueError, KeyError, OSError, sqlite3.DatabaseError) as e:
        say(_message(e))
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as e:  # tapehead's own bug: one line, the traceback on request
        if args.verbose:
            logging.exception("internal error")
        say(f"internal error (a bug in tapehead, please report it): {type(e).__name__}: {e}"
            + ("" if args.verbose else " (run with -v for the traceback)"))
        return 70


def _quiet_pipe() -> None:
    """The reader went away: point stdout at /dev/null so that the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test's capture)
        pass


if __name__ == "__main__":
    sys.exit(main())
