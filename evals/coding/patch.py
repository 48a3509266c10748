"""Patches: the gold ``git diff`` of an instance, and applying an untrusted ``model_patch`` safely.

Convention (SWE-bench's ``model_patch`` is a unified ``git diff`` applied with ``git apply``): every
git command here runs through ``tapehead.tools.workspace.gitcmd.run_git`` (hooks off, no signing,
fixed identity) with an *empty* configuration on top -- no system or global config, HOME in a
temporary directory -- in a fresh temporary repository whose git directory lies outside the work
tree, so nothing in the patch or the repository can configure git. A patch is refused, with one
line saying why, when it is empty, too large, not text (NUL bytes, a ``GIT binary patch``), when
``git apply --check`` rejects it (malformed, does not apply, a path with ``..`` or in ``.git``, a
path beyond a symlink), when git's own reading of it (``--numstat``, ``--summary``) names a path
our rules refuse (``repo_files.path_problem``) or creates a symlink or submodule, and -- checked on
the tree after applying, whatever the parsers said -- when the result holds anything but regular
files.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass

from tapehead.tools.workspace.gitcmd import GitError, nul_split, run_git
from .repo_files import RepoRefused, path_problem, read_tree, write_files

MAX_PATCH_BYTES = 16 << 20
_BAD_MODE = re.compile(r"^ (?:create|delete) mode (120000|160000) |^ mode change \d+ => (120000|160000) ", re.M)


@dataclass(frozen=True)
class Applied:
    ok: bool
    reason: str = ""  # why not, in one line
    paths: tuple[str, ...] = ()  # the files the patch touches (git's reading)


def empty_config_env(home: str) -> dict:
    """Environment for git that reads no configuration but ours (``run_git`` adds its pinned -c flags)."""
    return {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "HOME": home, "XDG_CONFIG_HOME": home,
            "GIT_ATTR_NOSYSTEM": "1", "GIT_OPTIONAL_LOCKS": "0"}


class _TempRepo:
    """A fresh repository: git dir ``scratch/gitdir``, work tree given; empty configuration."""

    def __init__(self, scratch: str, work_tree: str):
        self.work_tree = work_tree
        self.env = empty_config_env(scratch)
        self.env.update(GIT_DIR=os.path.join(scratch, "gitdir"), GIT_WORK_TREE=work_tree,
                        GIT_INDEX_FILE=os.path.join(scratch, "index"))
        os.makedirs(scratch, exist_ok=True)
        run_git(scratch, "init", "-q", "--template=", os.path.join(scratch, "gitdir"), env=self.env)

    def git(self, *args: str, stdin: bytes | None = None, env: dict | None = None) -> str:
        return run_git(self.work_tree, *args, env={**self.env, **(env or {})}, stdin=stdin)


def make_patch(before: dict[str, bytes], after: dict[str, bytes], before_exe=frozenset(),
               after_exe=frozenset()) -> str:
    """The unified ``git diff`` (a/ b/ prefixes, no renames) that turns ``before`` into ``after``."""
    with tempfile.TemporaryDirectory(prefix="tapehead-patch-") as tmp:
        trees = []
        for name, files, exe in (("before", before, before_exe), ("after", after, after_exe)):
            tree_dir = os.path.join(tmp, name)
            write_files(files, tree_dir, exe)
            repo = _TempRepo(os.path.join(tmp, name + "-git"), tree_dir)
            repo.git("add", "-A", "--", ".")
            trees.append((repo, repo.git("write-tree").strip()))
        # both trees into one object store: read the "after" tree's objects through an alternate
        first, second = trees[0][0], trees[1][0]
        alt = os.path.join(first.env["GIT_DIR"], "objects", "info", "alternates")
        with open(alt, "w") as f:
            f.write(os.path.join(second.env["GIT_DIR"], "objects") + "\n")
        return first.git("diff", "--no-color", "--no-renames", "--no-ext-diff", "--no-textconv",
                         trees[0][1], trees[1][1])


def check_text(patch: object) -> str | None:
    """Why ``patch`` is not a text patch we will hand to git, or None."""
    if not isinstance(patch, str):
        return f"model_patch must be a string, got {type(patch).__name__}"
    if not patch.strip():
        return "empty patch"
    if len(patch.encode("utf-8", "surrogatepass")) > MAX_PATCH_BYTES:
        return f"patch larger than {MAX_PATCH_BYTES >> 20} MiB"
    if "\0" in patch:
        return "binary junk in the patch (NUL bytes)"
    if "GIT binary patch" in patch or re.search(r"^Binary files .* differ$", patch, re.M):
        return "binary patches are refused (text files only)"
    try:
        patch.encode("utf-8")
    except UnicodeEncodeError:
        return "the patch is not valid UTF-8 text"
    return None


def apply_patch(repo_dir: str, patch: str, scratch: str | None = None) -> Applied:
    """Check and apply ``patch`` to the files in ``repo_dir`` (which must hold no ``.git``). On any
    refusal the tree is left as it was (``git apply`` is atomic; the post-check restores it)."""
    why = check_text(patch)
    if why:
        return Applied(False, why)
    if not patch.endswith("\n"):
        patch += "\n"
    own = scratch is None
    scratch = scratch or tempfile.mkdtemp(prefix="tapehead-apply-")
    try:
        os.makedirs(scratch, exist_ok=True)
        repo = _TempRepo(scratch, repo_dir)
        data = patch.encode("utf-8")
        try:
            repo.git("apply", "--check", "--whitespace=nowarn", "-", stdin=data)
            numstat = repo.git("apply", "--numstat", "-z", "-", stdin=data)
            summary = repo.git("apply", "--summary", "-", stdin=data)
        except GitError as e:
            return Applied(False, "does not apply: " + _first_error(str(e)))
        paths = _numstat_paths(numstat)
        if not paths:
            return Applied(False, "the patch changes no file")
        for p in paths:
            why = path_problem(p)
            if why:
                return Applied(False, f"refused: {why}", tuple(paths))
        if numstat.startswith("-\t") or "\0-\t-\t" in numstat:
            return Applied(False, "binary patches are refused (text files only)", tuple(paths))
        m = _BAD_MODE.search(summary)
        if m:
            kind = "symlink" if "120000" in m.group(0) else "submodule"
            return Applied(False, f"refused: the patch makes a {kind} ({m.group(0).strip()})", tuple(paths))
        before = read_tree(repo_dir)
        try:
            repo.git("apply", "--whitespace=nowarn", "-", stdin=data)
        except GitError as e:
            return Applied(False, "does not apply: " + _first_error(str(e)), tuple(paths))
        try:
            read_tree(repo_dir)  # whatever the parsers said: only regular files may result
        except RepoRefused as e:
            _restore(repo_dir, *before)
            return Applied(False, f"refused after applying: {e}", tuple(paths))
        return Applied(True, "", tuple(paths))
    finally:
        if own:
            shutil.rmtree(scratch, ignore_errors=True)


def _restore(repo_dir: str, files: dict[str, bytes], exe) -> None:
    for name in os.listdir(repo_dir):
        full = os.path.join(repo_dir, name)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)
    os.rmdir(repo_dir)
    write_files(files, repo_dir, exe)


def _numstat_paths(out: str) -> list[str]:
    """Paths of ``git apply --numstat -z`` (a rename gives ``added\\tdeleted\\t\\0old\\0new``)."""
    fields, paths, i = nul_split(out), [], 0
    while i < len(fields):
        head = fields[i].split("\t")
        if len(head) >= 3 and head[2]:
            paths.append(head[2])
            i += 1
        else:  # rename/copy: the two paths follow as their own fields
            paths.extend(fields[i + 1:i + 3])
            i += 3
    return paths


def _first_error(message: str) -> str:
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    for ln in lines:
        if "error:" in ln:
            ln = ln[ln.index("error:") + 6:].strip()
            return (ln[:-1] if ln.count("'") % 2 else ln)[:300]  # GitPython quotes stderr: drop its closing quote
    return (lines[-1] if lines else message)[:300]
