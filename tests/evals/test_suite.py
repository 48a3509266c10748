"""The study command end to end at toy scale on CPU: trains, evaluates, summarises, resumes."""

import json
import subprocess
import sys

import pytest

pytest.importorskip("torch")

from tapehead.evals.suite import ARCHS, reach, table1  # noqa: E402


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


def test_report_sets_ours_beside_the_paper_and_multitask_beside_per_task():
    from tapehead.evals.report import multitask_markdown, suite_markdown

    def cell(arch, seed, accs):
        return {"task": "mult1", "arch": arch, "seed": seed, "train_size": 10,
                "summary": [{"size": z, "trajectory_acc": a, "answer_acc": a} for z, a in accs]}

    cells = [cell("mamba2", 0, [(10, 1.0), (100, 0.9)]), cell("mamba2", 1, [(10, 1.0), (100, 0.5)]),
             cell("mamba2-mix", 0, [(10, 0.99)])]
    md = multitask_markdown(cells)
    assert "| mult1 | 10 | 100.0% | 99.0% | -1.0 |" in md and "| mult1 | 100 | 90.0% | not run | - |" in md
    suite = {"archs": ["mamba2"], "tasks": ["mult1"], "cells": cells, "table": table1(cells)}
    text = suite_markdown(suite)
    assert "10->100 (90%) [s0: 100 (90%), s1: 100 (50%)]; paper 10->1K (100%)" in text
    assert "| mamba2 | mamba2-mix |" in text and "multi-task Mamba-2 (mamba2-mix)" in text
    assert multitask_markdown(cells[:2]) == ""


def test_budgets_match_within_5_percent():
    from tapehead.model.config import ModelConfig
    from tapehead.model.factory import build_model

    counts = {k: build_model(ModelConfig(vocab_size=282, **v)).num_parameters() for k, v in ARCHS.items()}
    assert max(counts.values()) / min(counts.values()) < 1.05, counts


def test_evaluation_stops_at_the_first_failing_size_and_says_so(tmp_path):
    import torch

    from tapehead.agent import models
    from tapehead.evals.runner import evaluate

    torch.manual_seed(0)  # an untrained policy: 0% at every size
    models.save(str(tmp_path / "p"), models.build(models.model_config(d_model=32, n_layer=1, d_state=8, headdim=8)))
    res = evaluate("addition", [2, 3, 4], 2, policy=str(tmp_path / "p"), batch_size=2, stop_below=0.05,
                   progress=False, max_tokens_factor=0.2)
    assert [s["size"] for s in res["summary"]] == [2] and res["summary"][0]["answer_acc"] == 0.0
    assert res["not_run"] == [3, 4] and res["stop_below"] == 0.05
    assert res["policy_params"] > 0 and res["policy_config"]["d_model"] == 32  # recorded from the checkpoint
    full = evaluate("addition", [2, 3], 2, policy=str(tmp_path / "p"), batch_size=2, progress=False,
                    max_tokens_factor=0.2)
    assert [s["size"] for s in full["summary"]] == [2, 3] and full["not_run"] == []
    # the same through `tapehead eval TASK --stop-below` (one task: every size unless asked)
    cmd = [sys.executable, "-m", "tapehead", "eval", "addition", "--policy", str(tmp_path / "p"), "--sizes", "2,3",
           "--n", "2", "--batch", "2", "--json"]
    for extra, ran, skipped in ((["--stop-below", "0.05"], [2], [3]), ([], [2, 3], [])):
        out = tmp_path / f"cli{len(extra)}"
        subprocess.run(cmd + extra + ["--out", str(out)], check=True, capture_output=True, text=True)
        res = json.loads((out / "results.json").read_text())
        assert [s["size"] for s in res["summary"]] == ran and res["not_run"] == skipped


