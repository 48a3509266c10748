"""Confinement: every way out of the workspace is refused with a message that says why."""

import os

import pytest

from tapehead.tools.workspace.paths import PathRefused, resolve


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "pkg").mkdir(parents=True)
    (r / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "outside.txt").write_text("outside\n")
    os.symlink("pkg/a.py", r / "inner_link")
    os.symlink(str(tmp_path / "outside.txt"), r / "abs_out")
    os.symlink("../outside.txt", r / "rel_out")
    os.symlink(str(tmp_path), r / "pkg" / "dir_out")
    (r / ".git").write_text("gitdir: /somewhere\n")
    return str(r)


@pytest.mark.parametrize("path, words", [
    ("/etc/passwd", "absolute paths are refused"),
    ("~/x", "absolute paths are refused"),
    ("../outside.txt", "'..' is refused"),
    ("pkg/../../outside.txt", "'..' is refused"),
    ("pkg/..", "'..' is refused"),
    ("abs_out", "leads outside the workspace"),
    ("rel_out", "leads outside the workspace"),
    ("pkg/dir_out/outside.txt", "leads outside the workspace"),
    (".git", "inside .git"),
    (".git/config", "inside .git"),
    ("a\0b", "NUL"),
])
def test_refusals_name_the_reason(root, path, words):
    with pytest.raises(PathRefused) as e:
        resolve(root, path)
    assert words in str(e.value)


def test_non_string_is_refused(root):
    with pytest.raises(PathRefused, match="must be a string"):
        resolve(root, 3)


def test_allowed_paths_resolve_inside(root):
    real_root = os.path.realpath(root)
    assert resolve(root, "").inside == "." and resolve(root, ".").real == real_root
    p = resolve(root, "./pkg//a.py")
    assert p.rel == "pkg/a.py" and p.real == os.path.join(real_root, "pkg", "a.py") and p.exists
    link = resolve(root, "inner_link")  # a symlink that stays inside is followed
    assert link.rel == "inner_link" and link.inside == "pkg/a.py"
    new = resolve(root, "pkg/new/file.py")  # paths that do not exist yet are fine (create_file)
    assert not new.exists and new.inside == "pkg/new/file.py"
