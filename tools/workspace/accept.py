"""Accept and undo: the only code that writes to the user's own directory.

Convention (design of issue 12, class 10): ``accept`` applies the workspace's changes against its
base to the user's directory, writing the bytes of the blobs the snapshot hashed (what the user was
shown in the diff is what lands), through ``NoFollowTree`` (``tools/workspace/nofollow.py``): no
symlink at or above a target is ever followed. It changes nothing, and names the files, when

- a file it touches is no longer exactly as it was at the start (bytes, type, executable bit), or
  a symlink or a file now stands where a directory of the change must go (a link the user made
  after the start is a conflict, never a way out of their directory);
- the change holds a symlink whose target leaves the workspace (absolute, or climbing out with
  ``..``) or points into ``.git``;
- the user's directory itself was replaced since the workspace was made.

Then it writes: removals first (deepest first, emptied directories pruned), then files and links.
If anything fails half-way, every path written is put back from the blobs of its previous state
(the user's bytes, verified equal to the base's, so already in the private store; permission bits
recorded) and directories it made are removed; the answer is an error Observation -- accept and
undo never raise. Existing files keep their permission bits; only the executable bits follow the
change. After accept the accepted state is the new base; ``undo`` puts the previous bytes back
(refused, naming the files, if they were edited since) and moves the base back. The user's index
and ``.git`` are never touched: accepted changes show as unstaged changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tapehead.tools.base import Observation, error
from tapehead.tools.workspace.nofollow import NoFollowTree, State
from tapehead.tools.workspace.paths import display, is_dot_git
from tapehead.tools.workspace.walk import DIR_FLAGS, EXEC, LINK, Keep


@dataclass(frozen=True)
class Step:
    path: str
    expect: tuple | None  # (mode, blob id) that must be there now; None: nothing (or a base dir)
    want: tuple | None  # (mode, blob id[, exact permission bits]) to write; None: remove


def link_problem(path: str, target: bytes) -> str | None:
    """Why a symlink at ``path`` with ``target`` may not enter the user's directory, or None."""
    text = os.fsdecode(target)
    if text.startswith("/"):
        return f"points to the absolute path {display(text)}"
    depth = path.count("/")  # directories above the link, inside the root
    for part in text.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return f"climbs out of the workspace ({display(text)})"
        elif part not in ("", "."):
            if is_dot_git(part):
                return f"points into .git ({display(text)})"
            depth += 1
    return None


def _conflict(step: Step, st: State, base_dirs: set, removed: set) -> str | None:
    """Why the user's ``st`` at ``step.path`` is not what the change was made against, or None."""
    if st.kind == "blocked":
        return None if st.where in removed else f"{display(st.where)} is {st.what} in your directory"
    if step.expect is not None:
        return None if st.entry() == tuple(step.expect[:2]) else "changed in your directory since the start"
    if st.kind == "absent" or (st.kind == "dir" and step.path in base_dirs):
        return None
    what = {"dir": "a directory", "file": "a file", "link": "a symlink"}.get(st.kind, st.what)
    return f"{what} was made there in your directory since the start"


def _perm(st: State, want: tuple) -> int | None:
    """Permission bits for a write: exact when recorded (undo); an existing file's own bits with the
    executable bits following the change (accept); None (umask) for a new file."""
    if len(want) == 3:
        return want[2]
    if st.kind != "file" or st.perm is None:
        return None
    exec_bits = (st.perm & 0o444) >> 2 if want[0] == EXEC else 0
    return (st.perm & ~0o111) | exec_bits


def _put(user: NoFollowTree, store, path: str, want: tuple, perm: int | None) -> None:
    if want[0] == LINK:
        user.write_link(path, store.read(want[1]))
    else:
        user.write_file(path, store.chunks(want[1]), want[0] == EXEC, perm)


def apply(ws, steps: list[Step], base_dirs: set) -> tuple[list[dict] | None, str, list[str]]:
    """Check, then write ``steps`` into the user's directory; on failure put back what was written.
    Returns (the files with their before/after states, "", []) or (None, the reason, the paths in
    conflict). ``base_dirs``: the directories of the state the steps start from."""
    user = NoFollowTree(ws.source)
    removed = {s.path for s in steps if s.want is None and s.expect is not None}
    states, conflicts, reasons = {}, [], []
    for s in steps:
        states[s.path] = st = user.state(s.path)
        why = _conflict(s, st, base_dirs, removed)
        if why:
            conflicts.append(display(s.path))
            reasons.append(f"{display(s.path)} ({why})")
    if conflicts:
        return None, (f"{len(conflicts)} file(s) are not as the change expects: "
                      f"{', '.join(reasons[:20])}"), conflicts
    order = sorted((s for s in steps if s.want is None), key=lambda s: s.path, reverse=True) \
        + sorted((s for s in steps if s.want is not None), key=lambda s: s.path)
    done = []
    try:
        for s in order:
            done.append(s)
            if s.want is None:
                user.remove(s.path)
            else:
                _put(user, ws.store, s.path, s.want, _perm(states[s.path], s.want))
    except Exception as e:  # noqa: BLE001 -- any failure half-way is put back, never raised
        left = _roll_back(ws, user, done, states)
        where = display(done[-1].path)
        tail = "every file was put back as it was" if not left else f"could not put back: {left}"
        return None, f"failed on {where} ({type(e).__name__}: {e}); {tail}", []
    files = []
    for s in steps:
        st = states[s.path]
        before = [st.mode, st.sha, st.perm if st.perm is not None else 0] if st.entry() else None
        files.append({"path": s.path, "before": before, "after": list(s.want[:2]) if s.want else None})
    return files, "", []


