"""Logical graph: evaluate a random Boolean DAG given as Python code, by depth-first search with the
search tool (paper §3.2, App. D.2–D.3; paper-notes §3.5).

Instance of size n: a DAG of n variables, the first 3 inputs set to True/False, each later one an
AND or OR of one or two earlier variables, each possibly negated (one variable: ``not a``); the
last one added is the output. Names are random, distinct, of one width (``v630``: three digits up
to 1,000 nodes), so that ``find v63 =`` can only match the line that assigns ``v63``. The input is
the program, one statement per line, ending with a newline::

    v630 = True
    v872 = False
    v622 = True
    v191 = v630 and not v872
    v240 = not v191
    v539 = v240 or v622
    print(v539)

The answer is what the program prints (``True`` or ``False``). Training: n ~ U{4..10} nodes (paper:
train ≤ 10); tests up to 1,000 nodes. ``parse`` takes any such program (names are identifiers none of
which ends another; ``print`` may be left out: the last variable is printed).

The teacher writes a depth-first search whose stack lives in the memory, found again with ``find``
(tools/memory/search_memory.py); its state is O(1): the node being evaluated, its definition, the values
of its operands so far. Thoughts are lines:

- ``v191 < v240``: the search went from v240 down into v191 (the way back);
- ``v191 = True``: v191 is resolved. ``find v191 =`` now returns its definition *and* this line,
  and the last line found is the value (inputs are resolved from the start).

1. ``find print(`` gives the output variable x; ``find x =`` gives its definition;
2. evaluate the node whose definition is the last observation: for each operand a in order,
   ``find a =``; if the last line found is an expression, a is unresolved: write ``a < x``, make a
   the current node (its definition is that observation) and go to 2;
3. all operands known: write ``x = value``, then ``find x <``: the line ``x < p`` names the parent,
   ``find p =`` gives p's definition, and p is evaluated again (2); no line (an empty observation)
   means x is the output: ``[ANS]`` then the value, ``[EOS]``.

``logical-graph-local`` (``local=True``) writes each gate's value from the line just before it
instead of from three observations at once. Above, ``x = value`` needs x's operator and negations
(its definition, two observations back) and both operand values (the last two observations): the
study's Mamba-2 (trained on <= 10 nodes, 2026-12-01) wrote exactly these tokens wrong, 50% of
trajectories exact even at 10 nodes. The local trace substitutes one operand at a time into a
``:=`` line, each from the line before it and the last observation:

- after ``find a =`` answers a's value V: ``x := W op [not] b`` (W = V, negated if x's definition
  says ``not a``; the rest copied from the definition, the observation before);
- after ``find b =`` answers U: ``x := W op Z`` (copied from the ``:=`` line just written, Z from U);
- then ``x = R``, R computed from the ``:=`` line alone; ``b < x`` (going down) copies x from the
  ``:=`` line when a was resolved.

``x :=`` never matches ``find x =`` or ``find x <``, so the searches answer as before; after a
descent the parent is evaluated again from the start (its values re-found), as above.

Trace length (tokens after the input, measured; tests/evals/test_logical_graph.py): about 200 per
node reached from the output. With parents drawn uniformly from all earlier nodes the output
reaches few of them: 10 nodes ~800, 100 ~2,800, 1,000 ~9,400 (mean of 5). The hard cases reach
every node: 1,000-node chain ~204,000, fan-in ~265,000.
"""

from __future__ import annotations

import keyword
import random
import re

from tapehead.agent.tasks import Instance

from tapehead.tools.memory.search_memory import search_tools
from .call_program import CallProgramPolicy, call

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"  # ASCII identifiers (\w takes é and ١)
_ASSIGN = re.compile(rf"^({_NAME}) = (.+)$")
_PRINT = re.compile(rf"^print\(({_NAME})\)$")
_OPERAND = re.compile(rf"^(not )?({_NAME})$")
_RESERVED = frozenset(("and", "or", "not", "True", "False", "print"))