@pytest.mark.slow
def test_suite_trains_evaluates_and_resumes(tmp_path):
    base = [sys.executable, "-m", "tapehead", "eval", "suite", "paper", "--tasks", "addition", "--seeds", "0",
            "--steps", "3", "--train-batch", "4", "--sizes", "2,3", "--n", "2", "--batch", "4", "--out", str(tmp_path),
            "--json"]
    cmd = base + ["--archs", "mamba2,gru", "--multitask", "--stop-below", "0"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    suite = json.loads((tmp_path / "suite.json").read_text())
    assert {(c["arch"], c["seed"]) for c in suite["cells"]} == {("mamba2", 0), ("gru", 0), ("mamba2-mix", 0)}
    assert all([s["size"] for s in c["summary"]] == [2, 3] for c in suite["cells"])
    assert (tmp_path / "addition.png").stat().st_size > 5000
    assert (tmp_path / "mix" / "mamba2-s0" / "policy.safetensors").exists()
    policy = tmp_path / "addition" / "gru-s0" / "policy.safetensors"
    before = policy.stat().st_mtime_ns
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and policy.stat().st_mtime_ns == before  # resumed: nothing retrained
    assert "done already: addition gru seed 0" in r.stderr  # the log; stdout holds the JSON alone
    assert json.loads(r.stdout)["suite"] == f"{tmp_path}/suite.json"

    # an evaluation cut before its end (no "finished") is not a done cell; --report-only runs nothing
    res_path = tmp_path / "addition" / "gru-s0" / "eval" / "results.json"
    res = json.loads(res_path.read_text())
    del res["finished"]
    res_path.write_text(json.dumps(res))
    r = subprocess.run(base + ["--archs", "mamba2,gru,lstm", "--report-only"], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    suite = json.loads((tmp_path / "suite.json").read_text())
    assert suite["missing"] == ["addition gru seed 0", "addition lstm seed 0"]
    assert {c["arch"] for c in suite["cells"]} == {"mamba2"}
    assert not (tmp_path / "addition" / "lstm-s0").exists() and policy.stat().st_mtime_ns == before


@pytest.mark.slow
def test_suite_train_size_makes_its_own_cell_trained_on_the_longer_sizes(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tapehead", "eval", "suite", "paper", "--tasks", "addition",
                        "--archs", "mamba2", "--seeds", "0", "--steps", "2", "--train-batch", "4", "--sizes", "2",
                        "--n", "2", "--batch", "2", "--train-size", "7", "--lr", "3e-3", "--out", str(tmp_path),
                        "--json"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    suite = json.loads((tmp_path / "suite.json").read_text())
    (cell,) = suite["cells"]
    assert (cell["arch"], cell["train_size"]) == ("mamba2-n7", 7)
    recipe = json.loads((tmp_path / "addition" / "mamba2-n7-s0" / "policy.json").read_text())["recipe"]
    assert recipe["max_size"] == 7 and recipe["lr"] == 3e-3
    assert not (tmp_path / "addition" / "mamba2-s0").exists()  # the study's own cell is untouched


def test_report_sets_the_papers_trace_beside_ours_from_the_studys_results(tmp_path):
    """The study's own results (docs/results/study, measured on the H200): ``--report-only`` with no
    --train-size still reports the cell trained on <= 20 digits (App. D.6) and the first multi-task
    policy's beside the study's, and the
    paper's trace beside the reread one, size by size; it trains and evaluates nothing."""
    import shutil
    from pathlib import Path

    study = tmp_path / "study"
    shutil.copytree(Path(__file__).resolve().parents[2] / "docs" / "results" / "study", study)
    r = subprocess.run([sys.executable, "-m", "tapehead", "eval", "suite", "paper", "--report-only", "--tasks",
                        "mult1,mult1-reread", "--archs", "mamba2", "--seeds", "0,1", "--out", str(study)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert ("| size | mult1 (paper's trace, trained <= 10) | mult1 (paper's trace, trained <= 20) | "
            "mult1-reread (ours, trained <= 10) |") in lines
    assert "| 100 | 0% [s0: 0%, s1: 0%] | 49% [s0: 49%] | 100% [s0: 100%, s1: 100%] |" in lines
    assert "| 1,000 | not run | not run | 100% [s0: 100%, s1: 100%] |" in lines
    suite = json.loads((study / "suite.json").read_text())
    assert {(c["task"], c["arch"]) for c in suite["cells"]} == {  # + the first multi-task policy's cell, a record
        ("mult1", "mamba2"), ("mult1", "mamba2-n20"), ("mult1", "mamba2-multi"), ("mult1-reread", "mamba2")}
    assert not list(study.rglob("policy.safetensors")) and not list(study.rglob("train/last*"))
