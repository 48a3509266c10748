"""The workspace's private object store: blobs, trees and commits in ``scratch/git``, which the
sandbox never mounts.

Convention (git's object model, gitrepository-layout(5)): a bare git directory made with
``git init --bare --template=`` (no sample hooks, no ``info/exclude``) and never given a work tree.
Blobs are written by us, from bytes we read ourselves, with gitdb (GitPython's object database), or
many at once through ``git fast-import`` (one pack instead of a loose object each: the copy of a
whole tree): git never opens a path of the workspace, so no filter, no eol conversion and no
attribute can act -- the bytes hashed are the raw bytes on disk. Trees are built by
``git update-index --index-info`` into the private index (fed only what changed since the last
tree, so ``write-tree`` reuses its cache of unchanged subtrees) and ``git write-tree``; the unified
diff is ``git diff-tree -p`` between two trees. All of it goes through ``PrivateGit``
(``tools/workspace/gitcmd.py``).

HEAD stays unborn, so a git that reads attributes from HEAD in a bare repository (``attr.tree``,
git >= 2.42) finds none; ``attr.tree`` is pinned to the empty tree as well.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re

from gitdb import IStream
from gitdb.db import GitDB
from gitdb.exc import BadObject
from gitdb.util import hex_to_bin

from tapehead.tools.workspace.gitcmd import PrivateGit

SMALL = 8 << 20  # files up to this size are read whole and hashed before storing (skips a rewrite)
HEX40 = re.compile(r"[0-9a-f]{40}")
ZERO = "0" * 40


class Batch:
    """The blob commands of one ``git fast-import`` stream (its "blob / mark / data" format)."""

    def __init__(self):
        self.stdin = None
        self.ids: dict[int, str] = {}
        self.n = 0

    def add(self, data: bytes) -> int:
        self.n += 1
        self.stdin.write(b"blob\nmark :%d\ndata %d\n" % (self.n, len(data)))
        self.stdin.write(data)
        self.stdin.write(b"\n")
        return self.n


class Store:
    def __init__(self, gitdir: str, home: str):
        self.gitdir = gitdir
        self.git = PrivateGit(gitdir, home)
        self.odb = GitDB(os.path.join(gitdir, "objects"))
        self.indexed: dict[str, tuple[str, str]] | None = None  # what the private index holds
        self.tree: str | None = None  # the tree of the private index

    @classmethod
    def init(cls, gitdir: str, home: str) -> "Store":
        store = cls(gitdir, home)
        store.git("init", "-q", "--bare", "--template=", gitdir, cwd=os.path.dirname(gitdir))
        return store

    # ---------------------------------------------------------------- blobs
    def put(self, data: bytes) -> str:
        """Store ``data`` as a blob; return its id."""
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        if not self.odb.has_object(hex_to_bin(sha)):
            self.odb.store(IStream(b"blob", len(data), io.BytesIO(data)))
        return sha

    @contextlib.contextmanager
    def batch(self):
        """Blobs written by one ``git fast-import``: ``batch.add(data)`` returns a mark, and after
        the block ``batch.ids[mark]`` is the blob id."""
        marks = os.path.join(self.gitdir, "tapehead-marks")
        batch = Batch()
        with self.git.feed("fast-import", "--quiet", "--done", f"--export-marks={marks}") as stdin:
            batch.stdin = stdin
            yield batch
            stdin.write(b"done\n")
        with open(marks, "rb") as f:
            for line in f.read().decode().splitlines():
                mark, sha = line.split(" ")
                batch.ids[int(mark[1:])] = sha
        os.remove(marks)
        self.odb.update_cache(force=True)

    def put_stream(self, stream, size: int) -> str:
        """Store ``size`` bytes read from ``stream`` (a large file, never held whole in memory)."""
        return self.odb.store(IStream(b"blob", size, stream)).hexsha.decode()

    def chunks(self, sha: str, size: int = 1 << 20):
        """The bytes of blob ``sha``, in chunks."""
        stream = self.odb.stream(hex_to_bin(sha))
        while True:
            chunk = stream.read(size)
            if not chunk:
                return
            yield chunk

    def read(self, sha: str) -> bytes:
        return b"".join(self.chunks(sha))

    def kind(self, sha: str) -> str | None:
        """"blob", "tree", "commit" or None for an id that is malformed or not in the store."""
        if not isinstance(sha, str) or not HEX40.fullmatch(sha):
            return None
        try:
            return self.odb.info(hex_to_bin(sha)).type.decode()
        except (BadObject, OSError, ValueError):
            return None

    # ---------------------------------------------------------------- trees and commits
    def write_tree(self, entries: dict[str, tuple[str, str]]) -> str:
        """The tree of ``entries`` (path -> (mode, blob id)); feeds the index only what changed."""
        if self.indexed is None:  # a new Store object: the index on disk may hold anything; rebuild
            try:
                os.remove(os.path.join(self.gitdir, "index"))
            except FileNotFoundError:
                pass
            self.indexed = {}
        old = self.indexed
        lines = [f"0 {ZERO}\t".encode() + os.fsencode(p) for p in old if p not in entries]
        lines += [f"{m} {s}\t".encode() + os.fsencode(p) for p, (m, s) in entries.items()
                  if old.get(p) != (m, s)]
        if lines:
            self.git("update-index", "-z", "--index-info", stdin=b"\0".join(lines) + b"\0")
        if lines or self.tree is None:
            self.tree = self.git.text("write-tree")
        self.indexed = dict(entries)
        return self.tree

    def entries(self, tree: str) -> dict[str, tuple[str, str]]:
        """path -> (mode, blob id) of every file and link in ``tree``."""
        out = {}
        for line in self.git("ls-tree", "-r", "-z", "--full-tree", tree).split(b"\0"):
            if line:
                meta, path = line.split(b"\t", 1)
                mode, _, sha = meta.decode().split(" ")
                out[os.fsdecode(path)] = (mode, sha)
        return out

    def commit(self, tree: str, parent: str | None, message: str) -> str:
        return self.git.text("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)

    def tree_of(self, commit: str) -> str:
        return self.git.text("rev-parse", "--verify", "--end-of-options", f"{commit}^{{tree}}")

    def patch(self, a: str, b: str, path: str = "") -> str:
        """Unified diff between trees (or commits) ``a`` and ``b``, under ``path`` (literal)."""
        spec = ["--", f":(literal){path}"] if path else []
        out = self.git("diff-tree", "-r", "-p", "--no-color", "--no-ext-diff", "--no-textconv",
                       "--no-renames", a, b, *spec)
        return out.decode("utf-8", "replace")
