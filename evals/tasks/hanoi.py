"""Tower of Hanoi, iterative, with one pointer (paper §3.2, App. D.3; paper-notes §3.4).

Input: the start state ``A(7)(5)(2)BC$`` — rods A, B, C in order, each followed by its disks from
the bottom up, ``$`` ending the state (``parse`` also takes ``hanoi 10``, ``(7)(5)(2)``, ``7 5 2``).
Training: n ~ U{1..8} disks with sizes from {1..100} (paper: train ≤ 8 disks).

The output stream is every move followed by the state it leads to::

    (2)AC$A(7)(5)BC(2)$(5)AB$A(7)B(5)C(2)$ ...  ABC(7)(5)(2)$

The teacher uses head 1 only, with O(1) state (three rod tops, where the smallest disk is, the
parity of the move, the cycle direction):

1. parity: p1 walks over rod A's disks from the base and writes a thought per disk, ``C``, ``B``,
   ``C``, ... in turn; the last letter is where the smallest disk goes first (C for odd n, B for
   even n), which fixes its cycle: A→C→B→A or A→B→C→A; p1 rewinds (``[p1.init]``, one right:
   back on the state's ``A``); ``[ANS]``;
2. write the next move ``(d)XY$``: odd moves take the smallest disk one step along its cycle; even
   moves make the only legal move between the other two rods (the smaller top moves);
3. write the new state by reading the previous one a disk at a time (each disk read whole, then
   written back unless it is the disk that moves; the moving disk is written at the end of its new
   rod's list); the tops of the new state are known once it is written. If A and B are empty,
   ``[EOS]``; else p1 walks on past the move just written (right to its ``$``, one more) to the
   new state's ``A``, and the loop returns to 2.

Trace length (tokens after the input, measured with sizes ≤ 100; tests/evals/test_hanoi.py):
about 190 tokens per move at 10 disks: 3 disks ~680, 8 disks ~42,000, 9 ~93,000, 10 ~198,000,
11 ~459,000, 12 ~942,000 (the paper: 9 disks > 42,000 tokens, 12 disks > 385,000, in a spelling
it does not give). The teacher writes ~370,000 tokens/s on one CPU core (12 disks: ~2.6 s).
"""

from __future__ import annotations

import re

from .hanoi_common import HanoiInstances, copy_state, disks_text, parity_letters, parse_disks, solve
from .program import ProgramPolicy

RODS = "ABC"


def state_text(rods: dict[str, list[int]]) -> str:
    return "".join(r + disks_text(rods[r]) for r in RODS) + "$"


def parse_state(text: str) -> list[int]:
    """Disks of a canonical start state ``A(7)(5)(2)BC$``; ValueError otherwise."""
    if not (text.startswith("A") and text.endswith("BC$")):
        raise ValueError(f"not a start state: {text!r} (expected e.g. A(7)(5)(2)BC$)")
    return parse_disks(text[1:-3] or "()", max_disks=10**9)


class Hanoi(HanoiInstances):
    name = "hanoi"
    heads = 1
    default_policy = ""
    train_size = 8
    max_disks = 14  # 14 disks: ~4 million tokens, the loop's default limit

    # --- instances ------------------------------------------------------------------------------------
    def parse(self, user_input: str) -> str:
        s = (user_input or "").strip()
        if s.startswith("A") and s.endswith("$"):  # already a state: it must be a start state
            if not re.fullmatch(r"A(\([0-9]+\))+BC\$", s):  # ASCII digits only
                raise ValueError(f"not a start state: {s!r} (all disks on A, e.g. A(7)(5)(2)BC$)")
            s = s[1:-3]
        labels = parse_disks(s, self.max_disks)
        return "A" + disks_text(labels) + "BC$"

    def answer(self, text: str) -> str:
        labels = parse_state(text)
        rods = {"A": list(labels), "B": [], "C": []}
        out = []
        for d, x, y in solve(labels):
            rods[x].pop()
            rods[y].append(d)
            out.append(f"({d}){x}{y}$" + state_text(rods))
        return "".join(out)

    def input_text(self, labels: list[int]) -> str:
        return "A" + disks_text(labels) + "BC$"

    def max_tokens(self, text: str) -> int:
        """A bound on the teacher's trace: 2^n-1 moves, each a copy of a state of len(text) symbols."""
        n = text.count("(")
        return (2 ** n) * (6 * len(text) + 60) + 200

    # --- the teacher ------------------------------------------------------------------------------------
    def teacher(self, codec) -> ProgramPolicy:
        return ProgramPolicy(codec, lambda: _program(codec))


def _program(c):
    """The teacher (module docstring). Yields the tokens it writes; reads return the tape's symbol."""
    V = c.vocab
    R, RD, INIT = V.tape(1, "right"), V.tape(1, "read"), V.tape(1, "init")
    tok = {ch: c.token(ch) for ch in "0123456789()ABC$"}

    def write(s):
        for ch in s:
            yield tok[ch]

    # 1: parity of n from rod A, then rewind
    letter, top = yield from parity_letters(R, RD, tok)
    yield INIT
    yield R
    yield c.ANS
    first = letter  # where the smallest disk goes first
    cycle = {"A": first, first: "B" if first == "C" else "C", ("B" if first == "C" else "C"): "A"}
    tops = {"A": top, "B": None, "C": None}  # labels (strings) of the rods' top disks
    small, odd = "A", True  # the smallest disk's rod; whether the next move is an odd one
    while True:
        # 2: the next move
        if odd:
            d, x, y = tops[small], small, cycle[small]
            small = y
        else:
            x, y = [r for r in RODS if r != small]
            if tops[x] is None or (tops[y] is not None and int(tops[y]) < int(tops[x])):
                x, y = y, x
            d = tops[x]
        odd = not odd
        yield from write(f"({d}){x}{y}$")
        # 3: the new state, from the old one, a disk at a time (p1 is on the old state's 'A')
        yield RD
        yield tok["A"]
        tops = yield from copy_state(R, RD, tok, d, y)
        if tops["A"] is None and tops["B"] is None:
            break
        while True:  # p1 past the move just written, onto the new state's 'A'
            yield R
            if (yield RD) == "$":
                break
        yield R
    yield c.EOS


TASK = Hanoi()
