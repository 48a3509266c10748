"""Sessions: every run is a thread in one SQLite file; listed, shown and deleted through
``tapehead sessions``; the database's default place follows TAPEHEAD_HOME."""

import json
import os

from tapehead.agent.agent import Agent
from tapehead.agent.cli.main import main
from tapehead.agent.graph import sessions

from graph_helpers import scripted, source_dir


def test_default_db_follows_tapehead_home(monkeypatch, tmp_path):
    monkeypatch.setenv("TAPEHEAD_HOME", str(tmp_path / "home"))
    assert sessions.default_db() == str(tmp_path / "home" / "sessions.sqlite")
    monkeypatch.delenv("TAPEHEAD_HOME")
    assert sessions.default_db().endswith(os.path.join(".local", "state", "tapehead", "sessions.sqlite"))


def test_list_show_delete(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TAPEHEAD_HOME", str(tmp_path / "home"))
    assert main(["sessions"]) == 0  # no database yet: says so
    db = sessions.default_db()
    with Agent(task="addition", policy="teacher", db=db) as agent:
        a = agent.solve("12+34", thread_id="first-run").thread_id
        b = agent.solve("999+1", thread_id="second-run").thread_id
    capsys.readouterr()
    assert main(["sessions", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["thread_id"], r["status"], r["answer"]) for r in rows] == [(a, "eos", "46"), (b, "eos", "1000")]
    assert main(["sessions", "list"]) == 0 and "second-run" in capsys.readouterr().out
    assert main(["sessions", "show", "sec", "--json"]) == 0  # a unique prefix is enough
    shown = json.loads(capsys.readouterr().out)
    assert shown["session"] == b and shown["status"] == "eos" and shown["answer"] == "1000"
    assert shown["run"]["policy"] == "teacher" and shown["tokens"] > 50
    assert main(["sessions", "show", "first-run", "--trace"]) == 0
    assert "[EOS]" in capsys.readouterr().out
    assert main(["sessions", "delete", "first-run", "--yes"]) == 0
    capsys.readouterr()
    assert main(["sessions", "show", "first-run"]) == 2  # gone: a clear error, no traceback
    assert "no session" in capsys.readouterr().err
    with Agent(task="addition", policy="teacher", db=db) as agent:
        assert agent.state("first-run") == {}  # its checkpoints are deleted too
        assert [r["thread_id"] for r in agent.sessions()] == [b]


def test_delete_discards_the_workspace_copy(tmp_path):
    db = str(tmp_path / "s.sqlite")
    agent = Agent(policy=scripted("[CALL]run echo hi[/CALL][OBS][/OBS][EOS]"), workspace=source_dir(tmp_path),
                  yolo=True, db=db)
    tid = agent.solve("x").thread_id
    scratch = agent.toolset.workspace.scratch
    assert os.path.isdir(scratch)
    assert "discarded the workspace" in agent.delete(tid)
    assert not os.path.exists(scratch) and agent.sessions() == []
    agent.close()
