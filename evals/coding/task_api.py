"""The one place where the harness meets the code-fix tasks (``tapehead.evals.tasks.code_fix``).

Convention: the harness (bench, grader, fix, eval) works on ``BenchInstance`` records
(``evals/coding/record.py``), which any user can write; the tasks work on their ``RepoInstance``
(the generator's frozen dataclass). This module converts between the two, and is the only caller of
the tasks' API: ``generate``, ``changed_functions``, the teachers, the workspace tools with their
``check`` command, and the task names (``code-fix-paper``, ``code-fix-plumbing``, ``code-fix-import``, ``code-fix``).
"""

from __future__ import annotations

from tapehead.agent.tasks import get_task
from .record import BenchInstance
from .repo_files import texts

FAMILIES = ("plumbing", "import")
STYLES = ("paper", "realistic")
LARGEST = 1024  # functions: the bound used for an instance of unknown size


def code_fix():
    from tapehead.evals.tasks import code_fix as module

    return module


def task_name(family: str | None, style: str | None = None) -> str:
    """The registered task for this family and style (the mixture when unknown): its teacher and tools."""
    if family == "plumbing":
        return "code-fix-paper" if style == "paper" else "code-fix-plumbing"
    return "code-fix-import" if family == "import" else "code-fix"


def generate(size: int, seed: int, family: str = "plumbing", style: str = "paper", kind: str = "random"):
    return code_fix().generate(size, seed, family=family, style=style, kind=kind)


def to_bench(ri) -> BenchInstance:
    """A generated instance as a benchmark record (the gold patch made from its two trees)."""
    from .patch import make_patch

    files = {p: t.encode("utf-8") for p, t in ri.files.items()}
    fixed = {p: t.encode("utf-8") for p, t in ri.fixed.items()}
    return BenchInstance(ri.instance_id, ri.text, files, (ri.check,), (), make_patch(files, fixed),
                         ri.expected_stdout, tuple(ri.necessary), ri.size, ri.family, ri.style,
                         extra={"kind": ri.kind})


def repo_instance(inst: BenchInstance):
    """A record as the tasks' ``RepoInstance`` (what a teacher is given). ``fixed`` stays empty: a
    teacher works from the tools' answers, never from the reference."""
    RepoInstance = code_fix().RepoInstance
    return RepoInstance(text=inst.problem_statement, answer="", size=inst.size or 0,
                        kind=str(inst.extra.get("kind", "random")), instance_id=inst.instance_id,
                        family=inst.family or "plumbing", style=inst.style or "realistic", files=texts(inst.files),
                        fixed={}, check=inst.check, expected_stdout=inst.expected_stdout or "",
                        necessary=tuple(inst.necessary or ()))


def task_of(inst: BenchInstance):
    return get_task(task_name(inst.family, inst.style))


def teacher(codec, inst: BenchInstance):
    """The hard-coded teacher of the instance's bug family, as a policy (it reads only observations)."""
    return task_of(inst).teacher(codec, repo_instance(inst))


def max_tokens(inst: BenchInstance) -> int:
    """A bound on the teacher's trace for this instance (episodes are cut past a multiple of it)."""
    return task_of(inst).max_tokens(inst.size or LARGEST)


def workspace_tools(ws, check: str, limits=None) -> list:
    """The tools a code-fix policy gets on ``ws``: the ``check`` tool runs ``check``, sandboxed under ``limits``."""
    return get_task("code-fix").tools(ws, check, limits)


def changed_functions(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return code_fix().changed_functions(before, after)


def problem_statement(check: str) -> str:
    """The policy's input for a user's repository and check command, in the form it was trained on."""
    return code_fix().statement(check)
