"""The snapshot walker, git's ignore rules through pathspec, and the stat cache."""

import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workspace_helpers import git, user_repo, ws  # noqa: F401

from tapehead.tools.workspace.ignore import Ignore, parse
from tapehead.tools.workspace.walk import MAX_DEPTH, Keep, walk
from tapehead.tools.workspace.workspace import Workspace

pytestmark = pytest.mark.timeout(60)


def put(root, rel, text="x\n"):
    path = os.path.join(str(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def paths(w):
    return [e.path for e in w.entries]


def test_walk_keeps_files_and_links_and_follows_nothing(tmp_path):
    put(tmp_path, "a/b.py")
    put(tmp_path, "outside/secret")
    root = tmp_path / "root"
    put(root, "x.py")
    os.symlink(str(tmp_path / "outside"), root / "out")  # a link to a directory is a link entry
    os.symlink("x.py", root / "in")
    os.mkfifo(root / "pipe")
    for name in (".git", ".GIT", "sub/.Git"):
        put(root, f"{name}/config", "[core]\n")
    w = walk(str(root), Ignore())
    assert paths(w) == ["in", "out", "x.py"]
    assert {e.path: e.mode for e in w.entries} == {"in": "120000", "out": "120000", "x.py": "100644"}
    assert ("pipe", "a FIFO: never opened, never tracked") in w.skipped
    assert {p for p, why in w.skipped if ".git entry" in why} == {".git", ".GIT", "sub/.Git"}


def test_walk_caps_depth_and_path_length(tmp_path):
    deep = tmp_path / "root"
    here = str(deep)
    for i in range(MAX_DEPTH + 5):
        here = os.path.join(here, "d")
        os.makedirs(here, exist_ok=True)
        if i == 10:
            put(here, "shallow.py")
    put(here, "bottom.py")
    w = walk(str(deep), Ignore())
    assert paths(w) == ["d/" * 11 + "shallow.py"]
    assert any(f"deeper than {MAX_DEPTH}" in why for _, why in w.skipped)


def git_listing(root) -> list[str]:
    """git's own answer: the untracked, not ignored files of a fresh repository at ``root``."""
    git(str(root), "init", "-q")
    out = git(str(root), "-c", "core.excludesFile=/dev/null", "ls-files", "-z", "--others",
              "--exclude-standard")
    return sorted((p for p in out.split("\0") if p), key=os.fsencode)


def test_ignore_rules_follow_gitignore_precedence(tmp_path):
    put(tmp_path, ".gitignore", "*.log\nbuild/\n/top.txt\n!keep.log\n")
    put(tmp_path, "sub/.gitignore", "!*.log\nlocal/\n")
    for rel in ("a.log", "keep.log", "top.txt", "sub/top.txt", "sub/b.log", "build/x", "sub/build/y",
                "sub/local/z", "local/w", "src/c.py"):
        put(tmp_path, rel)
    w = walk(str(tmp_path), Ignore())
    assert paths(w) == [".gitignore", "keep.log", "local/w", "src/c.py", "sub/.gitignore", "sub/b.log",
                        "sub/top.txt"]
    assert paths(walk(str(tmp_path), Ignore())) == git_listing(tmp_path)


PATTERNS = ["*.py", "*.txt", "a/", "/b", "b", "!a/x.py", "**/c", "d/**", "a/*/e", "!*.py", "*", "!d/",
            "c/", "#a", "x.py", "/a/x.txt", "e", "!e", "a/**/x.py", "?.txt", "[ab]/", "a/**", "!a/e/",
            "/a/*", "*/x.py", "**/e/", "!**/x.py", "a/e", "!a/"]
FILES = ["x.py", "y.txt", "a/x.py", "a/x.txt", "a/e/x.py", "a/c/e", "b/x.py", "b", "c/x.txt",
         "d/x.py", "d/e/y.txt", "e/a/x.py", "z.txt", "a/b/c/x.py"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(top=st.lists(st.sampled_from(PATTERNS), max_size=5), inner=st.lists(st.sampled_from(PATTERNS), max_size=3),
       files=st.sets(st.sampled_from(FILES), min_size=1))
def test_the_walker_agrees_with_git_on_random_ignore_files(tmp_path_factory, top, inner, files):
    root = tmp_path_factory.mktemp("parity")
    for rel in files:
        if not any(f.startswith(rel + "/") for f in files):  # "b" the file and "b/x.py" cannot both be
            put(root, rel)
    put(root, ".gitignore", "".join(p + "\n" for p in top))
    if os.path.isdir(root / "a"):
        put(root, "a/.gitignore", "".join(p + "\n" for p in inner))
    assert paths(walk(str(root), Ignore())) == git_listing(root)


def test_outer_rules_and_kept_paths(tmp_path):
    put(tmp_path, "gen/a.py")
    put(tmp_path, "gen/b.py")
    put(tmp_path, "x.tmp")
    outer = Ignore((parse(b"gen/\n", "", "info/exclude"), parse(b"*.tmp\n", "", "core.excludesFile")))
    assert paths(walk(str(tmp_path), outer)) == []
    kept = walk(str(tmp_path), outer, Keep(["gen/a.py"]))  # tracked files are kept though ignored
    assert paths(kept) == ["gen/a.py"]
    only = walk(str(tmp_path), None, Keep(["x.tmp", "gen/b.py"]))  # without rules: exactly the list
    assert paths(only) == ["gen/b.py", "x.tmp"]
    assert paths(walk(str(tmp_path), Ignore(), under="gen")) == ["gen/a.py", "gen/b.py"]


def test_copy_mode_leaves_ignored_folders_behind(tmp_path):
    src = tmp_path / "plain"
    put(src, ".gitignore", "node_modules/\n*.bin\n")
    put(src, "app.py", "print(1)\n")
    put(src, "node_modules/big/index.js", "x" * (1 << 20))
    with open(src / "blob.bin", "wb") as f:
        f.write(os.urandom(1 << 16))
    with Workspace.create(str(src), scratch_parent=str(tmp_path)) as w:
        assert w.mode == "copy" and w.list_files() == [".gitignore", "app.py"]
        assert sorted(os.listdir(w.root)) == [".gitignore", "app.py"]  # not copied at all


def test_copy_mode_honours_the_users_core_excludes_file(tmp_path, monkeypatch):
    home = tmp_path / "home"
    put(home, ".gitconfig", f"[core]\n\texcludesFile = {home}/ignore\n")
    put(home, "ignore", "*.secret\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    src = tmp_path / "plain"
    put(src, "a.py")
    put(src, "b.secret")
    with Workspace.create(str(src), scratch_parent=str(tmp_path)) as w:
        assert w.list_files() == ["a.py"]
        put(w.root, "c.secret")  # later files follow the same rules
        assert w.changes() == []


def test_git_mode_keeps_the_repositorys_rules_for_new_files(user_repo, tmp_path):
    with open(os.path.join(user_repo, ".git", "info", "exclude"), "a") as f:
        f.write("*.scratch\n")
    git(user_repo, "add", "-f", "build/out.bin")  # tracked although ignored
    with Workspace.create(user_repo, scratch_parent=str(tmp_path)) as w:
        assert "build/out.bin" in w.list_files()
        put(w.root, "new.scratch")
        put(w.root, "more.log")
        put(w.root, "build/other.bin")
        with open(os.path.join(w.root, "build/out.bin"), "wb") as f:
            f.write(b"changed")
        assert [(c.status, c.path) for c in w.changes()] == [("M", "build/out.bin")]


def test_a_subdirectory_workspace_keeps_the_rules_above_it(user_repo, tmp_path):
    with open(os.path.join(user_repo, ".gitignore"), "a") as f:
        f.write("/src/gen/\n")
    with Workspace.create(os.path.join(user_repo, "src"), scratch_parent=str(tmp_path)) as w:
        assert w.prefix == "src"
        put(w.root, "trace.log")  # *.log from the top-level .gitignore
        put(w.root, "gen/out.py")  # /src/gen/, anchored at the top
        put(w.root, "real.py")
        assert [c.path for c in w.changes()] == ["real.py"]


def test_the_stat_cache_sees_a_same_size_rewrite_in_the_same_tick(ws):
    path = os.path.join(ws.root, "README.md")
    for i in range(5):  # rewrites faster than any timestamp tick, same size each time
        with open(path, "w") as f:
            f.write(f"# rev{i}\n")
        assert ws.current()["README.md"] == ("100644", ws.store.put(f"# rev{i}\n".encode()))


def test_a_hostile_gitignore_never_hides_tracked_files(ws):
    put(ws.root, ".gitignore", "*\n!.gitignore\n")
    put(ws.root, "src/app.py", "evil\n")
    put(ws.root, "hidden.py")
    assert [(c.status, c.path) for c in ws.changes()] == [("M", ".gitignore"), ("M", "src/app.py")]
    assert "hidden.py" not in ws.list_files() and "src/util.py" in ws.list_files()


def test_unreadable_and_special_entries_are_reported_not_raised(ws):
    os.mkfifo(os.path.join(ws.root, "pipe"))
    os.mkdir(os.path.join(ws.root, "locked"))
    os.chmod(os.path.join(ws.root, "locked"), 0)
    try:
        assert "pipe" not in ws.list_files()
        assert any(p == "pipe" for p, _ in ws.skipped)
    finally:
        os.chmod(os.path.join(ws.root, "locked"), stat.S_IRWXU)
