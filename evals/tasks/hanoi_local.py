"""Tower of Hanoi, iterative, by the local-decision rule (ours; the task of paper §3.2, App. D.3).

The task is ``hanoi``'s (``evals/tasks/hanoi.py``): the same instances, input ``A(7)(5)(2)BC$``,
training on <= 8 disks, and the same output stream, every move followed by the state it leads to.
Only the teacher differs, designed to the local-decision rule (docs/design.md): every token it
writes follows from the last reads and the state it has just copied, never from something decided
long before. ``hanoi``'s teacher holds three things over the whole episode, which its Mamba-2 had
to carry in its state (56% of 8-disk trajectories exact, at its own training size):

- the smallest disk's cycle, fixed at the start by the parity of n and used on every odd move;
- whether the next move is odd (the smallest disk) or even (the other legal move);
- which rod holds the smallest disk (updated on every odd move).

Here a second head, p2, re-reads the first two, and the third follows from the move just re-read:

1. p2 walks rod A writing a parity letter per disk, ``C``, ``B``, ``C``, ... (each the other of
   the letter before); the last, ``C`` for odd n and ``B`` for even, is where the smallest disk
   goes first, and fixes its cycle A -> it -> the other -> A. p2 walks on to the end of the memory
   (``[END]``) and steps back: it is *parked* on that letter, followed by ``[ANS]``; p1 steps onto
   the state's ``A``; ``[ANS]``;
2. p2 reads its cell before every move: the letter means an odd move (p2 steps right, onto
   ``[ANS]``), ``[ANS]`` an even one (p2 steps left, back onto the letter). p2's position is the
   move's parity, kept by the tape; the policy only answers its last read;
3. the move: odd, the smallest disk one step along the cycle the letter just read names, from A
   on the first move, later from the rod the even move just re-read left out (an even move never
   touches the smallest disk); even, the only legal move between the two rods other than the one
   where the odd move just re-read put the smallest disk (the smaller top moves); no legal move
   (A and B empty) is the end: ``[EOS]``;
4. the new state, copied from the old one a disk at a time as in ``hanoi`` (the moving disk left
   out of its rod and written at the end of its new one), without re-reading the state's ``A``;
5. p1 walks over the move just written (one step, then reading up to its ``)``), re-reads its two
   rods, and steps over its ``$`` onto the new state's ``A``; back to 2.

What the policy keeps is what one move's stretch of the trace shows: the move being copied, the
rod being copied, and the tops of the state just copied (the next move's disk, and the even
move's comparison), as in ``hanoi``. ``tests/evals/test_hanoi_local.py`` checks it mechanically:
with these and the last 16 tokens, over ~400,000 written tokens at 1-7 disks, no two equal views
are followed by different tokens; ``hanoi``'s trace has hundreds such pairs, every one the target
rod of an odd move (its cycle). Example ``A(5)(2)BC$`` (even n: the smallest disk goes A -> B -> C;
``…x`` is ``[pK.right][pK.read]x``)::

    parity, park p2   [p2.right][p2.read]A·…(·…5…)·C·…(·…2…)·B·
                      …B·…C·…$·…C·…B·[p2.right][p2.read][END]·[p2.left]·[p1.right]·[ANS]
    move 1, odd       [p2.read]B·[p2.right]·(2)AB$            the letter B: the smallest disk A -> B
    new state         A·[p1.right][p1.read](·…5…)·(5)·[p1.right][p1.read](·…2…)·
                      [p1.right][p1.read]B·B·[p1.right][p1.read]C·(2)C·[p1.right][p1.read]$·$
    re-read the move  [p1.right]·[p1.right][p1.read]B·…[ANS]·…(·…2…)·[p1.right][p1.read]A·
                      [p1.right][p1.read]B·[p1.right][p1.right]
    move 2, even      [p2.read][ANS]·[p2.left]·(5)AC$         between A and C (the smallest is on B)
    state, re-read    A·…·[p1.read]$·(5)·$·[p1.right]·…5·…)·…A·…C·[p1.right][p1.right]
    move 3, odd       [p2.read]B·[p2.right]·(2)BC$            on B (A-C left it out); B -> C
    end               …·[p1.read]C·[p1.right][p1.right]·[p2.read][ANS]·[p2.left]·[EOS]    A, B empty
    memory            [BOS]A(5)(2)BC$CB[ANS](2)AB$A(5)B(2)C$(5)AC$AB(2)C(5)$(2)BC$ABC(5)(2)$

Trace length (tokens after the input; mean of 4 random instances with sizes <= 100, 2 at 12
disks; ``hanoi``'s on the same instances in brackets): 3 disks ~705 (683), 8 ~42,900 (43,600),
9 ~92,400 (93,900), 10 ~204,000 (207,000), 12 ~942,000 (954,000): ~3 tokens a move fewer from 5
disks on (p2's read costs 3; the reads of the state's ``A`` and of the move's ``(`` and ``$``,
always the same symbols, are left out: 6), ~230 a move at 12 disks. The teacher writes ~780,000
to ~970,000 tokens/s on one CPU core (12 disks: 1.0-1.2 s), as fast as ``hanoi``'s measured beside
it (2026-12-02, the 2-core development machine, the other core busy or not).
"""

