"""The start screen (input validated in place by the task's own parser, a run started from it), help,
the command palette's actions, and `tapehead tui`'s checks before the screen opens (one line, exit 2)."""

import pytest
from textual.widgets import Input, Select

from tapehead.agent.cli.main import main
from tapehead.tui.app import TapeheadApp
from tapehead.tui.screens.help import HelpScreen
from tapehead.tui.screens.start import StartScreen

from tui_helpers import SIZE, buggy_repo, home, run_screen, wait_for  # noqa: F401


@pytest.mark.asyncio
async def test_start_screen_validates_in_place_then_starts_the_run(home):
    app = TapeheadApp(None, db=str(home / "sessions.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen), what="the start screen")
        start = app.screen
        await pilot.press(*"12+x4")
        err = str(start.query_one("#input-error").render())
        from tapehead.agent.tasks import get_task

        with pytest.raises(ValueError) as e:
            get_task("addition").parse("12+x4")
        assert err == str(e.value) and err  # the task's own message, under the field
        await pilot.press("enter")
        assert isinstance(app.screen, StartScreen)  # refused: nothing starts
        start.query_one("#policy", Input).value = "script:/no/such/file"
        await pilot.pause()
        assert "no such script file" in str(start.query_one("#policy-error").render())
        start.query_one("#policy", Input).value = "teacher"
        start.query_one("#input", Input).value = "12+34"
        await pilot.pause()
        assert str(start.query_one("#input-error").render()) == ""
        start.query_one("#task", Select).value = "__repository__"
        await pilot.pause()
        errs = start.validate()
        assert set(errs) == {"repo", "check", "policy"}  # a repository run needs its own fields
        start.query_one("#task", Select).value = "addition"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: run_screen(app).status == "eos", what="the run")
        assert run_screen(app).driver.finished.answer == "46"


@pytest.mark.asyncio
async def test_help_and_the_command_palette(home):
    app = TapeheadApp(None, db=str(home / "sessions.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen), what="the start screen")
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        from tapehead.tui.screens.help import key_rows

        keys = dict((what, key) for key, what in key_rows(app.screen.under))
        assert {"Start run", "Help", "Back"} <= set(keys) and keys["Start run"] == "^s"
        assert "Sessions" not in keys  # the input field has focus: `s` types an s (the footer agrees)
        await pilot.press("escape")
        assert isinstance(app.screen, StartScreen)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"New run", "Sessions", "Help"} <= set(titles) and "Pause / resume" not in titles  # (no run here)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Sessions")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        from tapehead.tui.screens.sessions import SessionsScreen

        assert isinstance(app.screen, SessionsScreen)


@pytest.mark.parametrize("argv, message", [
    (["tui", "--task", "addition", "--input", "12+x"], "addition"),
    (["tui", "--task", "nope", "--input", "1+2"], "unknown task 'nope'"),
    (["tui", "--task", "addition"], "give --input"),
    (["tui", "--workspace", "/no/such/dir", "--check", "true"], "no such directory"),
    (["tui", "--check", "true"], "--check goes with --workspace"),
    (["tui", "--resume", "zzz"], "no session"),
    (["tui", "--resume", "x", "--input", "1+2"], "give no --task"),
    (["tui", "--task", "addition", "--input", "1+2", "--step-tokens", "0"], "--step-tokens"),
    (["tui", "--task", "addition", "--input", "1+2", "--approve", "exec=maybe"], "approval mode"),
    (["tui", "--task", "addition", "--input", "@/no/such/file"], "no such input file"),
    (["tui", "--workspace", "/tmp", "--check", "true"], "a repository run needs a policy"),
    (["tui", "--task", "addition", "--input", "1+2", "--policy", "script:/no/such.txt"], "no such script file"),
    (["tui", "--task", "addition", "--input", "1+2", "--policy", "/no/such/ckpt"], "no checkpoint /no/such/ckpt.json"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, home, capsys):
    if argv[1] == "--resume" and argv[2] == "zzz":
        from tapehead.agent.agent import Agent

        Agent(task="addition", policy="teacher", db=str(home / "sessions.sqlite")).solve("1+2", thread_id="abc")
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())  # (rich wraps a long line at 80 columns in a pipe)
    # a run's error, or argparse's for an option's value ("tapehead tui: error: argument --x: ...")
    assert err.startswith(("error:", "tapehead tui: error:")) and err.count("error:") == 1
    assert message in err and "Traceback" not in err


@pytest.mark.asyncio
async def test_start_a_repository_run_from_the_start_screen(home, tmp_path):
    from tui_helpers import FIX, script_file
    from tapehead.tui.screens.approval import ApprovalModal

    repo = buggy_repo(tmp_path / "repo")
    app = TapeheadApp(None, db=str(home / "sessions.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen), what="the start screen")
        start = app.screen
        start.query_one("#task", Select).value = "__repository__"
        await pilot.pause()
        assert start.query_one("#coding-fields").display and not start.query_one("#reasoning-fields").display
        start.query_one("#repo", Input).value = str(tmp_path / "nowhere")
        await pilot.pause()
        assert "no such directory" in str(start.query_one("#repo-error").render())
        start.query_one("#repo", Input).value = repo
        start.query_one("#check", Input).value = "python main.py"
        start.query_one("#policy", Input).value = script_file(tmp_path, FIX)
        await pilot.pause()
        assert start.validate() == {}
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalModal), what="the first approval")
        run = run_screen(app)
        assert run.driver.spec.workspace == repo and run.driver.spec.input == "Fix the bug: `python main.py` fails."
        assert app.screen.request["tool"] == "run"
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalModal), what="the edit's approval")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalModal), what="the last approval")
        await pilot.press("n")
        await wait_for(pilot, lambda: run.status == "eos", what="the end")
        assert [c.approved for c in run.query_one("ToolCallPanel").entries] == [False, False, False]
        run.driver.workspace.discard()
