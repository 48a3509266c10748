"""The input-size limit (``Limits.max_input_bytes``, agent/loops/episode.py): one clear message beyond
it -- the size, the limit, how to raise it -- from every entry point, before anything is built on the
input, and nothing recorded for a refused run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tapehead.agent.agent import Agent
from tapehead.agent.loops.episode import DEFAULT_MAX_INPUT_BYTES, MAX_INPUT_ENV, Episode, Limits, default_max_input_bytes
from tapehead.agent.loops.loop import run_episode

from graph_helpers import ADD, C

MESSAGE = (r"the input is 2,001 bytes, more than the limit of 2,000 bytes \(max_input_bytes\); "
           rf"to allow it, set {MAX_INPUT_ENV}=2001 \(or Limits\(max_input_bytes=2001\) from Python\)")


def test_default_and_environment(monkeypatch):
    monkeypatch.delenv(MAX_INPUT_ENV, raising=False)
    assert Limits().max_input_bytes == DEFAULT_MAX_INPUT_BYTES == 1 << 20
    monkeypatch.setenv(MAX_INPUT_ENV, "2_000")
    assert Limits().max_input_bytes == 2000
    for bad in ("-1", "0", "lots", ""):
        monkeypatch.setenv(MAX_INPUT_ENV, bad)
        with pytest.raises(ValueError, match=rf"{MAX_INPUT_ENV} must be a positive number of bytes, got '{bad}'"):
            default_max_input_bytes()


def test_episode_counts_utf8_bytes_not_characters():
    Episode(C, "x" * 2000, limits=Limits(max_input_bytes=2000))  # at the limit: fine
    with pytest.raises(ValueError, match=MESSAGE):
        Episode(C, "x" * 2001, limits=Limits(max_input_bytes=2000))
    with pytest.raises(ValueError, match=r"the input is 2,001 bytes"):
        Episode(C, "é" * 1000 + "x", limits=Limits(max_input_bytes=2000))  # 1,001 characters, 2,001 bytes
    Episode(C, "x" * 5000, limits=Limits(max_input_bytes=None))  # None: no limit


def test_the_bare_loop_refuses_before_the_policy_starts():
    started = []

    class Policy:
        def start(self, prompt):
            started.append(len(prompt))

    with pytest.raises(ValueError, match=MESSAGE):
        run_episode(Policy(), C, "1" * 2001, limits=Limits(max_input_bytes=2000))
    assert started == []


def test_agent_refuses_and_records_no_session(tmp_path):
    agent = Agent(task="addition", policy="teacher", db=str(tmp_path / "s.sqlite"), limits={"max_input_bytes": 2000})
    with pytest.raises(ValueError, match=MESSAGE):
        agent.solve("1" * 1000 + "+" + "2" * 999)  # the task text, "...=", is 2,001 bytes
    assert agent.sessions() == []
    res = agent.solve("123+456")  # under the limit, the same agent runs
    assert res.exit == "eos" and res.answer == "579" and res.trajectory.meta["run"]["limits"]["max_input_bytes"] == 2000


def _cli(args, tmp_path, limit):
    env = {**os.environ, MAX_INPUT_ENV: str(limit), "TAPEHEAD_HOME": str(tmp_path / "home"), "COLUMNS": "400"}
    return subprocess.run([sys.executable, "-m", "tapehead", *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("command", [
    ["solve", "addition", "@{file}", "--teacher"],
    ["run", "--task", "addition", "--input", "@{file}", "--policy", "teacher"],
])
def test_cli_beyond_the_limit_is_one_line_and_exit_2(tmp_path, command):
    f = tmp_path / "problem.txt"
    f.write_text("1" * 1000 + "+" + "2" * 999)  # the task text (with its "=") is 2,001 bytes
    argv = [a.format(file=f) for a in command]
    out = _cli(argv, tmp_path, 2000)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert __import__("re").search(MESSAGE, lines[0]), lines[0]
    ok = _cli(argv + ["--json"], tmp_path, 2001)  # raised as the message says: it runs
    assert ok.returncode == 0, ok.stderr
    assert str(int("1" * 1000) + int("2" * 999)) in ok.stdout


def test_the_tensor_loop_refuses_too():
    torch = pytest.importorskip("torch")
    from tapehead.agent import models
    from tapehead.agent.loops.tensor import run_tensor_batched

    model = models.build(models.model_config(d_model=32, n_layer=1, d_state=8, headdim=8))
    with torch.no_grad(), pytest.raises(ValueError, match=MESSAGE):
        run_tensor_batched(model, C, ["1+1=", "1" * 2001], limits=Limits(max_input_bytes=2000))
    assert ADD.parse("1+1") == "1+1="  # (the parser itself is the CLI/task parsers' part)
