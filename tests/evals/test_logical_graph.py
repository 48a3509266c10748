"""Logical graph: parsing Python programs, the random DAG generator, and the depth-first teachers
using the search tool -- the paper's (``logical-graph``) and the local one (``logical-graph-local``) --
right from the training sizes (≤ 10 nodes) to 1,000 nodes; the local one decides every written
segment from the last two observations (evals/tasks/locality.py), the paper's does not."""

import contextlib
import io
import random
import re

import pytest

from tapehead.agent.loops.loop import run_episode
from tapehead.agent.models import codec as get_codec
from tapehead.agent.tasks import get_task
from tapehead.evals.tasks.logical_graph import _gate, parse_program

C = get_codec()
GRAPH = get_task("logical-graph")
LOCAL = get_task("logical-graph-local")


def solve(text, task=GRAPH):
    tr = run_episode(task.teacher(C), C, text, call_tools=task.call_tools)
    assert tr.exit == "eos", (text[:200], tr.exit)
    return tr


def python_says(program: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(program, "<graph>", "exec"), {})
    return out.getvalue().strip()


@pytest.mark.parametrize("task", [GRAPH, LOCAL], ids=lambda t: t.name)
def test_teacher_many_small_graphs_agree_with_python(task):
    rng = random.Random(0)
    for _ in range(150):
        inst = task.sample(10, rng, train=True)
        tr = solve(inst.text, task)
        assert tr.answer == inst.answer == python_says(inst.text) == task.answer(inst.text)
    for n in range(4, 11):
        for inst in task.hard_cases(n, rng):
            assert solve(inst.text, task).answer == inst.answer == python_says(inst.text)


@pytest.mark.parametrize("task", [GRAPH, LOCAL], ids=lambda t: t.name)
@pytest.mark.parametrize("n", [20, 100, 300, 1000])
def test_teacher_right_far_past_training(n, task):
    rng = random.Random(n)
    insts = [task.sample(n, rng) for _ in range(3 if n < 1000 else 2)] + task.hard_cases(n, rng)
    for inst in insts:
        assert inst.size == n and inst.text.count("\n") == n + 1
        tr = solve(inst.text, task)
        assert tr.answer == inst.answer == python_says(inst.text)
        assert tr.generated <= task.max_tokens(inst.text)


def test_local_trace_substitutes_one_operand_per_line():
    """``x := ...`` lines: x's expression with its first k operands replaced by their (negated)
    values, k growing by one per line; ``x = value`` follows the fully substituted line and is its
    value; the other lines are the stack's ``a < x``."""
    rng = random.Random(7)
    for inst in [LOCAL.sample(30, rng) for _ in range(3)] + LOCAL.hard_cases(12, rng):
        tr = solve(inst.text, LOCAL)
        mem = "".join(C.memory(tr.tokens, tr.prompt_len))
        lines = mem[len("[BOS]") + len(inst.text):].split("[ANS]")[0].splitlines()
        defs, vals = parse_program(inst.text).defs, {}
        for name, d in defs.items():
            vals[name] = d[1] if d[0] == "const" else _gate(d, vals)
        substituted = 0
        for prev, line in zip([""] + lines, lines):
            if m := re.fullmatch(r"(v\d{3}) := (.+)", line):
                x, d = m.group(1), defs[m.group(1)]
                k = substituted + 1 if prev.startswith(f"{x} := ") else 1
                want = [str(vals[a] != neg) if i < k else ("not " if neg else "") + a for i, (neg, a) in enumerate(d[2])]
                assert m.group(2) == f" {d[1]} ".join(want), (line, d)
                substituted = k
            elif m := re.fullmatch(r"(v\d{3}) = (True|False)", line):
                x = m.group(1)
                assert prev.startswith(f"{x} := ") and substituted == len(defs[x][2])
                assert m.group(2) == str(vals[x]) == str(eval(prev.split(" := ")[1]))
            else:
                assert re.fullmatch(r"v\d{3} < v\d{3}", line), line
        assert tr.answer == python_says(inst.text) and any(" := " in ln for ln in lines)


