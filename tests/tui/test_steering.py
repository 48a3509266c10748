"""Steering a coding run from the real app: the approval modal answers the graph's interrupt
(approve, deny with a note, approve the rest of a category), and at the end the diff is accepted
(the user's tree changes only then), undone, or discarded. Real git repository, real sandbox."""

import os

import pytest

from tapehead.agent.agent import Agent
from tapehead.tui.screens.approval import ApprovalModal, describe
from tapehead.tui.screens.confirm import ConfirmModal
from tapehead.tui.widgets.tool_calls import ToolCallPanel
from tapehead.tui.widgets.workspace_panel import WorkspacePanel

from tui_helpers import (BUGGY, FIX, FIXED, SIZE, app_for, buggy_repo, home, run_screen, script_file,  # noqa: F401
                         wait_for)

pytestmark = pytest.mark.asyncio
MAKE = '[CALL]run echo made > made.txt[/CALL][OBS][/OBS][CALL]read_file made.txt[/CALL][OBS][/OBS][ANS]ok[EOS]'


def modal(app):
    return app.screen if isinstance(app.screen, ApprovalModal) else None


async def test_approve_from_the_modal_runs_the_call(home, tmp_path):
    src = buggy_repo(tmp_path / "repo")
    app = app_for(home, input="make a file", policy=script_file(tmp_path, MAKE), workspace=src, thread="t-approve")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: modal(app) is not None, what="the approval modal")
        m = modal(app)
        assert m.request["tool"] == "run" and m.request["args"] == {"command": "echo made > made.txt"}
        assert "echo made > made.txt" in str(describe(m.request))
        screen = run_screen(app)
        assert screen.status == "awaiting approval"
        assert not os.path.exists(os.path.join(screen.driver.workspace.root, "made.txt"))  # nothing ran yet
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.status == "eos", what="the run to end")
        calls = screen.query_one(ToolCallPanel).entries
        assert [(c.tool, c.approved, c.ok) for c in calls] == [("run", True, True), ("read_file", True, True)]
        assert "1| made" in calls[1].text
        assert os.path.exists(os.path.join(screen.driver.workspace.root, "made.txt"))
        assert not os.path.exists(os.path.join(src, "made.txt"))  # the user's tree: only on accept
        ws = screen.query_one(WorkspacePanel)
        assert ws.state["changes"] == [("A", "made.txt")] and "+made" in ws.state["diff"]
        assert "[exit 0" in ws.last_output
        await pilot.press("d")  # discard
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: (ws.state or {}).get("closed"), what="the discard")
        assert not os.path.exists(screen.driver.workspace.scratch)
        assert not os.path.exists(os.path.join(src, "made.txt"))


async def test_deny_with_a_note_answers_the_policy(home, tmp_path):
    src = buggy_repo(tmp_path / "repo")
    app = app_for(home, input="make a file", policy=script_file(tmp_path, MAKE), workspace=src, thread="t-deny")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: modal(app) is not None, what="the approval modal")
        await pilot.click("#note")
        await pilot.press(*"not now")
        await pilot.press("escape")  # deny, with the note typed
        screen = run_screen(app)
        await wait_for(pilot, lambda: screen.status == "eos", what="the run to end")
        first = screen.query_one(ToolCallPanel).entries[0]
        assert first.approved is False and first.text == "denied: the user did not approve this run call (not now)"
        res = Agent.from_session("t-deny", db=str(home / "sessions.sqlite")).result("t-deny")
        assert res.trajectory.meta["calls"][0]["note"] == "not now"
        assert not os.path.exists(os.path.join(screen.driver.workspace.root, "made.txt"))
        screen.driver.workspace.discard()


async def test_fix_a_repository_and_accept_its_diff_then_undo(home, tmp_path):
    src = buggy_repo(tmp_path / "repo")
    app = app_for(home, input="Fix the bug: `python main.py` fails.", policy=script_file(tmp_path, FIX),
                  workspace=src, thread="t-fix")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: modal(app) is not None, what="the first approval")
        assert modal(app).request["category"] == "exec"
        await pilot.press("A")  # approve every exec call of this run
        await wait_for(pilot, lambda: modal(app) is not None and modal(app).request["category"] == "edit",
                       what="the edit's approval")
        await pilot.press("y")
        screen = run_screen(app)
        await wait_for(pilot, lambda: screen.status == "eos", what="the run to end")
        assert screen.approvals == 2  # the second run call was not asked about
        calls = screen.query_one(ToolCallPanel).entries
        assert [c.tool for c in calls] == ["run", "replace_text", "run"]
        assert "NameError" in calls[0].text and calls[2].text.startswith("[exit 0")
        assert "hello tui" in screen.query_one(WorkspacePanel).last_output
        with open(os.path.join(src, "main.py")) as f:
            assert f.read() == BUGGY  # the run is over; the user's tree is still as it was
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
        await pilot.press("y")
        ws = screen.query_one(WorkspacePanel)
        await wait_for(pilot, lambda: (ws.state or {}).get("accepts") == 1, what="the accept")
        with open(os.path.join(src, "main.py")) as f:
            assert f.read() == FIXED
        await pilot.press("u")
        await wait_for(pilot, lambda: "undid" in ws.note, what="the undo")
        with open(os.path.join(src, "main.py")) as f:
            assert f.read() == BUGGY
        screen.driver.workspace.discard()


async def test_a_request_of_an_unknown_kind_is_shown_and_answered_yes_or_no(home):
    from tapehead.tui.app import TapeheadApp

    request = {"kind": "rerun", "tool": "run", "args": {"command": "pytest"}, "reason": "the call was in flight"}
    app = TapeheadApp(None, db=str(home / "sessions.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        answers = []
        await app.push_screen(ApprovalModal(request), answers.append)
        await pilot.pause()
        text = str(app.screen.query_one("#approval-request").render())
        assert "'rerun'" in text and "the call was in flight" in text
        assert not app.screen.query("#approve_all")  # no category to approve for an unknown kind
        await pilot.press("A")
        assert isinstance(app.screen, ApprovalModal)  # (refused: not an approval of a category)
        await pilot.press("y")
        await pilot.pause()
    assert answers[0].value() == {"approve": True, "note": ""} and answers[0].category is None
