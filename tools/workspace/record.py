"""Reopening a workspace from a recorded snapshot: every field checked before any path is used.

Convention (DESIGN.md, "Trust": session databases are untrusted input): a ``Workspace.snapshot()``
stored in a session database may have been edited by anyone who could write that file. Of it only
the scratch path is used, and only when it is an absolute, normalized path to a real directory
named ``tapehead-ws-*``, owned by us, not a symlink, holding our private record
(``workspace.json``: a regular file under a size cap, valid JSON, whose own scratch path and source
agree with the snapshot). The record's fields are then checked one by one (types, commit ids that
name commits in the private store, paths without ``..``, ``.git`` or absolute parts), so that
``discard`` can never remove, and ``accept`` never write, anything but what a real workspace
owns. A snapshot whose copy is gone raises ``WorkspaceGone`` (the caller may make a fresh copy);
anything else wrong raises ``WorkspaceInvalid`` with a one-line reason.
"""

from __future__ import annotations

import json
import os
import stat

from tapehead.tools.workspace.ignore import Ignore
from tapehead.tools.workspace.paths import READ_FLAGS, is_dot_git
from tapehead.tools.workspace.store import HEX40, Store

MAX_RECORD_BYTES = 16 << 20
MODES = {"100644", "100755", "120000"}


class WorkspaceInvalid(ValueError):
    """The recorded workspace is not one of ours or its record is damaged; ``str(e)`` says why."""


class WorkspaceGone(LookupError):
    """The recorded workspace was discarded or its scratch directory no longer exists."""


def _path_ok(p: object) -> bool:
    return (isinstance(p, str) and p != "" and "\0" not in p and not p.startswith("/")
            and not any(x in ("", ".", "..") or is_dot_git(x) for x in p.split("/")))


def check_snapshot(snap: object, prefix: str) -> str:
    """The scratch directory a snapshot names, once it is known to be a real one of ours."""
    if not isinstance(snap, dict):
        raise WorkspaceInvalid(f"a workspace record must be an object, got {type(snap).__name__}")
    scratch, source = snap.get("scratch"), snap.get("source")
    for name, value in (("scratch", scratch), ("source", source)):
        if not isinstance(value, str) or "\0" in value or not os.path.isabs(value) \
                or os.path.normpath(value) != value:
            raise WorkspaceInvalid(f"the workspace record's {name} is not an absolute, normalized path")
    if not os.path.basename(scratch).startswith(prefix):
        raise WorkspaceInvalid(f"{scratch} is not a tapehead scratch directory (name not {prefix}*)")
    if snap.get("closed") is True:
        raise WorkspaceGone(f"the workspace {scratch} was discarded")
    try:
        st = os.lstat(scratch)
    except FileNotFoundError:
        raise WorkspaceGone(f"the scratch copy {scratch} is gone") from None
    if not stat.S_ISDIR(st.st_mode) or os.path.realpath(scratch) != scratch:
        raise WorkspaceInvalid(f"{scratch} is not a directory (or is reached through a symlink)")
    if st.st_uid != os.getuid():
        raise WorkspaceInvalid(f"{scratch} is owned by uid {st.st_uid}, not by us")
    return scratch


def _load(scratch: str) -> dict:
    path = os.path.join(scratch, "workspace.json")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise WorkspaceInvalid(f"{scratch} holds no workspace record (workspace.json)") from None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_RECORD_BYTES:
        raise WorkspaceInvalid(f"{path} is not a regular file under {MAX_RECORD_BYTES >> 20} MiB")
    fd = os.open(path, READ_FLAGS)
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_RECORD_BYTES + 1)
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise WorkspaceInvalid(f"{path} is not valid JSON ({e})") from None
    if not isinstance(record, dict) or record.get("tapehead_workspace") != 1:
        raise WorkspaceInvalid(f"{path} is not a tapehead workspace record")
    return record


def _entry_ok(e: object, perm: bool) -> bool:
    if e is None:
        return True
    n = 3 if perm else 2
    return (isinstance(e, list) and len(e) == n and e[0] in MODES and isinstance(e[1], str)
            and HEX40.fullmatch(e[1]) is not None
            and (not perm or (isinstance(e[2], int) and not isinstance(e[2], bool) and 0 <= e[2] <= 0o7777)))


def _accepts_ok(accepts: object, store: Store) -> bool:
    if not isinstance(accepts, list):
        return False
    for a in accepts:
        if not (isinstance(a, dict) and isinstance(a.get("n"), int) and isinstance(a.get("files"), list)
                and store.kind(a.get("old_base")) == "commit" and store.kind(a.get("new_base")) == "commit"):
            return False
        for f in a["files"]:
            if not (isinstance(f, dict) and _path_ok(f.get("path")) and _entry_ok(f.get("before"), True)
                    and _entry_ok(f.get("after"), False)):
                return False
    return True


def read_record(scratch: str, source: str) -> dict:
    """The workspace's private record, every field checked."""
    record = _load(scratch)
    bad = []
    if record.get("scratch") != scratch:
        bad.append("its scratch path is not where it lies")
    if record.get("source") != source:
        bad.append(f"it belongs to {record.get('source')!r}, not to {source!r}")
    sid = record.get("source_id")
    if not (isinstance(sid, list) and len(sid) == 2 and all(isinstance(x, int) for x in sid)):
        bad.append("source_id")
    if record.get("mode") not in ("git", "copy"):
        bad.append("mode")
    prefix = record.get("prefix")
    if not (prefix == "" or _path_ok(prefix)):
        bad.append("prefix")
    try:
        Ignore.from_json(record.get("ignore"))
    except (ValueError, TypeError, AttributeError):
        bad.append("ignore")
    store = Store(os.path.join(scratch, "git"), os.path.join(scratch, "home"))
    for key in ("start", "base"):
        if store.kind(record.get(key)) != "commit":
            bad.append(f"{key} is not a commit of the private store")
    if not _accepts_ok(record.get("accepts"), store):
        bad.append("accepts")
    if bad:
        raise WorkspaceInvalid(f"the workspace record in {scratch} does not hold: {'; '.join(bad)}")
    return record
