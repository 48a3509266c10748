"""The held-out repositories: written by hand (not generated), each with a plumbing or import bug.

Convention: one file per repository in the txtar layout (Go's ``golang.org/x/tools/txtar``: a header,
then sections opened by a line ``-- NAME --``), so that a whole repository reads in one sitting:

- the header: ``key: value`` lines: ``title``, ``family`` (plumbing | import), ``check`` (the
  command that fails before the fix and passes after), ``necessary`` (comma-separated
  ``path::qualname`` of the functions the minimal fix changes, ``path::<module>`` for a change
  outside any function, such as an import);
- ``-- problem_statement --``: the issue as a user would file it;
- ``-- repo/PATH --``: each file of the buggy repository;
- ``-- fixed/PATH --``: each file the reference fix changes, as it is after the fix;
- ``-- expected_stdout --``: the fixed program's output (the hidden check).

They are kept out of training and out of the generator's tests: nothing under ``evals/tasks`` reads
this folder. ``load_all()`` gives them as benchmark instances (``evals/coding/record.py``), with the
gold patch made from the two trees; ``tapehead bench make heldout`` writes them as JSONL.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from tapehead.evals.coding.patch import make_patch
from tapehead.evals.coding.record import BenchInstance

HERE = Path(__file__).resolve().parent
_SECTION = re.compile(r"^-- (.+) --$")


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.txtar"))


def parse_txtar(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """(header fields, sections by name); a section's text ends with the newline before the next."""
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines(keepends=True):
        m = _SECTION.match(line.rstrip("\n"))
        if m:
            current = m.group(1).strip()
            if current in sections:
                raise ValueError(f"section {current!r} appears twice")
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
        elif line.strip() and not line.startswith("#"):
            key, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"header line without ':': {line.strip()!r}")
            header[key.strip()] = value.strip()
    return header, {k: "".join(v) for k, v in sections.items()}


def _read(name: str):
    """(header, sections, buggy files, fixed files) of one repository file."""
    path = HERE / f"{name}.txtar"
    if not path.is_file():
        raise KeyError(f"no held-out repository {name!r} (known: {', '.join(names())})")
    header, sections = parse_txtar(path.read_text(encoding="utf-8"))
    for key in ("family", "check"):
        if not header.get(key):
            raise ValueError(f"{path.name}: header {key!r} missing")
    files = {k[5:]: v.encode() for k, v in sections.items() if k.startswith("repo/")}
    fixed = dict(files)
    fixed.update({k[6:]: v.encode() for k, v in sections.items() if k.startswith("fixed/")})
    return header, sections, files, fixed


@cache
def load(name: str) -> BenchInstance:
    header, sections, files, fixed = _read(name)
    necessary = tuple(x.strip() for x in header.get("necessary", "").split(",") if x.strip())
    return BenchInstance(
        instance_id=f"heldout-{name}", problem_statement=sections["problem_statement"].strip(),
        files=files, fail_to_pass=(header["check"],), patch=make_patch(files, fixed),
        expected_stdout=sections["expected_stdout"], necessary=necessary, size=_functions(files),
        family=header["family"], style="heldout", extra={"title": header.get("title", "")})


def load_all() -> list[BenchInstance]:
    return [load(n) for n in names()]


def fixed_files(name: str) -> dict[str, bytes]:
    """The reference repository after the fix."""
    return _read(name)[3]


def _functions(files: dict[str, bytes]) -> int:
    """The size knob of the code-fix tasks: the number of function definitions (methods included)."""
    return sum(len(re.findall(rb"^\s*(?:async\s+)?def\s", data, re.M)) for p, data in files.items() if p.endswith(".py"))
