"""Snapshots of the scratch tree: what it holds now, as git entries, hashed incrementally.

Convention (git's index as a stat cache, and its "racy git" rule, Documentation/technical/racy-git):
a snapshot walks the tree (``tools/workspace/walk.py``), reuses the blob id of every file whose
``lstat`` key (size, mtime_ns, ctime_ns, inode, mode) is unchanged since it was hashed, and reads
and hashes only the others, from a descriptor opened ``O_NOFOLLOW | O_NONBLOCK`` whose ``fstat``
must still be the walked regular file. A hash is trusted for reuse only when the file's ctime (and
mtime) were older than the moment hashing began by more than the filesystem's timestamp tick: a
write in the same tick as our read would otherwise keep the key and hide the change. The window
is ``RACY_NS`` (100 ms: ten times the coarsest kernel tick, HZ=100) on a filesystem with sub-second
timestamps, ``RACY_COARSE_NS`` on one whose timestamps are whole seconds (seen on the tree's own
directory). The result is ``path -> (mode, blob id)``; ``Store.write_tree`` turns it into a tree
when one is needed. A new workspace's cache is seeded with the files its copy wrote (``seed``).
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from typing import NamedTuple

from tapehead.tools.workspace.ignore import Ignore
from tapehead.tools.workspace.paths import READ_FLAGS
from tapehead.tools.workspace.store import SMALL, Store
from tapehead.tools.workspace.walk import LINK, Entry, Keep, walk

RACY_NS = 100_000_000
RACY_COARSE_NS = 2_000_000_000  # FAT's 2 s timestamps and anything finer


class Cached(NamedTuple):
    key: tuple
    mode: str
    sha: str
    trusted: bool


@dataclass
class Snapshot:
    entries: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (mode, blob id)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why not tracked)
    hashed: int = 0  # files read and hashed for this snapshot (the rest came from the cache)


class Changed(OSError):
    """The file changed between the walk and the read."""


def _open(full: str, entry: Entry):
    """The walked regular file, opened ``O_NOFOLLOW | O_NONBLOCK``; its size."""
    f = os.fdopen(os.open(full, READ_FLAGS), "rb")
    st = os.fstat(f.fileno())
    if not stat.S_ISREG(st.st_mode) or st.st_ino != entry.key[3]:
        f.close()
        raise Changed(f"{entry.path} changed while it was read")
    return f, st.st_size


def read_entry(full: str, entry: Entry) -> bytes | None:
    """The bytes of the walked ``entry`` (at ``full``): a link's target or a file's content; None
    for a file larger than ``SMALL`` (``hash_entry`` streams those)."""
    if entry.mode == LINK:
        return os.fsencode(os.readlink(full))
    f, size = _open(full, entry)
    with f:
        if size > SMALL:
            return None
        data = f.read(SMALL + 1)
    if len(data) != size:
        raise Changed(f"{entry.path} changed while it was read")
    return data


def hash_entry(store: Store, full: str, entry: Entry) -> str:
    """Store the bytes of the walked ``entry`` (at ``full``) as a blob and return its id."""
    data = read_entry(full, entry)
    if data is not None:
        return store.put(data)
    f, size = _open(full, entry)
    with f:
        return store.put_stream(f, size)


class Snapshots:
    """The stat cache of one scratch tree."""

    def __init__(self, store: Store, root: str, ignore: Ignore):
        self.store = store
        self.root = root
        self.ignore = ignore
        self.cache: dict[str, Cached] = {}
        fine = os.stat(root).st_mtime_ns % 1_000_000_000 != 0
        self.racy_ns = RACY_NS if fine else RACY_COARSE_NS

    def seed(self, entries: dict[str, tuple[str, str]], keep: Keep) -> None:
        """Trust the blob ids of files this process just wrote with known bytes (nothing else can
        write the tree yet): their keys come from one walk, racy ones are re-read later."""
        now = time.time_ns()
        for e in walk(self.root, self.ignore, keep).entries:
            if entries.get(e.path, (None,))[0] == e.mode:
                newest = max(e.key[1], e.key[2])
                self.cache[e.path] = Cached(e.key, e.mode, entries[e.path][1], now - newest > self.racy_ns)

    def take(self, keep: Keep, under: str = "") -> Snapshot:
        started = time.time_ns()
        walked = walk(self.root, self.ignore, keep, under)
        snap = Snapshot(skipped=walked.skipped)
        cache, entries = self.cache, snap.entries
        for e in walked.entries:
            c = cache.get(e.path)
            if c is not None and c.trusted and c.key == e.key and c.mode == e.mode:
                entries[e.path] = (c.mode, c.sha)
                continue
            try:
                sha = hash_entry(self.store, os.path.join(self.root, e.path), e)
            except OSError as err:
                snap.skipped.append((e.path, f"not read ({err.strerror or err})"))
                continue
            snap.hashed += 1
            newest = max(e.key[1], e.key[2])  # mtime_ns, ctime_ns
            self.cache[e.path] = Cached(e.key, e.mode, sha, started - newest > self.racy_ns)
            snap.entries[e.path] = (e.mode, sha)
        if not under:
            for gone in [p for p in self.cache if p not in snap.entries]:
                del self.cache[gone]
        return snap
