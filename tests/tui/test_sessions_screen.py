"""The sessions screen and the inspector on real sessions (made by the real agent in a real
database): list, open a finished session and step through its calls, jump to the first error,
resume an unfinished one, delete."""

import pytest
from textual.widgets import DataTable

from tapehead.agent.agent import Agent
from tapehead.tui.app import TapeheadApp
from tapehead.tui.screens.confirm import ConfirmModal
from tapehead.tui.screens.inspect import InspectScreen
from tapehead.tui.screens.run import RunScreen
from tapehead.tui.screens.sessions import SessionsScreen

from tui_helpers import SIZE, home, wait_for  # noqa: F401

pytestmark = pytest.mark.asyncio
# a tape-task trace with an invalid token: [ERR] is the error the inspector jumps to
GARBLED = "[p1.right][p1.read]5[PAD][ERR][ANS]7[EOS]"  # (a script holds the observations it is fed)


def make_sessions(db: str, tmp_path) -> None:
    Agent(task="addition", policy="teacher", db=db).solve("12+34", thread_id="s-done")
    script = tmp_path / "garbled.txt"
    script.write_text(GARBLED)
    Agent(task="addition", policy=f"script:{script}", db=db).solve("5+2", thread_id="s-error")
    agent = Agent(task="addition", policy="teacher", db=db, limits={"max_steps": 1}, step_tokens=16)
    agent.solve("99+1", thread_id="s-open")
    agent.index.update("s-open", status="running")  # as a killed run leaves it


def sessions_app(home, tmp_path) -> TapeheadApp:
    db = str(home / "sessions.sqlite")
    make_sessions(db, tmp_path)
    return TapeheadApp(None, db=db, start="sessions")


async def test_open_a_finished_session_and_step_through_it(home, tmp_path):
    app = sessions_app(home, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), what="the sessions screen")
        screen = app.screen
        assert [r["thread_id"] for r in screen.rows] == ["s-open", "s-error", "s-done"]
        table = screen.query_one(DataTable)
        table.move_cursor(row=2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen), what="the inspector")
        ins = app.screen
        traj = ins.session.trajectory
        assert traj.answer == "46" and ins.session.status == "eos"
        calls = [s for s in ins.steps]
        assert len(calls) == traj.counts["tool_calls"] and calls[0].tool == "tape"
        assert ins.cursor == 0
        await pilot.press("j")
        await pilot.press("j")
        assert ins.cursor == 2
        s = ins.steps[2]
        assert str(ins.query_one("#step-detail").render()).startswith(f"step 3/{len(calls)}")
        trace = ins.query_one("TraceView")
        sel = trace.log.items[trace.log.selected]
        assert sel.start <= s.index < sel.end  # the block of this call is the highlighted one
        tape = ins.query_one("TapeView").snapshot
        ops = sum(1 for x in ins.steps[:3])
        assert tape["ops"] == ops  # the tape as it was right after the third call
        await pilot.press("k")
        assert ins.cursor == 1
        await pilot.press("G")
        assert ins.cursor == len(calls) - 1
        await pilot.press("e")
        assert ins.cursor == len(calls) - 1  # no error in this one: the cursor stays
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), what="back")
        app.screen.query_one(DataTable).move_cursor(row=1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen), what="the second inspector")
        ins = app.screen
        await pilot.press("e")
        err = ins.steps[ins.cursor]
        assert err.observation == "[ERR]" and err.error and ins.cursor == 2  # right, read, then the [PAD]
        assert "[ERR]" in str(ins.query_one("#step-detail").render())


async def test_resume_and_delete_from_the_sessions_screen(home, tmp_path):
    app = sessions_app(home, tmp_path)
    db = app.db
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), what="the sessions screen")
        assert app.screen.current["thread_id"] == "s-open"
        await pilot.press("enter")  # an unfinished session: opening it resumes it
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the run screen")
        run = app.screen
        await wait_for(pilot, lambda: run.status not in ("starting", "running"), what="the resumed run")
        assert run.status == "max_steps"  # the recorded limit holds on resume, as with `tapehead run --resume`
        app.pop_screen()
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), what="back")
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=[r["thread_id"] for r in app.screen.rows].index("s-done"))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
        await pilot.press("n")
        await pilot.pause()
        assert "s-done" in [r["thread_id"] for r in app.screen.rows]  # cancelled: nothing deleted
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: "s-done" not in [r["thread_id"] for r in app.screen.rows], what="the delete")
    assert "s-done" not in [r["thread_id"] for r in Agent(task="addition", policy="teacher", db=db).sessions()]
