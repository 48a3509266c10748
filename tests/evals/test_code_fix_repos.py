"""The code-fix repository generators: the paper's form exactly, the realistic style's variety, both
families and every hard case fail their check before the reference fix and pass after it, in
process and in the real sandbox; instances are pure functions of their arguments."""

import importlib.util
import random
import re
import sys

import pytest
from code_fix_helpers import sandboxed

from tapehead.agent.tasks import get_task
from tapehead.evals.tasks.code_fix import changed_functions, generate, write_repo
from tapehead.evals.tasks.code_fix.graph import KINDS, MAX_DEPTH, budget, random_graph
from tapehead.evals.tasks.code_fix.inprocess import InProcess
from tapehead.evals.tasks.code_fix.realistic import IMPORT_KINDS, PLUMBING_KINDS
from tapehead.evals.tasks.code_fix.vocabulary import PROJECTS
from tapehead.tools.workspace import Workspace

CASES = ([("paper", "plumbing", k) for k in KINDS] + [("realistic", "plumbing", k) for k in PLUMBING_KINDS]
         + [("realistic", "import", k) for k in IMPORT_KINDS])


@pytest.mark.parametrize("style, family, kind", CASES)
def test_fails_before_passes_after_in_process(style, family, kind):
    run = InProcess()
    for size in (4, 9, 16, 40):
        for seed in range(3):
            inst = generate(size, seed, family, style, kind)
            before = run.check(inst.files)
            assert before.startswith("FAIL exit 1\n"), before
            assert before.split("\n")[2].startswith("NameError: name ")
            assert run.check(inst.fixed) == "PASS"
            assert run.stdout(inst.fixed) == inst.expected_stdout
            assert changed_functions(inst.files, inst.fixed) == set(inst.necessary) != set()
            assert inst.text == "Fix the bug: `python main.py` fails." and inst.answer == ""
            assert inst.instance_id == f"{style}-{family}-{kind}-n{size}-s{seed}"


def test_paper_style_exactly():
    inst = generate(30, 7)
    names = sorted(p[:-3] for p in inst.files)
    assert len(names) == 30 and "main" in names and "foo" in names
    assert all(re.fullmatch(r"f\d{1,3}", n) for n in names if n not in ("main", "foo"))
    main = inst.files["main.py"]
    assert re.search(r"^    v10 = \d$", main, re.M) and main.endswith('if __name__ == "__main__":\n    main()\n')
    assert "v10" in inst.files["foo.py"] and "def foo(" in inst.files["foo.py"]
    for path, text in inst.files.items():
        assert text.count("\ndef ") + text.startswith("def ") == 1  # one function per file
        for child in re.findall(r"^from (\w+) import (\w+)$", text, re.M):
            assert child[0] == child[1] and f"{child[0]}.py" in inst.files  # a parent imports its child
        assert set(re.findall(r"\bv\d+\b", text)) <= {f"v{k}" for k in range(11)}
    # the fix: v10 on every path main -> foo, i.e. the necessary functions and only they change
    for key in inst.necessary:
        path, fn = key.split("::")
        assert (fn == "main" or f"def {fn}(" in inst.fixed[path] and "v10)" in inst.fixed[path].split("\n")[
            [i for i, ln in enumerate(inst.fixed[path].split("\n")) if ln.startswith("def ")][0]])
    assert generate(1500, 1).size == 1500  # past three digits of names: f0...f9999


def test_realistic_style_has_variety():
    insts = [generate(24, s, "plumbing", "realistic") for s in range(12)]
    text = "\n".join(t for i in insts for t in i.files.values())
    paths = [p for i in insts for p in i.files]
    assert any(p.count("/") >= 2 for p in paths) and any(p.endswith("__init__.py") for p in paths)
    assert len(set(p.split("/")[0] for p in paths if "/" in p)) >= 3  # several project names
    for feature in [r'"""', r"^\s+# ", r"def \w+\([^)]*=", r"\*\*\w+", r"\*, ", r"^\s+for \w+ in range",
                    r"^\s+if \w+", r"^\s+\w+ = \w+\($", r"-> (int|str|None):", r"^from \w+(\.\w+)+ import \w+, \w+",
                    r"^from \w+(\.\w+)* import \w+$", r"'\w", r'"\w', r"^class \w+:", r"^[A-Z_]+ = "]:
        assert re.search(feature, text, re.M), feature
    for inst in insts:  # several functions per module somewhere, and functions unrelated to the bug
        per_module = [t.count("\ndef ") + t.startswith("def ") for t in inst.files.values()]
        assert max(per_module) >= 2
        total = sum(per_module)
        assert len(inst.necessary) < total
    variables = {re.search(r"^    (\w+) = ", i.files["main.py"].split("def main")[1].split('"""')[-1].lstrip("\n"),
                           re.M).group(1) for i in insts if "def main" in i.files["main.py"]}
    assert len(variables) >= 4  # the plumbed variable varies (tenant_id, verbose, ...)


