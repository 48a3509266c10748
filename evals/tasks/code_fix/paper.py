"""The paper's repository, exactly (paper §3.3, App. E; paper-notes §3.6): one function per file.

n functions on the call graph of ``graph.py``: ``main`` in ``main.py`` is the root, the last
function added is ``foo`` (``foo.py``), the others are named at random from ``f0 … f999`` (``f0 …
f9999`` past 1,001 functions, where three digits run out). Variables are ``v0 … v9``: each function
takes a few as parameters, declares a few, prints some and passes some to the functions it calls
(a parent imports its child: ``from f12 import f12``). ``v10`` is declared in ``main`` and used in
``foo`` without being passed: ``python main.py`` fails with ``NameError: name 'v10' is not defined``
inside ``foo``. The reference fix passes ``v10`` along every path from ``main`` to ``foo``: ``v10``
appended to the parameters of every function on a path, ``v10=v10`` at every call between two of
them -- the text the structured edits write (``tools/code/refactor.py``). ::

    # f3.py                          # foo.py
    from f12 import f12              def foo(v4):
    from foo import foo                  v1 = 6
                                         print(v1)
                                         print(v10)
    def f3(v2, v5):
        v1 = 4
        print(v2)
        f12(v1, v5)
        foo(v2)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .graph import CallGraph

VARS = [f"v{k}" for k in range(10)]
BUG = "v10"


@dataclass
class Fn:
    name: str
    params: list[str]
    body: list[tuple]  # ("set", var, int) | ("print", var) | ("call", child, [args]) | ("use",)
    children: list[int] = field(default_factory=list)


def names(n: int, rng: random.Random) -> list[str]:
    """main, n-2 names from f0…f999 (f0…f9999 when three digits run out), foo."""
    pool = 1000 if n - 2 <= 1000 else 10_000
    return ["main", *(f"f{k}" for k in rng.sample(range(pool), n - 2)), "foo"]


def build(g: CallGraph, rng: random.Random) -> list[Fn]:
    """The functions' parameters and bodies over the call graph ``g``."""
    fns: list[Fn] = []
    for i, name in enumerate(names(g.n, rng)):
        params = [] if i == 0 else sorted(rng.sample(VARS, rng.randint(0, 3)), key=VARS.index)
        free = [v for v in VARS if v not in params]
        local = sorted(rng.sample(free, rng.randint(1 if not params else 0, 2)), key=VARS.index)
        body: list[tuple] = [("set", BUG, rng.randint(0, 9))] if i == 0 else []
        body += [("set", v, rng.randint(0, 9)) for v in local]
        known = params + local
        rest: list[tuple] = [("print", v) for v in known if rng.random() < 0.5] or [("print", rng.choice(known))]
        for child, repeat in g.calls[i]:
            rest += [("call", child, None)] * repeat
        if i == g.foo:
            rest.insert(rng.randint(0, len(rest)), ("use",))
        fns.append(Fn(name, params, body + rest, [c for c, _ in g.calls[i]]))
    for f in fns:  # arguments: one of the caller's variables for each of the callee's parameters
        known = f.params + [s[1] for s in f.body if s[0] == "set" and s[1] != BUG]
        f.body = [("call", s[1], [rng.choice(known) if known and rng.random() < 0.8 else str(rng.randint(0, 9))
                                  for _ in fns[s[1]].params]) if s[0] == "call" else s for s in f.body]
    return fns


def render(fns: list[Fn], plumbed: set[int] | None = None) -> dict[str, str]:
    """The repository's files; ``plumbed``: the functions that take and pass ``v10`` (the fix)."""
    plumbed = plumbed or set()
    files = {}
    for i, f in enumerate(fns):
        lines = [f"from {fns[c].name} import {fns[c].name}" for c in sorted(set(f.children), key=lambda c: fns[c].name)]
        lines += ["", ""] if lines else []
        params = f.params + ([BUG] if i in plumbed and i != 0 else [])
        lines.append(f"def {f.name}({', '.join(params)}):")
        for s in f.body:
            if s[0] == "set":
                lines.append(f"    {s[1]} = {s[2]}")
            elif s[0] == "print":
                lines.append(f"    print({s[1]})")
            elif s[0] == "use":
                lines.append(f"    print({BUG})")
            else:
                args = s[2] + ([f"{BUG}={BUG}"] if i in plumbed and s[1] in plumbed else [])
                lines.append(f"    {fns[s[1]].name}({', '.join(args)})")
        if i == 0:
            lines += ["", "", 'if __name__ == "__main__":', "    main()"]
        files[f"{f.name}.py"] = "\n".join(lines) + "\n"
    return files


def paper_repo(g: CallGraph, rng: random.Random) -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
    """(buggy files, fixed files, necessary functions as ``path::name``)."""
    fns = build(g, rng)
    path_fns = g.ancestors(g.foo)
    necessary = tuple(sorted(f"{fns[i].name}.py::{fns[i].name}" for i in path_fns))
    return render(fns), render(fns, path_fns), necessary
