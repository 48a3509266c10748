"""Tower of Hanoi, iterative (one head): parsing, instances, and a teacher whose every move is legal
and whose stream matches the classic recursion far beyond training (≤ 8 disks)."""

import random
import re

import pytest

from tapehead.agent.loops.loop import run_episode
from tapehead.agent.models import codec as get_codec
from tapehead.agent.tasks import get_task
from tapehead.evals.tasks.hanoi import state_text

C = get_codec()
HANOI = get_task("hanoi")
STEP = re.compile(r"\((\d+)\)([ABC])([ABC])\$(A((?:\(\d+\))*)B((?:\(\d+\))*)C((?:\(\d+\))*)\$)")


def solve(text):
    tr = run_episode(HANOI.teacher(C), C, text)
    assert tr.exit == "eos", (text, tr.exit)
    return tr


def check_stream(text, answer):
    """Every move legal, every state the result of its move, all disks on C at the end, 2^n-1 moves."""
    labels = [int(x) for x in re.findall(r"\d+", text)]
    rods = {"A": list(labels), "B": [], "C": []}
    pos, moves = 0, 0
    while pos < len(answer):
        m = STEP.match(answer, pos)
        assert m, answer[pos:pos + 60]
        d, x, y = int(m.group(1)), m.group(2), m.group(3)
        assert rods[x] and rods[x][-1] == d and (not rods[y] or rods[y][-1] > d)
        rods[y].append(rods[x].pop())
        assert m.group(4) == state_text(rods)
        pos, moves = m.end(), moves + 1
    assert rods == {"A": [], "B": [], "C": labels} and moves == 2 ** len(labels) - 1


def test_teacher_small_exhaustive_over_sizes_and_labels():
    rng = random.Random(0)
    for n in range(1, 7):
        for _ in range(8):
            inst = HANOI.sample(n, rng)
            tr = solve(inst.text)
            assert tr.answer == inst.answer == HANOI.answer(inst.text)
            check_stream(inst.text, tr.answer)
        for inst in HANOI.hard_cases(n, rng):
            assert solve(inst.text).answer == inst.answer


@pytest.mark.parametrize("n", [8, 9, 10])
def test_teacher_right_past_training(n):
    inst = HANOI.sample(n, random.Random(n))
    tr = solve(inst.text)
    assert tr.answer == inst.answer
    check_stream(inst.text, tr.answer)


@pytest.mark.slow
def test_teacher_right_at_12_disks_three_digit_labels():
    inst = [i for i in HANOI.hard_cases(12, random.Random(12)) if i.kind == "three-digit"][0]
    tr = solve(inst.text)
    assert tr.answer == inst.answer
    assert 800_000 < tr.generated < HANOI.max_tokens(inst.text)


def test_trace_uses_head_one_only_and_parity_thoughts_before_answer():
    tr = solve("A(7)(5)(2)BC$")
    heads = {C.commands[t][0] for t in tr.tokens if C.commands[t] is not None}
    assert heads == {1}
    mem = "".join(C.memory(tr.tokens, tr.prompt_len))
    assert mem.startswith("[BOS]A(7)(5)(2)BC$CBC[ANS](2)AC$A(7)(5)BC(2)$(5)AB$")
    assert tr.answer.endswith("(2)AC$ABC(7)(5)(2)$")
    assert solve("A(7)(5)BC$").answer.startswith("(5)AB$A(7)B(5)C$")  # even n: the smallest goes to B first


def test_training_distribution():
    rng = random.Random(1)
    sizes = {HANOI.sample(8, rng, train=True).size for _ in range(300)}
    assert sizes == set(range(1, 9))
    inst = HANOI.sample(10, rng)
    labels = [int(x) for x in re.findall(r"\d+", inst.text)]
    assert len(labels) == 10 == len(set(labels)) and labels == sorted(labels, reverse=True) and max(labels) <= 100


@pytest.mark.parametrize("bad,msg", [("", "empty"), ("hanoi", "not a Tower"), ("(3)(3)", "distinct"),
                                     ("hanoi 40", "too many"), ("(0)(1)", "1..999"), ("A(3)B(2)C$", "start state"),
                                     ("7 x 2", "not a Tower")])
def test_parse_rejects_clearly(bad, msg):
    with pytest.raises(ValueError, match=msg):
        HANOI.parse(bad)


def test_parse_forms():
    assert HANOI.parse("hanoi 3") == "A(3)(2)(1)BC$"
    assert HANOI.parse("(2)(7)(5)") == HANOI.parse("7, 5 2") == HANOI.parse("A(7)(5)(2)BC$") == "A(7)(5)(2)BC$"