def _roll_back(ws, user: NoFollowTree, done: list[Step], states: dict) -> str:
    """Put every path of ``done`` back to its state before; '' or what could not be restored."""
    failed = []
    for s in reversed(done):
        st = states[s.path]
        try:
            if st.entry() is not None:
                _put(user, ws.store, s.path, (st.mode, st.sha), st.perm)
            else:  # nothing was there (or a directory, or a file on the way): take away what we wrote
                user.remove(s.path)
        except Exception as e:  # noqa: BLE001
            failed.append(f"{display(s.path)} ({e})")
    for d in reversed(user.made_dirs):
        user.remove_empty_dir(d)
    return ", ".join(failed)


def _same_directory(ws) -> bool:
    try:
        fd = os.open(ws.source, DIR_FLAGS)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        return (st.st_dev, st.st_ino) == tuple(ws.source_id)
    finally:
        os.close(fd)


def accept(ws, tree: str | None = None) -> Observation:
    if ws.closed:
        return error("the workspace was discarded; nothing to accept")
    try:
        return _accept(ws, tree)
    except Exception as e:  # noqa: BLE001 -- an expected failure is an answer, not an exception
        return error(f"accept failed, nothing was changed: {type(e).__name__}: {e}")


def _accept(ws, tree: str | None) -> Observation:
    from tapehead.tools.workspace.workspace import compare

    if tree is None:
        entries = ws.current()
        tree = ws.store.write_tree(entries)
    elif ws.store.kind(tree) != "tree":
        return error(f"accept refused: {tree!r} is not a tree of this workspace")
    else:
        entries = ws.store.entries(tree)
    changes = compare(ws.base_entries, entries)
    if not changes:
        return Observation("nothing to accept: the workspace matches where it started", data={"files": []})
    bad = [f"{display(c.path)} {why}" for c in changes if c.new_mode == LINK
           for why in [link_problem(c.path, ws.store.read(c.new_sha))] if why]
    if bad:
        return error(f"accept refused, nothing was changed: {len(bad)} symlink(s) would lead out of "
                     f"your directory: {', '.join(bad[:20])}; reset them (git_reset) first", refused=bad)
    if not _same_directory(ws):
        return error(f"accept refused, nothing was changed: {ws.source} is not the directory the "
                     f"workspace was made from (it was moved, replaced or is now a symlink)")
    absent = "000000"
    steps = [Step(c.path, None if c.base_mode == absent else (c.base_mode, c.base_sha),
                  None if c.new_mode == absent else (c.new_mode, c.new_sha)) for c in changes]
    files, why, conflicts = apply(ws, steps, Keep(ws.base_entries).dirs)
    if files is None:
        return error(f"accept refused, nothing was changed: {why}" if conflicts else f"accept {why}",
                     conflicts=conflicts)
    n = len(ws.accepts) + 1
    new_base = ws.store.commit(tree, ws.base, f"tapehead: accept #{n}")
    ws.accepts.append({"n": n, "old_base": ws.base, "new_base": new_base, "files": files})
    ws.base = new_base
    ws._set_base_entries(entries)
    ws.save()
    status = {c.path: c.status for c in changes}
    listing = "\n".join(f"{status[f['path']]} {display(f['path'])}" for f in files)
    return Observation(f"accepted {len(files)} file(s) into {ws.source} (undo restores the previous "
                       f"bytes):\n{listing}",
                       data={"files": [{"path": display(f["path"]), "status": status[f["path"]],
                                        "existed": f["before"] is not None} for f in files], "accept": n})


def undo(ws) -> Observation:
    if ws.closed:
        return error("the workspace was discarded; nothing to undo")
    if not ws.accepts:
        return error("nothing to undo: no accept was made from this workspace")
    try:
        return _undo(ws)
    except Exception as e:  # noqa: BLE001
        return error(f"undo failed, nothing was changed: {type(e).__name__}: {e}")


def _undo(ws) -> Observation:
    record = ws.accepts[-1]
    steps = [Step(f["path"], f["after"], f["before"]) for f in record["files"]]
    files, why, conflicts = apply(ws, steps, Keep(ws.base_entries).dirs)
    if files is None:
        if conflicts:
            return error(f"undo refused, nothing was changed: files were edited after the accept: {why}",
                         changed=conflicts)
        return error(f"undo {why}")
    ws.accepts.pop()
    ws.base = record["old_base"]
    ws._set_base_entries(ws.store.entries(ws.base))
    ws.save()
    return Observation(f"undid accept #{record['n']}: restored {len(files)} file(s) in {ws.source}",
                       data={"files": [display(f["path"]) for f in files]})
