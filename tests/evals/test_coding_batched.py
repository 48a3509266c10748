"""The batched code-fix loop against its reference twins: the single loop's trajectories (teachers with real
tools, calls in threads, rows refilled), and a batch-1 network fed the same tokens (holds, per-row prefill)."""

import gzip
import json
import random

import pytest
import torch

from tapehead.agent import models
from tapehead.agent.loops.loop import run_episode
from tapehead.agent.trace.trajectory import Trajectory
from tapehead.evals.coding import task_api
from tapehead.evals.coding.batched import ModelRows, PolicyRows, run_rows
from tapehead.evals.coding.episodes import InstanceTools, limits_for, solve
from tapehead.evals.coding.evaluate import evaluate, instances_for
from tapehead.evals.heldout import loader


def _single(inst):
    """The reference: the single loop, the same tools called in this thread; (trajectory, check calls)."""
    tools = InstanceTools(inst)
    try:
        traj = run_episode(task_api.teacher(models.codec(), inst), models.codec(), inst.problem_statement,
                           task=task_api.task_name(inst.family, inst.style), limits=limits_for(inst), call_tools=tools.fns)
        return traj, tools.calls["check"]
    finally:
        tools.close()


def test_batched_loop_gives_the_single_loops_trajectories_and_patches():
    insts = instances_for(4, 2, 0, "plumbing", "paper") + [loader.load(n) for n in ("invoice_cli", "csv_pipeline")]
    codec = models.codec()
    out = run_rows(PolicyRows(2, codec.PAD), insts, limits=limits_for,  # 2 rows for 4 instances: rows are refilled
                   policy_for=lambda inst: task_api.teacher(codec, inst), threads=3)
    for inst, (patch, traj, runs, _) in zip(insts, out):
        ref, ref_runs = _single(inst)
        assert traj.tokens == ref.tokens and traj.exit == ref.exit == "eos"
        assert runs == ref_runs >= 2
        assert patch.startswith("diff --git")


def test_a_row_whose_policy_fails_ends_alone():
    """ticket_triage: the teacher raises on a lambda; its row ends with exit "error", the others finish."""
    insts = [loader.load("ticket_triage"), loader.load("invoice_cli")]
    codec = models.codec()
    (p1, stuck, _, _), (p2, ok, _, _) = run_rows(PolicyRows(2, codec.PAD), insts, limits=limits_for,
                                                 policy_for=lambda inst: task_api.teacher(codec, inst))
    ref = solve(insts[0], task_api.teacher(codec, insts[0]), codec)
    assert stuck.exit == ref.trajectory.exit == "error" and stuck.tokens == ref.trajectory.tokens
    assert "<lambda>" in stuck.meta["error"] and p1 == ref.patch
    assert ok.exit == "eos" and p2.startswith("diff --git")


def _tiny():
    torch.manual_seed(0)
    cfg = models.model_config(arch="mamba2", d_model=32, n_layer=2, d_state=16, headdim=16, chunk_size=16)
    return models.build(cfg).eval()


def test_model_rows_hold_and_per_row_prefill_decode_what_a_batch_1_policy_does():
    model, rng = _tiny(), random.Random(0)
    rows = ModelRows(model, 3, cuda_graph=False)
    prompts = [[rng.randrange(256) for _ in range(n)] for n in (5, 9, 2)]
    singles = [models.model_policy(model) for _ in prompts]
    want = []
    for r, (prompt, p) in enumerate(zip(prompts, singles)):
        p.start(prompt)
        want.append(p.propose())
    got = [rows.start(r, prompt) for r, prompt in enumerate(prompts)]
    assert got == want
    for step in range(40):
        hold = {r for r in range(3) if rng.random() < 0.4}
        feed = [rng.randrange(256) for _ in range(3)]
        out = rows.step(feed, hold)
        for r, p in enumerate(singles):
            if r not in hold:
                p.feed(feed[r])
                assert out[r] == p.propose(), (step, r)
        if step == 20:  # a row refilled mid-run starts from its own prompt only
            prompts[1] = [rng.randrange(256) for _ in range(7)]
            singles[1] = models.model_policy(model)
            singles[1].start(prompts[1])
            assert rows.start(1, prompts[1]) == singles[1].propose()


def test_eval_code_fix_with_a_network_runs_batched(tmp_path):
    path = str(tmp_path / "tiny")
    models.save(path, _tiny())
    res = evaluate([4], 3, policy=path, out_dir=str(tmp_path / "ev"), batch_size=2, progress=False, factor=0.001)
    (s,) = res["summary"]
    assert s["n"] == 3 and s["pass_rate"] == 0.0  # an untrained network fixes nothing ...
    rows = res["instances"]
    assert all(r["exit"] in ("max_tokens", "malformed", "eos") and r["tokens"] > 0 for r in rows)  # ... but runs
    assert all(r["reason"] for r in rows)


def test_a_kv_cache_network_is_batched_as_one_policy_per_row(tmp_path):
    """The Transformers' caches share one position per batch: ``run_batched_instances`` gives each row a
    batch-1 policy (the GPU round of 2026-12-02 crashed here) and decodes what the single loop does."""
    from tapehead.evals.coding.batched import run_batched_instances

    torch.manual_seed(0)
    model = models.build(models.model_config(arch="transformer", d_model=32, n_layer=2, n_head=2)).eval()
    models.save(str(tmp_path / "tf"), model)
    insts = instances_for(4, 3, 0, "plumbing", "paper")
    pytest.raises(ValueError, ModelRows, model, 2, cuda_graph=False)
    paths = [str(tmp_path / f"{k}.json.gz") for k in range(3)]
    out = run_batched_instances(insts, str(tmp_path / "tf"), paths, batch_size=2, factor=0.0, threads=2)
    for inst, row, path in zip(insts, out, paths):
        ref = solve(inst, models.model_policy(model), models.codec(), limits=limits_for(inst, 0.0)).trajectory
        with gzip.open(path, "rt") as f:
            got = Trajectory.from_json({k: v for k, v in json.load(f).items() if k != "patch"})
        assert got.tokens == ref.tokens and row["exit"] == ref.exit and row["tokens"] == ref.generated > 0
