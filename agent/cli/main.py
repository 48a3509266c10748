"""The ``tapehead`` command. Subcommands are plugins found through the entry-point group
``tapehead.commands`` (each a ``register(subparsers)`` function), because most of them live in the
layers above the agent (evals, tui) that the agent must not import (DESIGN.md).

Errors a user can cause (bad input, unknown task, missing checkpoint) print one clear line and
exit with status 2; they never show a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import entry_points

from rich.console import Console


class UserError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tapehead", description="A tool-augmented Mamba-2 agent.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log which model path runs, and more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for ep in sorted(entry_points(group="tapehead.commands"), key=lambda e: e.name):
        ep.load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    err = Console(stderr=True)
    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError, KeyError, FileNotFoundError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        err.print(f"[bold red]error:[/] {msg}", highlight=False)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
