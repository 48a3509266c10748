"""n×1 and n×2 multiplication with a pointer tape (paper §3.1, App. D.3; paper-notes §3.2).

Input ``a*b=`` (canonical: no leading zeros; ``b`` has 1 or 2 digits; the user may type ``x`` or
``×`` for ``*`` and leave out ``=``). Only the first operand grows: for training n1 ~ U{1..n} and
n2 ~ U{1, 2} (paper: train n ≤ 10); tests use a of exactly n digits. ``mult1`` and ``mult2`` fix the
second operand's length (the two columns of the paper's Table 1), on the paper's trace;
``mult1-reread`` and ``mult2-reread`` on ours (below). ``mult``, the one a user runs, takes both
lengths on the reread trace and its policy by the multiplier's length (``policy_for``: the shipped
``mult1-reread`` or ``mult2-reread``, each exact to 1,000 digits).

The teacher is the paper's long multiplication, with O(1) state (docs/tasks.md shows a whole
trace). The paper uses max(k, 2) pointers (k = digits of b) and reuses them across phases; we give
each role its own head, as addition does with its third, so that where a head stops never depends
on a phase remembered over a long stretch: p1 sweeps a, p2 reads b, p3 and p4 walk the addition's
two summands, and p4 then reads the sum out (4 heads):

1. p1 walks right to ``*`` and steps back onto a's last digit;
2. p2 walks right to ``=`` and steps back onto b's last digit;
3. one partial product per digit m of b (p2 reads it; ``*`` ends the phase): the shift ``00``
   (a zero digit and its zero carry) once for the second digit, then p1 sweeps a leftwards writing
   two thoughts per digit, ``(a_i*m + carry) % 10`` and the new carry, and a last ``c0`` pair if a
   carry c is left; then ``+``; p1 walks back onto a's last digit (right to ``*``, one left); p2
   steps left. Partial products are thus written reversed, digit/carry interleaved. For n×1 an
   empty second summand follows (one more ``+``), so the addition below always has two summands;
4. p3 walks right to ``=`` and one step on (summand 1), p4 right to the first ``+`` and one step
   on (summand 2); both add pairwise with a carry, two steps right at a time (skipping carry cells),
   a head that reads ``+`` is done; while a digit or a carry is left, write the sum digit and carry;
   then ``[ANS]``;
5. p4 (on the ``+`` before the sum) walks right to ``[ANS]``, then left two cells at a time,
   skipping carries and outputting digits, until it reads ``+``; leading zeros (only when the
   product is 0) are skipped, and a lone ``0`` is output if nothing was.

``mult1-reread`` and ``mult2-reread`` (``reread=True``) read instead of remembering, twice:

- p2 reads the multiplier again before every digit of a sweep but its first
  (``[p2.read] m [p1.read] a_i ...``);
- whenever p1 has walked onto a's last digit (``[p1.read] * [p1.left]``), p2 reads its cell before
  moving: ``[BOS]`` at the start (so p2 walks right to b), a digit of b after a sweep (so p2 steps
  left to the next one).

Without these, two things must be held in the state across a whole sweep or walk: the multiplier,
and whether a sweep was done. The study's 1.8M-parameter Mamba-2, trained on <= 10 digits
(2026-12-01, docs/benchmarks.md), broke on exactly these at 50 digits:
- n×1: a wrong product digit 18 to 46 digits into the sweep;
- n×2, 9 of 12 failures: ``[p2.right]`` instead of ``[p2.left]`` after the walk back, as at the
  start.

Addition, whose every step reads what it needs, holds to 100,000 digits.

Trace length (tokens after the input, measured; tests/evals/test_multiplication.py): about 47n
for n×1 and 57n for n×2: 10 digits ~550 / ~690, 100 digits ~4,800 / ~5,800, 1,000 digits
~47,000 / ~57,000.
"""

from __future__ import annotations

import random
import re

from tapehead.agent.tasks import Instance

from .program import ProgramPolicy

_INPUT = re.compile(r"^\s*([0-9]+)\s*[*x×]\s*([0-9]+)\s*=?\s*$")  # ASCII digits only: \d takes ١٢٣
_DIGITS = frozenset("0123456789")


