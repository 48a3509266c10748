"""Accept and undo: the only code that writes to the user's own directory.

Convention: ``accept`` applies the workspace's changes (against its base commit) to the user's
directory file by file, and only when every file it touches is still exactly as it was when the
workspace started (bytes, type and executable bit, compared to the base version as git would check
it out); otherwise it changes nothing and says which files conflict. Before writing it copies the
previous bytes of every touched file (or notes that it did not exist) into
``scratch/accepts/N/``; ``undo`` puts those bytes back, after checking that the files still hold
what ``accept`` wrote. Both return an Observation and never raise for expected failures.

The user's index is never touched: accepted changes appear in their tree as unstaged changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat

from tapehead.tools.base import Observation, error
from tapehead.tools.workspace.gitcmd import run_git

ABSENT = "000000"


def _digest(path: str) -> str | None:
    """Content fingerprint of a file or symlink (None if absent)."""
    if not os.path.lexists(path):
        return None
    if os.path.islink(path):
        return "link:" + os.readlink(path)
    if not os.path.isfile(path):
        return "other"
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    x = "x" if os.stat(path).st_mode & stat.S_IXUSR else "-"
    return f"file{x}:{h.hexdigest()}"


def _base_digest(ws, path: str, mode: str) -> str | None:
    """What the user's file should hold if unchanged since the start (None if it did not exist)."""
    if mode == ABSENT:
        return None
    spec = f"{ws.base}:{ws.prefix + '/' if ws.prefix else ''}{path}"
    data = run_git(ws.top, "cat-file", "--filters", spec, binary=True)
    if mode == "120000":
        return "link:" + os.fsdecode(data)
    if mode == "160000":
        return "other"
    return ("filex:" if mode == "100755" else "file-:") + hashlib.sha256(data).hexdigest()


def _copy_entry(src: str, dst: str) -> None:
    """Copy a file or symlink from the workspace ``src`` over the user's ``dst`` (files atomically).

    A file that existed keeps its permission bits; only the executable bits follow ``src``."""
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    old_mode = None
    if os.path.islink(dst):
        os.unlink(dst)
    elif os.path.isfile(dst):
        old_mode = os.stat(dst).st_mode & 0o7777
    if os.path.islink(src):
        if os.path.lexists(dst):
            os.unlink(dst)
        os.symlink(os.readlink(src), dst)
        return
    mode = os.stat(src).st_mode & 0o777
    if old_mode is not None:
        mode = (old_mode & ~0o111) | ((old_mode & 0o444) >> 2 if mode & 0o100 else 0)
    tmp = f"{dst}.tapehead-tmp"
    shutil.copyfile(src, tmp)
    os.chmod(tmp, mode)
    os.replace(tmp, dst)


def _remove(path: str, stop: str) -> None:
    if os.path.lexists(path):
        os.unlink(path)
    parent = os.path.dirname(path)
    while parent.startswith(stop + os.sep) and os.path.isdir(parent) and not os.listdir(parent):
        os.rmdir(parent)
        parent = os.path.dirname(parent)


