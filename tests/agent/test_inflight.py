"""The in-flight record (``agent/graph/inflight.py``): a side-effecting call that was running when
the agent died is never re-run blindly on resume.

An agent runs in a real subprocess on a real workspace, through the Python API, and dies at a
chosen point: SIGKILLed while its sandboxed command sleeps, or exiting at once from its ``on_step``
callback right after the call returned (its answer recorded, its step not yet checkpointed). The
session is then resumed in this process. The command appends to ``runs.log`` in the scratch copy,
so the tests count how often it really ran.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from graph_helpers import source_dir

from tapehead.agent.agent import Agent

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMAND = ("echo ran >> runs.log; if [ $(wc -l < runs.log) -eq 1 ]; then echo ready > ready; sleep {sleep}; fi; "
           "echo ok")
CHILD = r"""
import os, sys
from tapehead.agent.agent import Agent
script, db, src, mode = sys.argv[1:5]
agent = Agent(policy="script:" + script, workspace=src, db=db, yolo=mode == "yolo", approver=lambda request: True)
if mode == "exit-after-call":  # die the moment the tool step is done, before LangGraph checkpoints it
    step = agent.ctx.on_step
    agent.ctx.on_step = lambda thread, summary: os._exit(9) if summary["steps"] == 4 else step(thread, summary)
print("scratch", agent.toolset.workspace.scratch, flush=True)
agent.solve("go", thread_id="victim")
print("FINISHED", flush=True)
"""


def killed_session(tmp_path, mode: str, sleep: int = 30):
    """A session whose agent died mid-call (``mode`` yolo: SIGKILL during the command; else exit
    right after it): (db, the scratch tree)."""
    script = tmp_path / "script.txt"
    script.write_text("[CALL]read_file README[/CALL][OBS][/OBS][CALL]run "
                      + json.dumps({"command": COMMAND.format(sleep=sleep)}) + "[/CALL][OBS][/OBS][ANS]done[EOS]")
    db = str(tmp_path / "s.sqlite")
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(script), db, source_dir(tmp_path), mode], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree = os.path.join(p.stdout.readline().split()[1], "tree")
    if mode == "yolo":
        end = time.monotonic() + 30
        while not os.path.exists(os.path.join(tree, "ready")):
            assert time.monotonic() < end and p.poll() is None, p.stderr.read()
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)
    out, err = p.communicate(timeout=60)
    assert p.returncode in (-signal.SIGKILL, 9) and "FINISHED" not in out, err
    return db, tree


def rows(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT thread_id, tool, finished IS NOT NULL FROM tapehead_inflight").fetchall()
    finally:
        con.close()


def test_yolo_resume_reruns_the_call_and_says_so(tmp_path):
    db, tree = killed_session(tmp_path, "yolo")
    assert rows(db) == [("victim", "run", 0)]  # recorded before it ran, never finished; read_file not recorded
    agent = Agent.from_session("victim", db=db)
    events = []
    res = agent.resume("victim", on_event=events.append)
    [seen] = [e for e in events if e.type == "InFlightCall"]
    assert seen.tool == "run" and seen.action == "rerun" and seen.started < time.time()
    assert not any(e.type == "ApprovalRequested" for e in events)  # yolo: the mode says run it
    assert res.exit == "eos" and res.answer == "done"
    calls = res.trajectory.meta["calls"]
    assert [c["tool"] for c in calls] == ["read_file", "run"]
    assert calls[1]["observation"].startswith("note: this call was running when the agent stopped (it started at ")
    assert open(os.path.join(tree, "runs.log")).read() == "ran\nran\n"  # once before the kill, once now
    assert rows(db) == [("victim", "run", 1)]
    assert res.trajectory.meta["steps"] == 5  # policy, tool, policy, tool, policy: none lost, none repeated
    agent.delete("victim")  # the session's records go with it
    assert rows(db) == []
    agent.close()


def test_confirm_mode_asks_and_a_denial_answers_the_policy(tmp_path):
    db, tree = killed_session(tmp_path, "yolo")
    agent = Agent.from_session("victim", db=db, approval="exec=confirm")  # resumed asking, this time
    events = []
    res = agent.resume("victim", on_event=events.append)
    assert res.paused and events[-1].type == "ApprovalRequested" and events[-1].request == res.request
    assert res.request["kind"] == "rerun" and res.request["tool"] == "run"
    assert "was running when the agent stopped" in res.request["message"]
    assert agent.sessions()[0]["status"] == "awaiting_approval"
    assert open(os.path.join(tree, "runs.log")).read() == "ran\n"  # asked, not run
    events.clear()
    res = agent.resume("victim", approve=False, on_event=events.append)
    assert [e.action for e in events if e.type == "InFlightCall"] == ["not_rerun"]
    assert res.exit == "eos" and res.answer == "done"
    call = res.trajectory.meta["calls"][1]
    assert not call["approved"] and call["observation"].startswith("not re-run: this run call was running")
    assert open(os.path.join(tree, "runs.log")).read() == "ran\n"
    agent.delete("victim")
    agent.close()


def test_a_call_that_finished_before_its_step_was_saved_is_not_run_again(tmp_path):
    db, tree = killed_session(tmp_path, "exit-after-call", sleep=0)
    assert rows(db) == [("victim", "run", 1)]
    agent = Agent.from_session("victim", db=db)  # confirm mode, no approver: it would pause if it asked
    assert agent.result("victim").request is None  # the stale approval is not shown: nothing to decide
    events = []
    res = agent.resume("victim", on_event=events.append)
    assert [e.action for e in events if e.type == "InFlightCall"] == ["recovered"]
    assert not any(e.type == "ApprovalRequested" for e in events)
    assert res.exit == "eos" and res.answer == "done"
    assert open(os.path.join(tree, "runs.log")).read() == "ran\n"  # its recorded answer was used
    assert res.trajectory.meta["calls"][1]["observation"].endswith("ok\n")
    agent.delete("victim")
    agent.close()


def test_in_memory_sessions_keep_no_record(tmp_path):
    agent = Agent(policy="script:" + str(_script(tmp_path)), workspace=source_dir(tmp_path), yolo=True)
    assert agent.ctx.inflight is None
    res = agent.solve("go")
    assert res.exit == "eos" and "ok" in res.trajectory.meta["calls"][0]["observation"]
    agent.toolset.workspace.discard()


def _script(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("[CALL]run echo ok[/CALL][OBS][/OBS][ANS]done[EOS]")
    return path