def _number(rng: random.Random, n: int) -> str:
    if n == 1:
        return str(rng.randrange(10))
    return str(rng.randrange(1, 10)) + "".join(rng.choices("0123456789", k=n - 1))


def multiply(a: str, b: str) -> str:
    """a × b for a decimal string a of any length and b < 100 (no int() limit on huge a)."""
    m, out, carry = int(b), [], 0
    for d in reversed(a):
        s = int(d) * m + carry
        out.append(str(s % 10))
        carry = s // 10
    if carry:
        out.append(str(carry))
    return "".join(reversed(out)).lstrip("0") or "0"


class Multiplication:
    heads = 4
    train_size = 10

    def __init__(self, name: str = "mult", b_digits: tuple[int, ...] = (1, 2), reread: bool = False,
                 default_policy: str = "", routes: dict[int, str] | None = None):
        self.name = name
        self.b_digits = b_digits
        self.reread = reread
        # mult1/mult2: the study's per-task Mamba-2 on the paper's trace (exact to 20 digits, not at
        # 50); mult1-reread/mult2-reread: on the reread trace (exact to 1,000, docs/benchmarks.md)
        self.default_policy = default_policy
        # mult: no one policy; the multiplier's length picks one (policy_for, agent/policies/routed.py)
        self.routes = dict(routes or {})
        if self.routes:
            self.policy_for = self._policy_for

    def _policy_for(self, text: str) -> str:
        """The shipped policy for an input: by the multiplier's length (``text`` raw or canonical)."""
        b = self.parse(text).rstrip("=").split("*")[1]
        return self.routes[len(b)]

    # --- instances ------------------------------------------------------------------------------------
    def parse(self, user_input: str) -> str:
        if not user_input or not user_input.strip():
            raise ValueError("empty input: give a multiplication such as 12345*67")
        m = _INPUT.match(user_input)
        if not m:
            raise ValueError(f"not a multiplication of two non-negative integers: {user_input!r} "
                             "(expected e.g. 12345*67)")
        a, b = (s.lstrip("0") or "0" for s in m.groups())
        if len(b) not in self.b_digits:
            want = " or ".join(str(k) for k in self.b_digits)
            raise ValueError(f"the second operand must have {want} digit(s) (n×1 and n×2 multiplication), "
                             f"got {b!r}; put the long number first")
        return f"{a}*{b}="

    def answer(self, text: str) -> str:
        a, b = text.rstrip("=").split("*")
        return multiply(a, b)

    def instance(self, a: str, b: str, kind: str = "random") -> Instance:
        text = f"{a}*{b}="
        return Instance(text=text, answer=self.answer(text), size=len(a), kind=kind)

    def sample(self, size: int, rng: random.Random, *, train: bool = False) -> Instance:
        n1 = rng.randint(1, size) if train else size
        return self.instance(_number(rng, n1), _number(rng, rng.choice(self.b_digits)))

    def hard_cases(self, size: int, rng: random.Random) -> list[Instance]:
        n = size
        b2 = 2 in self.b_digits
        cases = [
            self.instance("9" * n, "99" if b2 else "9", "max-carry"),
            self.instance(_number(rng, n), "0", "zero-b") if 1 in self.b_digits else None,
            self.instance("0" if n == 1 else "1" + "0" * (n - 1), "10" if b2 else "1", "power-of-ten"),
            self.instance(_number(rng, n), "10" if b2 else "1", "zero-partial" if b2 else "one"),
            self.instance("5" * n, "98" if b2 else "8", "carry-chain"),
            self.instance(_number(rng, n), "11" if b2 else "7", "copy" if b2 else "random-7"),
        ]
        return [c for c in cases if c is not None]

    def max_tokens(self, text: str) -> int:
        """A bound on the teacher's trace (a runaway episode can be cut here)."""
        return 70 * len(text) + 200

    # --- the teacher ------------------------------------------------------------------------------------
    def teacher(self, codec) -> ProgramPolicy:
        return ProgramPolicy(codec, lambda: _program(codec, self.reread))


