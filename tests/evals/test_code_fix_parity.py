"""The fast training-data path against the real thing: the teachers through the real workspace tools
and the real sandbox write exactly the tokens of the in-process trace -- so every observation of the
in-process run (check, find_definition, the edits, read_file) equals the real tool's, at every step
-- and the fast trace builder equals the real loop driving the same program (tokens and loss mask)."""

import pytest
from code_fix_helpers import C, assert_fixed, run_real

from tapehead.agent.loops.loop import run_episode
from tapehead.agent.tasks import get_task
from tapehead.evals.tasks.code_fix import generate
from tapehead.evals.tasks.code_fix.memtools import MemoryRepo

SAMPLE = [  # (task, size, seed, family, style, kind)
    ("code-fix", 6, 0, "plumbing", "paper", "random"),
    ("code-fix", 12, 1, "plumbing", "paper", "foo-repeated"),
    ("code-fix", 8, 2, "plumbing", "realistic", "random"),
    ("code-fix", 10, 3, "plumbing", "realistic", "defaults"),
    ("code-fix", 9, 4, "import", "realistic", "three"),
    ("code-fix", 7, 5, "import", "realistic", "module-level"),
    ("code-fix-single", 6, 6, "plumbing", "paper", "random"),
    ("code-fix-single", 7, 7, "plumbing", "realistic", "loops"),
]
MORE = [("code-fix", 16, s, f, st, k) for s, (f, st, k) in enumerate([
    ("plumbing", "paper", "chain"), ("plumbing", "paper", "diamonds"), ("plumbing", "paper", "foo-from-main"),
    ("plumbing", "realistic", "chain"), ("plumbing", "realistic", "loops"), ("plumbing", "realistic", "diamonds"),
    ("import", "realistic", "class"), ("import", "realistic", "random")])] + [
    ("code-fix-single", 16, 20, "plumbing", "realistic", "defaults"), ("code-fix", 48, 21, "plumbing", "realistic", "random"),
    ("code-fix", 48, 22, "plumbing", "paper", "random")]


def check_parity(tmp_path, name, size, seed, family, style, kind):
    task = get_task(name)
    inst = generate(size, seed, family, style, kind)
    traj, ws = run_real(task, inst, tmp_path)
    assert traj.exit == "eos"
    tokens, mask = task.trace(C, inst)
    real, fast = C.calls(traj.tokens, traj.prompt_len), C.calls(tokens, traj.prompt_len)
    assert [c["call"] for c in real] == [c["call"] for c in fast]
    for r, f in zip(real, fast):  # first the observations one by one (a readable failure) ...
        assert r["observation"] == f["observation"], (r["tool"], r["call"])
    assert list(traj.tokens) == tokens  # ... then every token
    assert C.loss_mask(traj.tokens, traj.prompt_len) == mask
    assert_fixed(inst, ws)
    return real


@pytest.mark.parametrize("name, size, seed, family, style, kind", SAMPLE)
def test_in_process_observations_equal_the_real_tools(tmp_path, name, size, seed, family, style, kind):
    calls = check_parity(tmp_path, name, size, seed, family, style, kind)
    tools = {c["tool"] for c in calls}
    if name == "code-fix-single":
        assert {"list_files", "read_file"} <= tools and "check" not in tools
    else:
        assert "check" in tools and "find_definition" in tools


@pytest.mark.slow
@pytest.mark.parametrize("name, size, seed, family, style, kind", MORE)
def test_in_process_observations_equal_the_real_tools_more(tmp_path, name, size, seed, family, style, kind):
    check_parity(tmp_path, name, size, seed, family, style, kind)


@pytest.mark.parametrize("name", ["code-fix", "code-fix-single"])
def test_fast_trace_equals_the_real_loop_on_the_same_repository(name):
    """The reference twin of ``fast_trace``: the token-level teacher policy in ``run_episode``,
    with the in-memory repository as its tools."""
    task = get_task(name)
    for seed, (family, style) in enumerate([("plumbing", "paper"), ("plumbing", "realistic"), ("import", "realistic")] * 2):
        if name == "code-fix-single" and family == "import":
            continue
        inst = generate(5 + 3 * seed, seed, family, style)
        repo = MemoryRepo(inst.files)
        traj = run_episode(task.teacher(C, inst), C, inst.text, call_tools=repo.call_tools())
        tokens, mask = task.trace(C, inst)
        assert traj.exit == "eos" and list(traj.tokens) == tokens
        assert C.loss_mask(traj.tokens, traj.prompt_len) == mask
        assert repo.runner.check(repo.files) == "PASS"
