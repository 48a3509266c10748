"""Running git for a workspace: the only code that spawns git, in two well-separated ways.

Convention (issue 12, class 1; ``docs/tools.md``, "Trust"): a host-side git must never read
configuration, attributes, hooks or drivers from a directory the sandbox could write, because any
of them can name a program for git to run (``filter.*.clean``, ``core.fsmonitor``,
``diff.*.textconv``, ``core.pager``, hooks, a ``gitdir:`` file pointing at another ``config``).

- ``PrivateGit`` runs git on the workspace's *private* git directory (``scratch/git``), which the
  sandbox never mounts. ``GIT_DIR`` is explicit and there is NO work tree, so git reads neither the
  scratch tree nor anything in it; the environment is built from nothing (not inherited: no
  ``GIT_*`` variable of the caller leaks in), system and global configuration are off
  (``GIT_CONFIG_NOSYSTEM``, ``GIT_CONFIG_GLOBAL=/dev/null``, ``HOME`` and ``XDG_CONFIG_HOME`` an
  empty private directory), system attributes are off, prompts are off, and the ``-c`` settings in
  ``PINNED`` override anything left. cwd is the private git directory itself.
- ``user_git`` runs git in the *user's own* repository, once, when a workspace is made (the file
  list, the repository top, the user's excludes): the user's state before any sandbox ran, which
  the user trusts as they trust their own ``git status``. Hooks and fsmonitor are still pinned off.

Both run ``subprocess.run`` with an explicit environment and a timeout rather than GitPython's
``Git.execute``, which merges ``os.environ`` into every call. Paths go in and out NUL-separated as
bytes; a failure raises ``GitError`` with git's message.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git knows it without storing it
PINNED = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "commit.gpgsign=false",
          "-c", "core.autocrlf=false", "-c", "core.quotepath=false", "-c", "gc.auto=0",
          "-c", "core.pager=cat", "-c", "color.ui=false", "-c", "core.attributesFile=/dev/null",
          "-c", f"attr.tree={EMPTY_TREE}", "-c", "diff.external=", "-c", "core.protectNTFS=false",
          "-c", "core.protectHFS=false", "-c", "core.untrackedCache=false", "-c", "core.splitIndex=false",
          "-c", "submodule.recurse=false", "-c", "init.defaultBranch=unborn")
IDENTITY = {"GIT_AUTHOR_NAME": "tapehead", "GIT_AUTHOR_EMAIL": "tapehead@localhost",
            "GIT_COMMITTER_NAME": "tapehead", "GIT_COMMITTER_EMAIL": "tapehead@localhost"}
TIMEOUT_S = 300.0


class GitError(RuntimeError):
    pass


def _git_binary() -> str:
    found = shutil.which("git")
    if found is None:
        raise GitError("git is not installed (the workspace needs git for its private object store)")
    return found


def _spawn(pinned: tuple, args: tuple, cwd: str, env: dict, stdin: bytes | None, timeout: float) -> bytes:
    what = " ".join(args[:2])
    feed = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    try:
        r = subprocess.run([_git_binary(), *pinned, *args], cwd=cwd, env=env, capture_output=True,
                           timeout=timeout, **feed)
    except subprocess.TimeoutExpired:
        raise GitError(f"git {what} did not finish in {timeout:g} s") from None
    if r.returncode != 0:
        raise GitError(f"git {what} failed: {r.stderr.decode('utf-8', 'replace').strip()[:500]}")
    return r.stdout


class PrivateGit:
    """git on one private git directory, with nothing read from anywhere else."""

    def __init__(self, gitdir: str, home: str):
        self.gitdir = gitdir
        self.env = {"PATH": os.environ.get("PATH") or "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C",
                    "HOME": home, "XDG_CONFIG_HOME": home, "GIT_DIR": gitdir,
                    "GIT_INDEX_FILE": os.path.join(gitdir, "index"), "GIT_CONFIG_NOSYSTEM": "1",
                    "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_ATTR_NOSYSTEM": "1",
                    "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "GIT_NO_REPLACE_OBJECTS": "1",
                    **IDENTITY}

    def __call__(self, *args: str, stdin: bytes | None = None, cwd: str | None = None) -> bytes:
        """Run ``git ARGS``; return stdout as bytes; raise GitError."""
        return _spawn(PINNED, args, cwd or self.gitdir, self.env, stdin, TIMEOUT_S)

    def text(self, *args: str, stdin: bytes | None = None) -> str:
        return self(*args, stdin=stdin).decode("utf-8", "surrogateescape").strip()

    @contextlib.contextmanager
    def feed(self, *args: str):
        """Run ``git ARGS`` with its stdin streamed from the block (``fast-import``); raise GitError
        when it fails. Nothing is read from its stdout."""
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen([_git_binary(), *PINNED, *args], cwd=self.gitdir, env=self.env,
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
            try:
                yield proc.stdin
                proc.stdin.close()
                rc = proc.wait(timeout=TIMEOUT_S)
            except BaseException as e:
                proc.kill()
                proc.wait()
                if not isinstance(e, (BrokenPipeError, subprocess.TimeoutExpired)):
                    raise
                rc = proc.returncode or 1
            if rc != 0:
                err.seek(0)
                why = err.read(500).decode("utf-8", "replace").strip()
                raise GitError(f"git {' '.join(args[:1])} failed: {why}")


def user_git(cwd: str, *args: str, timeout: float = TIMEOUT_S) -> bytes:
    """Run ``git ARGS`` in the user's own repository (their configuration; hooks and fsmonitor
    off); return stdout as bytes; raise GitError."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    return _spawn(PINNED[:4], args, cwd, env, None, timeout)


def run_git(cwd: str, *args: str, env: dict | None = None, stdin: bytes | None = None,
            timeout: float = TIMEOUT_S) -> str:
    """git in a repository of our own making (the grader's temporary ones, ``evals/coding/patch.py``:
    git directory outside the work tree, nothing in them the user or a sandbox configured), with an
    environment built from nothing -- no system or global configuration, no inherited ``GIT_*``
    variable -- plus ``env`` (``GIT_DIR``, ``GIT_WORK_TREE``, ``HOME``, ...) and the pinned settings.
    Returns stdout as text; raises GitError."""
    base = {"PATH": os.environ.get("PATH") or "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_ATTR_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0", **IDENTITY}
    base.update(env or {})
    return _spawn(PINNED, args, cwd, base, stdin, timeout).decode("utf-8", "surrogateescape")


def nul_split(data: bytes | str) -> list[str]:
    """NUL-separated paths from git, as str (non-UTF-8 bytes kept by surrogateescape)."""
    if isinstance(data, str):  # run_git's text
        data = os.fsencode(data)
    return [os.fsdecode(p) for p in data.split(b"\0") if p]
