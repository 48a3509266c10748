"""The workspace: a scratch copy of the user's directory where every tool works, and the only
record of where it started.

Convention (DESIGN.md, "Tools" and "Trust"; ``docs/tools.md``, "The workspace"): tools read, edit
and run code only in the scratch copy; the user's own tree changes only on ``accept``
(``tools/workspace/accept.py``), which can be undone. Nothing the sandbox could have written is
trusted by a host-side process: the scratch tree holds no ``.git``, host git runs only on the
private git directory (``tools/workspace/gitcmd.py``), and every snapshot is our own walk.

Layout of the scratch directory (``tapehead-ws-*``); the sandbox mounts only ``tree/`` and
``tmp/`` read-write (``tools/sandbox/sandbox.py``):

- ``tree/``: the copy, the tools' root (for a subdirectory of a repository, that subdirectory's
  files; ``prefix`` says where it lies in the repository, for the ignore rules above it);
- ``tmp/``: HOME and TMPDIR of sandboxed runs; ``sandbox-root/``: the sandbox's mount point;
- ``git/``: the private object store (``tools/workspace/store.py``) and its index;
- ``home/``: an empty HOME for host git; ``workspace.json``: the private record (source, mode,
  start, base, accepts, outer ignore rules), rewritten atomically on every change.

"Where it started" is the *base* commit (moved by accept and undo). Status and diff compare a
snapshot of the tree now (``tools/workspace/snapshot.py``) with it; paths the base holds are always
part of a snapshot, other paths follow the ignore rules. Empty directories, special files,
submodule contents and ``.git`` entries are never carried (``skipped`` says what was left out).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
import time
from dataclasses import dataclass

from tapehead.tools.workspace.create import WorkspaceRefused, copy_in, outer_rules, repo_top
from tapehead.tools.workspace.gitcmd import GitError
from tapehead.tools.workspace.ignore import Ignore
from tapehead.tools.workspace.nofollow import NoFollowTree
from tapehead.tools.workspace.record import WorkspaceGone, WorkspaceInvalid, check_snapshot, read_record
from tapehead.tools.workspace.snapshot import Snapshots
from tapehead.tools.workspace.store import Store
from tapehead.tools.workspace.walk import EXEC, LINK, Entry, Keep, walk

__all__ = ["Change", "Workspace", "WorkspaceClosed", "WorkspaceGone", "WorkspaceInvalid", "WorkspaceRefused"]
PREFIX = "tapehead-ws-"


class WorkspaceClosed(RuntimeError):
    pass


@dataclass(frozen=True)
class Change:
    status: str  # A (added), M (modified), D (deleted), T (type changed, e.g. file <-> symlink)
    path: str  # relative to the workspace root, '/'-separated
    base_mode: str  # "000000" when absent
    new_mode: str
    base_sha: str
    new_sha: str


def compare(base: dict, now: dict) -> list[Change]:
    """What differs between two ``path -> (mode, blob id)`` maps, in git's order."""
    absent = ("000000", "0" * 40)
    differ = [p for p, v in base.items() if now.get(p) != v] + [p for p in now if p not in base]
    out = []
    for p in sorted(differ):
        b, n = base.get(p, absent), now.get(p, absent)
        if b is absent or n is absent:
            status = "A" if b is absent else "D"
        else:
            status = "T" if (b[0] == LINK) != (n[0] == LINK) else "M"
        out.append(Change(status, p, b[0], n[0], b[1], n[1]))
    return out


def _under(path: str) -> str:
    return "" if path in ("", ".") else path.strip("/")


def _within(p: str, under: str) -> bool:
    return not under or p == under or p.startswith(under + "/")


