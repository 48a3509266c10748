"""File tools: list files, read a file or a line range, grep -- all confined to the workspace.

Convention: paths are relative to the workspace root and checked by ``tools/workspace/paths.py`` (``..``,
absolute paths and symlinks leading outside are refused with a message), and every file is read
through its ``read_regular`` (regular files only, never through a link out, never a FIFO or a
device, under a size cap). Listing and grep take their files from the workspace's own walker
(``Workspace.files``: .gitignore honoured, nothing followed, special files reported, never opened);
grep reads regular files only (a link inside the workspace is searched under its target's path).
Output is in a stable order (sorted paths, then line numbers) and capped; a capped answer says how
much was cut and how to get the rest. Lines are numbered from 1; a read shows ``N| text``. Binary
files are not shown. Names that are not printable UTF-8 are shown quoted, as git does.
"""

from __future__ import annotations

import fnmatch
import os
import re
import time

from tapehead.tools.base import Arg, Observation, ToolSpec, error
from tapehead.tools.workspace.paths import NotReadable, ToolPath, display, is_binary, read_regular
from tapehead.tools.workspace.walk import LINK
from tapehead.tools.workspace.wstool import WorkspaceTool

MAX_READ_LINES = 400
MAX_LINE_CHARS = 2000
MAX_READ_BYTES = 8 << 20
MAX_GREP_FILE_BYTES = 4 << 20
GREP_TIME_BUDGET_S = 20.0


def _cut_note(cut: int, what: str, hint: str) -> str:
    return f"\n... {cut} more {what} not shown ({hint})" if cut else ""


def skipped_note(skipped: list[tuple[str, str]], limit: int = 5) -> str:
    """A line naming what the walk left out (special files, planted .git entries, ...)."""
    if not skipped:
        return ""
    shown = ", ".join(f"{display(p)} ({why})" for p, why in skipped[:limit])
    more = f" and {len(skipped) - limit} more" if len(skipped) > limit else ""
    return f"\n(not tracked: {shown}{more})"


class ListFiles(WorkspaceTool):
    spec = ToolSpec("list_files", "List files under a directory of the workspace (.gitignore honoured).",
                    "read", (Arg("path", "str", "directory or file, relative to the root", False, "."),
                             Arg("pattern", "str", "glob on the path or file name, e.g. *.py", False, ""),
                             Arg("max_results", "int", "cap on paths shown", False, 200)))

    def act(self, path, pattern, max_results):
        p = self.path(path)
        if not p.exists:
            return error(f"no such file or directory: {p.rel}")
        files = self.ws.list_files(p.inside)
        note = skipped_note(self.ws.skipped)
        if pattern:
            files = [f for f in files if fnmatch.fnmatch(f, pattern)
                     or fnmatch.fnmatch(os.path.basename(f), pattern)]
        if not files:
            return Observation(f"no files under {p.rel}" + (f" matching {pattern!r}" if pattern else "")
                               + note, data={"files": [], "total": 0})
        shown = [display(f) for f in files[:max(1, max_results)]]
        cut = len(files) - len(shown)
        return Observation("\n".join(shown) + _cut_note(cut, "files", "narrow path or pattern") + note,
                           data={"files": shown, "total": len(files), "cut": cut})


