"""Confinement of tool paths to the workspace: the one place that turns a path from the policy into
a real path on disk, or refuses it.

Convention: a tool path is always relative to the workspace root and written with ``/``. Refused,
each with a message that says why and what to do instead:

- absolute paths (``/etc/passwd``);
- any ``..`` component (``../x``, ``a/../../x``), even one that would stay inside;
- the workspace's own ``.git`` (a link to the git data; the git tools manage it);
- a path whose real location (symlinks resolved) is outside the workspace root;
- NUL bytes and non-string values.

``resolve`` returns the real path (symlinks resolved), so what is opened is what was checked. A
process racing to swap a directory for a symlink between the check and the open is not covered
(tools run between sandboxed runs, never concurrently with them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class PathRefused(ValueError):
    """The path leads outside the workspace or is malformed; ``str(e)`` is the message to show."""


@dataclass(frozen=True)
class ToolPath:
    rel: str  # normalized as given, relative to the workspace root ("." for the root itself)
    real: str  # absolute real path on disk (symlinks resolved)
    inside: str  # the real path relative to the root ("." for the root itself)

    @property
    def exists(self) -> bool:
        return os.path.lexists(self.real)


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
    if parts and parts[0] == ".git":
        raise PathRefused(f"{path!r} is inside .git, which the git tools manage; use git_status, "
                          f"git_diff or git_reset")
    root_real = os.path.realpath(root)
    real = os.path.realpath(os.path.join(root_real, *parts))
    if not _inside(real, root_real):
        raise PathRefused(f"{path!r} leads outside the workspace (a symlink out of it); refused")
    rel = os.path.relpath(real, root_real)
    if rel.split(os.sep)[0] == ".git":
        raise PathRefused(f"{path!r} leads into .git, which the git tools manage; refused")
    return ToolPath(rel="/".join(parts) or ".", real=real, inside=rel.replace(os.sep, "/"))


def is_binary(data: bytes) -> bool:
    """Git's rule of thumb: a NUL byte in the first 8000 bytes."""
    return b"\0" in data[:8000]