def _program(c, reread: bool = False):
    """The teacher (module docstring). Yields the tokens it writes; reads return the tape's symbol.
    ``reread``: p2 reads the multiplier again before each digit of a sweep after its first (the
    first comes right after the read that starts the partial product), and reads its cell each
    time p1 is back on a's last digit (module docstring)."""
    V = c.vocab
    R1, L1, RD1 = V.tape(1, "right"), V.tape(1, "left"), V.tape(1, "read")
    R2, L2, RD2 = V.tape(2, "right"), V.tape(2, "left"), V.tape(2, "read")
    R3, RD3 = V.tape(3, "right"), V.tape(3, "read")
    R4, L4, RD4 = V.tape(4, "right"), V.tape(4, "left"), V.tape(4, "read")
    digit = [c.token(str(d)) for d in range(10)]
    PLUS = c.token("+")
    while True:  # 1: p1 onto a's last digit
        yield R1
        if (yield RD1) == "*":
            break
    yield L1
    if reread:
        yield RD2  # [BOS]: p2 has not moved yet (after a sweep it reads a digit of b here)
    while True:  # 2: p2 onto b's last digit
        yield R2
        if (yield RD2) == "=":
            break
    yield L2
    done = 0  # partial products written (0, 1 or 2)
    while True:  # 3: partial products, reversed, digit/carry pairs
        m = yield RD2
        if m == "*":
            if done == 1:
                yield PLUS  # n×1: an empty second summand
            break
        m = int(m)
        for _ in range(done):  # the shift
            yield digit[0]
            yield digit[0]
        carry, first = 0, True
        while True:
            if reread and not first:
                yield RD2  # m again: every input of this step is among its last few tokens
            first = False
            o = yield RD1
            if o not in _DIGITS:
                if carry:
                    yield digit[carry]
                    yield digit[0]
                break
            s = int(o) * m + carry
            carry = s // 10
            yield digit[s % 10]
            yield digit[carry]
            yield L1
        yield PLUS
        while True:  # p1 back onto a's last digit
            yield R1
            if (yield RD1) == "*":
                break
        yield L1
        if reread:
            yield RD2  # a digit of b, not [BOS]: a sweep was done, so p2 steps left (not right)
        yield L2
        done += 1
    while True:  # 4: p3 onto summand 1, p4 onto summand 2
        yield R3
        if (yield RD3) == "=":
            break
    yield R3
    while True:
        yield R4
        if (yield RD4) == "+":
            break
    yield R4
    carry = 0
    while True:  # ... and add them, reversed
        o3 = yield RD3
        o4 = yield RD4
        d3, d4 = o3 in _DIGITS, o4 in _DIGITS
        if not d3 and not d4 and carry == 0:
            break
        s = (int(o3) if d3 else 0) + (int(o4) if d4 else 0) + carry
        carry = s // 10
        yield digit[s % 10]
        yield digit[carry]
        if d3:
            yield R3
            yield R3
        if d4:
            yield R4
            yield R4
    yield c.ANS
    while True:  # 5: p4 to [ANS], then read the sum back, skipping carries
        yield R4
        if (yield RD4) == "[ANS]":
            break
    started = False
    while True:
        yield L4
        if (yield RD4) == "+":
            break
        yield L4
        o = yield RD4
        if started or o != "0":
            started = True
            yield digit[int(o)]
    if not started:
        yield digit[0]
    yield c.EOS


# mult: the reread trace, which carries both lengths to 1,000 digits, each by its own policy
TASK = Multiplication(reread=True, routes={1: "mult1-reread", 2: "mult2-reread"})
TASK_N1 = Multiplication("mult1", (1,), default_policy="mult1")
TASK_N2 = Multiplication("mult2", (2,), default_policy="mult2")
TASK_N1_REREAD = Multiplication("mult1-reread", (1,), reread=True, default_policy="mult1-reread")
TASK_N2_REREAD = Multiplication("mult2-reread", (2,), reread=True, default_policy="mult2-reread")
