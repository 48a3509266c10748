"""The run screen on real runs: the real app (headless, App.run_test and Pilot), the real LangGraph
agent, the shipped policy or the teacher, a real session database."""

import pytest

pytestmark = pytest.mark.asyncio

from tapehead.agent.agent import Agent
from tapehead.tui.screens.run import RunScreen
from tapehead.tui.widgets.status_bar import StatusBar
from tapehead.tui.widgets.tape_view import TapeView

from tui_helpers import C, SIZE, app_for, home, run_screen, trace_text, wait_for  # noqa: F401


async def test_a_reasoning_run_shows_its_answer(home):
    app = app_for(home, task="addition", input="358+64", thread="t-answer")  # the shipped Mamba-2 policy
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: run_screen(app).status == "eos", what="the run to end")
        screen = run_screen(app)
        assert screen.driver.finished.answer == "422"
        text = trace_text(app)
        assert text.startswith("[BOS]358+64=") and text.endswith("[EOS]")
        labels = [b.label for b in screen.query_one("TraceView").blocks]
        assert labels[0] == "input" and "think" in labels and "answer" in labels and labels[-1] == "end"
        # the whole trace reached the screen, in order, exactly as the session recorded it
        tokens = [t for b in screen.query_one("TraceView").blocks for t in b.tokens]
        rec = Agent.from_session("t-answer", db=str(home / "sessions.sqlite")).result("t-answer")
        assert tokens == list(rec.trajectory.tokens) and rec.answer == "422"
        bar = screen.query_one(StatusBar)
        assert bar.stats.tokens == len(tokens) and bar.stats.state_bytes > 0  # the SSM's constant state
        assert "eos" in str(bar.render()) and f"{len(tokens) - 8:,} tokens" in str(bar.render())
        tape = screen.query_one(TapeView).snapshot
        assert tape["length"] == len(C.memory(tokens, 8)) == 18  # input, thoughts 2 1 2 1 4 0, [ANS], 4 2 2
        await pilot.press("q")
    assert app.return_code == 0


async def test_pause_then_resume_continues_the_same_run(home):
    # the shipped policy in small steps: pause after a step, resume; the trace is the teacher's, token
    # for token (the policy is exact at this size), so nothing was lost or repeated across the pause
    # long enough (~5,000 tokens) that the pause lands mid-run however fast this machine decodes
    a, b = "98765432109876543210" * 6, "12345678901234567890" * 6
    app = app_for(home, task="addition", input=f"{a}+{b}", thread="t-pause", step_tokens=32)
    async with app.run_test(size=SIZE) as pilot:
        screen = run_screen(app)
        await wait_for(pilot, lambda: screen.driver.sent > 0, what="decoding")
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.status != "pausing", what="the pause")
        assert screen.status == "paused"
        sent = screen.driver.sent
        await pilot.pause(0.3)
        assert screen.driver.sent == sent and not screen.busy  # nothing decodes while paused
        total = len(Agent(task="addition", policy="teacher").solve(f"{a}+{b}").trajectory.tokens)
        assert 0 < sent < total  # paused mid-run: some steps done, not all
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.status == "eos", what="the run to end")
        assert screen.driver.finished.answer == str(int(a) + int(b))
        headless = Agent(task="addition", policy="teacher").solve(f"{a}+{b}")  # the reference trace
        blocks = screen.query_one("TraceView").blocks
        assert [t for bl in blocks for t in bl.tokens] == list(headless.trajectory.tokens)


NINES = 300  # ~12,000 tokens: seconds of decoding on any machine, so a key lands mid-run


def long_run(home, thread: str):
    """The shipped policy on NINES nines plus one, in steps of 32 tokens."""
    return app_for(home, task="addition", input="9" * NINES + "+1", thread=thread, step_tokens=32)


async def test_quit_mid_run_leaves_the_session_resumable(home):
    app = long_run(home, "t-quit")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: run_screen(app).driver.sent > 0, what="decoding")
        await pilot.press("q")
        await pilot.pause(0.5)
    assert app.return_code == 3  # left unfinished
    db = str(home / "sessions.sqlite")
    agent = Agent.from_session("t-quit", db=db)
    assert agent.sessions()[-1]["status"] == "running"
    res = agent.resume("t-quit")
    assert res.exit == "eos" and res.answer == "1" + "0" * NINES


async def test_resume_a_stopped_session_on_a_new_screen(home):
    app = long_run(home, "t-stop")
    async with app.run_test(size=SIZE) as pilot:
        screen = run_screen(app)
        await wait_for(pilot, lambda: screen.driver.sent > 0, what="decoding")
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.status == "stopped", what="the stop")
        from tapehead.tui.driver import RunSpec

        again = app.open_run(RunSpec(resume="t-stop", db=str(home / "sessions.sqlite")))
        await wait_for(pilot, lambda: again.status == "eos", what="the resumed run")
        assert again.driver.finished.answer == "1" + "0" * NINES
        # the resumed screen shows the whole trace: the recorded part was backfilled
        assert again.query_one("TraceView").blocks[0].label == "input"
        assert isinstance(app.screen, RunScreen)
