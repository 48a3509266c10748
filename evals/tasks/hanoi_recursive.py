"""Tower of Hanoi, recursive, with two pointers (paper App. D.4; paper-notes §3.4).

Input: the disks, bottom first, ``(7)(5)(2)`` (the paper's example; ``parse`` also takes
``hanoi 7``, ``7 5 2``). Training: n ~ U{1..7} disks with sizes from {1..100} (paper: train ≤ 7).

For i = 1..n the output stream holds the whole move list of the size-i puzzle (the i smallest
disks, A to C), moves written ``(d)XY`` back to back, lists ended by ``#``; the size-i list is the
size-(i-1) list with B and C swapped, the move "disk i from A to C", and the size-(i-1) list again
with A and B swapped. The stream starts with the empty size-0 list, so it reads::

    #(2)AC#(2)AB(5)AC(2)BC#(2)AC(5)AB(2)CB(7)AC(2)BA(5)BC(2)AC#

and its last list is the answer to the puzzle (``final_moves``).

The teacher, O(1) state (the label being read, a phase):

1. ``[ANS]`` and ``#`` (the empty size-0 list); p1 walks right to ``[ANS]``, p2 too, then one more
   (onto the size-0 list's ``#``);
2. per size: p1 steps left and reads: ``)`` is the next disk's end (the i-th smallest), anything
   else (``[BOS]``) means no disk is left: ``[EOS]``;
3. p2 copies the previous list symbol by symbol with B↔C swapped, until it reads ``#``;
4. p1 reads the disk's label leftwards up to its ``(``; write the middle move ``(d)AC``;
5. p2 walks back (left) to the previous list's start (just after a ``#`` or ``[ANS]``), copies it
   again with A↔B swapped, until ``#``; write ``#``; p2 steps onto the new list's first symbol.

Trace length (tokens after the input, measured; tests/evals/test_hanoi_recursive.py): about 60 per
move of the final list: 7 disks ~7,600, 8 ~15,000, 9 ~31,000, 10 ~59,000, 12 ~248,000.
"""

from __future__ import annotations

from .hanoi_common import HanoiInstances, disks_text, parse_disks, solve
from .program import ProgramPolicy

SWAP_BC = {"B": "C", "C": "B"}
SWAP_AB = {"A": "B", "B": "A"}


def final_moves(answer: str) -> str:
    """The last (complete) move list of an output stream: the puzzle's solution."""
    parts = answer.split("#")
    return parts[-2] if len(parts) >= 2 else ""


class HanoiRecursive(HanoiInstances):
    name = "hanoi-recursive"
    heads = 2
    default_policy = ""
    train_size = 7
    max_disks = 16

    # --- instances ------------------------------------------------------------------------------------
    def parse(self, user_input: str) -> str:
        return disks_text(parse_disks(user_input, self.max_disks))

    def answer(self, text: str) -> str:
        labels = parse_disks(text, max_disks=10**9)
        lists = [""] + ["".join(f"({d}){x}{y}" for d, x, y in solve(labels[len(labels) - i:]))
                        for i in range(1, len(labels) + 1)]
        return "".join(moves + "#" for moves in lists)

    def input_text(self, labels: list[int]) -> str:
        return disks_text(labels)

    def max_tokens(self, text: str) -> int:
        """A bound on the teacher's trace: the lists double with each disk, ~11 tokens per symbol."""
        n = text.count("(")
        width = len(text) / max(1, n) + 2  # symbols per move
        return int((2 ** (n + 1)) * width * 12) + 200

    # --- the teacher ------------------------------------------------------------------------------------
    def teacher(self, codec) -> ProgramPolicy:
        return ProgramPolicy(codec, lambda: _program(codec))


def _program(c):
    """The teacher (module docstring). Yields the tokens it writes; reads return the tape's symbol."""
    V = c.vocab
    R1, L1, RD1 = V.tape(1, "right"), V.tape(1, "left"), V.tape(1, "read")
    R2, L2, RD2 = V.tape(2, "right"), V.tape(2, "left"), V.tape(2, "read")
    tok = {ch: c.token(ch) for ch in "0123456789()ABC#"}

    def copy(swap):  # p2 copies a list until its '#', where it stops
        while True:
            o = yield RD2
            if o == "#":
                return
            yield tok[swap.get(o, o)]
            yield R2

    yield c.ANS  # 1
    yield tok["#"]
    for R, RD in ((R1, RD1), (R2, RD2)):
        while True:
            yield R
            if (yield RD) == "[ANS]":
                break
    yield R2
    while True:
        yield L1  # 2
        if (yield RD1) != ")":
            break
        yield from copy(SWAP_BC)  # 3
        label = ""
        while True:  # 4
            yield L1
            o = yield RD1
            if o == "(":
                break
            label = o + label
        for ch in f"({label})AC":
            yield tok[ch]
        while True:  # 5
            yield L2
            if (yield RD2) in ("#", "[ANS]"):
                break
        yield R2
        yield from copy(SWAP_AB)
        yield tok["#"]
        yield R2
    yield c.EOS


TASK = HanoiRecursive()
