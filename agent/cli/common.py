"""What the agent's commands share: the consoles they print on, the sessions-database option, and
shortening a value to print."""

from __future__ import annotations

from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def db_option(p) -> None:
    p.add_argument("--db", help="sessions database (default: TAPEHEAD_HOME/sessions.sqlite, "
                                "TAPEHEAD_HOME defaulting to ~/.local/state/tapehead)")


def short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
