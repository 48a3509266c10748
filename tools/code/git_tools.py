"""Git tools: status and diff of the workspace against where it started, and reset.

Convention: "where it started" is the workspace's base commit (``tools/workspace/workspace.py``): the user's
working state when the workspace was made (moved forward by ``accept``). Status and diff compare a
snapshot of the current tree (our own walk: non-ignored files, including new ones; special files
and planted ``.git`` entries are named, never read) with it; reset puts one file, one directory or
everything back to it (new files are deleted), written from the base's blobs. No git ever runs on
the tree: these tools use the workspace's private object store, and never touch the user's
directory or their index.
"""

from __future__ import annotations

from tapehead.tools.base import Arg, Observation, ToolSpec, error
from tapehead.tools.code.files import skipped_note
from tapehead.tools.workspace.paths import display
from tapehead.tools.workspace.wstool import WorkspaceTool

NAMES = {"A": "added", "M": "modified", "D": "deleted", "T": "type changed"}
MAX_DIFF_CHARS = 20000


class GitStatus(WorkspaceTool):
    spec = ToolSpec("git_status", "List files added, modified or deleted since the workspace started.",
                    "git", (Arg("path", "str", "only under this path", False, "."),))

    def act(self, path):
        p = self.path(path)
        changes = self.ws.changes(p.inside)
        note = skipped_note(self.ws.skipped)
        if not changes:
            return Observation("no changes since the workspace started" + note, data={"changes": []})
        lines = [f"{c.status} {display(c.path)}" for c in changes]
        counts = {NAMES[k]: sum(c.status == k for c in changes) for k in NAMES}
        summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        return Observation(f"{len(changes)} file(s) changed ({summary}):\n" + "\n".join(lines) + note,
                           data={"changes": [{"status": c.status, "path": display(c.path)} for c in changes]})

    def extra_snapshot(self) -> dict:
        return {"base": self.ws.base, "start": self.ws.start}


class GitDiff(WorkspaceTool):
    spec = ToolSpec("git_diff", "Show the unified diff of the workspace against where it started.", "git",
                    (Arg("path", "str", "only under this path", False, "."),
                     Arg("max_chars", "int", "cut the diff to this many characters", False, MAX_DIFF_CHARS)))

    def act(self, path, max_chars):
        p = self.path(path)
        text = self.ws.diff_text(p.inside)
        if not text.strip():
            return Observation("no changes since the workspace started", data={"chars": 0})
        cap = max(200, max_chars)
        if len(text) > cap:
            half = cap // 2
            cut = len(text) - 2 * half
            text = f"{text[:half]}\n... [{cut} characters of diff cut; ask for a path] ...\n{text[-half:]}"
            return Observation(text, data={"chars": len(text), "cut": cut})
        return Observation(text, data={"chars": len(text), "cut": 0})


class GitReset(WorkspaceTool):
    spec = ToolSpec("git_reset", "Put a file, a directory or (path '.') everything back as it started.",
                    "git", (Arg("path", "str", "file or directory; '.' resets the whole workspace"),))

    def act(self, path):
        p = self.path(path)
        changes = self.ws.reset(p.inside)
        if not changes:
            return Observation(f"nothing to reset under {p.rel}", data={"reset": []})
        if self.ws.changes(p.inside):
            return error(f"reset of {p.rel} left changes behind; see git_status")
        listing = "\n".join(f"{c.status} {display(c.path)}" for c in changes)
        return Observation(f"reset {len(changes)} file(s) under {p.rel} to where they started:\n{listing}",
                           data={"reset": [display(c.path) for c in changes]})
