"""``tapehead replay``: a trajectory's tool calls re-executed against fresh tools (a new tape, a fresh
workspace copy with the real sandbox); divergence is reported, timings are not compared."""

import json

from tapehead.agent.agent import Agent
from tapehead.agent.cli.main import main
from tapehead.agent.replay import normalize, replay
from tapehead.agent.trace.trajectory import Trajectory

from graph_helpers import C, scripted, source_dir

CALLS = "[CALL]run python a.py[/CALL][OBS][/OBS][CALL]read_file a.py[/CALL][OBS][/OBS][ANS]ok[EOS]"


def _record(tmp_path, src):
    out = str(tmp_path / "rec.json")
    agent = Agent(policy=scripted(CALLS), workspace=src, yolo=True)
    try:
        assert agent.solve("x", out=out).exit == "eos"
    finally:
        agent.toolset.workspace.discard()
    return out


def test_replay_same_then_diverged_when_the_source_changes(tmp_path, capsys):
    src = source_dir(tmp_path)
    out = _record(tmp_path, src)
    report = replay(out)
    assert report.ok and report.action_calls == 2 and report.replayed.answer == "ok"
    assert main(["replay", out]) == 0 and "same" in capsys.readouterr().out
    (tmp_path / "src" / "a.py").write_text("print('changed')\n")
    report = replay(out)
    assert not report.ok and {d.tool for d in report.divergences} == {"run", "read_file"}
    assert main(["replay", out, "--json"]) == 1
    got = json.loads(capsys.readouterr().out)
    assert got["ok"] is False and "hello from a.py" in got["divergences"][0]["recorded"]


def test_replay_finds_a_tampered_tape_observation(tmp_path, capsys):
    out = str(tmp_path / "add.json")
    Agent(task="addition", policy="teacher").solve("358+64", out=out)
    rec = Trajectory.load(out)
    calls = C.calls(rec.tokens, rec.prompt_len)
    first_read = next(c for c in calls if c["call"].get("op") == "read")
    rec.tokens[first_read["index"] + 1] = ord("9")  # the tape said '3'; pretend it said '9'
    rec.save(out)
    report = replay(out)
    assert report.divergences[0].what == "call" and report.divergences[0].index == first_read["index"]
    assert main(["replay", out, "--trace"]) == 1
    assert "diverged" in capsys.readouterr().out


def test_timings_are_not_compared():
    assert normalize("[exit 0; 0.09 s; 3 bytes of output]\nhi") == normalize("[exit 0; 1.70 s; 3 bytes of output]\nhi")
    assert normalize("[exit 1; 0.09 s; 3 bytes of output]\nhi") != normalize("[exit 0; 0.09 s; 3 bytes of output]\nhi")