def test_project_names_shadow_nothing():
    for name in PROJECTS:
        assert name not in sys.stdlib_module_names and importlib.util.find_spec(name) is None


def test_deterministic_and_bounded():
    assert generate(12, 3, "import", "realistic") == generate(12, 3, "import", "realistic")
    assert len({generate(12, 3, "import", "realistic"), generate(12, 3, "import", "realistic"), generate(12, 4)}) == 2
    assert generate(12, 3).files != generate(12, 4).files
    for n in (16, 200, 1024):
        for kind in KINDS:
            g = random_graph(n, random.Random(n), kind)
            assert sum(g.runs) <= budget(n) + max(g.runs) and max(g.depth) <= MAX_DEPTH + 1
            assert all(g.parents(i) for i in range(1, n))  # everything reachable from main
    chain = random_graph(300, random.Random(0), "chain")
    assert len(chain.ancestors(chain.foo)) == MAX_DEPTH + 2
    for bad in [dict(size=3, seed=0), dict(size=8, seed=0, family="typo"), dict(size=8, seed=0, style="x"),
                dict(size=8, seed=0, family="import", style="paper"), dict(size=8, seed=0, kind="nope")]:
        with pytest.raises(ValueError):
            generate(**bad)


def test_tasks_sample_sizes_and_hard_cases():
    rng = random.Random(0)
    task = get_task("code-fix")
    sizes = {task.sample(16, rng, train=True).size for _ in range(60)}
    assert min(sizes) >= 4 and max(sizes) <= 16 and len(sizes) >= 8
    mix = {(i.style, i.family) for i in (task.sample(8, rng) for _ in range(30))}
    assert mix == {("paper", "plumbing"), ("realistic", "plumbing"), ("realistic", "import")}
    assert {i.kind for i in get_task("code-fix-paper").hard_cases(10, rng)} == set(KINDS[1:])
    assert {i.kind for i in get_task("code-fix-import").hard_cases(10, rng)} == set(IMPORT_KINDS[1:])
    assert get_task("code-fix").parse("") == "Fix the bug: `python main.py` fails."
    assert get_task("code-fix").parse("  fix the failing tests ") == "fix the failing tests"


@pytest.mark.parametrize("style, family, kind", [("paper", "plumbing", "diamonds"), ("realistic", "plumbing", "loops"),
                                                 ("realistic", "import", "module-level")])
def test_fails_before_passes_after_in_the_sandbox(tmp_path, style, family, kind):
    inst = generate(12, 1, family, style, kind)
    for name, files, want in (("before", inst.files, "FAIL"), ("after", inst.fixed, "PASS")):
        ws = Workspace.create(write_repo(files, str(tmp_path / name)), scratch_parent=str(tmp_path))
        obs, out = sandboxed(ws)
        assert obs == InProcess().check(files) and obs.startswith(want)
        if want == "PASS":
            assert out == inst.expected_stdout
        ws.discard()


def test_in_process_runs_touch_no_global_stream():
    """A thread printing meanwhile (a progress bar's refresh) neither leaks into the run's output
    nor receives any of it."""
    import contextlib
    import io
    import threading

    inst = generate(16, 2, "plumbing", "realistic")
    run, stop, leaked = InProcess(), threading.Event(), io.StringIO()

    def chatter():
        while not stop.is_set():
            print("progress 42%")

    with contextlib.redirect_stdout(leaked):
        t = threading.Thread(target=chatter)
        t.start()
        try:
            outs = [run.run(inst.fixed) for _ in range(20)]
        finally:
            stop.set()
            t.join()
    assert all(o == (0, inst.expected_stdout) for o in outs) and "progress" not in inst.expected_stdout
    assert set(leaked.getvalue().split("\n")) <= {"progress 42%", ""}
