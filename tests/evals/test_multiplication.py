"""n×1 and n×2 multiplication: parsing, instances, and a teacher right far beyond training (≤ 10 digits)."""

import random

import pytest

from tapehead.agent.loops.loop import run_episode
from tapehead.agent.models import codec as get_codec
from tapehead.agent.tasks import get_task

C = get_codec()
MULT = get_task("mult")


def solve(text):
    tr = run_episode(MULT.teacher(C), C, text)
    assert tr.exit == "eos", (text, tr.exit)
    return tr


def test_teacher_exhaustive_small():
    for a in range(0, 120):
        for b in range(0, 100, 1 if a < 12 else 7):
            assert solve(f"{a}*{b}=").answer == str(a * b), (a, b)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 11, 20, 57, 100, 1000])
def test_teacher_right_at_size(n):
    rng = random.Random(n)
    insts = [MULT.sample(n, rng) for _ in range(2)] + MULT.hard_cases(n, rng)
    insts += get_task("mult1").hard_cases(n, rng) + [get_task("mult2").sample(n, rng)]
    if n >= 1000:  # a sample of each kind: 1,000-digit traces are ~57,000 tokens
        insts = insts[:2] + insts[2:4] + insts[-2:]
    for inst in insts:
        tr = solve(inst.text)
        assert tr.answer == inst.answer == MULT.answer(inst.text)
        a, b = inst.text[:-1].split("*")
        if n <= 100:
            assert int(tr.answer) == int(a) * int(b)


def test_trace_length_is_linear_tape_is_input_and_thoughts_and_heads_at_most_four():
    for n, bd, lo, hi in ((100, 1, 40, 52), (1000, 1, 40, 52), (100, 2, 50, 62), (1000, 2, 50, 62)):
        rng = random.Random(n)
        a = str(rng.randrange(1, 10)) + "".join(rng.choices("0123456789", k=n - 1))
        text = f"{a}*{'7' if bd == 1 else '73'}="
        tr = solve(text)
        assert lo * n < tr.generated < hi * n + 60, (n, bd, tr.generated)
        assert tr.generated <= MULT.max_tokens(text)
        mem = C.memory(tr.tokens, tr.prompt_len)
        assert len(mem) == tr.prompt_len + tr.counts["thoughts"] + tr.counts["outputs"]
        used = {C.commands[t][0] for t in tr.tokens if C.commands[t] is not None}
        assert used <= set(range(1, MULT.heads + 1))


def test_memory_layout_reversed_partial_products_then_sum():
    tr = solve("12*34=")
    assert "".join(C.memory(tr.tokens, tr.prompt_len)) == "[BOS]12*34=8040+006030+800140[ANS]408"
    tr = solve("95*7=")
    assert "".join(C.memory(tr.tokens, tr.prompt_len)) == "[BOS]95*7=536660++506060[ANS]665"


def test_training_distribution_and_test_sizes():
    rng = random.Random(1)
    n1s, n2s = set(), set()
    for _ in range(400):
        a, b = MULT.sample(10, rng, train=True).text[:-1].split("*")
        n1s.add(len(a))
        n2s.add(len(b))
        assert not (len(a) > 1 and a[0] == "0") and not (len(b) > 1 and b[0] == "0")
    assert n1s == set(range(1, 11)) and n2s == {1, 2}
    a, b = MULT.sample(50, rng).text[:-1].split("*")
    assert len(a) == 50
    assert {len(get_task("mult2").sample(9, rng).text.split("*")[1]) - 1 for _ in range(20)} == {2}


def test_hard_cases_are_what_they_claim():
    cases = {i.kind: i for i in MULT.hard_cases(20, random.Random(2))}
    assert cases["max-carry"].answer == str(int("9" * 20) * 99)
    assert cases["power-of-ten"].answer == "1" + "0" * 20
    assert cases["zero-b"].answer == "0"


@pytest.mark.parametrize("bad", ["", "  ", "12*a", "12+3", "*3", "1*2*3", "12*345", "abc"])
def test_parse_rejects_clearly(bad):
    with pytest.raises(ValueError, match="multiplication|empty|digit"):
        MULT.parse(bad)


def test_parse_canonicalises_and_variants_fix_b():
    assert MULT.parse(" 0012345 x 067 ") == "12345*67="
    assert MULT.parse("12345×7=") == "12345*7="
    assert MULT.parse("0*00") == "0*0="
    with pytest.raises(ValueError, match="1 digit"):
        get_task("mult1").parse("123*45")
    with pytest.raises(ValueError, match="2 digit"):
        get_task("mult2").parse("123*4")


@pytest.mark.parametrize("name", ["mult1-reread", "mult2-reread"])
@pytest.mark.parametrize("n", [1, 3, 10, 57, 1000])
def test_reread_teacher_right_far_past_training(name, n):
    task = get_task(name)
    rng = random.Random(n)
    insts = [task.sample(n, rng)] + task.hard_cases(n, rng)[: 2 if n >= 1000 else None]
    for inst in insts:
        tr = run_episode(task.teacher(C), C, inst.text)
        assert tr.exit == "eos" and tr.answer == inst.answer == MULT.answer(inst.text), inst.text
        assert tr.generated <= task.max_tokens(inst.text)


def test_reread_teacher_reads_the_multiplier_before_every_digit_of_a_sweep():
    task = get_task("mult2-reread")
    text = "90817*46="
    tr = run_episode(task.teacher(C), C, text)
    plain = run_episode(get_task("mult2").teacher(C), C, text)
    rd1, rd2, left1 = C.vocab.tape(1, "read"), C.vocab.tape(2, "read"), C.vocab.tape(1, "left")
    # same memory (thoughts and answer); one more p2 read per digit of each sweep after its first,
    # and one each time p1 is back on a's last digit (3 times: the start and after each sweep)
    assert C.memory(tr.tokens, tr.prompt_len) == C.memory(plain.tokens, plain.prompt_len)
    assert tr.tokens.count(rd2) - plain.tokens.count(rd2) == 2 * 5 + 3
    assert len(tr.tokens) - len(plain.tokens) == 2 * (2 * 5 + 3)
    # in a sweep (a p1 read right after [p1.left]), the multiplier p2 stands on was just read
    sweep = [i for i, t in enumerate(tr.tokens) if t == rd1 and i > tr.prompt_len and left1 in tr.tokens[i - 3: i]]
    assert len(sweep) == 2 * 5  # 4 more digits and the cell past a's first, in each of 2 sweeps
    for i in sweep:
        assert tr.tokens[i - 2] == rd2 and C.vocab.decode_text([tr.tokens[i - 1]]) in ("6", "4"), i
    # p1 back on a's last digit: p2 reads [BOS] before its first walk, a digit of b after a sweep,
    # and the next move follows from that observation alone
    back = [i for i in range(len(tr.tokens) - 3) if tr.tokens[i] == left1 and tr.tokens[i + 1] == rd2
            and C.vocab.decode_text([tr.tokens[i - 1]]) == "*"]
    seen = [(C.vocab.name(tr.tokens[i + 2]) if C.vocab.is_special(tr.tokens[i + 2])
             else C.vocab.decode_text([tr.tokens[i + 2]]), tr.tokens[i + 3]) for i in back]
    r2, l2 = C.vocab.tape(2, "right"), C.vocab.tape(2, "left")
    assert seen == [("[BOS]", r2), ("6", l2), ("4", l2)]
