"""The call graph of a generated repository: functions added one at a time, each called by existing
ones (paper §3.3, App. E; paper-notes §3.6: "a random dependency graph by iteratively adding nodes,
each connected to existing nodes"; an edge means the parent imports and calls the child).

Node 0 is ``main``, the last node added is ``foo``. ``calls[p]`` lists, in order, the call sites in
``p``: ``(child, repeat)`` where ``repeat`` > 1 means a loop (realistic style) or several calls (paper
style). Every node has at least one parent, so everything is reachable from main, and parents come
before children, so the graph is a DAG.

Execution is bounded: a function runs once per path from main times the repeats on the way, which
grows exponentially in a dense DAG. ``runs[i]`` counts it, and a second parent or a repeat is only
added while the total stays within ``budget(n)``: a 1,024-function check runs in milliseconds.
Depth is bounded too (``MAX_DEPTH``): each level of a call chain is also a level of nested
imports (a parent imports its child at the top of its file), and CPython 3.11's import machinery
spends ~7 frames of the 1,000-frame recursion limit per level, so a chain of ~140 modules fails
with ``RecursionError`` whatever the code does (measured); 64 keeps a wide margin.

Shapes (the ``kind`` of an instance): ``random``; the hard cases ``chain`` (main -> f -> ... -> foo,
every function on the bug's path), ``diamonds`` (a second parent whenever the budget allows: many
paths), ``foo-repeated`` (one parent calls foo 2-3 times), ``foo-from-main`` (main calls foo
directly, besides its other callers).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

MAX_DEPTH = 64
KINDS = ("random", "chain", "diamonds", "foo-repeated", "foo-from-main")


def budget(n: int) -> int:
    return 16 * n + 64


@dataclass
class CallGraph:
    n: int
    calls: list[list[tuple[int, int]]] = field(default_factory=list)  # calls[p] = [(child, repeat), ...]
    runs: list[int] = field(default_factory=list)  # how many times each function runs
    depth: list[int] = field(default_factory=list)

    @property
    def foo(self) -> int:
        return self.n - 1

    def parents(self, i: int) -> list[int]:
        return [p for p in range(self.n) if any(c == i for c, _ in self.calls[p])]

    def ancestors(self, i: int) -> set[int]:
        """``i`` and every function on a path from main to it."""
        up = [set() for _ in range(self.n)]
        for p in range(self.n):
            for c, _ in self.calls[p]:
                up[c].add(p)
        out, todo = {i}, [i]
        while todo:
            for p in up[todo.pop()]:
                if p not in out:
                    out.add(p)
                    todo.append(p)
        return out


def _link(g: CallGraph, parent: int, child: int, repeat: int, rng: random.Random) -> None:
    pos = rng.randint(0, len(g.calls[parent]))  # anywhere among the parent's calls
    g.calls[parent].insert(pos, (child, repeat))
    g.runs[child] += g.runs[parent] * repeat
    g.depth[child] = max(g.depth[child], g.depth[parent] + 1)


def random_graph(n: int, rng: random.Random, kind: str = "random", p_second: float = 0.2,
                 p_repeat: float = 0.1, max_repeat: int = 3) -> CallGraph:
    """A call graph of ``n`` >= 2 functions (module docstring for the shapes)."""
    if kind not in KINDS:
        raise ValueError(f"unknown graph kind {kind!r}; known: {', '.join(KINDS)}")
    g = CallGraph(n, [[] for _ in range(n)], [0] * n, [0] * n)
    g.runs[0] = 1
    limit = budget(n)
    if kind == "diamonds":
        p_second = 1.0
    chain_end = 0  # kind "chain": the deepest function so far; foo always hangs below it
    for i in range(1, n):
        last = i == n - 1
        room = max(1, limit - sum(g.runs))
        in_chain = kind == "chain" and (i <= MAX_DEPTH or last)
        if in_chain:
            first, chain_end = chain_end, i
        elif kind == "foo-from-main" and last:
            first = 0
        else:  # main (1 run) always qualifies
            first = rng.choice([p for p in range(i) if g.depth[p] < MAX_DEPTH - 1 and g.runs[p] <= room])
        repeat = 1
        if (kind == "foo-repeated" and last) or (rng.random() < p_repeat and (last or not in_chain)):
            repeat = rng.randint(2, max_repeat)  # (never inside the chain: it would multiply down it)
        if sum(g.runs) + g.runs[first] * repeat > limit:
            repeat = 1
        _link(g, first, i, repeat, rng)
        want_second = (rng.random() < p_second and not in_chain) or (kind == "foo-from-main" and last)
        if want_second and i >= 2:
            room = limit - sum(g.runs)
            options = [p for p in range(i) if p != first and g.runs[p] <= room and g.depth[p] < MAX_DEPTH - 1]
            if kind == "foo-from-main" and last:
                options = [p for p in options if p != 0]
            if options:
                _link(g, rng.choice(options), i, 1, rng)
    return g