from __future__ import annotations

from tapehead.tools.memory.pointer_tape import END

from .hanoi import Hanoi
from .hanoi_common import copy_state, parity_letters
from .program import ProgramPolicy

RODS = "ABC"


def third(x: str, y: str) -> str:
    """The rod that is neither x nor y."""
    return next(r for r in RODS if r not in (x, y))


def cycle_next(rod: str, first: str) -> str:
    """Where the smallest disk goes from ``rod`` on its cycle A -> first -> the other -> A
    (``first``, B or C, is where it goes on the first move)."""
    if rod == "A":
        return first
    return third("A", first) if rod == first else "A"


def even_move(tops: dict[str, str | None], small: str) -> tuple[str, str] | None:
    """The only legal move between the two rods other than ``small`` (the smaller top moves onto
    the other rod, or onto an empty one); None if both are empty (the puzzle is solved)."""
    x, y = [r for r in RODS if r != small]
    if tops[x] is None and tops[y] is None:
        return None
    if tops[x] is None or (tops[y] is not None and int(tops[y]) < int(tops[x])):
        x, y = y, x
    return x, y


class HanoiLocal(Hanoi):
    name = "hanoi-local"
    heads = 2

    def max_tokens(self, text: str) -> int:
        """A bound on the teacher's trace: 2^n-1 moves, each a copy of the state (4 tokens a symbol)
        and a move of at most 8 symbols written and re-read; the walk of p2 over the input once."""
        n = text.count("(")
        return (2 ** n) * (4 * len(text) + 40) + 8 * len(text) + 200

    def teacher(self, codec) -> ProgramPolicy:
        return ProgramPolicy(codec, lambda: _program(codec))


def _step(R, RD):
    """One step right and a read; returns the symbol read."""
    yield R
    return (yield RD)


def _program(c):
    """The teacher (module docstring). Yields the tokens it writes; reads return the tape's symbol.
    What it keeps between moves is what the trace shows within one move: the move p1 has just
    re-read, the rods' tops in the state just copied, and p2's last read."""
    V = c.vocab
    R1, RD1 = V.tape(1, "right"), V.tape(1, "read")
    R2, L2, RD2 = V.tape(2, "right"), V.tape(2, "left"), V.tape(2, "read")
    tok = {ch: c.token(ch) for ch in "0123456789()ABC$"}

    def write(s):
        for ch in s:
            yield tok[ch]

    # 1: p2 walks rod A writing a parity letter per disk, then on to the end of the memory, and
    #    parks on the last letter (where the smallest disk goes first); p1 onto the state's 'A'
    letter, top = yield from parity_letters(R2, RD2, tok)
    while True:
        yield R2
        if (yield RD2) == END:
            break
    yield L2
    yield R1
    yield c.ANS
    tops = {"A": top, "B": None, "C": None}  # the input's tops: rod A's last disk, just read by p2
    last = None  # the rods of the move p1 re-read last; None before the first move
    while True:
        # 2: p2 reads its cell: the parked letter for an odd move (then one right, onto [ANS]),
        #    [ANS] for an even one (then one left, back onto the letter)
        o2 = yield RD2
        odd = o2 != "[ANS]"
        yield R2 if odd else L2
        if odd:  # the smallest disk: on A at first, later on the rod the even move left out
            small = "A" if last is None else third(*last)
            x, y = small, cycle_next(small, o2)
        else:  # the smallest disk is where the odd move just put it
            move = even_move(tops, last[1])
            if move is None:
                break
            x, y = move
        d = tops[x]
        yield from write(f"({d}){x}{y}$")
        # 3: the new state from the old one, a disk at a time (p1 is on the old state's 'A', known
        #    and not read); the moving disk is left out of rod x and written at the end of rod y
        yield tok["A"]
        tops = yield from copy_state(R1, RD1, tok, d, y)
        # 4: p1 walks over the move just written, re-reading its disk and rods, onto the new
        #    state's 'A'; the move's '(' and '$' are stepped over unread, known symbols (after the
        #    input the first step lands on the first parity letter, and the reads go on over
        #    the letters and [ANS] up to the move's ')')
        yield R1
        while (yield from _step(R1, RD1)) != ")":
            pass
        last = ((yield from _step(R1, RD1)), (yield from _step(R1, RD1)))
        yield R1
        yield R1
    yield c.EOS


TASK = HanoiLocal()
