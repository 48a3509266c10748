"""Which paths a workspace leaves out: git's ignore rules, evaluated by ``pathspec`` (GitIgnoreSpec).

Convention (gitignore(5), "PATTERN FORMAT" and precedence): patterns in a ``.gitignore`` are
relative to its directory; within one file the last matching pattern wins (``!`` re-includes); a
deeper ``.gitignore`` overrides a shallower one, then come the ``.gitignore`` files of the
directories *above* the workspace root (a workspace made from a subdirectory of a repository), then
the repository's ``.git/info/exclude``, then the user's ``core.excludesFile``. The first rule set
that matches decides. A directory that is ignored is not entered (nothing under it can be
re-included), except for paths the workspace's base already holds, which are always kept -- as git
keeps tracked files.

``Ignore`` holds the *outer* rule sets (everything outside the tree: read once, when the workspace
is made, from the user's own files, and kept in the workspace's private record). The per-directory
``.gitignore`` files inside the tree are read by the walker (``tools/workspace/walk.py``) as it
goes, and only when they are regular files: a FIFO or a symlink named ``.gitignore`` is skipped and
reported (git stopped following symlinked ``.gitignore`` files in 2.32 for the same reason).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from functools import cached_property

import pathspec

MAX_IGNORE_BYTES = 1 << 20  # a larger .gitignore is skipped and reported, never read


@dataclass(frozen=True)
class RuleSet:
    """Patterns of one file. A path relative to the workspace root is matched as ``offset/path``
    (``offset``: where the root lies relative to the file's directory; "" for in-tree files)."""

    lines: tuple[str, ...]
    offset: str = ""
    origin: str = ""  # for messages and the record: ".gitignore", "info/exclude", ...

    @cached_property
    def patterns(self) -> list:
        return [p for p in pathspec.GitIgnoreSpec.from_lines(self.lines).patterns if p.include is not None]

    def check(self, rel: str, is_dir: bool) -> bool | None:
        """True: ignored; False: re-included by a ``!`` pattern; None: no pattern matched.

        Only a match of the path itself counts, as in git, whose directory walk applies the rules
        to each directory before entering it: pathspec's regexes also match a path *through* one of
        its parent directories (the ``ps_d`` group marks where), which for a file would let a
        ``!dir`` re-include files that another rule ignores. So: a file matches when the match does
        not end at a parent's slash; a directory (checked as ``path/``) when the pattern matched the
        directory's own name (``ps_d`` is that last slash) or matched a parent's contents (``d/**``
        matches ``d/x/`` but not ``d/``)."""
        if not self.lines:
            return None
        path = f"{self.offset}/{rel}" if self.offset else rel
        text = path + "/" if is_dir else path
        verdict = None
        for pattern in self.patterns:  # the last matching pattern wins
            m = pattern.regex.match(text)
            if m is None:
                continue
            mark = m.groupdict().get("ps_d")
            if is_dir:
                hit = m.end() == len(text) if mark is not None else m.end() < len(text)
            else:
                hit = mark is None
            if hit:
                verdict = pattern.include
        return verdict

    def to_json(self) -> dict:
        return {"lines": list(self.lines), "offset": self.offset, "origin": self.origin}

    @classmethod
    def from_json(cls, d: dict) -> "RuleSet":
        lines = d.get("lines")
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise ValueError("bad ignore record")
        return cls(tuple(lines), str(d.get("offset", "")), str(d.get("origin", "")))


def parse(data: bytes, offset: str = "", origin: str = "") -> RuleSet:
    text = data.decode("utf-8", "surrogateescape")
    return RuleSet(tuple(text.splitlines()), offset, origin)


@dataclass(frozen=True)
class Ignore:
    """The outer rule sets, highest precedence first."""

    outer: tuple[RuleSet, ...] = ()

    def ignored(self, rel: str, is_dir: bool, inner: list[tuple[str, RuleSet]]) -> bool:
        """Is ``rel`` (relative to the root) ignored, given the in-tree rule sets ``inner`` of its
        ancestor directories, shallowest first, as ``(directory relative to the root, rules)``?"""
        for base, rules in reversed(inner):
            verdict = rules.check(rel[len(base) + 1:] if base else rel, is_dir)
            if verdict is not None:
                return verdict
        for rules in self.outer:
            verdict = rules.check(rel, is_dir)
            if verdict is not None:
                return verdict
        return False

    def to_json(self) -> list[dict]:
        return [r.to_json() for r in self.outer]

    @classmethod
    def from_json(cls, items: list) -> "Ignore":
        if not isinstance(items, list):
            raise ValueError("bad ignore record")
        return cls(tuple(RuleSet.from_json(d) for d in items))


def read_rules_file(path: str, dir_fd: int | None = None) -> bytes | None:
    """The bytes of an ignore file if it is a regular file under the cap, else None (a FIFO, a
    link, a device or a missing file is never opened for reading)."""
    try:
        st = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_IGNORE_BYTES:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, MAX_IGNORE_BYTES)
    finally:
        os.close(fd)
