"""``tapehead run``: headless runs, JSON and event output, limits, user errors, and an approval paused
by one command and answered by another (``--resume ID --answer``)."""

import json
import os
import subprocess
import sys

import pytest

from tapehead.agent.cli.main import main
from tapehead.agent.trace.trajectory import FORMAT, VERSION, Trajectory

from graph_helpers import source_dir


@pytest.fixture
def home(monkeypatch, tmp_path):
    monkeypatch.setenv("TAPEHEAD_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_entry_point_json_and_versioned_trajectory(tmp_path):
    out = tmp_path / "t.json"
    p = subprocess.run([sys.executable, "-m", "tapehead", "run", "--task", "addition", "--input", "12345+678",
                        "--policy", "teacher", "--json", "--db", str(tmp_path / "s.sqlite"), "--out", str(out)],
                       capture_output=True, text=True, env={**os.environ, "TAPEHEAD_HOME": str(tmp_path / "h")})
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert res["answer"] == "13023" and res["correct"] and res["exit"] == "eos" and res["trajectory"] == str(out)
    raw = json.loads(out.read_text())
    assert raw["format"] == FORMAT and raw["version"] == VERSION
    assert Trajectory.load(str(out)).answer == "13023"
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".traj-")]  # atomic writes leave no temp files


def test_default_trajectory_path_events_and_limits(home, capsys):
    assert main(["run", "--task", "addition", "--input", "99+1", "--policy", "teacher", "--thread", "ev1",
                 "--events"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["type"] == "RunStarted" and lines[-1]["type"] == "RunFinished" and lines[-1]["answer"] == "100"
    assert {"Tokens", "TapeSnapshot", "Stats"} <= {x["type"] for x in lines}
    assert Trajectory.load(str(home / "trajectories" / "ev1.json")).answer == "100"
    assert main(["sessions", "delete", "ev1", "--yes"]) == 0  # a default trajectory file goes with its session
    assert not (home / "trajectories" / "ev1.json").exists()
    capsys.readouterr()
    rc = main(["run", "--task", "addition", "--input", "99+1", "--policy", "teacher", "--json",
               "--max-steps", "2", "--step-tokens", "4"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 1 and res["exit"] == "max_steps" and res["steps"] == 3


@pytest.mark.parametrize("argv, message", [
    (["run", "--task", "addition"], "give --input"),
    (["run", "--task", "addition", "--input", "12+x", "--policy", "teacher"], "not an addition"),
    (["run", "--task", "nosuch", "--input", "1"], "unknown task"),
    (["run", "--input", "1", "--answer", "yes"], "--answer goes with --resume"),
    (["run", "--input", "1", "--policy", "script:/nonexistent.json"], "No such file"),
    (["run", "--task", "addition", "--input", "1+1", "--policy", "teacher", "--approve", "exec=maybe"], "approval mode"),
    (["run", "--resume", "nosuch"], "no session"),
])
def test_user_errors_are_one_line(home, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_approval_paused_by_one_command_answered_by_another(home, tmp_path, capsys):
    src = source_dir(tmp_path)
    script = tmp_path / "calls.txt"
    script.write_text("[CALL]run python a.py[/CALL][OBS][/OBS][ANS]done[EOS]")
    argv = ["run", "--input", "run it", "--policy", f"script:{script}", "--workspace", src, "--thread", "cli1"]
    assert main(argv + ["--json", "--no-prompt"]) == 3
    res = json.loads(capsys.readouterr().out)
    assert res["exit"] == "awaiting_approval" and res["approval"]["args"] == {"command": "python a.py"}
    assert main(["run", "--resume", "cli1"]) == 3  # still waiting: stdin is no terminal, so nobody was asked
    assert "--resume cli1 --answer yes" in capsys.readouterr().err
    assert main(["run", "--resume", "cli1", "--answer", "yes", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["exit"] == "eos" and res["answer"] == "done"
    traj = Trajectory.load(res["trajectory"])
    assert "hello from a.py" in traj.meta["calls"][0]["observation"]
    assert main(["sessions", "delete", "cli1", "--yes"]) == 0  # and its scratch copy with it
    assert "discarded the workspace" in capsys.readouterr().out


def test_shipped_policy_through_tapehead_run(home, capsys):
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    try:
        assert main(["run", "--task", "addition", "--input", "4821+377", "--json", "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    res = json.loads(capsys.readouterr().out)
    assert res["answer"] == "5198" and res["correct"] and res["policy"] == "addition"
