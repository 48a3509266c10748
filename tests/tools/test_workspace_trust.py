"""What the workspace trusts (docs/tools.md, "Trust"): host git only on the private git directory,
accept that never follows a link the user made after the start, reattach that checks a recorded
snapshot before using any path in it, and a user's directory that holds special files."""

import json
import os
import shutil
import stat

import pytest
from hostile_helpers import SECRET, digest_all
from workspace_helpers import git, make_user_repo, user_repo, ws  # noqa: F401

from tapehead.agent.graph.toolset import Toolset
from tapehead.tools.code.workspace_tools import tools_by_name
from tapehead.tools.workspace.workspace import Workspace, WorkspaceGone, WorkspaceInvalid, WorkspaceRefused

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def outside(tmp_path):
    d = tmp_path / "outside"
    d.mkdir()
    (d / "id_rsa").write_bytes(SECRET)
    return str(d)


def put(root, rel, text="x\n"):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


# ------------------------------------------------------------------ host git
def test_host_git_runs_only_on_the_private_git_directory(user_repo, tmp_path, monkeypatch):
    """A logging wrapper in front of the real git records every call's cwd and environment."""
    log, bindir = tmp_path / "git.log", tmp_path / "bin"
    bindir.mkdir()
    real = shutil.which("git")
    (bindir / "git").write_text(f'#!/bin/sh\nsub() {{ while [ "$1" = -c ]; do shift 2; done; echo "$1"; }}\n'
                                f'printf "%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n" "$PWD" "${{GIT_DIR-}}" '
                                f'"${{GIT_WORK_TREE-}}" "${{HOME-}}" "${{GIT_CONFIG_GLOBAL-}}" "$(sub "$@")" >> {log}\n'
                                f'exec {real} "$@"\n')
    os.chmod(bindir / "git", 0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    w = Workspace.create(user_repo, scratch_parent=str(tmp_path))
    created = log.read_text().splitlines()
    tools = tools_by_name(w)
    put(w.root, "src/app.py", "def main():\n    return 3\n")
    put(w.root, "new.py")
    for name, args in (("git_status", {}), ("git_diff", {}), ("list_files", {}), ("grep", {"pattern": "x"}),
                       ("find_definition", {"name": "main"})):
        assert tools[name].call(**args).ok
    assert w.accept().ok and w.undo().ok
    assert tools["git_reset"].call(path=".").ok
    w.discard()
    calls = [line.split("\t") for line in log.read_text().splitlines()]
    gitdir = os.path.join(w.scratch, "git")
    user_calls = [c for c in calls if c[1] != gitdir]
    # the user's own git ran only while the workspace was made, only in the user's directory,
    # and only to read: where the repository is, what is ignored, the file list, excludes
    assert user_calls and all(c in [x.split("\t") for x in created] for c in user_calls)
    assert {c[5] for c in user_calls} <= {"rev-parse", "check-ignore", "ls-files", "config"}
    assert all(c[0] == user_repo and c[1] == "" for c in user_calls)
    private = [c for c in calls if c[1] == gitdir]
    assert len(private) > len([x for x in created if gitdir in x])  # the operations used git too
    for cwd, gdir, work_tree, home, global_cfg, _ in private:
        assert gdir == gitdir and work_tree == "" and home == os.path.join(w.scratch, "home")
        assert global_cfg == "/dev/null" and cwd in (gitdir, w.scratch)


def test_no_git_in_the_tree_and_nothing_written_to_the_users_git(user_repo, tmp_path):
    before = digest_all(os.path.join(user_repo, ".git"))
    w = Workspace.create(user_repo, scratch_parent=str(tmp_path))
    assert not os.path.lexists(os.path.join(w.root, ".git"))
    put(w.root, "README.md", "changed\n")
    assert w.accept().ok
    assert digest_all(os.path.join(user_repo, ".git")) == before
    assert " M README.md" in git(user_repo, "status", "--porcelain")  # an unstaged change
    w.discard()
    assert digest_all(os.path.join(user_repo, ".git")) == before


# ------------------------------------------------------------------ accept (class 10)
def test_a_symlink_the_user_made_at_a_new_directory_is_a_conflict(ws, user_repo, outside):
    put(ws.root, "newdir/mod.py", "M = 1\n")
    os.symlink(outside, os.path.join(user_repo, "newdir"))  # made after the workspace
    before, out_before = digest_all(user_repo), digest_all(outside)
    obs = ws.accept()
    assert not obs.ok and "nothing was changed" in obs.text and "newdir is a symlink" in obs.text
    assert obs.data["conflicts"] == ["newdir/mod.py"]
    assert digest_all(user_repo) == before and digest_all(outside) == out_before


def test_a_directory_the_user_replaced_by_a_symlink_is_a_conflict(ws, user_repo, outside):
    shutil.copytree(os.path.join(user_repo, "src"), os.path.join(outside, "src"))
    shutil.rmtree(os.path.join(user_repo, "src"))
    os.symlink(os.path.join(outside, "src"), os.path.join(user_repo, "src"))
    put(ws.root, "src/app.py", "# the agent's edit\n")
    out_before = digest_all(outside)
    obs = ws.accept()
    assert not obs.ok and "src is a symlink in your directory" in obs.text
    assert digest_all(outside) == out_before


def test_a_file_the_user_replaced_by_a_symlink_is_not_written_through(ws, user_repo, outside):
    target = os.path.join(outside, "id_rsa")
    os.remove(os.path.join(user_repo, "README.md"))
    os.symlink(target, os.path.join(user_repo, "README.md"))
    put(ws.root, "README.md", "agent\n")
    obs = ws.accept()
    assert not obs.ok and "README.md (changed in your directory since the start)" in obs.text
    assert open(target, "rb").read() == SECRET


@pytest.mark.parametrize("target, why", [("/etc/passwd", "points to the absolute path"),
                                         ("../../outside/id_rsa", "climbs out of the workspace"),
                                         ("a/../../../x", "climbs out of the workspace"),
                                         (".git/config", "points into .git"),
                                         ("src/.GIT/hooks", "points into .git")])
def test_accept_refuses_links_that_lead_out(ws, user_repo, target, why):
    put(ws.root, "README.md", "agent\n")
    os.symlink(target, os.path.join(ws.root, "src", "lnk"))
    before = digest_all(user_repo)
    obs = ws.accept()
    assert not obs.ok and why in obs.text and "src/lnk" in obs.text and "nothing was changed" in obs.text
    assert digest_all(user_repo) == before
    os.remove(os.path.join(ws.root, "src", "lnk"))
    os.symlink("../README.md", os.path.join(ws.root, "src", "lnk"))  # inside: accepted as a link
    assert ws.accept().ok and os.readlink(os.path.join(user_repo, "src", "lnk")) == "../README.md"


def test_accept_lands_the_tree_the_user_saw(ws, user_repo):
    put(ws.root, "src/util.py", "def helper(x):\n    return x * 3\n")
    tree = ws.snapshot_tree()
    shown = ws.diff_text()
    put(ws.root, "src/util.py", "import os; os.system('evil')\n")  # changed after the review
    assert "return x * 3" in shown
    obs = ws.accept(tree=tree)
    assert obs.ok
    assert open(os.path.join(user_repo, "src/util.py")).read() == "def helper(x):\n    return x * 3\n"
    assert [c.path for c in ws.changes()] == ["src/util.py"]  # the later edit is still pending
    assert not ws.accept(tree="0" * 40).ok and not ws.accept(tree="HEAD").ok


def test_accept_refuses_a_replaced_user_directory(ws, user_repo, tmp_path):
    put(ws.root, "README.md", "agent\n")
    os.rename(user_repo, str(tmp_path / "moved"))
    os.mkdir(user_repo)
    obs = ws.accept()
    assert not obs.ok and "not the directory the workspace was made from" in obs.text
    assert os.listdir(user_repo) == []


def test_accept_and_undo_never_raise(ws):
    put(ws.root, "README.md", "agent\n")
    ws.discard()
    assert not ws.accept().ok and not ws.undo().ok


def test_a_failing_undo_puts_everything_back(ws, user_repo):
    os.remove(os.path.join(ws.root, "README.md"))  # the workspace turns a file into a folder
    put(ws.root, "README.md/inner.md", "inner\n")
    put(ws.root, "notes.txt", "agent\n")
    assert ws.accept().ok
    put(user_repo, "README.md/debug.log", "the user's log\n")  # the folder cannot go: undo fails half-way
    accepted = digest_all(user_repo)
    obs = ws.undo()
    assert not obs.ok and "undo failed on README.md" in obs.text and "every file was put back" in obs.text
    assert digest_all(user_repo) == accepted and len(ws.accepts) == 1
    os.remove(os.path.join(user_repo, "README.md/debug.log"))
    assert ws.undo().ok
    assert open(os.path.join(user_repo, "README.md")).read() == "# demo\n"


# ------------------------------------------------------------------ reattach
def test_reattach_round_trip_keeps_the_edits_and_the_accepts(ws, user_repo):
    put(ws.root, "README.md", "agent\n")
    assert ws.accept().ok
    put(ws.root, "notes.txt", "more\n")
    again = Toolset.reattach(json.loads(json.dumps(ws.snapshot())))
    other = again.workspace
    assert "reattached" in again.note and other.scratch == ws.scratch
    assert [c.path for c in other.changes()] == ["notes.txt"]
    assert other.undo().ok  # the accept recorded by the first process is undone by the second
    assert open(os.path.join(user_repo, "README.md")).read() == "# demo\n"


def _snapshots(ws, tmp_path):
    real = ws.snapshot()
    fake = tmp_path / "tapehead-ws-fake"
    fake.mkdir()
    (fake / "precious.txt").write_text("keep me\n")
    forged = tmp_path / "tapehead-ws-forged"
    shutil.copytree(ws.scratch, forged, symlinks=True)
    record = json.loads((forged / "workspace.json").read_text())
    link = tmp_path / "tapehead-ws-link"
    os.symlink(ws.scratch, link)
    bad_base = tmp_path / "tapehead-ws-badbase"
    shutil.copytree(ws.scratch, bad_base, symlinks=True)
    (bad_base / "workspace.json").write_text(json.dumps({**record, "scratch": str(bad_base), "base": "f" * 40}))
    bad_path = tmp_path / "tapehead-ws-badpath"
    shutil.copytree(ws.scratch, bad_path, symlinks=True)
    accepts = [{"n": 1, "old_base": record["base"], "new_base": record["base"],
                "files": [{"path": "../../etc/x", "before": None, "after": None}]}]
    (bad_path / "workspace.json").write_text(json.dumps({**record, "scratch": str(bad_path), "accepts": accepts}))
    fifo = tmp_path / "tapehead-ws-fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "workspace.json")
    return [
        ("not a dict", ["scratch"], "must be an object"),
        ("root", {**real, "scratch": "/"}, "not a tapehead scratch directory"),
        ("the user's dir", {**real, "scratch": ws.source}, "not a tapehead scratch directory"),
        ("relative", {**real, "scratch": "tapehead-ws-x"}, "absolute, normalized"),
        ("dotdot", {**real, "scratch": ws.scratch + "/../tapehead-ws-x"}, "absolute, normalized"),
        ("wrong type", {**real, "scratch": 42}, "absolute, normalized"),
        ("no record", {**real, "scratch": str(fake)}, "holds no workspace record"),
        ("copied elsewhere", {**real, "scratch": str(forged)}, "scratch path is not where it lies"),
        ("other source", {**real, "source": "/etc"}, "it belongs to"),
        ("through a symlink", {**real, "scratch": str(link)}, "reached through a symlink"),
        ("base not a commit", {**real, "scratch": str(bad_base)}, "base is not a commit"),
        ("path in accepts", {**real, "scratch": str(bad_path)}, "accepts"),
        ("record is a FIFO", {**real, "scratch": str(fifo)}, "not a regular file"),
    ]


def test_reattach_refuses_snapshots_that_are_not_ours(ws, tmp_path):
    for what, snap, words in _snapshots(ws, tmp_path):
        with pytest.raises(WorkspaceInvalid) as e:
            Toolset.reattach(snap)
        assert words in str(e.value), what
        assert "\n" not in str(e.value)
    assert (tmp_path / "tapehead-ws-fake" / "precious.txt").read_text() == "keep me\n"
    assert os.path.isdir(ws.scratch) and ws.changes() == []


def test_reattach_to_a_discarded_copy_makes_a_fresh_one(ws, user_repo):
    snap = ws.snapshot()
    ws.discard()
    with pytest.raises(WorkspaceGone):
        Workspace.attach(snap)
    ts = Toolset.reattach(snap)
    try:
        assert "is gone: made a fresh copy" in ts.note and ts.workspace.source == user_repo
    finally:
        ts.workspace.discard()


# ------------------------------------------------------------------ the user's own directory
@pytest.mark.parametrize("mode", ["git", "copy"])
def test_special_files_in_the_users_directory(tmp_path, mode, outside):
    src = tmp_path / "proj"
    src.mkdir()
    put(str(src), "app.py", "def main():\n    pass\n")
    if mode == "git":
        git(str(src), "init", "-q")
    os.mkfifo(src / "pipe.py")
    os.symlink(os.path.join(outside, "id_rsa"), src / "key")
    os.symlink(outside, src / "outdir")
    before = digest_all(src)
    with Workspace.create(str(src), scratch_parent=str(tmp_path)) as w:
        assert w.mode == mode
        assert sorted(w.list_files()) == ["app.py", "key", "outdir"]
        assert os.readlink(os.path.join(w.root, "key")).endswith("id_rsa")
        tools = tools_by_name(w)
        seen = [tools["read_file"].call(path="key"), tools["grep"].call(pattern="PRIVATE"),
                tools["list_files"].call(path="outdir")]
        assert not any(SECRET.decode() in o.text for o in seen)
    assert digest_all(src) == before


def test_a_fifo_gitignore_in_the_users_repository_is_refused_at_once(tmp_path):
    src = tmp_path / "proj"
    src.mkdir()
    git(str(src), "init", "-q")
    put(str(src), "a.py")
    os.mkfifo(src / "sub-gitignore")
    os.makedirs(src / "pkg")
    os.rename(src / "sub-gitignore", src / "pkg" / ".gitignore")
    with pytest.raises(WorkspaceRefused, match=r"pkg/\.gitignore \(a FIFO\)"):
        Workspace.create(str(src), scratch_parent=str(tmp_path))
    assert [p for p in os.listdir(tmp_path) if p.startswith("tapehead-ws-")] == []


def test_permission_bits_of_the_copy_follow_git(tmp_path):
    src = tmp_path / "proj"
    src.mkdir()
    put(str(src), "run.sh", "#!/bin/sh\n")
    put(str(src), "ro.txt")
    os.chmod(src / "run.sh", 0o700)
    os.chmod(src / "ro.txt", 0o400)
    with Workspace.create(str(src), scratch_parent=str(tmp_path)) as w:
        modes = {p: stat.S_IMODE(os.lstat(os.path.join(w.root, p)).st_mode) for p in ("run.sh", "ro.txt")}
        assert modes["run.sh"] & 0o111 and modes["ro.txt"] & 0o200
        assert {p: m for p, (m, _) in w.current().items()} == {"run.sh": "100755", "ro.txt": "100644"}


def test_edit_tools_refuse_special_files_and_links_out(ws, outside):
    os.mkfifo(os.path.join(ws.root, "pipe.py"))
    os.symlink(os.path.join(outside, "id_rsa"), os.path.join(ws.root, "key.py"))
    tools = tools_by_name(ws)
    for name, args in (("replace_text", {"old": "a", "new": "b"}),
                       ("replace_lines", {"start": 1, "end": 1, "text": "x"}),
                       ("create_file", {"content": "x", "overwrite": True})):
        fifo = tools[name].call(path="pipe.py", **args)
        assert not fifo.ok and "a FIFO, not a regular file" in fifo.text, fifo.text
        out = tools[name].call(path="key.py", **args)
        assert not out.ok and "leads outside" in out.text
    assert stat.S_ISFIFO(os.lstat(os.path.join(ws.root, "pipe.py")).st_mode)
    assert open(os.path.join(outside, "id_rsa"), "rb").read() == SECRET


def test_a_failure_after_a_file_became_a_folder_puts_both_back(ws, user_repo):
    os.remove(os.path.join(ws.root, "README.md"))  # README.md becomes a folder (written first) ...
    put(ws.root, "README.md/inner.md", "inner\n")
    for rel in ("src/app.py", "src/util.py"):  # ... and src/ a file, which fails: src/ is not empty
        os.remove(os.path.join(ws.root, rel))
    os.rmdir(os.path.join(ws.root, "src"))
    put(ws.root, "src", "now a file\n")
    put(user_repo, "src/debug.log", "the user's log\n")
    before = digest_all(user_repo)
    obs = ws.accept()
    assert not obs.ok and "accept failed on src" in obs.text and "every file was put back" in obs.text
    assert digest_all(user_repo) == before
