"""The study command end to end at toy scale on CPU: trains, evaluates, summarises, resumes."""

import json
import subprocess
import sys

import pytest

pytest.importorskip("torch")

from evals.suite import ARCHS, reach, table1  # noqa: E402


def test_reach_is_table1s_m_and_p():
    summary = [{"size": 5, "trajectory_acc": 1.0}, {"size": 10, "trajectory_acc": 0.3},
               {"size": 20, "trajectory_acc": 0.04}, {"size": 50, "trajectory_acc": 0.06}]
    assert reach(summary, "trajectory_acc") == (50, 0.06)
    assert reach([{"size": 5, "trajectory_acc": 0.0}], "trajectory_acc") == (None, 0.0)


def test_table1_reports_every_seed_and_the_best():
    cells = [{"task": "t", "arch": "a", "seed": s, "train_size": 5,
              "summary": [{"size": 5, "trajectory_acc": 1.0, "answer_acc": 1.0},
                          {"size": 50, "trajectory_acc": p, "answer_acc": p}]} for s, p in ((0, 0.0), (1, 0.5))]
    (row,) = table1(cells)
    assert [s["m"] for s in row["seeds"]] == [5, 50] and row["cell"] == "5->50 (50%)"


def test_budgets_match_within_5_percent():
    from model.config import ModelConfig
    from model.factory import build_model

    counts = {k: build_model(ModelConfig(vocab_size=282, **v)).num_parameters() for k, v in ARCHS.items()}
    assert max(counts.values()) / min(counts.values()) < 1.05, counts


@pytest.mark.slow
def test_suite_trains_evaluates_and_resumes(tmp_path):
    cmd = [sys.executable, "-m", "agent.cli", "eval", "suite", "paper", "--tasks", "addition", "--archs", "mamba2,gru",
           "--seeds", "0", "--steps", "3", "--train-batch", "4", "--sizes", "2,3", "--n", "2", "--batch", "4",
           "--out", str(tmp_path), "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    suite = json.loads((tmp_path / "suite.json").read_text())
    assert {(c["arch"], c["seed"]) for c in suite["cells"]} == {("mamba2", 0), ("gru", 0)}
    assert all([s["size"] for s in c["summary"]] == [2, 3] for c in suite["cells"])
    assert (tmp_path / "addition.png").stat().st_size > 5000
    policy = tmp_path / "addition" / "gru-s0" / "policy.safetensors"
    before = policy.stat().st_mtime_ns
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and policy.stat().st_mtime_ns == before  # resumed: nothing retrained
    assert "done already: addition gru seed 0" in r.stdout
