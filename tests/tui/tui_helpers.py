"""Shared pieces of the TUI tests: a private TAPEHEAD_HOME, apps on real runs, a small git repository
with a bug, scripted coding policies, and waiting for the real app to reach a state.

Imported by the test modules (``from tui_helpers import ...``), as tests/tools does with its helpers.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tapehead.agent.models import codec
from tapehead.tui.app import TapeheadApp
from tapehead.tui.driver import RunSpec

C = codec()
SIZE = (120, 40)

BUGGY = "def greet(name):\n    return 'hello ' + nam\n\n\nprint(greet('tui'))\n"
FIXED = "def greet(name):\n    return 'hello ' + name\n\n\nprint(greet('tui'))\n"
# check, fix the NameError, check again: a scripted policy (a real policy writing a known trace)
FIX = ('[CALL]run python main.py[/CALL][OBS][/OBS]'
       '[CALL]replace_text {"path": "main.py", "old": "+ nam\\n", "new": "+ name\\n"}[/CALL][OBS][/OBS]'
       '[CALL]run python main.py[/CALL][OBS][/OBS][ANS]fixed[EOS]')


@pytest.fixture
def home(tmp_path, monkeypatch):
    """TAPEHEAD_HOME in a temporary directory: sessions and trajectories stay in the test."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("TAPEHEAD_HOME", str(h))
    return h


def git(cwd, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


def buggy_repo(path) -> str:
    """A real git repository whose check (`python main.py`) fails with a NameError."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "main.py"), "w") as f:
        f.write(BUGGY)
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "buggy")
    return str(path)


def script_file(tmp_path, markup: str, name: str = "policy.txt") -> str:
    p = tmp_path / name
    p.write_text(markup)
    return f"script:{p}"


def app_for(home, **spec) -> TapeheadApp:
    spec.setdefault("db", str(home / "sessions.sqlite"))
    return TapeheadApp(RunSpec(**spec))


async def wait_for(pilot, predicate, timeout: float = 60.0, what: str = "the app") -> None:
    """Let the real app run until ``predicate()`` holds (runs take real time: workers, sandboxes)."""
    import time

    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}; screen {pilot.app.screen!r}")
        await pilot.pause(0.05)
    await pilot.pause()


def run_screen(app):
    from tapehead.tui.screens.run import RunScreen

    return next(s for s in reversed(app.screen_stack) if isinstance(s, RunScreen))


def trace_text(app) -> str:
    """The run screen's trace as plain text, block by block (what the user reads)."""
    view = run_screen(app).query_one("TraceView")
    return "\n".join(C.vocab.decode_text(b.tokens) for b in view.blocks)
