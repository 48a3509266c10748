"""The code-fix teachers, as programs over call texts, and the two ways to run them.

A teacher here is a generator that yields the text of each call (``check``, ``add_param f7.py f7
v10``) and receives the tool's observation text as the value of the ``yield``; returning ends the
episode (``[EOS]``). The same program runs

- token by token through the real loop and the real tools (``StepsPolicy``: a
  ``CallProgramPolicy`` of ``call_program.py``, so ``run_episode`` or the LangGraph agent drives it
  exactly as it drives a network), and
- call by call against an in-memory repository (``fast_trace``: the training-data path), whose
  tokens and loss mask equal the real loop's (``tests/evals/test_code_fix_fast.py``).

Teachers (DESIGN.md "Coding", "The local-decision rule"):

- ``interactive`` (the paper's interactive agent, and the search-driven one: one program): run
  the check; on ``NameError: name 'X' is not defined`` at P in F, ``find_definition X``: no
  definition -> ``add_param P F X`` (the plumbing bug), a definition in Q -> ``add_import P X Q``
  (the missing import); on ``TypeError: F() missing 1 required ... argument: 'X'`` at P:L,
  ``pass_arg P F X line=L``; check again; ``PASS`` -> ``[EOS]``. Every string it writes is copied
  from the last observation or, after ``find_definition``, from the check observation just before
  it: a window of two short observations, whatever the size of the repository.
- ``single_turn`` (the paper's baseline): list the files, read every one, then write every edit
  without running anything. The edits are planned from the texts read -- by running the
  interactive loop on them in process, in its head -- so this trace asks the policy to hold the
  whole repository, which is the point of the comparison.
"""

from __future__ import annotations

import re
from typing import Callable, Generator

from ..call_program import CallProgramPolicy, call

Steps = Generator[str, str, None]

_FRAME = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+)(?: in (?P<func>[^:\n]+))?(?:: .*)?$")
_NAME_ERROR = re.compile(r"^NameError: name '(?P<name>\w+)' is not defined$")
_MISSING = re.compile(r"^TypeError: (?P<func>[\w.]+)\(\) missing 1 required (?:positional|keyword-only) "
                      r"argument: '(?P<name>\w+)'$")
_HIT = re.compile(r"^(?P<path>[^:\n]+):\d+-\d+: (?P<kind>\w+) (?P<qual>\S+)$")
LIST_ALL = 'list_files {"max_results": 1000000}'


class TeacherStuck(RuntimeError):
    """The teacher met an observation it has no rule for (a generator bug, or not its family)."""


def interactive() -> Steps:
    """The interactive / search-driven teacher (module docstring)."""
    obs = yield "check"
    while obs != "PASS":
        lines = obs.split("\n")
        frame = _FRAME.match(lines[1]) if len(lines) == 3 and lines[0].startswith("FAIL") else None
        if frame is None:
            raise TeacherStuck(f"no rule for the check's answer:\n{obs}")
        path, line, func = frame.group("path"), frame.group("line"), frame.group("func")
        if m := _NAME_ERROR.match(lines[2]):
            name = m.group("name")
            found = yield f"find_definition {name}"
            hits = [h for h in map(_HIT.match, found.split("\n")) if h and h.group("kind") != "method"]
            if not hits:
                yield f"add_param {path} {func} {name}"
            elif len(hits) == 1:
                yield f"add_import {path} {name} {hits[0].group('path')}"
            else:
                raise TeacherStuck(f"{name} is defined in several places:\n{found}")
        elif m := _MISSING.match(lines[2]):
            yield f"pass_arg {path} {m.group('func')} {m.group('name')} line={line}"
        else:
            raise TeacherStuck(f"no rule for the error:\n{obs}")
        obs = yield "check"


def plan(files: dict[str, str], check: str = "python main.py") -> list[str]:
    """The edits the interactive teacher makes on ``files``, found in process (the single-turn
    teacher's plan: what a model that read everything must work out in its head)."""
    from .memtools import MemoryRepo

    repo = MemoryRepo(files, check)
    steps, edits = interactive(), []
    text = next(steps)
    try:
        while True:
            if text.split(" ", 1)[0] not in ("check", "find_definition"):
                edits.append(text)
            text = steps.send(repo.call(text))
    except StopIteration:
        return edits


def single_turn(check: str = "python main.py") -> Steps:
    """The single-turn teacher (module docstring)."""
    listing = yield LIST_ALL
    files = {}
    for path in listing.split("\n"):
        if path.endswith(".py"):
            files[path] = yield from _read_whole(path)
    for edit in plan(files, check):
        yield edit


def _read_whole(path: str):
    """The text of a file, from ``read_file`` observations (``N| text`` lines; read on past 400)."""
    lines, start = [], 1
    while True:
        obs = yield f"read_file {path}" if start == 1 else f'read_file {{"path": "{path}", "start": {start}}}'
        head, _, body = obs.partition("\n")
        if head == f"{path} is empty":
            return ""
        lines += [ln.split("| ", 1)[1] if "| " in ln else "" for ln in body.split("\n")]
        m = re.search(r"read on with start=(\d+)\)$", head)
        if not m:
            return "\n".join(lines) + "\n"
        start = int(m.group(1))


# --- running a teacher ---------------------------------------------------------------------------
class StepsPolicy(CallProgramPolicy):
    """A teacher program over call texts as a token policy (module docstring)."""

    def __init__(self, codec, steps: Callable[[], Steps]):
        super().__init__(codec, lambda: _tokens(codec, steps()))


def _tokens(c, steps: Steps):
    try:
        text = next(steps)
        while True:
            obs = yield from call(c, text)
            text = steps.send(obs)
    except StopIteration:
        pass
    yield c.EOS


def fast_trace(codec, text: str, steps: Steps, answer: Callable[[str], str]) -> tuple[list[int], list[bool]]:
    """The trace of ``steps`` on input ``text`` with ``answer(call text) -> observation``: the
    tokens the real loop writes, and the codec's loss mask (input and observations masked)."""
    tokens = codec.prompt(text)
    mask = [False] * len(tokens)
    CALL, CALL_END, OBS, OBS_END = codec.CALL, codec.CALL_END, codec.OBS, codec.OBS_END
    try:
        call_text = next(steps)
        while True:
            written = call_text.encode("utf-8")
            obs = answer(call_text)
            seen = obs.encode("utf-8")
            tokens += [CALL, *written, CALL_END, OBS, *seen, OBS_END]
            mask += [True] * (len(written) + 2) + [False] * (len(seen) + 2)
            call_text = steps.send(obs)
    except StopIteration:
        pass
    tokens.append(codec.EOS)
    mask.append(True)
    return tokens, mask
