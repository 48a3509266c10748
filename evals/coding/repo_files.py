"""A repository as data: ``{path: bytes}`` with its executable bits, written to and read from disk safely.

Convention: a benchmark instance's repository is untrusted input (a user's own JSONL, or an archive),
so every path is checked before anything is written (``path_problem``: relative, ``/``-separated,
no ``..``, no ``.git`` component, no NUL or control characters, no backslash), only regular files
exist (no symlinks, devices or hard links), and sizes are capped. The archive form is a gzipped tar
(``tarfile``, extracted member by member after the same checks, never with ``extractall``), base64
in JSON: the SWE-bench-shaped record (``evals/coding/record.py``) carries either form.
"""

from __future__ import annotations

import base64
import io
import os
import stat
import tarfile

MAX_FILES = 20_000
MAX_BYTES = 256 << 20  # a whole repository


class RepoRefused(ValueError):
    """The repository data is unsafe or malformed; ``str(e)`` says why, in one line."""


def path_problem(path: object) -> str | None:
    """Why ``path`` may not name a file of a repository, or None when it may."""
    if not isinstance(path, str) or not path:
        return "a path must be a non-empty string"
    if any(ord(ch) < 32 or ch == "\x7f" for ch in path):
        return f"control character in path {path!r}"
    if "\\" in path:
        return f"backslash in path {path!r}"
    if path.startswith("/") or path.startswith("~"):
        return f"absolute path {path!r}"
    parts = path.split("/")
    if any(p in ("", ".") for p in parts):
        return f"empty or '.' component in {path!r}"
    if ".." in parts:
        return f"'..' in path {path!r}"
    if any(p.lower() == ".git" for p in parts):
        return f"path {path!r} is inside .git"
    return None


def check_files(files: dict) -> None:
    """Raise ``RepoRefused`` unless ``files`` is a safe ``{path: bytes}`` repository."""
    if not isinstance(files, dict) or not files:
        raise RepoRefused("the repository has no files")
    if len(files) > MAX_FILES:
        raise RepoRefused(f"the repository has {len(files)} files (at most {MAX_FILES})")
    total, dirs = 0, set()
    for path, data in files.items():
        why = path_problem(path)
        if why:
            raise RepoRefused(why)
        if not isinstance(data, bytes):
            raise RepoRefused(f"{path}: file content must be bytes")
        total += len(data)
        parts = path.split("/")
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    clash = sorted(dirs & set(files))
    if clash:
        raise RepoRefused(f"{clash[0]!r} is both a file and a directory")
    if total > MAX_BYTES:
        raise RepoRefused(f"the repository holds {total} bytes (at most {MAX_BYTES})")


def write_files(files: dict[str, bytes], directory: str, executable=frozenset()) -> None:
    """Write a checked repository into ``directory`` (created; must be empty or absent)."""
    check_files(files)
    os.makedirs(directory, exist_ok=True)
    if os.listdir(directory):
        raise RepoRefused(f"{directory} is not empty")
    for path, data in sorted(files.items()):
        full = os.path.join(directory, *path.split("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        # O_EXCL | O_NOFOLLOW: never write through something that appeared in the way
        fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o755 if path in executable else 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)


def read_tree(directory: str) -> tuple[dict[str, bytes], frozenset[str]]:
    """Every file under ``directory`` (``.git`` left out) and the executable ones. Refuses a tree that
    holds anything but regular files and directories (a symlink, a fifo, ...)."""
    files, exe = {}, set()
    for top, dirnames, names in os.walk(directory):
        rel_top = os.path.relpath(top, directory)
        for d in list(dirnames):
            if d == ".git" and rel_top == ".":
                dirnames.remove(d)
                continue
            if os.path.islink(os.path.join(top, d)):
                raise RepoRefused(f"symlink {os.path.join(rel_top, d)!r} in the repository")
        for name in names:
            full = os.path.join(top, name)
            rel = os.path.normpath(os.path.join(rel_top, name)).replace(os.sep, "/")
            if rel == ".git":
                continue
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode):
                raise RepoRefused(f"{rel!r} is not a regular file (symlink or special file)")
            with open(full, "rb") as f:
                files[rel] = f.read()
            if st.st_mode & 0o100:
                exe.add(rel)
    return files, frozenset(exe)


def texts(files: dict[str, bytes]) -> dict[str, str]:
    """The files that are UTF-8 text, decoded (what the code-fix tools and ``changed_functions`` read)."""
    out = {}
    for path, data in files.items():
        try:
            out[path] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return out


def encode_archive(files: dict[str, bytes], executable=frozenset()) -> str:
    """A gzipped tar of the repository, base64: deterministic (sorted, zero times, root-owned)."""
    check_files(files)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for path, data in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), 0, 0o755 if path in executable else 0o644
            tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(buf.getvalue()).decode("ascii")


def decode_archive(text: str) -> tuple[dict[str, bytes], frozenset[str]]:
    """The inverse of ``encode_archive``, for untrusted input: members are checked one by one, only
    regular files and directories are taken, sizes are capped while reading."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as e:
        raise RepoRefused(f"repo archive is not base64 ({e})") from None
    files, exe, total = {}, set(), 0
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
            for m in tar:
                name = m.name[2:] if m.name.startswith("./") else m.name
                if m.isdir():
                    continue
                if not m.isreg():
                    raise RepoRefused(f"archive member {name!r} is not a regular file (link or special file)")
                why = path_problem(name)
                if why:
                    raise RepoRefused(f"archive member: {why}")
                total += m.size
                if total > MAX_BYTES or len(files) >= MAX_FILES:
                    raise RepoRefused("the repository archive is too large")
                files[name] = tar.extractfile(m).read()
                if m.mode & 0o100:
                    exe.add(name)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise RepoRefused(f"repo archive is not a gzipped tar ({e})") from None
    check_files(files)
    return files, frozenset(exe)
