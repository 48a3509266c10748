"""Shared pieces of the hostile-workspace tests: a fake secret outside the workspace, a marker file a
planted program would create, a digest of a whole tree that never opens a special file, and the
gauntlet of every host-side operation.

Imported by the test modules (``from hostile_helpers import ...``), like ``workspace_helpers``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat

import pytest
from workspace_helpers import make_user_repo

from tapehead.tools.code.workspace_tools import tools_by_name
from tapehead.tools.sandbox.sandbox import Limits
from tapehead.tools.workspace.workspace import Workspace

SECRET = b"FAKE-PRIVATE-KEY-5b1e0c93"
LIMITS = Limits(timeout_s=10, cpu_s=5, memory_bytes=512 << 20, file_bytes=48 << 20, nproc=32)


def digest_all(root) -> dict:
    """Every entry under ``root``, ``.git`` included: path -> (kind, content hash or link target,
    permission bits). Directories count (an empty one too); special files are recorded by kind and
    never opened."""
    out = {}
    root = str(root)
    for dirpath, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p), 0)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    out[rel] = ("file", hashlib.sha256(f.read()).hexdigest(), stat.S_IMODE(st.st_mode))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", "", stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("special", stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode))
    return out


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """A user repository (git mode) and the same files without ``.git`` (copy mode), made once."""
    base = tmp_path_factory.mktemp("templates")
    repo = make_user_repo(base / "git")
    plain = shutil.copytree(repo, base / "copy", symlinks=True)
    shutil.rmtree(os.path.join(plain, ".git"))
    return {"git": str(repo), "copy": str(plain)}


@pytest.fixture
def world(tmp_path, templates, request):
    """A fresh copy of the template for ``request.param`` ("git" or "copy"), its workspace and
    tools, a secret outside both, and where a planted program would leave its marker."""
    user = shutil.copytree(templates[request.param], tmp_path / "user", symlinks=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "id_rsa").write_bytes(SECRET)
    (tmp_path / "scratch").mkdir()
    ws = Workspace.create(str(user), scratch_parent=str(tmp_path / "scratch"))
    assert ws.mode == request.param
    w = {"user": str(user), "outside": str(outside), "secret": str(outside / "id_rsa"),
         "marker": str(tmp_path / "PWNED"), "ws": ws, "tools": tools_by_name(ws, LIMITS)}
    yield w
    ws.discard()


def gauntlet(tools, paths=()) -> list:
    """Every host-side read and git operation a policy can ask for; their observations."""
    obs = [tools["git_status"].call(), tools["git_diff"].call(), tools["list_files"].call(),
           tools["grep"].call(pattern="."), tools["grep"].call(pattern="PRIVATE-KEY"),
           tools["find_definition"].call(name="main"), tools["find_calls"].call(name="helper")]
    for p in ("src/app.py", ".gitignore", ".gitattributes", *paths):
        obs += [tools["read_file"].call(path=p), tools["outline"].call(path=p),
                tools["git_status"].call(path=p), tools["git_diff"].call(path=p)]
    return obs


def leaked(observations) -> list[str]:
    """The observations that carry the secret's bytes (in text or data)."""
    marker = SECRET.decode()
    return [o.text[:200] for o in observations
            if marker in o.text or marker in json.dumps(o.data, default=str)]


def store_holds_secret(ws) -> bool:
    """Whether any object of the workspace's private store holds the secret's bytes."""
    return any(SECRET in ws.store.odb.stream(sha).read() for sha in ws.store.odb.sha_iter())
