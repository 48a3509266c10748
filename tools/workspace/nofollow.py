"""A directory tree read and written without ever following a symlink: the only writer of accept,
undo and reset.

Convention (openat(2) discipline, as in git's own checkout code for "leading symlinks"): every
access starts from a descriptor of the tree's root and opens each parent directory with
``os.open(name, O_DIRECTORY | O_NOFOLLOW, dir_fd=parent)``; a file is written as a temporary file
in its final directory and moved into place with ``os.replace(..., src_dir_fd=, dst_dir_fd=)``, a
symlink is made with ``os.symlink(..., dir_fd=)``. So no symlink at or above a target is ever
followed: in the user's directory a link or a file where a directory must be is ``Blocked`` (accept
reports it as a conflict); in the scratch tree (``scratch=True``, for reset) such an obstacle is
removed, as ``git checkout`` would. New files get ``0o666``/``0o777`` less the umask, like git.

``state(rel)`` says what is at a path now (absent, a file with its blob id and permission bits, a
link with the blob id of its target, a directory, something else, or blocked by a component on the
way), reading only regular files, with ``O_NOFOLLOW | O_NONBLOCK``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
import stat
from dataclasses import dataclass

from tapehead.tools.workspace.paths import READ_FLAGS, is_dot_git, kind_of
from tapehead.tools.workspace.walk import DIR_FLAGS, EXEC, FILE, LINK

WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Blocked(OSError):
    """Something that is not a directory (a symlink, a file) stands where a directory must be."""

    def __init__(self, where: str, what: str):
        super().__init__(errno.ENOTDIR, f"{where} is {what}, not a directory")
        self.where, self.what = where, what


@dataclass(frozen=True)
class State:
    kind: str  # "absent", "file", "link", "dir", "other" or "blocked"
    mode: str | None = None  # git mode of a file or link
    sha: str | None = None  # blob id of a file's bytes or a link's target
    perm: int | None = None  # permission bits of a file
    what: str = ""  # "other" and "blocked": what it is ("a FIFO", "a symlink", ...)
    where: str = ""  # "blocked": the component in the way, relative to the root

    def entry(self) -> tuple[str, str] | None:
        return (self.mode, self.sha) if self.kind in ("file", "link") else None


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _parts(rel: str) -> list[str]:
    parts = rel.split("/")
    if any(p in ("", ".", "..") or "\0" in p or is_dot_git(p) for p in parts):
        raise ValueError(f"refused path {rel!r}")
    return parts


def _is_not_dir(e: OSError) -> bool:
    return e.errno in (errno.ENOTDIR, errno.ELOOP)


class NoFollowTree:
    def __init__(self, root: str, scratch: bool = False):
        self.root = root
        self.scratch = scratch
        self.made_dirs: list[str] = []  # directories created here, in order (for a rollback)

    def _open_root(self) -> int:
        try:
            return os.open(self.root, DIR_FLAGS)
        except OSError as e:
            if _is_not_dir(e):
                raise Blocked(self.root, "a symlink or a file") from None
            raise

    def _parent(self, rel: str, create: bool) -> tuple[int | None, str]:
        """(descriptor of the directory holding ``rel``, its last name); descriptor None when a
        directory on the way is missing and ``create`` is off."""
        parts = _parts(rel)
        fd = self._open_root()
        try:
            for i, name in enumerate(parts[:-1]):
                here = "/".join(parts[:i + 1])
                try:
                    nfd = os.open(name, DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        os.close(fd)
                        return None, parts[-1]
                    os.mkdir(name, 0o777, dir_fd=fd)
                    self.made_dirs.append(here)
                    nfd = os.open(name, DIR_FLAGS, dir_fd=fd)
                except OSError as e:
                    if not _is_not_dir(e):
                        raise
                    if not self.scratch:
                        what = kind_of(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
                        raise Blocked(here, what) from None
                    os.unlink(name, dir_fd=fd)  # scratch: the obstacle goes
                    os.mkdir(name, 0o777, dir_fd=fd)
                    nfd = os.open(name, DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = nfd
        except BaseException:
            os.close(fd)
            raise
        return fd, parts[-1]

    def state(self, rel: str) -> State:
        try:
            fd, name = self._parent(rel, create=False)
        except Blocked as b:
            return State("blocked", what=b.what, where=b.where)
        if fd is None:
            return State("absent")
        try:
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return State("absent")
            if stat.S_ISLNK(st.st_mode):
                return State("link", LINK, blob_id(os.fsencode(os.readlink(name, dir_fd=fd))))
            if stat.S_ISDIR(st.st_mode):
                return State("dir")
            if not stat.S_ISREG(st.st_mode):
                return State("other", what=kind_of(st.st_mode))
            ffd = os.open(name, READ_FLAGS, dir_fd=fd)
            with os.fdopen(ffd, "rb") as f:
                now = os.fstat(ffd)
                if not stat.S_ISREG(now.st_mode):
                    return State("other", what=kind_of(now.st_mode))
                h = hashlib.sha1(b"blob %d\0" % now.st_size)
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            mode = EXEC if now.st_mode & stat.S_IXUSR else FILE
            return State("file", mode, h.hexdigest(), stat.S_IMODE(now.st_mode))
        finally:
            os.close(fd)

    def write_file(self, rel: str, chunks, executable: bool, perm: int | None = None) -> None:
        """Write ``chunks`` (bytes) to ``rel`` atomically; ``perm``: exact permission bits."""
        self._place(rel, lambda d, tmp: self._fill(d, tmp, chunks, executable, perm))

    def write_link(self, rel: str, target: bytes) -> None:
        self._place(rel, lambda d, tmp: os.symlink(target, tmp, dir_fd=d))

    @staticmethod
    def _fill(d: int, tmp: str, chunks, executable: bool, perm: int | None) -> None:
        fd = os.open(tmp, WRITE_FLAGS, 0o777 if executable else 0o666, dir_fd=d)
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            if perm is not None:
                os.fchmod(fd, perm)

    def _place(self, rel: str, make) -> None:
        d, name = self._parent(rel, create=True)
        tmp = f".{name[:40]}.tapehead-{secrets.token_hex(4)}"
        try:
            make(d, tmp)
            if self.scratch:
                self._clear_dir(d, name)
            os.replace(tmp, name, src_dir_fd=d, dst_dir_fd=d)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=d)
            except OSError:
                pass
            raise
        finally:
            os.close(d)

    @staticmethod
    def _clear_dir(d: int, name: str) -> None:
        """Scratch only: a directory where a file goes is removed (never following links)."""
        try:
            st = os.stat(name, dir_fd=d, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(name, dir_fd=d)

    def remove(self, rel: str) -> None:
        """Remove the file or link at ``rel`` (absent, or a directory outside ``scratch`` mode:
        nothing to do), then every directory above it that this left empty."""
        d, name = self._parent(rel, create=False)
        if d is None:
            return
        try:
            try:
                os.unlink(name, dir_fd=d)
            except FileNotFoundError:
                return
            except IsADirectoryError:
                if not self.scratch:
                    return
                shutil.rmtree(name, dir_fd=d)
        finally:
            os.close(d)
        parts = rel.split("/")
        for i in range(len(parts) - 1, 0, -1):
            if not self.remove_empty_dir("/".join(parts[:i])):
                break

    def remove_empty_dir(self, rel: str) -> bool:
        """rmdir ``rel`` if it is an empty directory; True if it was removed."""
        d, name = self._parent(rel, create=False)
        if d is None:
            return False
        try:
            os.rmdir(name, dir_fd=d)
            return True
        except OSError:
            return False
        finally:
            os.close(d)
