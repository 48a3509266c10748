"""Confinement of tool paths to the workspace, and the one way every tool reads a file: the place
that turns a path from the policy into bytes on disk, or refuses it.

Convention: a tool path is always relative to the workspace root and written with ``/``. Refused,
each with a message that says why and what to do instead:

- absolute paths (``/etc/passwd``);
- any ``..`` component (``../x``, ``a/../../x``), even one that would stay inside;
- any component named ``.git`` (in any case: git itself refuses to track ``.GIT``); the snapshot
  walker skips them too, so no tool sees what a planted ``.git`` holds;
- a path whose real location (symlinks resolved) is outside the workspace root;
- NUL bytes and non-string values.

``resolve`` returns the real path (symlinks resolved), so what is opened is what was checked.
``read_regular`` is the read path of every reader (read_file, grep, the symbol index, the edit
tools): after ``resolve`` it ``lstat``s the real path and opens only a regular file, with
``O_NOFOLLOW | O_NONBLOCK`` and an ``fstat`` check of the opened descriptor, under a size cap -- so
a link to ``~/.ssh/id_rsa``, a FIFO named ``app.py`` or a link to ``/dev/zero`` never reaches an
observation and never hangs a tool. (A process racing to swap a directory for a symlink between the
check and the open is not covered: tools run between sandboxed runs, whose processes are gone.)
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
KINDS = {stat.S_IFREG: "a regular file", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
         stat.S_IFCHR: "a character device",
         stat.S_IFBLK: "a block device", stat.S_IFDIR: "a directory", stat.S_IFLNK: "a symlink"}


class PathRefused(ValueError):
    """The path leads outside the workspace or is malformed; ``str(e)`` is the message to show."""


class NotReadable(ValueError):
    """The path is not a regular file a tool may read (FIFO, device, missing, too large)."""


@dataclass(frozen=True)
class ToolPath:
    rel: str  # normalized as given, relative to the workspace root ("." for the root itself)
    real: str  # absolute real path on disk (symlinks resolved)
    inside: str  # the real path relative to the root ("." for the root itself)

    @property
    def exists(self) -> bool:
        return os.path.lexists(self.real)


def is_dot_git(name: str) -> bool:
    return len(name) == 4 and name.lower() == ".git"


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def resolve(root: str, path: object) -> ToolPath:
    """Check ``path`` against the rules above and return it; raise ``PathRefused`` otherwise."""
    if not isinstance(path, str):
        raise PathRefused(f"a path must be a string, got {type(path).__name__}")
    if "\0" in path:
        raise PathRefused("a path may not contain NUL bytes")
    text = path.strip() or "."
    if os.path.isabs(text) or text.startswith("~"):
        raise PathRefused(f"absolute paths are refused ({path!r}): give a path relative to the "
                          f"workspace root, e.g. 'src/app.py'")
    parts = [p for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise PathRefused(f"'..' is refused in {path!r}: paths stay inside the workspace; give a "
                          f"path relative to the workspace root")
    if any(is_dot_git(p) for p in parts):
        raise PathRefused(f"{path!r} is inside .git, which no tool reads or writes; use git_status, "
                          f"git_diff or git_reset")
    root_real = os.path.realpath(root)
    real = os.path.realpath(os.path.join(root_real, *parts))
    if not _inside(real, root_real):
        raise PathRefused(f"{path!r} leads outside the workspace (a symlink out of it); refused")
    rel = os.path.relpath(real, root_real)
    if any(is_dot_git(p) for p in rel.split(os.sep)):
        raise PathRefused(f"{path!r} leads into .git, which no tool reads or writes; refused")
    return ToolPath(rel="/".join(parts) or ".", real=real, inside=rel.replace(os.sep, "/"))


def kind_of(mode: int) -> str:
    return KINDS.get(stat.S_IFMT(mode), "a special file")


def read_regular(p: ToolPath, cap: int) -> bytes:
    """The bytes of the regular file at ``p`` (already resolved), at most ``cap`` of them; raise
    ``NotReadable`` with the message to show for anything else."""
    try:
        st = os.lstat(p.real)
    except FileNotFoundError:
        raise NotReadable(f"no such file: {p.rel}") from None
    if not stat.S_ISREG(st.st_mode):
        raise NotReadable(f"{p.rel} is {kind_of(st.st_mode)}, not a regular file; not read")
    if st.st_size > cap:
        raise NotReadable(f"{p.rel} is {st.st_size} bytes, more than the {cap >> 20} MiB a tool reads; "
                          f"look at it in the sandbox (head, sed -n, grep)")
    fd = os.open(p.real, READ_FLAGS)
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or now.st_ino != st.st_ino:
            raise NotReadable(f"{p.rel} changed while it was opened; not read")
        chunks, left = [], cap + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > cap:
        raise NotReadable(f"{p.rel} grew past the {cap >> 20} MiB a tool reads; not read")
    return data


def is_binary(data: bytes) -> bool:
    """Git's rule of thumb: a NUL byte in the first 8000 bytes."""
    return b"\0" in data[:8000]


def display(path: str) -> str:
    """A path as shown in an observation: as is when it is printable UTF-8, else quoted with C
    escapes the way git quotes names (a newline or a byte that is not UTF-8 cannot break a line-based
    listing or the UTF-8 of a trace)."""
    raw = os.fsencode(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.isprintable() and '"' not in text and "\\" not in text:
        return text
    out = []
    for ch in raw.decode("utf-8", "surrogateescape"):
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif "\udc80" <= ch <= "\udcff":
            out.append(f"\\{ord(ch) - 0xdc00:03o}")
        elif not ch.isprintable():
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