class Workspace:
    """Create with ``Workspace.create(directory)``, reopen with ``Workspace.attach(snapshot)``;
    ``discard()`` when done."""

    def __init__(self, scratch: str, record: dict, store: Store | None = None,
                 base_entries: dict | None = None):
        self.scratch = scratch
        self.source = record["source"]  # the user's directory (real path)
        self.source_id = tuple(record["source_id"])  # (st_dev, st_ino): accept checks it is the same
        self.mode = record["mode"]  # "git" (inside a git work tree) or "copy"
        self.prefix = record["prefix"]  # the directory relative to its repository top ("" if top)
        self.start = record["start"]  # commit the workspace was created from
        self.base = record["base"]  # commit: where the workspace started (moves on accept / undo)
        self.accepts: list[dict] = record["accepts"]  # accept records, newest last (accept.py)
        self.ignore = Ignore.from_json(record["ignore"])
        self.root = os.path.join(scratch, "tree")
        self.tmp = os.path.join(scratch, "tmp")
        self.store = store or Store(os.path.join(scratch, "git"), os.path.join(scratch, "home"))
        self.snapshots = Snapshots(self.store, self.root, self.ignore)
        self.skipped: list[tuple[str, str]] = []  # what the last walk left out, and why
        self.created = time.time()
        self.closed = False
        self._set_base_entries(self.store.entries(self.base) if base_entries is None else base_entries)

    # ---------------------------------------------------------------- creation
    @classmethod
    def create(cls, directory: str, scratch_parent: str | None = None) -> "Workspace":
        source = os.path.realpath(directory)
        if not os.path.isdir(source):
            raise NotADirectoryError(f"not a directory: {directory}")
        scratch = os.path.realpath(tempfile.mkdtemp(prefix=PREFIX, dir=scratch_parent))
        try:
            for sub in ("tree", "tmp", "sandbox-root", "home"):
                os.makedirs(os.path.join(scratch, sub))
            store = Store.init(os.path.join(scratch, "git"), os.path.join(scratch, "home"))
            top = repo_top(source)
            ignore = outer_rules(source, top)
            entries, walked = copy_in(source, top, ignore, store, os.path.join(scratch, "tree"))
            start = store.commit(store.write_tree(entries), None, "tapehead: workspace base")
            prefix = os.path.relpath(source, top).replace(os.sep, "/") if top else "."
            st = os.stat(source)
            record = {"tapehead_workspace": 1, "scratch": scratch, "source": source,
                      "source_id": [st.st_dev, st.st_ino], "mode": "git" if top else "copy",
                      "prefix": "" if prefix == "." else prefix, "start": start, "base": start,
                      "accepts": [], "ignore": ignore.to_json()}
            ws = cls(scratch, record, store, entries)
            ws.snapshots.seed(entries, ws._keep)
            ws.skipped = walked.skipped
            ws.save()
            return ws
        except BaseException:
            _rmtree(scratch)
            raise

    @classmethod
    def attach(cls, snap: object) -> "Workspace":
        """Reopen the workspace a ``snapshot()`` names. The snapshot is untrusted (it comes from a
        session database): only its scratch path is used, after ``check_snapshot`` has checked it,
        and everything else is read from the workspace's own private record. Raises
        ``WorkspaceGone`` when the copy no longer exists, ``WorkspaceInvalid`` for anything that is
        not one of our workspaces."""
        scratch = check_snapshot(snap, PREFIX)
        record = read_record(scratch, snap["source"])
        try:
            ws = cls(scratch, record)
        except (GitError, ValueError, OSError) as e:
            raise WorkspaceInvalid(f"the workspace in {scratch} cannot be reopened: {e}") from None
        if not os.path.isdir(ws.root) or os.path.islink(ws.root):
            raise WorkspaceGone(f"the scratch copy {scratch} has no tree any more")
        return ws

    def save(self) -> None:
        """Write the private record (one atomic replace)."""
        record = {"tapehead_workspace": 1, "scratch": self.scratch, "source": self.source,
                  "source_id": list(self.source_id), "mode": self.mode, "prefix": self.prefix,
                  "start": self.start, "base": self.base, "accepts": self.accepts,
                  "ignore": self.ignore.to_json()}
        data = json.dumps(record, indent=1).encode()
        NoFollowTree(self.scratch, scratch=True).write_file("workspace.json", [data], False)

    # ---------------------------------------------------------------- state
    def check_open(self) -> None:
        if self.closed:
            raise WorkspaceClosed("the workspace was discarded; create a new one")

    def _set_base_entries(self, entries: dict) -> None:
        self.base_entries = entries
        self._keep = Keep(entries)

    def files(self, path: str = ".") -> list[Entry]:
        """Files and links under ``path`` (relative to the root) as the walker finds them."""
        self.check_open()
        walked = walk(self.root, self.ignore, self._keep, _under(path))
        self.skipped = walked.skipped
        return walked.entries

    def list_files(self, path: str = ".") -> list[str]:
        """Files under ``path`` (relative to the root), .gitignore honoured, sorted."""
        return sorted(e.path for e in self.files(path))

    def current(self, path: str = ".") -> dict[str, tuple[str, str]]:
        """``path -> (mode, blob id)`` of the tree now, under ``path``."""
        self.check_open()
        snap = self.snapshots.take(self._keep, _under(path))
        self.skipped = snap.skipped
        return snap.entries

    def snapshot_tree(self) -> str:
        """The tree object of the workspace as it is now."""
        return self.store.write_tree(self.current())

    def changes(self, path: str = ".") -> list[Change]:
        """What differs from the base, under ``path`` (relative to the root)."""
        under = _under(path)
        base = self.base_entries
        if under:
            base = {p: v for p, v in base.items() if _within(p, under)}
        return compare(base, self.current(under or "."))

    def diff_text(self, path: str = ".") -> str:
        """The unified diff of the tree now against the base, under ``path``."""
        return self.store.patch(self.base, self.snapshot_tree(), _under(path))

    def reset(self, path: str = ".") -> list[Change]:
        """Put files under ``path`` back as they were at the base (new files are deleted), written
        from the base's blobs, never following a link in the tree. A ``.gitignore`` put back can
        bring into view files the changed one hid; they are reset too (a few rounds at most)."""
        changes = self._reset_once(path)
        for _ in range(3):
            if not any(c.path.rsplit("/", 1)[-1] == ".gitignore" for c in changes):
                break
            more = self._reset_once(path)
            if not more:
                break
            changes = changes + more
        return changes

    def _reset_once(self, path: str) -> list[Change]:
        changes = self.changes(path)
        writer = NoFollowTree(self.root, scratch=True)
        for c in sorted((c for c in changes if c.status in ("A", "T")), key=lambda c: c.path,
                        reverse=True):
            writer.remove(c.path)
        for c in changes:
            if c.status == "A":
                continue
            if c.base_mode == LINK:
                writer.write_link(c.path, self.store.read(c.base_sha))
            else:
                writer.write_file(c.path, self.store.chunks(c.base_sha), c.base_mode == EXEC)
        return changes

    # ---------------------------------------------------------------- user-facing
    def accept(self, tree: str | None = None):
        """Apply the changes (of ``tree``, a ``snapshot_tree()`` the user has seen, or of the tree
        now) to the user's directory; an Observation, never an exception."""
        from tapehead.tools.workspace.accept import accept
        return accept(self, tree)

    def undo(self):
        from tapehead.tools.workspace.accept import undo
        return undo(self)

    def discard(self) -> str:
        """Remove the scratch directory; the user's directory and repository are as they were."""
        if self.closed:
            return "the workspace was already discarded"
        left = _rmtree(self.scratch)
        self.closed = True
        return "discarded the workspace" + (f" ({left})" if left else "")

    def snapshot(self) -> dict:
        return {"source": self.source, "mode": self.mode, "root": self.root, "prefix": self.prefix,
                "scratch": self.scratch, "start": self.start, "base": self.base,
                "accepts": len(self.accepts), "closed": self.closed}

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.discard()


def _rmtree(path: str) -> str:
    """Remove a scratch directory, making directories the sandbox left unwritable writable first
    (never following links); '' when it is gone, else what is left."""
    def retry(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), stat.S_IRWXU)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, stat.S_IRWXU)
            func(p)
        except OSError:
            pass

    kw = {"onexc": retry} if sys.version_info >= (3, 12) else {"onerror": retry}
    shutil.rmtree(path, **kw)
    return f"could not remove all of {path}" if os.path.lexists(path) else ""
