"""The workspace: a scratch copy of the user's directory where every tool works.

Convention (DESIGN.md, "Tools"): tools read, edit and run code only in the scratch copy; the user's
own tree changes only on ``accept`` (``tools/workspace/accept.py``), which can be undone.

How the copy is made:

- *git mode* (the directory is inside a git work tree): the user's current working state -- HEAD
  plus staged, unstaged and untracked-not-ignored files -- is written as a *base commit* through a
  temporary index (the user's index and files are not touched; only new objects, a scratch branch
  ``tapehead/scratch-*`` and a worktree registration are added to the user's ``.git``), and checked
  out with ``git worktree add`` into the scratch directory. If the directory is a subdirectory of
  the repository, the tools' root is that subdirectory of the worktree.
- *copy mode* (anything else): a plain copy (symlinks kept as links), made a git repository whose
  data lives outside the tree (``scratch/git``), with the copy committed as the base.

Either way the workspace root holds a ``.git`` *file* (hidden from and refused to the tools), and
"where it started" is the base commit: status, diff and reset compare a snapshot of the current
tree (``git add -A`` into a private index, so .gitignore is honoured) against it. Submodule
contents and empty directories are not carried over (git does not track them).

Layout of the scratch directory: ``tree/`` (the worktree or copy), ``tmp/`` (HOME and TMPDIR of
sandboxed runs), ``git/`` (copy mode), ``snap.index``, ``sandbox-root/`` (mount point used inside
the sandbox), ``accepts/`` (backups for undo).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass

import git

from tapehead.tools.workspace.gitcmd import GitError, nul_split, run_git


class WorkspaceClosed(RuntimeError):
    pass


@dataclass(frozen=True)
class Change:
    status: str  # A (added), M (modified), D (deleted), T (type changed, e.g. file <-> symlink)
    path: str  # relative to the workspace root, '/'-separated
    base_mode: str  # "000000" when absent
    new_mode: str
    base_sha: str
    new_sha: str


class Workspace:
    """Create with ``Workspace.create(directory)``; ``discard()`` when done."""

    def __init__(self, source: str, scratch: str, mode: str, prefix: str, base: str,
                 branch: str | None, repo_top: str | None):
        self.source = source  # the user's directory (real path)
        self.scratch = scratch
        self.mode = mode  # "git-worktree" or "copy"
        self.prefix = prefix  # the user's directory relative to the repository top ("" if top)
        self.base = base  # commit: where the workspace started (moves on accept / undo)
        self.start = base  # commit the workspace was created from
        self.branch = branch  # scratch branch in the user's repository (git mode)
        self.repo_top = repo_top  # the user's repository top (git mode)
        self.top = os.path.join(scratch, "tree")
        self.root = os.path.join(self.top, prefix) if prefix else self.top
        self.tmp = os.path.join(scratch, "tmp")
        self.snap_index = os.path.join(scratch, "snap.index")
        self.created = time.time()
        self.accepts: list[dict] = []  # accept records (tools/workspace/accept.py), newest last
        self.closed = False

    # ---------------------------------------------------------------- creation
    @classmethod
    def create(cls, directory: str, scratch_parent: str | None = None) -> "Workspace":
        source = os.path.realpath(directory)
        if not os.path.isdir(source):
            raise NotADirectoryError(f"not a directory: {directory}")
        scratch = tempfile.mkdtemp(prefix="tapehead-ws-", dir=scratch_parent)
        for sub in ("tmp", "sandbox-root", "accepts"):
            os.makedirs(os.path.join(scratch, sub))
        try:
            repo = _find_repo(source)
            if repo is not None:
                return cls._from_repo(source, scratch, repo)
            return cls._from_copy(source, scratch)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise

    @classmethod
    def _from_repo(cls, source: str, scratch: str, repo: git.Repo) -> "Workspace":
        top = os.path.realpath(repo.working_tree_dir)
        prefix = os.path.relpath(source, top).replace(os.sep, "/")
        prefix = "" if prefix == "." else prefix
        index = os.path.join(scratch, "base.index")
        user_index = run_git(top, "rev-parse", "--git-path", "index").strip()
        user_index = os.path.join(top, user_index)
        if os.path.exists(user_index):  # a copy keeps git's stat cache: only changed files are hashed
            shutil.copyfile(user_index, index)
        env = {"GIT_INDEX_FILE": index}
        run_git(top, "add", "-A", "--", ".", env=env)
        tree = run_git(top, "write-tree", env=env).strip()
        try:
            parent = ["-p", repo.head.commit.hexsha]
        except ValueError:  # unborn HEAD: a repository without commits
            parent = []
        base = run_git(top, "commit-tree", tree, *parent, "-m", "tapehead: workspace base "
                       "(the user's working state)").strip()
        branch = f"tapehead/scratch-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        tree_dir = os.path.join(scratch, "tree")
        run_git(top, "worktree", "add", "-q", "-b", branch, tree_dir, base)
        ws = cls(source, scratch, "git-worktree", prefix, base, branch, top)
        ws._init_snap_index(os.path.join(tree_dir, run_git(tree_dir, "rev-parse", "--git-path",
                                                           "index").strip()))
        os.makedirs(ws.root, exist_ok=True)
        os.remove(index)
        return ws

    @classmethod
    def _from_copy(cls, source: str, scratch: str) -> "Workspace":
        tree_dir = os.path.join(scratch, "tree")
        shutil.copytree(source, tree_dir, symlinks=True)
        gitdir = os.path.join(scratch, "git")
        run_git(scratch, "init", "-q", "--separate-git-dir", gitdir, tree_dir)
        run_git(tree_dir, "add", "-A", "--", ".")
        tree = run_git(tree_dir, "write-tree").strip()
        base = run_git(tree_dir, "commit-tree", tree, "-m", "tapehead: workspace base (copy)").strip()
        run_git(tree_dir, "update-ref", "refs/heads/tapehead-base", base)
        ws = cls(source, scratch, "copy", "", base, None, None)
        ws._init_snap_index(os.path.join(gitdir, "index"))
        return ws

    def _init_snap_index(self, index: str) -> None:
        shutil.copyfile(index, self.snap_index)

    # ---------------------------------------------------------------- state
    def check_open(self) -> None:
        if self.closed:
            raise WorkspaceClosed("the workspace was discarded; create a new one")

    def git(self, *args: str, binary: bool = False, snap: bool = False, stdin: bytes | None = None):
        """Run git in the workspace root (``snap``: against the private snapshot index)."""
        self.check_open()
        env = {"GIT_INDEX_FILE": self.snap_index} if snap else None
        return run_git(self.root, *args, env=env, binary=binary, stdin=stdin)

    def snapshot_tree(self) -> str:
        """The tree object of the workspace as it is now (non-ignored files; incremental)."""
        self.git("add", "-A", "--", ":/", snap=True)
        return self.git("write-tree", snap=True).strip()

    def changes(self, path: str = ".", against: str | None = None) -> list[Change]:
        """What differs from the base commit, under ``path`` (relative to the root)."""
        tree = self.snapshot_tree()
        out = self.git("diff-tree", "-r", "-z", "--no-renames", against or self.base, tree, "--",
                       self._spec(path))
        fields = nul_split(out)
        changes = []
        for meta, p in zip(fields[0::2], fields[1::2]):
            bm, nm, bs, ns, st = meta.lstrip(":").split(" ")
            changes.append(Change(st[0], self._from_top(p), bm, nm, bs, ns))
        return changes

    def diff_text(self, path: str = ".") -> str:
        tree = self.snapshot_tree()
        return self.git("diff", "--no-renames", "--no-color", "--relative", self.base, tree, "--",
                        self._spec(path))

    def reset(self, path: str = ".") -> list[Change]:
        """Put files under ``path`` back as they were at the base commit (new files are deleted)."""
        changes = self.changes(path)
        for c in changes:
            if c.status in ("A", "T"):
                full = os.path.join(self.root, c.path)
                if os.path.islink(full) or os.path.isfile(full):
                    os.unlink(full)
                if c.status == "A":
                    _prune_empty_dirs(os.path.dirname(full), self.root)
        restore = [c.path for c in changes if c.status != "A"]
        if restore:
            self.git("restore", "--source", self.base, "--worktree", "--pathspec-from-file=-",
                     "--pathspec-file-nul", stdin="\0".join(self._spec(p) for p in restore).encode())
        return changes

    def list_files(self, path: str = ".") -> list[str]:
        """Files under ``path`` (relative to the root), .gitignore honoured, sorted."""
        out = self.git("ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                       self._spec(path))
        return sorted({p for p in nul_split(out) if os.path.lexists(os.path.join(self.root, p))})

    def _spec(self, path: str) -> str:
        """A pathspec for ``path`` relative to the root, literal (no globbing)."""
        rel = "" if path in ("", ".") else path
        full = "/".join(x for x in (self.prefix, rel) if x)
        return f":(top,literal){full}" if full else ":(top)"

    def _from_top(self, p: str) -> str:
        return p[len(self.prefix) + 1:] if self.prefix else p

    # ---------------------------------------------------------------- user-facing
    def accept(self):
        from tapehead.tools.workspace.accept import accept
        return accept(self)

    def undo(self):
        from tapehead.tools.workspace.accept import undo
        return undo(self)

    def discard(self) -> str:
        """Drop the scratch copy, and in git mode the worktree registration and scratch branch."""
        if self.closed:
            return "the workspace was already discarded"
        notes = []
        if self.mode == "git-worktree":
            for args in (("worktree", "remove", "--force", "--force", self.top),
                         ("worktree", "prune"), ("branch", "-D", self.branch)):
                try:
                    run_git(self.repo_top, *args)
                except GitError as e:
                    notes.append(str(e))
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.closed = True
        return "discarded the workspace" + (f" ({'; '.join(notes)})" if notes else "")

    def snapshot(self) -> dict:
        return {"source": self.source, "mode": self.mode, "root": self.root, "prefix": self.prefix,
                "scratch": self.scratch, "branch": self.branch, "start": self.start,
                "base": self.base, "accepts": len(self.accepts), "closed": self.closed}

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.discard()


def _prune_empty_dirs(directory: str, stop: str) -> None:
    while directory.startswith(stop.rstrip(os.sep) + os.sep) and os.path.isdir(directory) \
            and not os.path.islink(directory) and not os.listdir(directory):
        os.rmdir(directory)
        directory = os.path.dirname(directory)


def _find_repo(source: str) -> git.Repo | None:
    try:
        repo = git.Repo(source, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    if repo.bare or repo.working_tree_dir is None:
        return None
    top = os.path.realpath(repo.working_tree_dir)
    rel = os.path.relpath(source, top)
    if rel.split(os.sep)[0] == ".git":
        return None
    try:  # an ignored directory inside a repository is not part of it: copy it instead
        if rel != "." and run_git(top, "check-ignore", "-q", "--", rel) == "":
            return None
    except GitError:
        pass
    return repo
