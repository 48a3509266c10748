"""The workspace: a scratch copy (of a git work tree or a plain directory), accept with undo, discard."""

import os

import pytest
from workspace_helpers import git, make_user_repo, tree_digest, user_repo, ws  # noqa: F401

from tapehead.tools.workspace.workspace import Workspace, WorkspaceClosed


def read(root, rel):
    with open(os.path.join(root, rel)) as f:
        return f.read()


def test_git_mode_carries_staged_unstaged_and_untracked_but_not_ignored(ws, user_repo):
    assert ws.mode == "git" and ws.root != user_repo
    assert "def staged" in read(ws.root, "src/util.py")  # staged
    assert "def unstaged" in read(ws.root, "src/app.py")  # unstaged
    assert read(ws.root, "notes.txt") == "untracked notes\n"  # untracked, not ignored
    assert not os.path.exists(os.path.join(ws.root, "build"))  # ignored
    assert not os.path.exists(os.path.join(ws.root, "debug.log"))
    assert not os.path.exists(os.path.join(ws.root, "gone.txt"))  # deleted in the working tree
    assert os.stat(os.path.join(ws.root, "run.sh")).st_mode & 0o111
    assert os.readlink(os.path.join(ws.root, "link_in")) == "src/app.py"
    assert ws.changes() == []  # the start is the user's working state
    files = ws.list_files()
    assert "notes.txt" in files and "src/app.py" in files and ".gitignore" in files
    assert not any(f.startswith(("build/", ".git/")) or f in (".git", "debug.log") for f in files)


def test_creating_a_workspace_leaves_the_user_tree_and_index_alone(user_repo, tmp_path):
    before = tree_digest(user_repo)
    index_before = open(os.path.join(user_repo, ".git", "index"), "rb").read()
    status_before = git(user_repo, "status", "--porcelain")
    with Workspace.create(user_repo, scratch_parent=str(tmp_path)) as w:
        with open(os.path.join(w.root, "src/app.py"), "a") as f:
            f.write("# agent edit\n")
        assert [c.path for c in w.changes()] == ["src/app.py"]
        assert tree_digest(user_repo) == before
    assert open(os.path.join(user_repo, ".git", "index"), "rb").read() == index_before
    assert git(user_repo, "status", "--porcelain") == status_before


def test_accept_applies_changes_and_undo_restores_the_previous_bytes(ws, user_repo):
    before = tree_digest(user_repo)
    with open(os.path.join(ws.root, "src/app.py"), "a") as f:
        f.write("# accepted edit\n")
    os.makedirs(os.path.join(ws.root, "pkg/deep"))
    with open(os.path.join(ws.root, "pkg/deep/new.py"), "w") as f:
        f.write("NEW = 1\n")
    os.remove(os.path.join(ws.root, "notes.txt"))
    os.chmod(os.path.join(ws.root, "README.md"), 0o755)
    os.chmod(os.path.join(user_repo, "src/app.py"), 0o600)  # unusual permissions are kept
    before = tree_digest(user_repo)
    obs = ws.accept()
    assert obs.ok, obs.text
    assert {e["path"] for e in obs.data["files"]} == {"src/app.py", "pkg/deep/new.py", "notes.txt",
                                                       "README.md"}
    assert read(user_repo, "src/app.py").endswith("# accepted edit\n")
    assert os.stat(os.path.join(user_repo, "src/app.py")).st_mode & 0o777 == 0o600
    assert read(user_repo, "pkg/deep/new.py") == "NEW = 1\n"
    assert not os.path.exists(os.path.join(user_repo, "notes.txt"))
    assert os.stat(os.path.join(user_repo, "README.md")).st_mode & 0o100
    assert ws.changes() == []  # the accepted state is the new start
    assert "M  src/util.py" in git(user_repo, "status", "--porcelain")  # staged work untouched
    undo = ws.undo()
    assert undo.ok, undo.text
    assert tree_digest(user_repo) == before
    assert not os.path.exists(os.path.join(user_repo, "pkg"))
    assert len(ws.changes()) == 4  # the workspace still holds the edits
    assert not ws.undo().ok  # nothing left to undo


def test_accept_refuses_when_the_user_changed_a_touched_file(ws, user_repo):
    with open(os.path.join(ws.root, "README.md"), "a") as f:
        f.write("agent\n")
    with open(os.path.join(user_repo, "README.md"), "a") as f:
        f.write("user\n")
    before = tree_digest(user_repo)
    obs = ws.accept()
    assert not obs.ok and "README.md" in obs.text and "nothing was changed" in obs.text
    assert tree_digest(user_repo) == before


def test_undo_refuses_when_files_were_edited_after_accept(ws, user_repo):
    with open(os.path.join(ws.root, "README.md"), "a") as f:
        f.write("agent\n")
    assert ws.accept().ok
    with open(os.path.join(user_repo, "README.md"), "a") as f:
        f.write("user after accept\n")
    obs = ws.undo()
    assert not obs.ok and "edited after the accept" in obs.text
    assert read(user_repo, "README.md").endswith("user after accept\n")


def test_accept_with_nothing_changed_says_so(ws):
    obs = ws.accept()
    assert obs.ok and "nothing to accept" in obs.text


