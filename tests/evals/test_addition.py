"""The addition task: parsing, instances, and a teacher that is right far beyond training sizes."""

import random

import pytest

from tapehead.agent.loops.loop import run_episode
from tapehead.agent.models import codec as get_codec
from tapehead.agent.tasks import get_task

C = get_codec()
ADD = get_task("addition")


def solve(text):
    tr = run_episode(ADD.teacher(C), C, text)
    assert tr.exit == "eos"
    return tr


def test_teacher_exhaustive_small():
    for a in range(0, 100):
        for b in range(0, 100, 3):
            assert solve(f"{a}+{b}=").answer == str(a + b)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 9, 17, 64, 100, 333, 1000, 2000])
def test_teacher_right_at_size(n):
    rng = random.Random(n)
    for inst in [ADD.sample(n, rng) for _ in range(2)] + ADD.hard_cases(n, rng):
        tr = solve(inst.text)
        assert tr.answer == inst.answer == ADD.answer(inst.text)


def test_trace_length_is_linear_and_tape_grows_only_by_thoughts_and_outputs():
    for n in (10, 100, 1000):
        inst = ADD.sample(n, random.Random(0))
        tr = solve(inst.text)
        assert 30 * n < tr.generated < 40 * n + 60
        mem = C.memory(tr.tokens, tr.prompt_len)
        assert len(mem) == tr.prompt_len + tr.counts["thoughts"] + tr.counts["outputs"]


def test_training_distribution_and_test_sizes():
    rng = random.Random(1)
    lens = set()
    for _ in range(400):
        inst = ADD.sample(5, rng, train=True)
        a, b = inst.text[:-1].split("+")
        lens.update((len(a), len(b)))
        assert not (len(a) > 1 and a[0] == "0")
    assert lens == {1, 2, 3, 4, 5}
    inst = ADD.sample(50, rng)
    a, b = inst.text[:-1].split("+")
    assert len(a) == len(b) == 50


def test_hard_cases_are_what_they_claim():
    cases = {i.kind: i for i in ADD.hard_cases(20, random.Random(2))}
    assert cases["carry-chain"].answer == "1" + "0" * 20
    assert cases["all-carry"].answer.startswith("1") and len(cases["all-carry"].answer) == 21
    assert cases["zero"].text.startswith("0+")


@pytest.mark.parametrize("bad", ["", "   ", "12+a", "1-2", "+3", "1+2+3", "abc"])
def test_parse_rejects_clearly(bad):
    with pytest.raises(ValueError, match="addition|empty"):
        ADD.parse(bad)


def test_parse_canonicalises():
    assert ADD.parse(" 007 + 5 ") == "7+5="
    assert ADD.parse("0+0=") == "0+0="
    assert ADD.answer("99999999999999999999+1=") == "100000000000000000000"
