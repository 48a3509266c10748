"""Approval answers are parsed strictly behind every door (agent/graph/approval.py): ``--answer``, the
terminal prompt (a real pty), ``Agent.resume`` and a raw LangGraph ``Command(resume=...)``. An unknown
answer is refused and the approval stays pending; ``{"approve": true, "note": ...}`` approves with
the note. Real workspaces, the real sandboxed ``run`` tool, the real graph."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest
from langgraph.types import Command

from tapehead.agent.agent import Agent
from tapehead.agent.cli.main import main
from tapehead.agent.graph.build import run_config

import cli_world


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("TAPEHEAD_HOME", str(tmp_path / "home"))
    return cli_world.project(tmp_path)


def test_answer_maybe_is_refused_then_json_with_a_note_approves(project, capsys):
    src, script = project
    argv = ["run", "run it", "--policy", f"script:{script}", "--workspace", src, "--thread", "ap-1"]
    assert main(argv + ["--no-prompt", "--json"]) == 3
    capsys.readouterr()
    for bad in ("maybe", "ye", '{"approve": "perhaps"}', '{"approved": true, "note": 1}'):
        assert main(["run", "--resume", "ap-1", "--answer", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and ("unknown answer" in err or "note must be" in err)
        assert main(["sessions", "show", "ap-1", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["status"] == "awaiting_approval"  # not used up
    assert main(["run", "--resume", "ap-1", "--answer", '{"approve": true, "note": "once only"}', "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["exit"] == "eos" and res["answer"] == "done"
    from tapehead.agent.trace.trajectory import Trajectory

    call = Trajectory.load(res["trajectory"]).meta["calls"][0]
    assert call["approved"] is True and call["note"] == "once only" and "hello from a.py" in call["observation"]
    assert main(["sessions", "delete", "ap-1", "--yes"]) == 0


def test_raw_command_with_a_bad_answer_asks_again(project):
    src, script = project
    agent = Agent(policy=f"script:{script}", workspace=src)
    try:
        res = agent.solve("run it", thread_id="raw-1")
        assert res.paused
        cfg = run_config("raw-1", agent._run_limits("raw-1"))
        agent.graph.invoke(Command(resume="maybe"), cfg, durability="sync")  # a client that skips our checks
        snap = agent.graph.get_state({"configurable": {"thread_id": "raw-1"}})
        assert snap.interrupts, "a bad answer must not run or deny the call"
        req = snap.interrupts[0].value
        assert req["tool"] == "run" and "unknown answer 'maybe'" in req["error"]
        agent.graph.invoke(Command(resume={"approve": False, "note": "not today"}), cfg, durability="sync")
        res = agent.result("raw-1")
        assert res.exit == "eos"
        call = res.trajectory.meta["calls"][0]
        assert call["approved"] is False and call["observation"].endswith("(not today)")
    finally:
        agent.toolset.workspace.discard()


def _read_until(fd: int, needle: bytes, timeout: float = 60.0) -> bytes:
    buf = b""
    end = time.monotonic() + timeout
    while needle not in buf:
        left = end - time.monotonic()
        assert left > 0, f"no {needle!r} in {buf[-400:]!r}"
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            buf += chunk
    return buf


def test_the_terminal_prompt_asks_again_on_a_typo(project, tmp_path, capsys):
    """A real terminal: ``maybe`` is refused and asked again; ``y`` runs the call."""
    src, script = project
    master, slave = pty.openpty()
    env = {**os.environ, "TAPEHEAD_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    p = subprocess.Popen([sys.executable, "-m", "tapehead", "run", "run it", "--policy", f"script:{script}",
                          "--workspace", src], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    try:
        _read_until(master, b"run it? [y/N]")
        os.write(master, b"maybe\n")
        got = _read_until(master, b"run it? [y/N]")
        assert b"unknown answer 'maybe'" in got
        os.write(master, b"y\n")
        got = _read_until(master, b"exit=eos")
        assert b"done" in got
        assert p.wait(timeout=60) == 0
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
    capsys.readouterr()
    assert main(["sessions", "--json"]) == 0  # remove the session, and its scratch copy with it
    (row,) = json.loads(capsys.readouterr().out)
    assert row["status"] == "eos" and main(["sessions", "delete", row["thread_id"], "--yes"]) == 0
