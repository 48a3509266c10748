"""The agent-level efficiency bench (evals/bench_fix_cost.py): a forced episode is the teacher's own
episode through the real ``tapehead fix`` path (workspace, sandboxed checks, the LangGraph agent),
with the network stepping on every token; its per-block figures cover the episode."""

import json

import pytest

pytest.importorskip("torch")

from tapehead.agent import models  # noqa: E402
from tapehead.agent.loops.loop import run_episode  # noqa: E402
from tapehead.agent.tasks import get_task  # noqa: E402
from tapehead.evals.bench_fix_cost import ForcedPolicy, main  # noqa: E402
from tapehead.evals.tasks.code_fix.instance import generate  # noqa: E402
from tapehead.evals.tasks.code_fix.memtools import MemoryRepo  # noqa: E402


def test_forced_policy_writes_the_teachers_tokens_and_steps_the_network_on_each():
    C, task = models.codec(), get_task("code-fix-single")
    inst = generate(4, 0, "plumbing", "paper")
    model = models.build(models.model_config(arch="mamba2", d_model=64, n_layer=1, d_state=16, headdim=16),
                         device="cpu").eval()
    forced = ForcedPolicy(task.teacher(C, inst), models.model_policy(model))
    traj = run_episode(forced, C, inst.text, call_tools=MemoryRepo(inst.files).call_tools())
    ref = run_episode(task.teacher(C, inst), C, inst.text, call_tools=MemoryRepo(inst.files).call_tools())
    assert traj.exit == "eos" and list(traj.tokens) == list(ref.tokens)
    # the start, then one per token fed: every token after the prompt but the last ([EOS] ends it unfed)
    assert len(forced.stamps) == len(traj.tokens) - traj.prompt_len
    assert forced.network_s > 0 and forced.state_bytes() > 0


def test_bench_rows_through_the_fix_path(tmp_path, capsys):
    out = tmp_path / "rows.json"
    assert main(["--sizes", "4", "--models", "mamba2", "--teacher", "interactive", "--block", "200",
                 "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert row["exit"] == "eos" and row["check_passed"] and row["functions"] == 4
    assert len(row["block_s_per_1k"]) == row["tokens"] // 200 - (row["tokens"] % 200 == 0)
    assert 0 < row["network_s"] < row["wall_s"] and row["state_bytes"] > 0
    assert "check passes" in capsys.readouterr().out
