"""Edit tools: exact-text replace, replace a line range, create a file -- each behind a syntax gate.

Convention (SWE-agent's lint gate, with tree-sitter): after computing the new content, the file is
parsed with its grammar (``tools/code/grammars.py``); if the edit *introduces* syntax errors (the old
content parsed clean, or the new one has more error nodes than the old), the edit is refused and
the file left byte-for-byte unchanged, and the observation shows where the errors are. Passing
``allow_syntax_errors=true`` writes it anyway and reports the errors. Files without a registered
grammar are written unchecked, and the observation says so. Edits work on UTF-8 text; binary or
non-UTF-8 files are refused. Every successful edit answers with the edited region, numbered. Files
are read through the workspace's one read path (``read_regular``: a FIFO, a device or a link out
is refused, never opened) and written with ``O_NOFOLLOW | O_NONBLOCK``, so a FIFO planted where a
file goes fails at once instead of hanging the tool.
"""

from __future__ import annotations

import os

from tapehead.tools.base import Arg, Observation, ToolSpec, error
from tapehead.tools.code.grammars import GrammarMissing, count_problems, grammar_for, syntax_problems
from tapehead.tools.workspace.paths import NotReadable, ToolPath, is_binary, read_regular
from tapehead.tools.workspace.wstool import WorkspaceTool

ALLOW = Arg("allow_syntax_errors", "bool", "write even if the edit breaks the file's syntax", False, False)
CONTEXT = 3
MAX_EDIT_BYTES = 8 << 20
WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _find_all(text: str, needle: str) -> list[int]:
    """Start offsets of every (possibly overlapping) occurrence."""
    out, i = [], text.find(needle)
    while i >= 0:
        out.append(i)
        i = text.find(needle, i + 1)
    return out


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _excerpt(text: str, first: int, last: int) -> str:
    lines = text.splitlines()
    lo, hi = max(1, first - CONTEXT), min(len(lines), max(first, last) + CONTEXT)
    width = len(str(hi))
    return "\n".join(f"{i:>{width}}| {lines[i - 1]}" for i in range(lo, hi + 1))


class _EditTool(WorkspaceTool):
    def __init__(self, ws):
        super().__init__(ws)
        self.history: list[dict] = []

    def extra_snapshot(self) -> dict:
        return {"edits": self.history[-20:]}

    def read_text(self, p: ToolPath) -> str:
        if os.path.isdir(p.real):
            raise _Refused(f"{p.rel} is a directory")
        if not os.path.lexists(p.real):
            raise _Refused(f"no such file: {p.rel} (use create_file to make it)")
        try:
            data = read_regular(p, MAX_EDIT_BYTES)
        except NotReadable as e:
            raise _Refused(str(e)) from None
        if is_binary(data):
            raise _Refused(f"{p.rel} is a binary file; edits work on text")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _Refused(f"{p.rel} is not UTF-8 text ({e.reason} at byte {e.start})") from None

    def write(self, p: ToolPath, old: str | None, new: str, allow: bool, lines: tuple[int, int],
              verb: str) -> Observation:
        """The syntax gate, then the write; answers with the edited region."""
        data = new.encode("utf-8")
        grammar = grammar_for(p.real)
        check, problems = "unchecked (no grammar for this file type)", []
        if grammar is not None:
            try:
                problems = syntax_problems(grammar, data)
                before = count_problems(grammar, old.encode("utf-8")) if old is not None else 0
                introduced = bool(problems) and count_problems(grammar, data) > before
                check = "ok" if not problems else ("broken by this edit" if introduced
                                                   else "errors already present before this edit")
            except GrammarMissing as e:
                check, introduced = f"unchecked ({e})", False
            if introduced and not allow:
                listing = "\n".join(f"  {x}" for x in problems)
                return error(f"edit refused: it would break the {grammar.name} syntax of {p.rel}; the "
                             f"file is unchanged.\n{listing}\nFix the edit, or pass "
                             f"allow_syntax_errors=true to write it anyway.",
                             path=p.rel, syntax=check, problems=[str(x) for x in problems])
        os.makedirs(os.path.dirname(p.real), exist_ok=True)
        with os.fdopen(os.open(p.real, WRITE_FLAGS, 0o666), "wb") as f:
            f.write(data)
        self.history.append({"tool": self.name, "path": p.rel, "lines": list(lines), "syntax": check})
        note = "" if not problems else "\nsyntax errors:\n" + "\n".join(f"  {x}" for x in problems)
        return Observation(f"{verb} {p.rel} (syntax: {check})\n{_excerpt(new, *lines)}{note}",
                           data={"path": p.rel, "lines": list(lines), "syntax": check,
                                 "problems": [str(x) for x in problems]})

    def _run(self, **args) -> Observation:
        try:
            return super()._run(**args)
        except _Refused as e:
            return error(str(e))


