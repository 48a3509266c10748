"""Snapshot tests (pytest-textual-snapshot) of every screen, on real runs and real sessions.

Content is made deterministic: fixed session ids, a fixed directory for the database and the
repository (their paths are shown), fixed times (UTC), and the figures that measure this machine
-- decode rate, seconds, a sandboxed run's duration -- set to fixed values before the screenshot
(``freeze``). Update after an intended change with ``pytest tests/tui/test_snapshots.py
--snapshot-update`` and look at the SVGs in ``__snapshots__/``.
"""

import dataclasses
import os
import re
import shutil
import time

import pytest
from textual.widgets import Input

from tapehead.agent.agent import Agent
from tapehead.tui.app import TapeheadApp
from tapehead.tui.blocks import Block
from tapehead.tui.driver import RunSpec
from tapehead.tui.screens.approval import ApprovalModal
from tapehead.tui.screens.confirm import ConfirmModal
from tapehead.tui.screens.inspect import InspectScreen
from tapehead.tui.screens.run import RunScreen
from tapehead.tui.screens.sessions import SessionsScreen
from tapehead.tui.widgets.status_bar import StatusBar
from tapehead.tui.widgets.tool_calls import ToolCallPanel
from tapehead.tui.widgets.workspace_panel import WorkspacePanel

from tui_helpers import FIX, buggy_repo, run_screen, wait_for

SIZE = (120, 36)
FIXED_DIR = "/tmp/tapehead-tui-snapshots"  # shown on screen: the same path on every machine
SECONDS = re.compile(rb"\d+\.\d+ s")
SCRATCH = re.compile(rb"tapehead-ws-[A-Za-z0-9_]{8}")  # the sandbox's scratch copy: a fresh temporary name
WHEN = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, 0))


@pytest.fixture
def fixed(monkeypatch):
    shutil.rmtree(FIXED_DIR, ignore_errors=True)
    os.makedirs(FIXED_DIR)
    monkeypatch.setenv("TAPEHEAD_HOME", FIXED_DIR)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield FIXED_DIR
    monkeypatch.undo()
    time.tzset()
    shutil.rmtree(FIXED_DIR, ignore_errors=True)


def db() -> str:
    return os.path.join(FIXED_DIR, "sessions.sqlite")


def steady(b: bytes) -> bytes:
    return SCRATCH.sub(b"tapehead-ws-XXXXXXXX", SECONDS.sub(b"0.05 s", b))


def freeze(app) -> None:
    """Measured figures to fixed values; no toasts; no blinking cursors."""
    app.clear_notifications()
    for inp in app.screen.query(Input):
        inp.cursor_blink = False
    for screen in app.screen_stack:
        if not isinstance(screen, RunScreen):
            continue
        bar = screen.query_one(StatusBar)
        if bar.stats is not None:
            bar.show(dataclasses.replace(bar.stats, tokens_per_s=1234.0, seconds=1.5))
        calls = screen.query_one(ToolCallPanel)
        for i, e in enumerate(calls.entries):
            e.seconds = 0.05 if e.seconds is not None else None
            e.text = e.text and steady(e.text.encode()).decode()
            calls._redraw(i)
        for ws in screen.query(WorkspacePanel):
            if ws.last_output:
                ws.show_output(steady(ws.last_output.encode()).decode())
        log = screen.query_one("TraceView").log
        for i, b in enumerate(log.items):
            if b.label == "obs" and all(t < 256 for t in b.tokens[1:-1]):
                inner = list(steady(bytes(b.tokens[1:-1])))
                toks = [b.tokens[0], *inner, b.tokens[-1]]
                log.items[i] = Block(b.label, b.start, toks, [b.kinds[0]] * len(toks))
        log.relayout()


def reasoning_app() -> TapeheadApp:
    return TapeheadApp(RunSpec(task="addition", input="358+64", thread="snap-add", db=db()))


def coding_app(tmp_path, **kw) -> TapeheadApp:
    repo = buggy_repo(os.path.join(FIXED_DIR, "repo"))
    script = os.path.join(FIXED_DIR, "fix.txt")
    with open(script, "w") as f:
        f.write(FIX)
    return TapeheadApp(RunSpec(input="Fix the bug: `python main.py` fails.", policy=f"script:{script}", workspace=repo,
                               thread="snap-fix", db=db(), **kw))


def until_finished(screen_status=("eos",)):
    async def run_before(pilot):
        await wait_for(pilot, lambda: run_screen(pilot.app).status in screen_status, what="the run")
        freeze(pilot.app)
        await pilot.pause()
    return run_before


def test_run_screen_reasoning(fixed, snap_compare):
    assert snap_compare(reasoning_app(), terminal_size=SIZE, run_before=until_finished())


def test_run_screen_reasoning_light_theme(fixed, snap_compare):
    app = reasoning_app()

    async def run_before(pilot):
        pilot.app.theme = "textual-light"
        await until_finished()(pilot)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_run_screen_coding_with_its_diff(fixed, tmp_path, snap_compare):
    app = coding_app(tmp_path, yolo=True)
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=until_finished())
    finally:
        _discard(app)


def test_approval_modal(fixed, tmp_path, snap_compare):
    app = coding_app(tmp_path)

    async def run_before(pilot):
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ApprovalModal), what="the modal")
        freeze(pilot.app)
        await pilot.pause()
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    finally:
        _discard(app)


def test_confirm_accept_modal(fixed, tmp_path, snap_compare):
    app = coding_app(tmp_path, yolo=True)

    async def run_before(pilot):
        await until_finished()(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal), what="the confirmation")
        await pilot.pause()
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    finally:
        _discard(app)


def _discard(app) -> None:
    run = app.last_run
    if run is not None and run.driver.workspace is not None and not run.driver.workspace.closed:
        run.driver.workspace.discard()


def make_sessions() -> None:
    Agent(task="addition", policy="teacher", db=db()).solve("12+34", thread_id="snap-done")
    Agent(task="addition", policy="teacher", db=db()).solve("999+1", thread_id="snap-second")
    agent = Agent(task="addition", policy="teacher", db=db())
    for tid in ("snap-done", "snap-second"):
        agent.index.update(tid, created=WHEN, updated=WHEN)
    agent.close()


def test_sessions_screen(fixed, snap_compare):
    make_sessions()

    async def run_before(pilot):
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SessionsScreen), what="the sessions screen")
        await pilot.pause()
    assert snap_compare(TapeheadApp(None, db=db(), start="sessions"), terminal_size=SIZE, run_before=run_before)


def test_inspect_screen(fixed, snap_compare):
    make_sessions()

    async def run_before(pilot):
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SessionsScreen), what="the sessions screen")
        pilot.app.screen.query_one("DataTable").move_cursor(row=1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, InspectScreen), what="the inspector")
        await pilot.press("j", "j", "j")
        await pilot.pause()
    assert snap_compare(TapeheadApp(None, db=db(), start="sessions"), terminal_size=SIZE, run_before=run_before)


def test_start_screen_with_an_error_in_place(fixed, snap_compare):
    async def run_before(pilot):
        await pilot.pause()
        await pilot.press(*"12+x4")
        freeze(pilot.app)
        await pilot.pause()
    assert snap_compare(TapeheadApp(None, db=db()), terminal_size=SIZE, run_before=run_before)


def test_help_screen(fixed, snap_compare):
    async def run_before(pilot):
        await wait_for(pilot, lambda: run_screen(pilot.app).status == "eos", what="the run")
        await pilot.press("f1")
        freeze(pilot.app)
        await pilot.pause()
    assert snap_compare(reasoning_app(), terminal_size=SIZE, run_before=run_before)