class Program:
    """A parsed graph: definitions in order (name -> ("const", bool) or ("gate", op, [(neg, name)]))."""

    def __init__(self, defs: dict, out: str):
        self.defs, self.out = defs, out

    def text(self) -> str:
        lines = []
        for name, d in self.defs.items():
            if d[0] == "const":
                lines.append(f"{name} = {d[1]}")
            else:
                terms = [("not " if neg else "") + a for neg, a in d[2]]
                lines.append(f"{name} = " + f" {d[1]} ".join(terms))
        return "\n".join(lines + [f"print({self.out})"]) + "\n"

    def value(self) -> bool:
        vals: dict[str, bool] = {}
        for name, d in self.defs.items():
            vals[name] = d[1] if d[0] == "const" else _gate(d, vals)
        return vals[self.out]


def _gate(d, vals) -> bool:
    terms = [vals[a] != neg for neg, a in d[2]]
    if len(terms) == 1:
        return terms[0]
    return (terms[0] and terms[1]) if d[1] == "and" else (terms[0] or terms[1])


def _expr(rhs: str, where: str):
    """``[not] a [and|or [not] b]`` -> ("gate", op, [(neg, a), ...]); ValueError otherwise."""
    for op in ("and", "or"):
        parts = rhs.split(f" {op} ")
        if len(parts) == 2:
            break
    else:
        op, parts = "and", [rhs]
    terms = []
    for p in parts:
        m = _OPERAND.match(p.strip())
        if not m or m.group(2) in _RESERVED:
            raise ValueError(f"{where}: expected `[not] a`, `[not] a and [not] b` or `[not] a or [not] b`, got {rhs!r}")
        terms.append((bool(m.group(1)), m.group(2)))
    return ("gate", op, terms)