def accept(ws) -> Observation:
    ws.check_open()
    changes = ws.changes()
    if not changes:
        return Observation("nothing to accept: the workspace matches where it started",
                           data={"files": []})
    conflicts = []
    for c in changes:
        user = os.path.join(ws.source, c.path)
        if _digest(user) != _base_digest(ws, c.path, c.base_mode):
            conflicts.append(c.path)
    if conflicts:
        return error(f"accept refused, nothing was changed: {len(conflicts)} file(s) changed in your "
                     f"directory since the workspace started: {', '.join(conflicts[:20])}",
                     conflicts=conflicts)
    n = len(ws.accepts) + 1
    backup = os.path.join(ws.scratch, "accepts", str(n))
    os.makedirs(backup, exist_ok=True)
    entries = []
    for c in changes:  # 1. back up every file we are about to touch
        user = os.path.join(ws.source, c.path)
        existed = os.path.lexists(user)
        if existed:
            dst = os.path.join(backup, "files", c.path)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if os.path.islink(user):
                os.symlink(os.readlink(user), dst)
            else:
                shutil.copy2(user, dst)
        entries.append({"path": c.path, "status": c.status, "existed": existed})
    done = []
    try:
        for c, e in zip(changes, entries):  # 2. write
            user = os.path.join(ws.source, c.path)
            done.append(e)
            if c.status == "D":
                _remove(user, ws.source)
            else:
                _copy_entry(os.path.join(ws.root, c.path), user)
            e["written"] = _digest(user)
    except OSError as err:  # 3. on failure, put back what was already written
        _restore(backup, done, ws.source)
        return error(f"accept failed on {done[-1]['path']} ({err}); every file was put back as it was")
    tree = ws.snapshot_tree()
    new_base = run_git(ws.top, "commit-tree", tree, "-p", ws.base, "-m", "tapehead: accepted").strip()
    record = {"n": n, "backup": backup, "old_base": ws.base, "new_base": new_base, "files": entries}
    with open(os.path.join(backup, "manifest.json"), "w") as f:
        json.dump(record, f, indent=1)
    ws.accepts.append(record)
    ws.base = new_base
    _keep_reachable(ws)
    listing = "\n".join(f"{e['status']} {e['path']}" for e in entries)
    return Observation(f"accepted {len(entries)} file(s) into {ws.source} (undo restores the "
                       f"previous bytes):\n{listing}", data={"files": entries, "accept": n})


def undo(ws, force: bool = False) -> Observation:
    ws.check_open()
    if not ws.accepts:
        return error("nothing to undo: no accept was made from this workspace")
    record = ws.accepts[-1]
    changed = [e["path"] for e in record["files"]
               if _digest(os.path.join(ws.source, e["path"])) != e["written"]]
    if changed and not force:
        return error(f"undo refused, nothing was changed: {len(changed)} file(s) were edited after "
                     f"the accept: {', '.join(changed[:20])}", changed=changed)
    _restore(record["backup"], record["files"], ws.source)
    ws.accepts.pop()
    ws.base = record["old_base"]
    _keep_reachable(ws)
    shutil.rmtree(record["backup"], ignore_errors=True)  # undone: a later reattach must not reload it
    return Observation(f"undid accept #{record['n']}: restored {len(record['files'])} file(s) in "
                       f"{ws.source}", data={"files": [e["path"] for e in record["files"]]})


def _restore(backup: str, entries: list[dict], source: str) -> None:
    for e in entries:
        user = os.path.join(source, e["path"])
        if e["existed"]:
            _copy_back(os.path.join(backup, "files", e["path"]), user)
        else:
            _remove(user, source)


def _copy_back(src: str, dst: str) -> None:
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.lexists(dst) and (os.path.islink(dst) or not os.path.isdir(dst)):
        os.unlink(dst)
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
    else:
        shutil.copy2(src, dst)


def _keep_reachable(ws) -> None:
    """Point the scratch branch (or copy-mode ref) at the current base so gc keeps it."""
    ref = f"refs/heads/{ws.branch}" if ws.branch else "refs/heads/tapehead-base"
    run_git(ws.top, "update-ref", ref, ws.base)


def restore_accepts(ws) -> None:
    """Reload the accepts an earlier process made (``scratch/accepts/N/manifest.json``, N = 1, 2, ...)
    into a reattached workspace, so that it can undo them and diffs start from the last one. The
    backup folder is the manifest's own, never a path read from it; an entry with an absolute or
    ``..`` path ends the list (undo never writes outside the user's directory)."""
    records = []
    while True:
        backup = os.path.join(ws.scratch, "accepts", str(len(records) + 1))
        try:
            with open(os.path.join(backup, "manifest.json"), encoding="utf-8") as f:
                record = json.load(f)
        except (OSError, ValueError):
            break
        files = record.get("files") if isinstance(record, dict) else None
        if not isinstance(files, list) or not all(
                isinstance(e, dict) and isinstance(e.get("path"), str) and not os.path.isabs(e["path"])
                and ".." not in e["path"].split("/") for e in files):
            break
        records.append({**record, "backup": backup})
    ws.accepts = records
    if records:
        ws.base = records[-1]["new_base"]
