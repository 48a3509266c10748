"""Shared fixtures for the workspace tool tests: real temporary git repositories and directories.

Imported by the test modules (``from workspace_helpers import ...``) rather than a conftest, so the
tests/tools folder stays free for other tools' tests.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess

import pytest

from tapehead.tools.code.workspace_tools import tools_by_name
from tapehead.tools.sandbox.sandbox import Limits
from tapehead.tools.workspace.workspace import Workspace

SECRET = "TOP-SECRET-7f3a9c"


def sh(cwd, *args: str) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def git(cwd, *args: str) -> str:
    return sh(cwd, "git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false",
              *args)


def tree_digest(root, skip_git: bool = True) -> dict:
    """Every file and link under ``root``: path -> (kind, sha256 or link target, permission bits)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        if skip_git and os.path.realpath(dirpath) == os.path.realpath(root) and ".git" in dirs:
            dirs.remove(".git")
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p), 0)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", hashlib.sha256(f.read()).hexdigest(), st.st_mode & 0o7777)
    return out


def make_user_repo(path) -> str:
    """A repository with every kind of working state: committed, staged, unstaged, untracked,
    ignored, deleted, an executable, links inside and outside."""
    path = str(path)
    os.makedirs(os.path.join(path, "src"))
    files = {
        "README.md": "# demo\n",
        ".gitignore": "build/\n*.log\n",
        "src/app.py": "from src.util import helper\n\n\ndef main():\n    return helper(2)\n",
        "src/util.py": "def helper(x):\n    return x * 2\n",
        "run.sh": "#!/bin/sh\necho run\n",
        "secret.txt": SECRET + "\n",
        "gone.txt": "to be deleted\n",
    }
    for rel, text in files.items():
        with open(os.path.join(path, rel), "w") as f:
            f.write(text)
    os.chmod(os.path.join(path, "run.sh"), 0o755)
    os.symlink("src/app.py", os.path.join(path, "link_in"))
    os.symlink("/etc/hostname", os.path.join(path, "link_out"))
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "init")
    with open(os.path.join(path, "src/util.py"), "a") as f:  # staged
        f.write("\n\ndef staged():\n    return 1\n")
    git(path, "add", "src/util.py")
    with open(os.path.join(path, "src/app.py"), "a") as f:  # unstaged
        f.write("\n\ndef unstaged():\n    return main()\n")
    with open(os.path.join(path, "notes.txt"), "w") as f:  # untracked
        f.write("untracked notes\n")
    os.makedirs(os.path.join(path, "build"))
    with open(os.path.join(path, "build", "out.bin"), "wb") as f:  # ignored
        f.write(b"\0ignored")
    with open(os.path.join(path, "debug.log"), "w") as f:  # ignored
        f.write("log\n")
    os.remove(os.path.join(path, "gone.txt"))  # deleted, unstaged
    return path


@pytest.fixture
def user_repo(tmp_path):
    return make_user_repo(tmp_path / "user")


@pytest.fixture
def ws(user_repo, tmp_path):
    w = Workspace.create(user_repo, scratch_parent=str(tmp_path))
    yield w
    w.discard()


HOSTILE_LIMITS = Limits(timeout_s=5, cpu_s=3, memory_bytes=512 << 20, file_bytes=1 << 20, nproc=16)


@pytest.fixture
def tools(ws):
    return tools_by_name(ws, HOSTILE_LIMITS)
