"""What both Tower of Hanoi tasks share (paper §3.2, App. D.3–D.4; paper-notes §3.4): disks,
their natural input forms, the instance generator, and the reference solution; and what the two
iterative teachers (``hanoi``, ``hanoi-local``) do alike on the tape: read a disk, write the parity
letters, copy a state.

Disks are distinct sizes; the paper samples n of them without replacement from {1..100} and stacks
them on rod A, largest at the bottom. A disk is written ``(57)``; a list of disks, bottom first,
``(7)(5)(2)``. Users may also type ``hanoi 10`` (disks 10..1), ``7 5 2`` or ``7,5,2``; the order
does not matter (a stack is sorted by size). The reference solution is the classic recursion, kept
independent of both teachers so that tests compare two different algorithms.
"""

from __future__ import annotations

import random
import re

from tapehead.agent.tasks import Instance

MAX_LABEL = 999  # labels of at most 3 digits: the teachers hold one label in O(1) state
_DISK = re.compile(r"\(([0-9]+)\)")  # ASCII digits only ([0-9]: \d takes ١٢٣)


def parse_disks(user_input: str, max_disks: int) -> list[int]:
    """Disk sizes, bottom (largest) first; ValueError with a clear message otherwise. Digits are
    ASCII ``[0-9]`` only; the count is checked before anything is built (``hanoi 1000000000``)."""
    if not user_input or not user_input.strip():
        raise ValueError("empty input: give `hanoi N` or the disks, e.g. (7)(5)(2)")
    s = user_input.strip()
    m = re.fullmatch(r"[Hh][Aa][Nn][Oo][Ii][ \t]+([0-9]+)", s)
    if m:
        digits = [m.group(1)]
        n = int(m.group(1)) if len(m.group(1)) <= 9 else max_disks + 1
        if n > max_disks:
            raise ValueError(f"{m.group(1)[:12]} disks is too many: the solution has 2^n-1 moves; at most {max_disks}")
        labels = list(range(n, 0, -1))
    elif re.fullmatch(r"(\([0-9]+\))+", s):
        digits = _DISK.findall(s)
    elif re.fullmatch(r"[0-9]+([ \t\n,]+[0-9]+)*", s):
        digits = re.split(r"[ \t\n,]+", s)
    else:
        shown = repr(user_input) if len(user_input) <= 60 else repr(user_input[:57]) + "…"
        raise ValueError(f"not a Tower of Hanoi: {shown} (expected `hanoi 10`, (7)(5)(2) or 7 5 2)")
    if len(digits) > max_disks:
        raise ValueError(f"{len(digits)} disks is too many: the solution has 2^n-1 moves; at most {max_disks}")
    if not m:
        if any(len(d) > 9 for d in digits):
            raise ValueError(f"disk sizes must be 1..{MAX_LABEL}")
        labels = [int(d) for d in digits]
    if not labels:
        raise ValueError("no disks: give at least one")
    if min(labels) < 1 or max(labels) > MAX_LABEL:
        raise ValueError(f"disk sizes must be 1..{MAX_LABEL}, got {labels}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"disk sizes must be distinct, got {labels}")
    return sorted(labels, reverse=True)


def disks_text(labels: list[int]) -> str:
    return "".join(f"({d})" for d in labels)


def sample_disks(size: int, rng: random.Random, *, train: bool = False) -> list[int]:
    """n distinct sizes from {1..100} (n ~ U{1..size} for training, else exactly size), bottom first."""
    n = rng.randint(1, size) if train else size
    return sorted(rng.sample(range(1, max(100, n) + 1), n), reverse=True)


def hard_disks(size: int, rng: random.Random) -> list[tuple[list[int], str]]:
    """Label patterns that stress reading labels: consecutive, widest (3-digit), mixed widths."""
    n = size
    mixed = sorted(rng.sample(range(1, 10), min(n, 9)) + rng.sample(range(100, 1000), max(0, n - 9)), reverse=True)
    return [
        (list(range(n, 0, -1)), "consecutive"),
        (sorted(rng.sample(range(100, MAX_LABEL + 1), n), reverse=True), "three-digit"),
        (mixed, "mixed-width"),
    ]


def solve(labels: list[int]) -> list[tuple[int, str, str]]:
    """The 2^n-1 moves (disk, from, to) that bring the stack from A to C (the classic recursion)."""
    out: list[tuple[int, str, str]] = []

    def go(k: int, src: str, dst: str, via: str) -> None:  # the k smallest disks
        if k == 0:
            return
        go(k - 1, src, via, dst)
        out.append((labels[len(labels) - k], src, dst))
        go(k - 1, via, dst, src)

    go(len(labels), "A", "C", "B")
    return out


class HanoiInstances:
    """Instance generation shared by both Hanoi tasks; a subclass says how disks become its input
    (``input_text``) and what the right output is (``answer``)."""

    def input_text(self, labels: list[int]) -> str:
        raise NotImplementedError

    def instance(self, labels: list[int], kind: str = "random") -> Instance:
        text = self.input_text(labels)
        return Instance(text=text, answer=self.answer(text), size=len(labels), kind=kind)

    def sample(self, size: int, rng: random.Random, *, train: bool = False) -> Instance:
        return self.instance(sample_disks(size, rng, train=train))

    def hard_cases(self, size: int, rng: random.Random) -> list[Instance]:
        return [self.instance(labels, kind) for labels, kind in hard_disks(size, rng)]


# --- the iterative teachers' tape work (hanoi.py, hanoi_local.py) -----------------------------------------
def read_disk(R: int, RD: int):
    """The head is on a disk's ``(``: read it whole (``R`` steps it right, ``RD`` reads); it ends on
    the ``)``. Returns the label."""
    label = ""
    while True:
        yield R
        o = yield RD
        if o == ")":
            return label
        label += o


def parity_letters(R: int, RD: int, tok: dict):
    """Step 1 of both iterative teachers: the head, just left of the input's ``A``, walks rod A's disks,
    writing one letter per disk, ``C``, ``B``, ``C``, ... in turn, and stops on the ``B``. Returns the
    last letter (where the smallest disk goes first: C for odd n, B for even) and rod A's top."""
    yield R
    yield RD  # 'A'
    letter, top = None, None
    while True:
        yield R
        if (yield RD) != "(":
            return letter, top  # 'B'
        top = yield from read_disk(R, RD)
        letter = "B" if letter == "C" else "C"
        yield tok[letter]


def copy_state(R: int, RD: int, tok: dict, d: str, y: str):
    """Step 3 of both iterative teachers: the new state written from the old one, a disk at a time
    (the head is on the old state's ``A``, the ``A`` already written): each disk read whole and
    written back unless it is ``d``, the disk that moves, which is written at the end of rod ``y``'s
    list. Returns the tops of the new state (labels, None for an empty rod)."""
    rod = "A"
    tops: dict = {"A": None, "B": None, "C": None}
    while True:
        yield R
        o = yield RD
        if o == "(":
            label = yield from read_disk(R, RD)
            if label != d:
                for ch in f"({label})":
                    yield tok[ch]
                tops[rod] = label
            continue
        if rod == y:  # the rod's list ends: the moving disk goes on top
            for ch in f"({d})":
                yield tok[ch]
            tops[rod] = d
        yield tok[o]
        if o == "$":
            return tops
        rod = o

