"""Output through a pipe (issue 13, item 4): real ``tapehead`` subprocesses with stdout a pipe, their
JSON, Markdown and rich tables parsed whole (rich used to cut them at 80 columns); a reader that goes
away early (``| head``) ends the command quietly; a handful of bad inputs as real processes (the
console script and ``python -m tapehead``) print one line and exit 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TAPEHEAD = [sys.executable, "-m", "tapehead"]
A = "314159265358979323846264338327950288419716939937510582097494"
B = "271828182845904523536028747135266249775724709369995957496696"


@pytest.fixture
def env(tmp_path):
    e = {**os.environ, "TAPEHEAD_HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
         "COLUMNS": "80"}  # what a pipe gets; the output must not care
    e.pop("TAPEHEAD_CONFIG", None)
    return e


def sh(args, env, cwd=None, input=None):
    return subprocess.run(TAPEHEAD + args, capture_output=True, text=True, env=env, cwd=cwd, input=input, timeout=600)


def test_json_and_the_sessions_table_are_whole(env, tmp_path):
    p = sh(["solve", "addition", f"{A}+{B}", "--teacher", "--json"], env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["answer"] == str(int(A) + int(B))  # one JSON line, not wrapped
    long_id = "a-session-id-long-enough-to-push-the-table-past-eighty-columns"
    p = sh(["run", "--task", "addition", "-", "--policy", "teacher", "--thread", long_id, "--json"], env,
           input=f"{A}+{B}\n")  # the input from stdin
    assert p.returncode == 0 and json.loads(p.stdout)["answer"] == str(int(A) + int(B))
    p = sh(["sessions"], env)
    lines = p.stdout.splitlines()
    assert len(lines) == 2, p.stdout  # a header and one row: nothing wrapped
    header, row = lines[0].split(), lines[1].split()
    assert header == ["id", "task", "input", "status", "tokens", "steps", "answer", "updated"]
    assert row[0] == long_id and row[1] == "addition" and row[3] == "eos"
    assert "\x1b[" not in p.stdout  # no colour codes in a pipe
    p = sh(["run", "--task", "addition", "12+34", "--policy", "teacher", "--events"], env)
    events = [json.loads(x) for x in p.stdout.splitlines()]
    assert events[0]["type"] == "RunStarted" and events[-1]["type"] == "RunFinished"


def test_the_suite_markdown_table_is_whole(env, tmp_path):
    study = tmp_path / "study"
    shutil.copytree(ROOT / "docs" / "results" / "study", study)
    p = sh(["eval", "suite", "paper", "--report-only", "--out", str(study), "--tasks", "addition,mult1,mult2"], env)
    assert p.returncode == 0, p.stderr
    table = [ln for ln in p.stdout.splitlines() if ln.startswith("|")]
    assert table[0].startswith("| task | mamba2 |")
    width = table[0].count("|")
    assert all(ln.count("|") == width for ln in table[:5]), table  # every row of Table 1 on one line
    assert {ln.split("|")[1].strip() for ln in table[2:5]} == {"addition", "mult1", "mult2"}
    assert max(len(ln) for ln in table) > 80  # it is wider than rich's old 80 columns
    assert f"suite: {study}/suite.json" in p.stdout  # the path in one piece


def test_eval_table_and_paths_and_train_json(env, tmp_path):
    out = tmp_path / ("an-output-directory-with-a-name-long-enough-to-wrap-at-eighty-columns" * 2)
    p = sh(["eval", "addition", "--sizes", "3", "--n", "2", "--out", str(out)], env)
    assert p.returncode == 0, p.stderr
    assert f"results: {out}/results.json  plot: {out}/accuracy.png" in p.stdout.splitlines()
    table = [[c.strip() for c in ln.strip("|").split("|")] for ln in p.stdout.splitlines() if ln.startswith("|")]
    assert table[0][:4] == ["size", "n", "answer acc", "trajectory acc"]  # Markdown in a pipe
    assert table[2][:4] == ["3", "2", "100.0%", "100.0%"] and len(table) == 3
    run = tmp_path / "train"
    p = sh(["train", "addition", "--out", str(run), "--steps", "2", "--batch", "2", "--d-model", "32", "--layers", "1",
            "--d-state", "16", "--headdim", "16", "--chunk-size", "16", "--max-size", "2", "--val-every", "1",
            "--checkpoint-every", "2"], env)
    assert p.returncode == 0, p.stderr
    (line,) = p.stdout.splitlines()  # stdout holds the summary alone: one JSON line
    summary = json.loads(line)
    assert summary["steps"] == 2 and summary["num_parameters"] > 0
    assert "step       2/2" in p.stderr and "training mamba2" in p.stderr  # the log, on stderr


def test_a_closed_pipe_is_quiet(env, tmp_path):
    """``tapehead sessions --json | head -c 100`` with more output than a pipe holds."""
    big = "1" * 40_000
    p = sh(["run", "--task", "addition", f"{big}+1", "--policy", "teacher", "--max-tokens", "1", "--thread", "big"], env)
    assert p.returncode == 1  # stopped at once (max_tokens), the session and its 40 kB input recorded
    for args in (["sessions", "--json"], ["sessions", "show", "big", "--json"]):
        head = subprocess.run(" ".join(TAPEHEAD + args) + " | head -c 100", shell=True, capture_output=True,
                              text=True, env=env, timeout=120)
        assert len(head.stdout) == 100
        assert head.stderr == "", head.stderr  # no BrokenPipeError, no "Exception ignored"
        proc = subprocess.Popen(TAPEHEAD + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        proc.stdout.read(10)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) in (0, 141) and err == "", err


REAL = [
    (["run", "--task", "addition", "1+1", "--step-tokens", "-5"], "--step-tokens: must be >= 1"),
    (["solve", "addition", "١٢٣+٤٥٦", "--teacher"], "not an addition"),
    (["sessions", "delete", ""], "not an empty string"),
    (["run", "--task", "addition", "1+1", "--db", "/"], "is a directory"),
    (["replay", "/"], "is a directory"),
    (["eval", "addition", "paper"], "unrecognized arguments: paper"),
]


@pytest.mark.parametrize("args, fragment", REAL, ids=[" ".join(a[:2]) for a, _ in REAL])
def test_bad_input_as_a_real_process(env, args, fragment):
    p = sh(args, env)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and fragment in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_the_console_script_version_and_help(env):
    exe = shutil.which("tapehead", path=os.path.dirname(sys.executable))
    assert exe, "the tapehead console script is installed beside this python"
    p = subprocess.run([exe, "--version"], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and p.stdout.startswith("tapehead ")
    p = subprocess.run([exe, "solve", "addition", "-5+3"], capture_output=True, text=True, env=env)
    assert p.returncode == 2 and "goes after '--'" in p.stderr and p.stderr.count("\n") == 1
    p = subprocess.run([exe, "solve", "addition", "--teacher", "--", "12+30"], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and p.stdout.strip() == "42"
