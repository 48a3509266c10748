"""Approval through interrupt() and Command(resume=...), exercised with the real sandboxed execution
tool on a real workspace: pause before running, approve, deny, yolo per category, an approver
callback, the raw LangGraph API, and a paused session answered from another Agent (process)."""

import pytest
from langgraph.types import Command

from tapehead.agent.agent import Agent
from tapehead.agent.graph import approval
from tapehead.agent.graph import events as ev
from tapehead.agent.graph.build import run_config
from tapehead.agent.graph.toolset import Toolset

from graph_helpers import C, exists_in_scratch, scripted, source_dir

MAKE = '[CALL]run echo made > made.txt[/CALL][OBS][/OBS][CALL]read_file made.txt[/CALL][OBS][/OBS][ANS]ok[EOS]'


@pytest.fixture
def src(tmp_path):
    return source_dir(tmp_path)


def _agent(src, **kw):
    return Agent(policy=scripted(MAKE), workspace=src, **kw)


def test_confirm_pauses_before_running_then_approve_runs(src, tmp_path):
    agent = _agent(src, db=str(tmp_path / "s.sqlite"))
    try:
        got = []
        res = agent.solve("make a file", on_event=got.append)
        assert res.paused and res.exit == "awaiting_approval"
        assert res.request == {"kind": "approval", "tool": "run", "category": "exec",
                               "args": {"command": "echo made > made.txt"}, "index": res.request["index"]}
        assert isinstance(got[-1], ev.ApprovalRequested) and got[-1].request == res.request
        snap = agent.graph.get_state({"configurable": {"thread_id": res.thread_id}})
        assert snap.next == ("tools",) and snap.interrupts
        assert not exists_in_scratch(agent, "made.txt")  # nothing ran before the decision
        assert agent.sessions()[0]["status"] == "awaiting_approval"
        res = agent.resume(res.thread_id, approve="yes", on_event=got.append)
        assert res.exit == "eos" and res.answer == "ok"
        assert exists_in_scratch(agent, "made.txt")
        import os

        assert not os.path.exists(os.path.join(src, "made.txt"))  # the user's directory is untouched
        calls = res.trajectory.meta["calls"]
        assert [c["tool"] for c in calls] == ["run", "read_file"]  # read is yolo by default
        assert calls[0]["approved"] and calls[0]["observation"].startswith("[exit 0;")
        assert "1| made" in calls[1]["observation"]
        tc = [e for e in got if isinstance(e, ev.ToolCall)]
        assert [e.needs_approval for e in tc] == [True, False]
    finally:
        agent.toolset.workspace.discard()


def test_deny_answers_the_policy_and_runs_nothing(src):
    agent = _agent(src)
    try:
        res = agent.solve("make a file")
        res = agent.resume(res.thread_id, approve={"approve": False, "note": "not now"})
        assert res.exit == "eos"
        calls = C.calls(res.trajectory.tokens, res.trajectory.prompt_len)
        assert calls[0]["observation"] == "denied: the user did not approve this run call (not now)"
        assert not exists_in_scratch(agent, "made.txt")
        assert calls[1]["observation"].startswith("error:")  # the file was never made
        assert res.trajectory.counts["malformed"] == 0  # a denial is not the policy's fault
    finally:
        agent.toolset.workspace.discard()


def test_yolo_per_category_and_approver_callback(src):
    agent = _agent(src, approval="exec=yolo")
    try:
        res = agent.solve("make a file")
        assert res.exit == "eos" and exists_in_scratch(agent, "made.txt")
    finally:
        agent.toolset.workspace.discard()
    asked = []
    agent = _agent(src, approval={"read": "confirm"}, approver=lambda r: asked.append(r["tool"]) or True)
    try:
        res = agent.solve("make a file")
        assert res.exit == "eos" and asked == ["run", "read_file"]
    finally:
        agent.toolset.workspace.discard()


def test_raw_langgraph_resume_and_another_agent_on_the_same_session(src, tmp_path):
    db = str(tmp_path / "s.sqlite")
    agent = _agent(src, db=db)
    try:
        res = agent.solve("make a file", thread_id="t")
        assert res.paused
        # what the TUI does: answer the interrupt with the graph's own API
        agent.graph.invoke(Command(resume=True), run_config("t"), durability="sync")
        res = agent.result("t")
        assert res.paused is False and res.exit == "eos" and exists_in_scratch(agent, "made.txt")

        again = _agent(src, db=db)
        try:
            res = again.solve("make a file", thread_id="u")
            assert res.paused
            again.close()
            other = Agent.from_session("u", db=db, policy=scripted(MAKE))  # reattaches to the same scratch copy
            assert other.toolset.workspace.scratch == again.toolset.workspace.scratch
            res = other.resume("u", approve="no")
            assert res.exit == "eos" and res.trajectory.meta["calls"][0]["approved"] is False
            other.close()
        finally:
            again.toolset.workspace.discard()
    finally:
        agent.toolset.workspace.discard()


def test_approval_modes_and_decisions():
    assert approval.modes() == {"read": "yolo", "edit": "confirm", "exec": "confirm", "git": "confirm"}
    assert set(approval.modes(yolo=True).values()) == {"yolo"}
    assert approval.modes(overrides="all=confirm,read=yolo")["read"] == "yolo"
    with pytest.raises(ValueError):
        approval.modes(overrides="exec=maybe")
    with pytest.raises(ValueError):
        approval.modes(overrides="network=yolo")
    assert approval.decision("Y") == (True, "") and approval.decision(False) == (False, "")
    with pytest.raises(ValueError, match="unknown answer 'perhaps'"):  # a typo is refused, never a denial
        approval.decision("perhaps")
    assert approval.parse_answer('{"approve": true, "note": "once"}') == (True, "once")
    with pytest.raises(ValueError):
        Toolset([type("T", (), {"spec": type("S", (), {"category": "memory"})(), "name": "m"})()])
