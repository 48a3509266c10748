"""The code-fix teachers: they fix every sampled repository from 4 to 1,024 functions (in process and
in the real sandbox), the interactive trace obeys the local-decision rule, the single-turn trace
holds the whole repository, the LangGraph agent drives the teacher with approval, and the training
data source builds code-fix batches through the task's trace hook."""

import random

import numpy as np
import pytest
from code_fix_helpers import C, assert_fixed, run_real, write_repo

from tapehead.agent.agent import Agent
from tapehead.agent.tasks import get_task
from tapehead.evals.data import TraceSource
from tapehead.evals.tasks.code_fix import changed_functions, generate
from tapehead.evals.tasks.code_fix.memtools import MemoryRepo
from tapehead.evals.tasks.code_fix.teachers import TeacherStuck, fast_trace, interactive

PARTS = [("plumbing", "paper"), ("plumbing", "realistic"), ("import", "realistic")]


def fixed_in_process(task, inst):
    """The teacher's trace on ``inst`` and the repository it leaves (in process)."""
    repo = MemoryRepo(inst.files)
    tokens, _ = fast_trace(C, inst.text, task.steps(), repo.call)
    assert repo.runner.check(repo.files) == "PASS"
    assert repo.runner.stdout(repo.files) == inst.expected_stdout
    assert changed_functions(inst.files, repo.files) == set(inst.necessary)
    return tokens, repo


@pytest.mark.parametrize("size", [4, 8, 16, 32, 128])
def test_teachers_fix_every_sampled_repository(size):
    rng = random.Random(size)
    for family, style in PARTS:
        for kind in ("random", "chain" if family == "plumbing" else "three"):
            inst = generate(size, rng.randrange(1000), family, style, kind)
            fixed_in_process(get_task("code-fix"), inst)
            if family == "plumbing":
                fixed_in_process(get_task("code-fix-single"), inst)


@pytest.mark.slow
@pytest.mark.parametrize("size", [256, 512, 1024])
def test_teachers_fix_large_repositories(size):
    for seed, (family, style) in enumerate(PARTS):
        inst = generate(size, seed, family, style)
        tokens, _ = fixed_in_process(get_task("code-fix"), inst)
        assert len(tokens) <= get_task("code-fix").max_tokens(inst)
        if family == "plumbing":
            fixed_in_process(get_task("code-fix-single"), inst)


@pytest.mark.parametrize("size, family, style", [(4, "plumbing", "paper"), (16, "plumbing", "realistic"),
                                                 (16, "import", "realistic")])
def test_teacher_fixes_in_the_real_sandbox(tmp_path, size, family, style):
    inst = generate(size, 11, family, style)
    traj, ws = run_real(get_task("code-fix"), inst, tmp_path)
    assert traj.exit == "eos" and traj.counts["malformed"] == 0
    assert_fixed(inst, ws)


@pytest.mark.slow
def test_teacher_fixes_a_64_function_repository_in_the_real_sandbox(tmp_path):
    for family, style in PARTS:
        inst = generate(64, 3, family, style)
        traj, ws = run_real(get_task("code-fix"), inst, tmp_path, name=f"{style}-{family}")
        assert traj.exit == "eos"
        assert_fixed(inst, ws)


def local_decisions(sizes) -> dict[int, int]:
    """Every string written inside a call is copied from the last observation -- or, right after a
    find_definition, from the check observation before it; the longest call + observation per size."""
    task = get_task("code-fix")
    longest = {}
    for size in sizes:
        for seed, (family, style) in enumerate(PARTS):
            for kind in ("random", "chain" if family == "plumbing" and size < 1024 else "random"):
                inst = generate(size, seed, family, style, kind)
                tokens, _ = task.trace(C, inst)
                calls = C.calls(tokens, len(C.prompt(inst.text)))
                assert calls[0]["call"]["text"] == "" and calls[0]["tool"] == "check"
                for i, c in enumerate(calls[1:], 1):
                    window = [calls[i - 1]["observation"]]
                    if calls[i - 1]["tool"] == "find_definition":
                        window.append(calls[i - 2]["observation"])
                    for word in c["call"]["text"].split():
                        value = word.split("=", 1)[1] if word.startswith("line=") else word
                        assert any(value in obs for obs in window), (c, window)
                    if c["tool"] != "check":  # a fix follows a FAIL; find_definition only a NameError
                        assert window[-1].startswith("FAIL exit 1\n")
                assert calls[-1]["observation"] == "PASS" and tokens[-1] == C.EOS
                longest[size] = max([longest.get(size, 0)] + [len(c["observation"]) + len(c["call"]["text"])
                                                              for c in calls])
    return longest


def test_interactive_trace_obeys_the_local_decision_rule():
    longest = local_decisions((4, 16, 64))
    assert max(longest.values()) <= 500, longest


@pytest.mark.slow
def test_the_window_does_not_grow_to_1024_functions():
    longest = local_decisions((4, 256, 1024))
    assert max(longest.values()) <= 500 and longest[1024] <= longest[4] + 150, longest