def test_only_the_local_trace_decides_from_the_last_two_observations():
    """The local-decision rule checked mechanically (evals/tasks/locality.py): over 300 training
    draws and larger graphs, no two equal windows of the last two observations (up to names) are
    followed by different written segments in the local trace; the paper's trace has such pairs
    (a gate value after both operands were found: its operator and negations are three
    observations back), and none with three."""
    from tapehead.evals.tasks.locality import check

    rng = random.Random(0)
    insts = [GRAPH.sample(10, rng, train=True) for _ in range(300)] + [GRAPH.sample(n, rng) for n in (30, 100)
                                                                        for _ in range(10)]
    local = check(LOCAL, C, insts, window=2)
    assert local.conflicts == 0 and local.segments > 5000
    paper = check(GRAPH, C, insts, window=2)
    assert paper.conflicts > 50
    key, first, now = paper.example
    assert {first, now} == {"? = True\n", "? = False\n"}  # the gate's own name is out of the window too
    assert check(GRAPH, C, insts, window=3).conflicts == 0


def test_trace_is_find_calls_and_stack_lines():
    inst = GRAPH.sample(30, random.Random(5))
    tr = solve(inst.text)
    calls = C.calls(tr.tokens, tr.prompt_len)
    assert calls and all(c["tool"] == "find" for c in calls)
    assert calls[0]["call"]["text"] == "print(" and calls[-1]["observation"] == ""
    mem = "".join(C.memory(tr.tokens, tr.prompt_len))
    thoughts = mem[len("[BOS]") + len(inst.text):].split("[ANS]")[0]
    for line in thoughts.splitlines():
        assert re.fullmatch(r"v\d{3} < v\d{3}|v\d{3} = (True|False)", line), line
    assert mem.endswith("[ANS]" + inst.answer)
    assert not any(C.commands[t] for t in tr.tokens)  # no tape commands: the search tool only


def test_deep_chain_uses_the_memory_as_its_stack():
    inst = GRAPH.hard_cases(200, random.Random(1))[0]
    assert inst.kind == "chain"
    tr = solve(inst.text)
    mem = "".join(C.memory(tr.tokens, tr.prompt_len))
    assert mem.count(" < ") == 200 - 4  # one way-back line per node below the output
    assert tr.answer == python_says(inst.text)


def test_teacher_without_the_search_tool_fails_loudly():
    with pytest.raises(RuntimeError, match="call_tools"):
        run_episode(GRAPH.teacher(C), C, GRAPH.sample(5, random.Random(0)).text)


def test_generator_shape():
    rng = random.Random(2)
    sizes = {GRAPH.sample(10, rng, train=True).size for _ in range(300)}
    assert sizes == set(range(4, 11))
    prog = parse_program(GRAPH.sample(1000, rng).text)
    names = list(prog.defs)
    assert len(names) == 1000 and all(re.fullmatch(r"v\d{3}", v) for v in names) and prog.out == names[-1]
    assert [d[0] for d in prog.defs.values()][:4] == ["const"] * 3 + ["gate"]


@pytest.mark.parametrize("bad,msg", [
    ("", "empty"),
    ("v1 = True\nv2 = v1 xor v1\n", "expected"),
    ("v1 = True\nv2 = not v3\n", "used before"),
    ("v1 = True\nv1 = False\n", "assigned twice"),
    ("v1 = True\nav1 = not v1\n", "ends another"),
    ("v1 = True\nprint(v2)\n", "never assigned"),
    ("v1 = True\nprint(v1)\nv2 = v1\n", "last line"),
    ("and = True\n", "expected|reserved"),
    ("v1 = True\nv2 = v1 and v1 and v1\n", "expected"),
])
def test_parse_rejects_clearly(bad, msg):
    with pytest.raises(ValueError, match=msg):
        GRAPH.parse(bad)


def test_parse_canonicalises():
    text = "# a graph\nx = True\n\ny  =  not x   # negation\nz = x or not y"
    assert GRAPH.parse(text) == "x = True\ny = not x\nz = x or not y\nprint(z)\n"
    assert GRAPH.answer(GRAPH.parse(text)) == "True"
    assert solve(GRAPH.parse(text)).answer == "True"
