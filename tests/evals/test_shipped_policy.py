"""The shipped addition policy (the policy `addition`, evals/policies/) on CPU, through the CLI and the loop."""

import json
import random
import subprocess
import sys

import pytest

pytest.importorskip("torch")

from tapehead.agent import models  # noqa: E402
from tapehead.agent.loops.loop import run_episode  # noqa: E402
from tapehead.agent.tasks import get_task  # noqa: E402
from tapehead.evals.runner import resolve_policy  # noqa: E402

TASK = get_task("addition")


@pytest.fixture(scope="module")
def policy_model():
    model, meta = models.load(resolve_policy(TASK, None))
    return model, meta


def test_checkpoint_is_small_bf16_and_documented(policy_model):
    import os

    model, meta = policy_model
    path = resolve_policy(TASK, None)
    assert os.path.getsize(path + ".safetensors") < 8 * 2**20
    assert meta["weights"]["dtype"] == "bfloat16"
    assert meta["recipe"]["max_size"] == 5 and meta["model_config"]["arch"] == "mamba2"
    assert 1_000_000 < model.num_parameters() < 5_000_000


def test_solves_random_50_digit_additions_on_cpu(policy_model):
    model, _ = policy_model
    c, rng = models.codec(), random.Random(2026)
    for _ in range(3):
        inst = TASK.sample(50, rng)
        tr = run_episode(models.model_policy(model), c, inst.text)
        assert tr.exit == "eos" and tr.answer == inst.answer


def test_solves_hard_cases_at_30_digits(policy_model):
    model, _ = policy_model
    c = models.codec()
    for inst in TASK.hard_cases(30, random.Random(3)):
        assert run_episode(models.model_policy(model), c, inst.text).answer == inst.answer, inst.kind


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "tapehead", *args], capture_output=True, text=True, timeout=300)


def test_cli_solve_default_policy_json_and_trace():
    r = run_cli("solve", "addition", "98765+4321", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["answer"] == "103086" and out["correct"] and out["exit"] == "eos"
    assert out["tokens"] > 200 and out["tool_calls"] > 100 and out["seconds"] > 0
    r = run_cli("solve", "addition", "12+34", "--trace")
    assert r.returncode == 0 and "[p1.read]" in r.stdout and r.stdout.strip().endswith("46")


@pytest.mark.parametrize("args,needle", [
    (("solve", "addition", "12+a"), "not an addition"),
    (("solve", "addition", ""), "empty input"),
    (("solve", "subtraction", "1-2"), "unknown task 'subtraction'"),
    (("solve", "addition", "1+1", "--policy", "/nonexistent/ckpt"), "no checkpoint"),
    (("eval", "addition", "--sizes", "x,3"), "--sizes: must be an integer"),
    (("solve", "hanoi-recursive", "hanoi 3"), "no trained policy ships for task 'hanoi-recursive'"),
])
def test_cli_bad_input_is_one_clear_line(args, needle):
    r = run_cli(*args)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr


def test_cli_eval_writes_results_table_and_plot(tmp_path):
    r = run_cli("eval", "addition", "--sizes", "3,12", "--n", "3", "--hard", "--batch", "8", "--out", str(tmp_path),
                "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [s["size"] for s in out["summary"]] == [3, 12]
    assert all(s["answer_acc"] == 1.0 and s["trajectory_acc"] == 1.0 for s in out["summary"])
    res = json.loads((tmp_path / "results.json").read_text())
    assert len(res["instances"]) == 2 * (3 + 6) and res["kernel_path"].startswith("pytorch")
    assert (tmp_path / "accuracy.png").stat().st_size > 5000