def test_single_turn_trace_reads_the_whole_repository_first():
    inst = generate(12, 5, "plumbing", "realistic")
    tokens, _ = get_task("code-fix-single").trace(C, inst)
    calls = C.calls(tokens, len(C.prompt(inst.text)))
    reads = [c for c in calls if c["tool"] == "read_file"]
    edits = calls[1 + len(reads):]
    assert calls[0]["tool"] == "list_files" and {c["call"]["text"] for c in reads} == set(inst.files)
    assert edits and all(c["tool"] in ("add_param", "pass_arg") for c in edits)
    # the edits name lines and functions that no observation since the reading shows: they come from memory
    last_read_obs = "\n".join(c["observation"] for c in reads)
    assert all(w in last_read_obs for c in edits for w in c["call"]["text"].split()[1:2])


def test_teacher_refuses_what_it_has_no_rule_for():
    steps = interactive()
    assert next(steps) == "check"
    with pytest.raises(TeacherStuck, match="no rule for the error"):
        steps.send("FAIL exit 1\nmain.py:3 in main: x = 1 / 0\nZeroDivisionError: division by zero")
    steps = interactive()
    next(steps)
    with pytest.raises(TeacherStuck, match="no rule for the check's answer"):
        steps.send("FAIL exit 2\nusage: main.py [-h]")


def test_langgraph_agent_drives_the_teacher_with_approval(tmp_path):
    task = get_task("code-fix-paper")
    inst = generate(6, 2)
    src = write_repo(inst.files, str(tmp_path / "repo"))
    agent = Agent(task=task, policy=task.teacher(C, inst), workspace=src)
    paused = agent.solve(inst.text, thread_id="fix-1")
    assert paused.exit == "awaiting_approval" and paused.request["tool"] == "check"
    agent.close()
    agent = Agent(task=task, policy=task.teacher(C, inst), workspace=src, yolo=True)
    res = agent.solve(inst.text, thread_id="fix-2")
    assert res.exit == "eos" and res.trajectory.counts["malformed"] == 0
    tokens, _ = task.trace(C, inst)
    assert list(res.trajectory.tokens) == tokens  # the graph's tool steps answered as the in-process path
    assert_fixed(inst, agent.toolset.workspace)
    agent.close()


def test_trace_source_builds_code_fix_batches():
    task = get_task("code-fix")
    src = TraceSource("code-fix", 16, 6, seq_len=task.max_tokens(16), seed=3)
    (ids, mask), = src.arrays(5)
    again, = src.arrays(5)
    assert np.array_equal(ids, again[0]) and ids.shape[1] % 64 == 0 and ids.shape[1] < 20_000
    prompt = C.prompt(generate(4, 0).text)
    rng = random.Random("3/5/0")
    for r in range(ids.shape[0]):
        inst = task.sample(16, rng, train=True)
        tokens, m = task.trace(C, inst)
        assert list(ids[r, :len(tokens)]) == tokens and list(mask[r, :len(m)]) == m
        assert list(ids[r, :len(prompt)]) == prompt and not mask[r, len(m):].any()
        assert m == C.loss_mask(tokens, len(prompt))


def test_max_tokens_bounds_every_training_trace():
    rng = random.Random(9)
    for name in ("code-fix", "code-fix-single"):
        task = get_task(name)
        insts = [task.sample(16, rng, train=True) for _ in range(30)] + task.hard_cases(16, rng)
        for inst in insts:
            n = len(task.trace(C, inst)[0])
            assert n <= task.max_tokens(inst) <= task.max_tokens(16), (inst.instance_id, n)
        assert task.max_tokens("any text") == task.max_tokens(1024)


@pytest.mark.slow
def test_training_on_code_fix_with_worker_processes(tmp_path):
    """``tapehead train code-fix``'s path: worker processes build the same batches as inline."""
    from tapehead.agent import models
    from tapehead.evals.data import Prefetched
    from tapehead.evals.training import train_policy

    src = TraceSource("code-fix", 8, 4, seq_len=get_task("code-fix").max_tokens(8), seed=1)
    pre = Prefetched(src, workers=1, ahead=2)
    try:
        got, want = pre.batch(0), src.batch(0)
        assert got.input_ids.equal(want.input_ids) and got.loss_mask.equal(want.loss_mask)
    finally:
        pre.close()
    cfg = dict(arch="mamba2", d_model=32, n_layer=1, d_state=8, headdim=8, chunk_size=16)
    summary = train_policy("code-fix", cfg, out_dir=str(tmp_path / "run"), steps=2, batch=4, seq_len=None,
                           max_size=8, workers=2, checkpoint_every=0, val_every=0, ship=str(tmp_path / "p"),
                           log=lambda *a, **k: None)
    assert summary["step"] == 2 and summary["target_tokens_seen"] > 0
    _, meta = models.load(str(tmp_path / "p"))
    assert meta["recipe"]["task"] == "code-fix" and meta["recipe"]["seq_len"] >= get_task("code-fix").max_tokens(8)


def test_the_worked_examples_in_docs_are_the_teachers_traces():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "tasks.md").read_text()
    for inst in (generate(4, 1), generate(5, 2, "import", "realistic", "three")):
        tokens, _ = get_task("code-fix").trace(C, inst)
        for c in C.calls(tokens, len(C.prompt(inst.text))):
            args = f" {c['call']['text']}" if c["call"]["text"] else ""
            line = f"[CALL]{c['tool']}{args}[/CALL][OBS]{c['observation'].replace(chr(10), '⏎')}[/OBS]"
            assert line in doc, line