class ReadFile(WorkspaceTool):
    spec = ToolSpec("read_file", "Read a text file, or a range of its lines, with line numbers.", "read",
                    (Arg("path", "str", "file, relative to the workspace root"),
                     Arg("start", "int", "first line (1-based)", False, 1),
                     Arg("end", "int", f"last line, inclusive (0: to the end; at most {MAX_READ_LINES} "
                                       f"lines per call)", False, 0)))

    def act(self, path, start, end):
        p = self.path(path)
        if os.path.isdir(p.real):
            return error(f"{p.rel} is a directory; use list_files")
        data = read_regular(p, MAX_READ_BYTES)
        if is_binary(data):
            return error(f"{p.rel} is a binary file ({len(data)} bytes); not shown")
        lines = data.decode("utf-8", "replace").splitlines()
        n = len(lines)
        if n == 0:
            return Observation(f"{p.rel} is empty", data={"lines": 0})
        if start < 1 or start > n:
            return error(f"start={start} is outside {p.rel}, which has {n} line(s)")
        if end and end < start:
            return error(f"end={end} is before start={start}")
        last = min(n, end or n, start + MAX_READ_LINES - 1)
        width = len(str(last))
        body = []
        for i in range(start, last + 1):
            text = lines[i - 1]
            if len(text) > MAX_LINE_CHARS:
                text = text[:MAX_LINE_CHARS] + f" ... [{len(text) - MAX_LINE_CHARS} chars cut]"
            body.append(f"{i:>{width}}| {text}")
        more = f"; read on with start={last + 1}" if last < min(n, end or n) else ""
        return Observation(f"{p.rel} (lines {start}-{last} of {n}{more})\n" + "\n".join(body),
                           data={"path": p.rel, "start": start, "end": last, "lines": n})


class Grep(WorkspaceTool):
    spec = ToolSpec("grep", "Search files for a regular expression (Python re), line by line.", "read",
                    (Arg("pattern", "str", "regular expression"),
                     Arg("path", "str", "directory or file to search", False, "."),
                     Arg("glob", "str", "only files whose path or name matches, e.g. *.py", False, ""),
                     Arg("ignore_case", "bool", "case-insensitive", False, False),
                     Arg("max_results", "int", "cap on matching lines shown", False, 100)))

    def act(self, pattern, path, glob, ignore_case, max_results):
        try:
            rx = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
            whole = re.compile(pattern, re.MULTILINE | (re.IGNORECASE if ignore_case else 0))
        except re.error as e:
            return error(f"bad regular expression {pattern!r}: {e}")
        prefilter = "\\A" not in pattern and "\\Z" not in pattern
        p = self.path(path)
        if not p.exists:
            return error(f"no such file or directory: {p.rel}")
        files = [e.path for e in self.ws.files(p.inside)
                 if e.mode != LINK and e.key[0] <= MAX_GREP_FILE_BYTES]
        if glob:
            files = [f for f in files if fnmatch.fnmatch(f, glob) or fnmatch.fnmatch(os.path.basename(f), glob)]
        cap, hits, total, skipped, deadline = max(1, max_results), [], 0, [], time.monotonic() + GREP_TIME_BUDGET_S
        searched = 0
        for rel in files:
            if time.monotonic() > deadline:
                skipped.append(f"{len(files) - searched} file(s) not searched: time budget of "
                               f"{GREP_TIME_BUDGET_S:.0f} s spent")
                break
            searched += 1
            try:
                data = read_regular(ToolPath(rel, os.path.join(self.ws.root, rel), rel), MAX_GREP_FILE_BYTES)
            except (NotReadable, OSError):
                continue
            if is_binary(data):
                continue
            text = data.decode("utf-8", "replace")
            if prefilter and not whole.search(text):
                continue
            for i, line in enumerate(text.splitlines(), 1):
                if rx.search(line):
                    total += 1
                    if len(hits) < cap:
                        hits.append((display(rel), i, line.strip()[:200]))
        if not hits:
            note = f" ({'; '.join(skipped)})" if skipped else ""
            return Observation(f"no match for {pattern!r} in {len(files)} file(s){note}",
                               data={"hits": [], "total": 0})
        text = "\n".join(f"{r}:{i}: {t}" for r, i, t in hits)
        text += _cut_note(total - len(hits), "matching lines", "narrow path, glob or pattern")
        text += "".join(f"\n({s})" for s in skipped)
        return Observation(text, data={"hits": [{"path": r, "line": i} for r, i, _ in hits],
                                       "total": total, "cut": total - len(hits)})
