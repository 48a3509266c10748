"""The compact observation of a check run: PASS, or FAIL with the innermost frame and the error.

Convention (issue 14; DESIGN.md "Coding": observations short and regular enough for a byte-level
reader): a program's merged output and exit status become at most three lines, whatever the size
of the repository or the depth of the traceback::

    PASS

    FAIL exit 1
    f7.py:6 in f7: foo(v3)
    TypeError: foo() missing 1 required positional argument: 'v10'

Line 2 is the innermost frame *inside the workspace* (its path relative to the root, the line, the
function, the source line stripped); line 3 the exception line. What is dropped, and why: the outer
frames (they grow with the call depth, and the fix is local to the innermost one), Python 3.11+'s
caret lines, the ``. Did you mean: 'x'?`` / ``. Did you forget to import 'x'`` hints (the
interpreter's hook prints them, the ``traceback`` module of 3.11 does not: dropping them makes the
sandboxed run and the in-process run of the training data path read the same on every version), chained exceptions before the last ``Traceback`` header, and the program's
own output. A failure without a Python traceback keeps its last lines. ``trim_traceback`` is the one
function that makes this text, for the sandboxed check tool and for in-process runs alike.
"""

from __future__ import annotations

import os
import re

_FRAME = re.compile(r'^  File "(?P<path>[^"\n]+)", line (?P<line>\d+)(?:, in (?P<func>[^\n]+))?$', re.MULTILINE)
# 3.10+ "Did you mean: 'x'?", 3.12+ "Did you forget to import 'x'" (no question mark) and both at once
# ("Did you mean: 'x'? Or did you forget to import 'y'"): everything from the first hint to the end
_HINT = re.compile(r"\. Did you (?:mean: |forget to import ).*$")
_CARETS = re.compile(r"^\s*[\^~]+\s*$")
MAX_SOURCE = 120  # chars of the frame's source line
MAX_LINE = 200  # chars of the exception line (and of each tail line without a traceback)
TAIL_LINES = 3


def trim_traceback(output: str, returncode: int | None, root: str = "", outcome: str = "") -> str:
    """The compact observation (module docstring). ``output``: stdout and stderr merged;
    ``returncode``: the exit status (0 = PASS); ``root``: the workspace root as the program saw it
    (absolute paths under it are shown relative; relative paths are taken as already relative);
    ``outcome``: the runner's words for a run that did not exit (``killed: wall-clock timeout
    after 10.0 s``), shown instead of ``exit N``."""
    if returncode == 0 and not outcome:
        return "PASS"
    head = f"FAIL {outcome}" if outcome else f"FAIL exit {returncode}"
    start = output.rfind("Traceback (most recent call last):")
    block = output[start:] if start >= 0 else output
    frames = list(_FRAME.finditer(block))
    if not frames:
        tail = [_cut(ln.rstrip(), MAX_LINE) for ln in output.splitlines() if ln.strip()][-TAIL_LINES:]
        return "\n".join([head, *tail])
    roots = _roots(root)
    inside = [(m, rel) for m in frames if (rel := _relative(m.group("path"), roots)) is not None]
    frame, rel = inside[-1] if inside else (frames[-1], frames[-1].group("path"))
    where = f"{rel}:{frame.group('line')}" + (f" in {frame.group('func')}" if frame.group("func") else "")
    after = block[frames[-1].end():].splitlines()[1:]  # the innermost frame's source, carets, error
    source = _source(block[frame.end():].splitlines()[1:2])
    error = next((ln for ln in after if ln.strip() and not ln.startswith(" ")), "")
    error = _HINT.sub("", error.rstrip())
    for r in roots:  # paths in the message too (``cannot import name 'x' from 'm' (/root/m.py)``)
        error = error.replace(r + "/", "")
    error = _cut(error, MAX_LINE)
    return "\n".join([head, f"{where}: {source}" if source else where, *([error] if error else [])])


def _roots(root: str) -> list[str]:
    if not root:
        return []
    return sorted({root.rstrip("/"), os.path.realpath(root).rstrip("/")}, key=len, reverse=True)


def _relative(path: str, roots: list[str]) -> str | None:
    """The frame's path relative to the workspace, or None for a frame outside it (the standard
    library, ``<frozen importlib._bootstrap>``, the in-process runner itself)."""
    if path.startswith("<"):
        return None
    for r in roots:
        if path.startswith(r + "/"):
            return path[len(r) + 1:]
    return None if os.path.isabs(path) else path


def _source(lines: list[str]) -> str:
    """The frame's source line: indented by four spaces in a traceback (none when the file could
    not be read, or for a frame printed without one)."""
    if not lines or not lines[0].startswith("    ") or _CARETS.match(lines[0]):
        return ""
    return _cut(lines[0].strip(), MAX_SOURCE)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n] + "..."