def test_discard_removes_the_scratch_copy_and_the_repository_never_changes(user_repo, tmp_path):
    git_before = tree_digest(os.path.join(user_repo, ".git"), skip_git=False)
    w = Workspace.create(user_repo, scratch_parent=str(tmp_path))
    with open(os.path.join(w.root, "README.md"), "a") as f:
        f.write("agent\n")
    assert w.changes()
    # no scratch branch, no worktree registration, no objects: the user's .git is not written
    assert git(user_repo, "branch", "--list", "tapehead/*") == ""
    assert git(user_repo, "worktree", "list").count("\n") == 1
    assert tree_digest(os.path.join(user_repo, ".git"), skip_git=False) == git_before
    w.discard()
    assert not os.path.exists(w.scratch)
    assert tree_digest(os.path.join(user_repo, ".git"), skip_git=False) == git_before
    with pytest.raises(WorkspaceClosed):
        w.changes()
    assert "already" in w.discard()


def test_copy_mode_for_a_plain_directory_honours_gitignore(tmp_path):
    src = tmp_path / "plain"
    (src / "a").mkdir(parents=True)
    (src / "a" / "x.py").write_text("x = 1\n")
    (src / ".gitignore").write_text("*.tmp\n")
    (src / "junk.tmp").write_text("junk\n")
    os.symlink("a/x.py", src / "lnk")
    before = tree_digest(src)
    with Workspace.create(str(src), scratch_parent=str(tmp_path)) as w:
        assert w.mode == "copy" and w.changes() == []
        assert w.list_files() == [".gitignore", "a/x.py", "lnk"]
        assert os.path.islink(os.path.join(w.root, "lnk"))
        with open(os.path.join(w.root, "a/x.py"), "w") as f:
            f.write("x = 2\n")
        with open(os.path.join(w.root, "more.tmp"), "w") as f:
            f.write("ignored\n")
        assert [(c.status, c.path) for c in w.changes()] == [("M", "a/x.py")]
        assert tree_digest(src) == before
        assert w.accept().ok
        assert (src / "a" / "x.py").read_text() == "x = 2\n" and not (src / "more.tmp").exists()
        assert w.undo().ok
        assert tree_digest(src) == before
    assert not os.path.exists(w.scratch)


def test_subdirectory_of_a_repository(user_repo, tmp_path):
    with Workspace.create(os.path.join(user_repo, "src"), scratch_parent=str(tmp_path)) as w:
        assert w.prefix == "src" and w.list_files() == ["app.py", "util.py"]
        with open(os.path.join(w.root, "util.py"), "a") as f:
            f.write("# sub\n")
        assert [c.path for c in w.changes()] == ["util.py"]
        assert "a/util.py" in w.diff_text()
        assert w.accept().ok
        assert read(user_repo, "src/util.py").endswith("# sub\n")


def test_repository_without_commits(tmp_path):
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(str(repo), "init", "-q")
    (repo / "a.txt").write_text("a\n")
    with Workspace.create(str(repo), scratch_parent=str(tmp_path)) as w:
        assert w.mode == "git" and w.list_files() == ["a.txt"]


def test_not_a_directory_is_refused(tmp_path):
    with pytest.raises(NotADirectoryError):
        Workspace.create(str(tmp_path / "missing"))


def test_scratch_copies_are_independent(tmp_path):
    repo = make_user_repo(tmp_path / "u2")
    with Workspace.create(repo, scratch_parent=str(tmp_path)) as a, \
            Workspace.create(repo, scratch_parent=str(tmp_path)) as b:
        with open(os.path.join(a.root, "README.md"), "a") as f:
            f.write("a only\n")
        assert a.changes() and not b.changes()


def test_a_file_where_a_new_folder_must_go_is_a_conflict(ws, user_repo):
    os.makedirs(os.path.join(ws.root, "zz"))
    with open(os.path.join(ws.root, "zz", "mod.py"), "w") as f:
        f.write("x = 1\n")
    with open(os.path.join(ws.root, "README.md"), "a") as f:
        f.write("agent\n")
    with open(os.path.join(user_repo, "zz"), "w") as f:  # a file where the new folder must go
        f.write("user's file\n")
    before = tree_digest(user_repo)
    obs = ws.accept()
    assert not obs.ok and "nothing was changed" in obs.text and "zz is a regular file" in obs.text
    assert obs.data["conflicts"] == ["zz/mod.py"]
    assert tree_digest(user_repo) == before


def test_a_failing_accept_puts_everything_back(ws, user_repo):
    # the workspace turns the directory src/ into a file; in the user's directory src/ also holds
    # an ignored file, so the directory cannot go: the write fails half-way (after src/app.py and
    # src/util.py were removed and README.md... were written), and everything is put back
    for rel in ("README.md", "notes.txt"):
        with open(os.path.join(ws.root, rel), "a") as f:
            f.write("agent\n")
    for rel in ("src/app.py", "src/util.py"):
        os.remove(os.path.join(ws.root, rel))
    os.rmdir(os.path.join(ws.root, "src"))
    with open(os.path.join(ws.root, "src"), "w") as f:
        f.write("now a file\n")
    with open(os.path.join(user_repo, "src", "debug.log"), "w") as f:  # ignored (*.log)
        f.write("the user's log\n")
    before = tree_digest(user_repo)
    git_before = tree_digest(os.path.join(user_repo, ".git"), skip_git=False)
    obs = ws.accept()
    assert not obs.ok and "accept failed on src" in obs.text and "put back" in obs.text, obs.text
    assert tree_digest(user_repo) == before
    assert tree_digest(os.path.join(user_repo, ".git"), skip_git=False) == git_before
    assert len(ws.changes()) == 5 and not ws.accepts
    os.remove(os.path.join(user_repo, "src", "debug.log"))  # once the obstacle is gone it works
    assert ws.accept().ok
    assert read(user_repo, "src") == "now a file\n"
    assert ws.undo().ok
    assert read(user_repo, "src/util.py").startswith("def helper")