class _Refused(Exception):
    pass


class ReplaceText(_EditTool):
    spec = ToolSpec("replace_text", "Replace an exact piece of text that occurs exactly once in a file.",
                    "edit", (Arg("path", "str", "file, relative to the workspace root"),
                             Arg("old", "str", "text to replace, exactly as in the file"),
                             Arg("new", "str", "replacement text"), ALLOW))

    def act(self, path, old, new, allow_syntax_errors):
        p = self.path(path)
        text = self.read_text(p)
        if old == "":
            return error("old is empty; give the exact text to replace (or use replace_lines)")
        hits = _find_all(text, old)
        if not hits and "\r\n" in text and "\n" in old and "\r\n" not in old:
            old, new = old.replace("\n", "\r\n"), new.replace("\r\n", "\n").replace("\n", "\r\n")
            hits = _find_all(text, old)
        if not hits:
            return error(f"0 matches for old in {p.rel}; nothing changed.{self._hint(text, old)}",
                         matches=0)
        if len(hits) > 1:
            where = ", ".join(str(_line_of(text, h)) for h in hits[:20])
            return error(f"{len(hits)} matches for old in {p.rel} (starting at lines {where}); nothing "
                         f"changed. Include more surrounding text so that it matches once.",
                         matches=len(hits))
        i = hits[0]
        result = text[:i] + new + text[i + len(old):]
        first = _line_of(result, i)
        return self.write(p, text, result, allow_syntax_errors, (first, first + new.count("\n")),
                          "replaced 1 match in")

    @staticmethod
    def _hint(text: str, old: str) -> str:
        stripped = old.strip()
        if stripped and stripped != old and stripped in text:
            return (f" The text occurs with different surrounding whitespace at line "
                    f"{_line_of(text, text.find(stripped))}: copy it exactly (read_file shows it).")
        first = next((ln.strip() for ln in old.splitlines() if ln.strip()), "")
        lines = [i for i, ln in enumerate(text.splitlines(), 1) if first and first in ln]
        if lines:
            return (f" Its first line occurs at line(s) {', '.join(map(str, lines[:10]))}; the rest "
                    f"differs (check indentation and the following lines with read_file).")
        return " Check the text with read_file or grep."


class ReplaceLines(_EditTool):
    spec = ToolSpec("replace_lines", "Replace lines start..end (inclusive, 1-based) of a file with new text.",
                    "edit", (Arg("path", "str", "file, relative to the workspace root"),
                             Arg("start", "int", "first line to replace (n+1 appends)"),
                             Arg("end", "int", "last line to replace, inclusive (start-1 inserts "
                                               "before start without removing)"),
                             Arg("text", "str", "the new lines"), ALLOW))

    def act(self, path, start, end, text, allow_syntax_errors):
        p = self.path(path)
        old = self.read_text(p)
        lines = old.splitlines(keepends=True)
        n = len(lines)
        if start < 1 or start > n + 1:
            return error(f"start={start} is outside {p.rel}, which has {n} line(s) (n+1={n + 1} appends)")
        if end < start - 1 or end > n:
            return error(f"end={end} must be between start-1={start - 1} (insert) and {n} (the last line)")
        newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
        if text and not text.endswith("\n") and (end < n or (lines and lines[-1].endswith("\n"))):
            text += newline
        if start > n and lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        result = "".join(lines[:start - 1]) + text + "".join(lines[end:])
        last = start + max(0, text.count("\n") - 1) if text else start
        verb = f"replaced lines {start}-{end} of" if end >= start else f"inserted before line {start} of"
        return self.write(p, old, result, allow_syntax_errors, (start, last), verb)


class CreateFile(_EditTool):
    spec = ToolSpec("create_file", "Create a new file with the given content (parent folders are made).",
                    "edit", (Arg("path", "str", "new file, relative to the workspace root"),
                             Arg("content", "str", "the file's text"),
                             Arg("overwrite", "bool", "replace the file if it exists", False, False), ALLOW))

    def act(self, path, content, overwrite, allow_syntax_errors):
        p = self.path(path)
        if p.inside == ".":
            return error("give a file path, not the workspace root")
        if os.path.isdir(p.real):
            return error(f"{p.rel} is a directory")
        old = None
        if p.exists:
            if not overwrite:
                return error(f"{p.rel} already exists; pass overwrite=true to replace it, or edit it "
                             f"with replace_text / replace_lines")
            old = self.read_text(p)
        verb = "overwrote" if old is not None else "created"
        return self.write(p, old, content, allow_syntax_errors, (1, max(1, content.count("\n"))), verb)
