"""Making a workspace: which of the user's files to copy, the ignore rules from outside the tree,
and the copy itself.

Convention (design of issue 12, "creation"; issue 13, "copy mode honours .gitignore"):

- *git mode* (the directory is inside a git work tree and not ignored there): the file list is the
  user's own ``git ls-files -z --cached --others --exclude-standard``, run by the user's git in the
  user's repository (``user_git``: their state before any sandbox ran, trusted as they trust their
  own ``git status``). Nothing is written into the user's ``.git``: no worktree, no branch, no
  objects. Submodules (gitlinks) and nested repositories are listed as directories and not copied.
- *copy mode* (anything else): the walker with the ignore rules (``.gitignore`` files, the user's
  ``core.excludesFile``).

Either way the files are copied by ``walk`` (nothing followed, specials skipped and reported) into
the private object store first and written into ``scratch/tree`` from there, so the base -- the
snapshot the workspace starts from -- is exactly the bytes the copy holds. The outer ignore rules
(the ``.gitignore`` files of the directories above a subdirectory workspace, ``info/exclude``,
``core.excludesFile``) are read here, once, only when they are regular files, and kept in the
workspace's private record: later snapshots never read them again.
"""

from __future__ import annotations

import os

from tapehead.tools.workspace.gitcmd import GitError, nul_split, user_git
from tapehead.tools.workspace.ignore import Ignore, parse, read_rules_file
from tapehead.tools.workspace.nofollow import NoFollowTree
from tapehead.tools.workspace.snapshot import hash_entry, read_entry
from tapehead.tools.workspace.store import Store
from tapehead.tools.workspace.walk import LINK, EXEC, Keep, Walk, walk


def repo_top(source: str) -> str | None:
    """The top of the git work tree holding ``source``, or None (copy mode) when there is none,
    when ``source`` is inside a ``.git`` directory, or when it is ignored by its repository."""
    try:
        top = os.path.realpath(os.fsdecode(user_git(source, "rev-parse", "--show-toplevel").strip()))
    except GitError:
        return None
    rel = os.path.relpath(source, top)
    if rel == ".":
        return top
    if rel.startswith(".."):
        return None
    try:  # an ignored directory inside a repository is not part of it: copy it instead
        user_git(top, "check-ignore", "-q", "--", rel)
        return None
    except GitError:
        return top


def user_listing(source: str) -> list[str]:
    """The user's files under ``source`` as their git sees them, relative to ``source``."""
    out = user_git(source, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return sorted({p for p in nul_split(out) if not p.endswith("/")})


def _excludes_file(cwd: str, scope: tuple[str, ...]) -> str:
    try:
        return os.fsdecode(user_git(cwd, "config", *scope, "--path", "--get", "core.excludesFile").strip())
    except GitError:
        xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
        return os.path.join(xdg, "git", "ignore")


def outer_rules(source: str, top: str | None) -> Ignore:
    """The ignore rules from outside the tree, highest precedence first."""
    sets = []
    if top is None:
        data = read_rules_file(_excludes_file(source, ("--global",)))
        return Ignore((parse(data, "", "core.excludesFile"),) if data else ())
    prefix = os.path.relpath(source, top).replace(os.sep, "/")
    prefix = "" if prefix == "." else prefix
    parts = prefix.split("/") if prefix else []
    for i in range(len(parts) - 1, -1, -1):  # the directories above the root, deepest first
        above = "/".join(parts[:i])
        data = read_rules_file(os.path.join(top, above, ".gitignore"))
        if data:
            sets.append(parse(data, "/".join(parts[i:]), f"{above or '.'}/.gitignore (above the root)"))
    try:
        exclude = os.fsdecode(user_git(top, "rev-parse", "--git-path", "info/exclude").strip())
        data = read_rules_file(os.path.join(top, exclude))
        if data:
            sets.append(parse(data, prefix, "info/exclude"))
    except GitError:
        pass
    data = read_rules_file(_excludes_file(top, ()))
    if data:
        sets.append(parse(data, prefix, "core.excludesFile"))
    return Ignore(tuple(sets))


class WorkspaceRefused(ValueError):
    """The user's directory cannot be copied as it is; ``str(e)`` is the one line to show."""


def _check_ignore_files(source: str, top: str, ignore: Ignore) -> None:
    """git opens every ignore file it meets, and blocks for ever on a FIFO (or reads a device
    without end): our own walk, which never opens one, finds them before the user's git runs."""
    bad = [f"{p} ({why.split(':')[0]})" for p, why in walk(source, ignore).skipped
           if p.rsplit("/", 1)[-1] == ".gitignore" and why.startswith(("a FIFO", "a character", "a block"))]
    try:
        where = user_git(top, "rev-parse", "--git-path", "info/exclude").strip()
        exclude = os.path.join(top, os.fsdecode(where))
    except GitError:
        exclude = None
    for path in (exclude, _excludes_file(top, ())):
        if path and os.path.exists(path) and not os.path.isfile(path):
            bad.append(f"{path} (not a regular file)")
    if bad:
        raise WorkspaceRefused(f"git would hang on special files in your repository: {', '.join(bad[:5])}; "
                               f"remove them (your own git status hangs on them too)")


def copy_in(source: str, top: str | None, ignore: Ignore, store: Store, tree: str) -> tuple[dict, Walk]:
    """Copy the user's files into ``tree`` through the store; return (path -> (mode, blob id), the
    walk, whose ``skipped`` says what was left out and why)."""
    if top is None:
        walked = walk(source, ignore)
    else:
        _check_ignore_files(source, top, ignore)
        walked = walk(source, None, Keep(user_listing(source)))
    writer = NoFollowTree(tree, scratch=True)
    marks, big = {}, []
    with store.batch() as batch:  # one pack for the whole copy
        for e in walked.entries:
            try:
                data = read_entry(os.path.join(source, e.path), e)
            except OSError as err:
                walked.skipped.append((e.path, f"not read ({err.strerror or err})"))
                continue
            if data is None:
                big.append(e)
                continue
            marks[e.path] = (e.mode, batch.add(data))
            _write(writer, e.path, e.mode, [data])
    entries = {p: (mode, batch.ids[mark]) for p, (mode, mark) in marks.items()}
    for e in big:  # larger than SMALL: streamed, never held whole
        sha = hash_entry(store, os.path.join(source, e.path), e)
        _write(writer, e.path, e.mode, store.chunks(sha))
        entries[e.path] = (e.mode, sha)
    return dict(sorted(entries.items())), walked


def _write(writer: NoFollowTree, path: str, mode: str, chunks) -> None:
    if mode == LINK:
        writer.write_link(path, b"".join(chunks))
    else:
        writer.write_file(path, chunks, mode == EXEC)
