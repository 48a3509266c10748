"""Tower of Hanoi, recursive (two heads): every size's move list, right far beyond training (≤ 7 disks)."""

import random
import re

import pytest

from tapehead.agent.loops.loop import run_episode
from tapehead.agent.models import codec as get_codec
from tapehead.agent.tasks import get_task
from tapehead.evals.tasks.hanoi_recursive import final_moves

C = get_codec()
REC = get_task("hanoi-recursive")
MOVE = re.compile(r"\((\d+)\)([ABC])([ABC])")


def solve(text):
    tr = run_episode(REC.teacher(C), C, text)
    assert tr.exit == "eos", (text, tr.exit)
    return tr


def check_lists(text, answer):
    """Each list k moves the k smallest disks from A to C, legally, in 2^k-1 moves."""
    labels = [int(x) for x in re.findall(r"\d+", text)]
    lists = answer.split("#")
    assert lists[0] == "" and lists[-1] == "" and len(lists) == len(labels) + 2
    for k, moves in enumerate(lists[1:-1], 1):
        disks = labels[len(labels) - k:]
        rods = {"A": list(disks), "B": [], "C": []}
        found = MOVE.findall(moves)
        assert "".join(f"({d}){x}{y}" for d, x, y in found) == moves and len(found) == 2 ** k - 1
        for d, x, y in found:
            assert rods[x] and rods[x][-1] == int(d) and (not rods[y] or rods[y][-1] > int(d))
            rods[y].append(rods[x].pop())
        assert rods["C"] == disks


def test_teacher_small_many_cases():
    rng = random.Random(0)
    for n in range(1, 7):
        for _ in range(8):
            inst = REC.sample(n, rng)
            tr = solve(inst.text)
            assert tr.answer == inst.answer == REC.answer(inst.text)
            check_lists(inst.text, tr.answer)
        for inst in REC.hard_cases(n, rng):
            assert solve(inst.text).answer == inst.answer


@pytest.mark.parametrize("n", [7, 8, 9, 10, 12])
def test_teacher_right_past_training(n):
    rng = random.Random(n)
    insts = [REC.sample(n, rng)] + (REC.hard_cases(n, rng)[1:2] if n <= 10 else [])
    for inst in insts:
        tr = solve(inst.text)
        assert tr.answer == inst.answer
        check_lists(inst.text, tr.answer)


def test_paper_example_trace_two_heads():
    tr = solve("(7)(5)(2)")
    assert tr.answer == "#(2)AC#(2)AB(5)AC(2)BC#(2)AC(5)AB(2)CB(7)AC(2)BA(5)BC(2)AC#"
    assert final_moves(tr.answer) == "(2)AC(5)AB(2)CB(7)AC(2)BA(5)BC(2)AC"
    heads = {C.commands[t][0] for t in tr.tokens if C.commands[t] is not None}
    assert heads == {1, 2}
    assert tr.generated <= REC.max_tokens("(7)(5)(2)")


def test_training_distribution():
    rng = random.Random(1)
    assert {REC.sample(7, rng, train=True).size for _ in range(300)} == set(range(1, 8))


@pytest.mark.parametrize("bad,msg", [("", "empty"), ("(3)(", "not a Tower"), ("(3)(3)", "distinct"),
                                     ("hanoi 17", "too many")])
def test_parse_rejects_clearly(bad, msg):
    with pytest.raises(ValueError, match=msg):
        REC.parse(bad)


def test_parse_forms():
    assert REC.parse("hanoi 3") == "(3)(2)(1)"
    assert REC.parse("2 5 7") == REC.parse("(7)(5)(2)") == "(7)(5)(2)"
