"""A code-fix instance: the buggy repository, its reference fix, the check, and how it is scored.

Convention (issue 14; the interface with the benchmark harness, ``INTERFACE.md``): a
``RepoInstance`` extends ``agent/tasks.py``'s ``Instance`` -- ``text`` is the problem statement the
policy reads, ``answer`` is empty (a fix is graded on the repository, never on text) -- with the
files of the buggy repository, the files after the reference fix, the check command, the reference
program's stdout (the hidden check) and ``necessary``: ``path::qualname`` of every function the fix
must change (``path::<module>`` for a change outside any function, such as an import). Everything
is a pure function of ``(size, seed, family, style, kind)``; ``generate`` checks in process that the
buggy repository fails its check and the fixed one passes.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

from tapehead.agent.tasks import Instance
from tapehead.tools.code.refactor import qualname
from tapehead.tools.code.grammars import PYTHON, parse

from .graph import random_graph
from .inprocess import InProcess

CHECK = "python main.py"
FAMILIES = ("plumbing", "import")
STYLES = ("paper", "realistic")
MODULE = "<module>"


def statement(check: str = CHECK) -> str:
    """The problem statement: the policy's input."""
    return f"Fix the bug: `{check}` fails."


@dataclass(frozen=True)
class RepoInstance(Instance):
    instance_id: str = ""
    family: str = "plumbing"
    style: str = "paper"
    files: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, str] = field(default_factory=dict)
    check: str = CHECK
    expected_stdout: str = ""
    necessary: tuple[str, ...] = ()
    seed: int = 0

    def __hash__(self) -> int:  # the dict fields are not hashable; the id names the instance
        return hash(self.instance_id)


def generate(size: int, seed: int, family: str = "plumbing", style: str = "paper",
             kind: str = "random") -> RepoInstance:
    """The instance of ``size`` functions for ``seed`` (module docstring)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; known: {', '.join(STYLES)}")
    if size < 4:
        raise ValueError(f"a repository needs at least 4 functions, got {size}")
    rng = random.Random(f"code-fix/{style}/{family}/{kind}/{size}/{seed}")
    if style == "paper":
        if family != "plumbing":
            raise ValueError("the paper style has the plumbing bug only; the import family is realistic")
        from .paper import paper_repo

        files, fixed, necessary = paper_repo(random_graph(size, rng, kind), rng)
    else:
        from .realistic import realistic_repo

        files, fixed, necessary = realistic_repo(size, rng, kind, family)
    runner = InProcess()
    if runner.check(files) == "PASS":
        raise RuntimeError(f"generator bug: {style}/{family}/{kind} n={size} seed={seed} passes before the fix")
    expected = runner.stdout(fixed)
    return RepoInstance(text=statement(), answer="", size=size, kind=kind,
                        instance_id=f"{style}-{family}-{kind}-n{size}-s{seed}", family=family, style=style,
                        files=files, fixed=fixed, check=CHECK, expected_stdout=expected,
                        necessary=tuple(necessary), seed=seed)


def write_repo(files: dict[str, str], directory: str) -> str:
    """Write ``files`` (relative path -> text) under ``directory``; returns it."""
    for rel, text in files.items():
        if os.path.isabs(rel) or ".." in rel.split("/"):
            raise ValueError(f"refusing to write {rel!r} outside {directory}")
        full = os.path.join(directory, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    return directory


def read_repo(ws) -> dict[str, str]:
    """A workspace's files as its tools see them (``.gitignore`` honoured, nothing outside the
    root), relative path -> text: what ``changed_functions`` compares after a run."""
    out = {}
    for rel in ws.list_files():
        with open(os.path.join(ws.root, rel), encoding="utf-8", errors="replace") as f:
            out[rel] = f.read()
    return out


def functions(src: str) -> dict[str, str]:
    """``qualname`` -> source text of every function in ``src``, and ``<module>`` -> the text
    outside top-level functions and classes."""
    data = src.encode("utf-8")
    root = parse(PYTHON, data).root_node
    out: dict[str, str] = {}
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == "function_definition":
            out[qualname(n)] = n.text.decode("utf-8")
        stack.extend(n.children)
    outside, at = [], 0
    for node in root.children:
        inner = node.child_by_field_name("definition") if node.type == "decorated_definition" else node
        if inner is not None and inner.type in ("function_definition", "class_definition"):
            outside.append(data[at:node.start_byte])
            at = node.end_byte
    outside.append(data[at:])
    out[MODULE] = b"".join(outside).decode("utf-8")
    return out


def changed_functions(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """``path::qualname`` of every function (or ``path::<module>``) that differs, was added or
    removed between two repositories (Python files only)."""
    out: set[str] = set()
    for path in sorted(set(before) | set(after)):
        if not path.endswith(".py") or before.get(path) == after.get(path):
            continue
        a, b = functions(before.get(path, "")), functions(after.get(path, ""))
        out.update(f"{path}::{q}" for q in set(a) | set(b) if a.get(q) != b.get(q))
    return out
