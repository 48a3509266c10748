"""Confinement: every way out of the workspace is refused with a message that says why; the one read
path of every tool opens regular files only."""

import os
import stat

import pytest

from tapehead.tools.workspace.paths import NotReadable, PathRefused, display, read_regular, resolve


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


# ------------------------------------------------------------------ the one read path
@pytest.fixture
def specials(root, tmp_path):
    r = tmp_path / "root"
    os.mkfifo(r / "pipe.py")
    (r / "big.txt").write_bytes(b"x" * 5000)
    if os.geteuid() == 0:
        os.mknod(r / "zero", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    os.symlink("/dev/zero", r / "zero_link")
    return str(r)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("path, words", [
    ("pipe.py", "is a FIFO, not a regular file"),
    ("pkg", "is a directory, not a regular file"),
    ("missing.py", "no such file"),
    ("big.txt", "more than the"),
])
def test_read_regular_refuses_what_is_not_a_small_regular_file(specials, path, words):
    with pytest.raises(NotReadable, match=words):
        read_regular(resolve(specials, path), cap=4096)


@pytest.mark.timeout(10)
def test_read_regular_never_opens_a_device(specials):
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    with pytest.raises(NotReadable, match="a character device"):
        read_regular(resolve(specials, "zero"), cap=4096)
    with pytest.raises(PathRefused, match="leads outside"):
        resolve(specials, "zero_link")


def test_read_regular_reads_a_link_that_stays_inside(specials):
    assert read_regular(resolve(specials, "inner_link"), cap=4096) == b"x = 1\n"


@pytest.mark.parametrize("name, shown", [
    ("plain/a.py", "plain/a.py"), ("ünï cödé.py", "ünï cödé.py"), ("new\nline", '"new\\nline"'),
    ("tab\tq\"uote", '"tab\\tq\\"uote"'), (os.fsdecode(b"bad\xffname"), '"bad\\377name"'),
    ("back\\slash", '"back\\\\slash"'),
])
def test_display_quotes_names_like_git(name, shown):
    assert display(name) == shown
    assert display(name).encode("utf-8")  # always valid UTF-8, one line
    assert "\n" not in display(name)


@pytest.mark.parametrize("path", ["sub/.git/config", ".GIT/hooks", "a/.Git"])
def test_any_dot_git_component_is_refused(root, path):
    with pytest.raises(PathRefused, match="inside .git"):
        resolve(root, path)
