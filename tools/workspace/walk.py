"""The snapshot walker: every regular file and symlink of a tree, found without following anything.

Convention (design of issue 12, "snapshots by our own walker, not ``git add``"): the tree is read
with ``os.scandir`` on directory descriptors opened ``O_DIRECTORY | O_NOFOLLOW`` relative to their
parent (``dir_fd``), so a symlinked directory is a link entry, never a way out, and a directory
swapped for a link mid-walk fails to open instead of being followed. Kept: regular files (git mode
``100644`` / ``100755`` by the owner's executable bit, as git does) and symlinks (``120000``).
Skipped and reported, never opened: FIFOs, sockets, devices; any component named ``.git`` (in any
case); directories deeper than ``MAX_DEPTH``; paths longer than ``MAX_PATH`` bytes; unreadable
directories. Which paths count is decided by the ignore rules (``tools/workspace/ignore.py``; the
tree's own ``.gitignore`` files are read here, only when they are regular files) and by ``Keep``,
the paths that are always kept (the base's paths, as git keeps tracked files; or, without ignore
rules, the only paths kept: the user's own ``git ls-files`` when a workspace is made).

Each entry carries ``key`` = (size, mtime_ns, ctime_ns, inode, st_mode) from ``lstat``: the stat
cache of ``tools/workspace/snapshot.py`` reuses a file's hash while its key is unchanged. Paths are
``str``, ``/``-separated, relative to the walked root; bytes that are not UTF-8 are kept
(``surrogateescape``), so ``os.fsencode(path)`` is the name on disk. Entries come sorted by path
(code point order, which is UTF-8's byte order: git's order for a recursive listing).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import NamedTuple

from tapehead.tools.workspace.ignore import Ignore, RuleSet, parse, read_rules_file
from tapehead.tools.workspace.paths import is_dot_git, kind_of

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_DEPTH = 200  # directories below this are skipped and reported (and one fd per level is open)
MAX_PATH = 3800  # bytes: every kept path stays usable with ordinary path calls (PATH_MAX 4096)
LINK, FILE, EXEC = "120000", "100644", "100755"


class Entry(NamedTuple):  # a tuple: thousands are made per walk
    path: str
    mode: str  # FILE, EXEC or LINK
    key: tuple  # (size, mtime_ns, ctime_ns, ino, st_mode)


@dataclass
class Walk:
    entries: list[Entry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why it is not tracked)


class Keep:
    """Paths that are always kept, and every directory above them (so the walk enters those)."""

    def __init__(self, paths=()):
        self.paths = set(paths)
        self.dirs = {""}
        for p in self.paths:
            parts = p.split("/")
            for i in range(1, len(parts)):
                self.dirs.add("/".join(parts[:i]))


def _related(rel: str, under: str) -> bool:
    """Is directory ``rel`` on the way to ``under`` or inside it?"""
    return (not under or not rel or rel == under or under.startswith(rel + "/")
            or rel.startswith(under + "/"))


def _within(rel: str, under: str) -> bool:
    return not under or rel == under or rel.startswith(under + "/")


@dataclass
class _Frame:
    fd: int
    rel: str
    pending: list[tuple[str, bool]]  # subdirectories to visit (popped from the end), ignored or not
    inner: list[tuple[str, RuleSet]]  # in-tree rule sets of this directory and its ancestors


def walk(root: str, ignore: Ignore | None = None, keep: Keep | None = None, under: str = "") -> Walk:
    """Walk ``root``; with ``ignore`` None, keep only ``keep``'s paths; ``under`` restricts the walk
    to one directory or file (relative to ``root``)."""
    keep = keep or Keep()
    out = Walk()
    stack = [_scan(os.open(root, DIR_FLAGS), "", [], False, ignore, keep, under, out)]
    while stack:
        frame = stack[-1]
        if not frame.pending:
            os.close(frame.fd)
            stack.pop()
            continue
        name, ignored = frame.pending.pop()
        rel = f"{frame.rel}/{name}" if frame.rel else name
        if len(stack) >= MAX_DEPTH:
            out.skipped.append((rel, f"deeper than {MAX_DEPTH} directories"))
            continue
        try:
            fd = os.open(name, DIR_FLAGS, dir_fd=frame.fd)
        except OSError as e:
            out.skipped.append((rel, f"directory not readable ({e.strerror})"))
            continue
        stack.append(_scan(fd, rel, frame.inner, ignored, ignore, keep, under, out))
    out.entries.sort(key=lambda e: e.path)
    return out


def _scan(fd: int, rel: str, inner: list, ignored: bool, ignore: Ignore | None, keep: Keep,
          under: str, out: Walk) -> _Frame:
    """List one directory (``ignored``: it is ignored, entered only for paths in ``keep``): add its
    kept files to ``out``; return its frame with the subdirectories to enter."""
    try:
        with os.scandir(fd) as it:
            items = list(it)
    except OSError as e:
        out.skipped.append((rel or ".", f"directory not readable ({e.strerror})"))
        return _Frame(fd, rel, [], inner)
    if ignore is not None and not ignored:
        inner = _read_gitignore(fd, rel, items, inner, out)
    subdirs = []
    for item in items:
        name = item.name
        path = f"{rel}/{name}" if rel else name
        if ignore is None and path not in keep.paths and path not in keep.dirs:
            continue  # a path outside the user's listing: not looked at
        if is_dot_git(name):
            if ignore is not None:
                out.skipped.append((path, "a .git entry: never read, never tracked"))
            continue
        if len(path) * 4 > MAX_PATH and len(os.fsencode(path)) > MAX_PATH:  # 4: UTF-8's widest
            out.skipped.append((path[:200] + "...", f"path longer than {MAX_PATH} bytes"))
            continue
        try:
            is_dir = item.is_dir(follow_symlinks=False)  # from d_type: no system call
        except OSError:
            continue
        if is_dir:
            if not _related(path, under):
                continue
            if ignore is None:
                if path in keep.dirs:
                    subdirs.append((name, False))
                continue
            now_ignored = ignored or ignore.ignored(path, True, inner)
            if not now_ignored or path in keep.dirs:
                subdirs.append((name, now_ignored))
            continue
        if under and not _within(path, under):
            continue
        if path not in keep.paths and (ignore is None or ignored or ignore.ignored(path, False, inner)):
            continue
        try:
            st = item.stat(follow_symlinks=False)
        except OSError:
            continue  # gone since the listing
        if stat.S_ISLNK(st.st_mode):
            mode = LINK
        elif stat.S_ISREG(st.st_mode):
            mode = EXEC if st.st_mode & stat.S_IXUSR else FILE
        else:
            out.skipped.append((path, f"{kind_of(st.st_mode)}: never opened, never tracked"))
            continue
        out.entries.append(Entry(path, mode, (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino,
                                              st.st_mode)))
    subdirs.sort(reverse=True)
    return _Frame(fd, rel, subdirs, inner)


def _read_gitignore(fd: int, rel: str, items, inner: list, out: Walk) -> list:
    """``inner`` plus this directory's ``.gitignore``, read only if it is a regular file."""
    item = next((i for i in items if i.name == ".gitignore"), None)
    if item is None:
        return inner
    path = f"{rel}/.gitignore" if rel else ".gitignore"
    data = read_rules_file(".gitignore", dir_fd=fd)
    if data is None:
        try:
            what = kind_of(item.stat(follow_symlinks=False).st_mode)
        except OSError:
            what = "gone"
        out.skipped.append((path, f"ignore rules not read: {what}, or over the size cap"))
        return inner
    return [*inner, (rel, parse(data, origin=path))]