def parse_program(text: str) -> Program:
    lines = [ln.split("#", 1)[0].strip() for ln in (text or "").splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise ValueError("empty input: give a program such as `v1 = True` / `v2 = not v1` / `print(v2)`")
    out = None
    m = _PRINT.match(lines[-1])
    if m:
        out, lines = m.group(1), lines[:-1]
    defs: dict = {}
    for i, ln in enumerate(lines, 1):
        where = f"statement {i} ({ln!r})"
        m = _ASSIGN.match(re.sub(r"\s+", " ", ln))
        if not m:
            raise ValueError(f"{where}: expected `name = True`, `name = False` or `name = [not] a and|or [not] b`"
                             + ("; print(...) may only be the last line" if ln.startswith("print") else ""))
        name, rhs = m.group(1), m.group(2).strip()
        if name in _RESERVED or keyword.iskeyword(name):
            raise ValueError(f"{where}: {name!r} is a reserved word")
        if name in defs:
            raise ValueError(f"{where}: {name} is assigned twice")
        d = ("const", rhs == "True") if rhs in ("True", "False") else _expr(rhs, where)
        for _, a in d[2] if d[0] == "gate" else ():
            if a not in defs:
                raise ValueError(f"{where}: {a} is used before it is assigned")
        defs[name] = d
    if not defs:
        raise ValueError("no assignments: give at least one variable")
    out = out or list(defs)[-1]
    if out not in defs:
        raise ValueError(f"print({out}): {out} is never assigned")
    for b in defs:  # `find a =` must match only a's own lines: no name may end another
        for i in range(1, len(b)):
            if b[i:] in defs:
                raise ValueError(f"variable {b[i:]!r} ends another name, {b!r}: searching for `{b[i:]} =` would find both")
    return Program(defs, out)


def random_program(n: int, rng: random.Random) -> Program:
    """n ≥ 4 variables: 3 inputs, then n-3 random gates; names v + fixed-width digits."""
    width = max(3, len(str(n - 1)))
    names = [f"v{k:0{width}d}" for k in rng.sample(range(10 ** width), n)]
    defs: dict = {}
    for i, name in enumerate(names):
        if i < 3:
            defs[name] = ("const", rng.random() < 0.5)
        elif rng.random() < 0.25:
            defs[name] = ("gate", "and", [(True, names[rng.randrange(i)])])
        else:
            a, b = rng.sample(range(i), 2)
            defs[name] = ("gate", rng.choice(("and", "or")),
                          [(rng.random() < 0.5, names[a]), (rng.random() < 0.5, names[b])])
    return Program(defs, names[-1])


class LogicalGraph:
    heads = 0
    default_policy = ""
    train_size = 10
    min_size = 4

    def __init__(self, name: str = "logical-graph", local: bool = False):
        self.name = name
        self.local = local  # the local-decision trace (module docstring)

    call_tools = staticmethod(search_tools)  # the episode's tools: `find` over its own memory

    # --- instances ------------------------------------------------------------------------------------
    def parse(self, user_input: str) -> str:
        return parse_program(user_input).text()

    def answer(self, text: str) -> str:
        return str(parse_program(text).value())

    def instance(self, prog: Program, kind: str = "random") -> Instance:
        text = prog.text()
        return Instance(text=text, answer=str(prog.value()), size=len(prog.defs), kind=kind)

    def sample(self, size: int, rng: random.Random, *, train: bool = False) -> Instance:
        n = rng.randint(self.min_size, max(self.min_size, size)) if train else max(self.min_size, size)
        return self.instance(random_program(n, rng))

    def hard_cases(self, size: int, rng: random.Random) -> list[Instance]:
        """A chain (the deepest search: every node hangs on the one before) and a wide fan-in (every
        node reads the inputs: short search, many memoised values)."""
        n = max(self.min_size, size)
        width = max(3, len(str(n - 1)))
        names = [f"v{k:0{width}d}" for k in rng.sample(range(10 ** width), n)]
        chain: dict = {nm: ("const", rng.random() < 0.5) for nm in names[:3]}
        fan: dict = dict(chain)
        for i in range(3, n):
            chain[names[i]] = ("gate", rng.choice(("and", "or")),
                               [(rng.random() < 0.5, names[i - 1]), (rng.random() < 0.5, names[rng.randrange(3)])])
            fan[names[i]] = ("gate", rng.choice(("and", "or")),
                             [(rng.random() < 0.5, names[rng.randrange(i)]), (False, names[i - 1])])
        return [self.instance(Program(chain, names[-1]), "chain"), self.instance(Program(fan, names[-1]), "fan-in")]

    def max_tokens(self, text: str) -> int:
        """A bound on the teacher's trace: a few searches per line of the program (and with
        ``local``, up to two ``:=`` lines per evaluation of a node)."""
        return (600 if self.local else 400) * text.count("\n") + 400

    # --- the teacher ------------------------------------------------------------------------------------
    def teacher(self, codec) -> CallProgramPolicy:
        return CallProgramPolicy(codec, lambda: _program(codec, self.local))


def _program(c, local: bool = False):
    """The teacher (module docstring). ``call`` yields a search and returns what it found."""

    def think(line):
        for t in c.text_tokens(line + "\n"):
            yield t

    found = yield from call(c, "find print(")  # 1
    x = found.split("\n")[-1][len("print("):-1]
    found = yield from call(c, f"find {x} =")
    while True:
        # 2: evaluate x, whose definition is the last line of the last observation
        d = _expr(found.split("\n")[-1].split(" = ", 1)[1], x)
        values, terms = [], [("not " if neg else "") + a for neg, a in d[2]]
        for i, (neg, a) in enumerate(d[2]):
            found = yield from call(c, f"find {a} =")
            rhs = found.split("\n")[-1].split(" = ", 1)[1]
            if rhs not in ("True", "False"):
                break
            values.append((rhs == "True") != neg)
            if local:  # the value substituted into x's expression, from this line and the last one only
                terms[i] = str(values[-1])
                yield from think(f"{x} := " + f" {d[1]} ".join(terms))
        if len(values) < len(d[2]):  # a is unresolved: down into it
            yield from think(f"{a} < {x}")
            x = a
            continue
        v = values[0] if len(values) == 1 else (values[0] and values[1]) if d[1] == "and" else (values[0] or values[1])
        yield from think(f"{x} = {v}")  # 3
        found = yield from call(c, f"find {x} <")
        if not found:
            break
        x = found.split("\n")[-1].split(" < ", 1)[1]
        found = yield from call(c, f"find {x} =")
    yield c.ANS
    for t in c.text_tokens(str(v)):
        yield t
    yield c.EOS


TASK = LogicalGraph()
TASK_LOCAL = LogicalGraph("logical-graph-local", local=True)
