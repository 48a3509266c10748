"""Multi-digit addition with a pointer tape (paper §3.1, App. D.3), the project's first task.

Input ``a+b=`` (canonical: no leading zeros). Training distribution as the paper: n1, n2 ~ U{1..n}
and uniformly random numbers of those lengths; tests use both operands of exactly n digits; hard
cases add long carry chains, very unequal lengths and zeros.

The teacher is the paper's long addition with O(1) state, in five phases (the codec's docstring
shows a whole trace):

1. p1 walks right to ``+`` and steps back onto a's last digit;
2. p2 walks right to ``=`` and steps back onto b's last digit;
3. read both heads; a non-digit counts as 0 and stops that head; while a digit or a carry is left,
   write two thoughts, the sum digit and the carry, and step the heads that read digits left;
   then write ``[ANS]``;
4. p3 walks right from the start to ``[ANS]``;
5. p3 walks left two cells at a time, skipping carries and outputting sum digits, until it reads
   ``=`` where a carry was due; then ``[EOS]``.

Choices the paper leaves open (paper-notes §3.1) and why: the final carry is one more loop turn
(so the top digit is an ordinary sum digit); phases 4-5 use their own head (p3) so that every
decision depends only on the last few tokens — phase 2's "stop at ``=``" and phase 4's "pass
``=``" would otherwise look identical locally, and telling them apart would need a memory of
``[ANS]`` across 3n tokens, which is what breaks length generalisation.
"""

from __future__ import annotations

import random
import re

from tapehead.agent.tasks import Instance

from .program import ProgramPolicy

_INPUT = re.compile(r"^\s*([0-9]+)\s*\+\s*([0-9]+)\s*=?\s*$")  # ASCII digits only: \d takes ١٢٣


def _number(rng: random.Random, n: int) -> str:
    if n == 1:
        return str(rng.randrange(10))
    return str(rng.randrange(1, 10)) + "".join(rng.choices("0123456789", k=n - 1))


class Addition:
    name = "addition"
    heads = 3
    default_policy = "addition"  # a shipped policy (tapehead policies)
    train_size = 5

    # --- instances ------------------------------------------------------------------------------------
    def parse(self, user_input: str) -> str:
        if not user_input or not user_input.strip():
            raise ValueError("empty input: give an addition such as 123+456")
        m = _INPUT.match(user_input)
        if not m:
            raise ValueError(f"not an addition of two non-negative integers: {user_input!r} (expected e.g. 123+456)")
        a, b = (s.lstrip("0") or "0" for s in m.groups())
        return f"{a}+{b}="

    def max_tokens(self, text: str) -> int:
        """A bound on the teacher's trace length (36 tokens per digit plus the walks' ends)."""
        a, b = text.rstrip("=").split("+")
        return 40 * max(len(a), len(b)) + 100

    def answer(self, text: str) -> str:
        a, b = text.rstrip("=").split("+")
        return str(int(a) + int(b)) if max(len(a), len(b)) < 4000 else _add_strings(a, b)

    def instance(self, a: str, b: str, kind: str = "random") -> Instance:
        text = f"{a}+{b}="
        return Instance(text=text, answer=self.answer(text), size=max(len(a), len(b)), kind=kind)

    def sample(self, size: int, rng: random.Random, *, train: bool = False) -> Instance:
        if train:
            return self.instance(_number(rng, rng.randint(1, size)), _number(rng, rng.randint(1, size)))
        return self.instance(_number(rng, size), _number(rng, size))

    def hard_cases(self, size: int, rng: random.Random) -> list[Instance]:
        n = size
        a = _number(rng, n)
        # every position carries: b_i = 9 - a_i, plus a final +1 through the lowest digit
        chain_b = "".join(str(9 - int(d)) for d in a)
        chain_b = chain_b[:-1] + str(min(9, int(chain_b[-1]) + 1)) if n > 0 else chain_b
        chain_b = chain_b.lstrip("0") or "0"
        zeros = "1" + "0" * (n - 1) if n > 1 else "0"
        return [
            self.instance("9" * n, "1", "carry-chain"),
            self.instance(a, chain_b, "all-carry"),
            self.instance(_number(rng, n), _number(rng, 1), "unequal"),
            self.instance(_number(rng, 1), _number(rng, n), "unequal-rev"),
            self.instance("0", _number(rng, n), "zero"),
            self.instance(zeros, zeros, "zeros"),
        ]

    # --- the teacher ------------------------------------------------------------------------------------
    def teacher(self, codec) -> ProgramPolicy:
        return ProgramPolicy(codec, lambda: _program(codec))


def _add_strings(a: str, b: str) -> str:
    """Schoolbook addition for huge operands (int() of 4,300+ digits is refused by CPython)."""
    out, carry = [], 0
    a, b = a[::-1], b[::-1]
    for i in range(max(len(a), len(b))):
        s = (int(a[i]) if i < len(a) else 0) + (int(b[i]) if i < len(b) else 0) + carry
        out.append(str(s % 10))
        carry = s // 10
    if carry:
        out.append("1")
    return "".join(reversed(out)).lstrip("0") or "0"


def _program(c):
    """The teacher (module docstring). Yields the tokens it writes; reads return the tape's symbol."""
    V = c.vocab
    R1, L1, RD1 = V.tape(1, "right"), V.tape(1, "left"), V.tape(1, "read")
    R2, L2, RD2 = V.tape(2, "right"), V.tape(2, "left"), V.tape(2, "read")
    R3, L3, RD3 = V.tape(3, "right"), V.tape(3, "left"), V.tape(3, "read")
    digit = [c.token(str(d)) for d in range(10)]
    while True:  # phase 1
        yield R1
        if (yield RD1) == "+":
            break
    yield L1
    while True:  # phase 2
        yield R2
        if (yield RD2) == "=":
            break
    yield L2
    carry = 0
    while True:  # phase 3
        o1 = yield RD1
        o2 = yield RD2
        d1, d2 = o1 in "0123456789" and len(o1) == 1, o2 in "0123456789" and len(o2) == 1
        if not d1 and not d2 and carry == 0:
            break
        s = (int(o1) if d1 else 0) + (int(o2) if d2 else 0) + carry
        carry = s // 10
        yield digit[s % 10]
        yield digit[carry]
        if d1:
            yield L1
        if d2:
            yield L2
    yield c.ANS
    while True:  # phase 4
        yield R3
        if (yield RD3) == "[ANS]":
            break
    while True:  # phase 5
        yield L3
        if (yield RD3) == "=":
            break
        yield L3
        o = yield RD3
        yield digit[int(o)]
    yield c.EOS


TASK = Addition()
