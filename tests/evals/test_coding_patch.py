"""Repository data and patches: paths refused, archives checked, gold diffs that apply, hostile patches refused."""

import base64
import io
import os
import tarfile

import pytest

from tapehead.evals.coding.patch import apply_patch, make_patch
from tapehead.evals.coding.repo_files import (RepoRefused, decode_archive, encode_archive, path_problem, read_tree,
                                              write_files)

BEFORE = {"main.py": b"from pkg.util import f\nprint(f())\n", "pkg/__init__.py": b"", "pkg/util.py": b"def f():\n    return 1\n"}
AFTER = {**BEFORE, "pkg/util.py": b"def f():\n    return 2\n", "pkg/new.py": b"X = 3\n"}


@pytest.mark.parametrize("path", ["/etc/passwd", "../x.py", "a/../../x", ".git/config", "sub/.GIT/hooks/x", "a\\b",
                                  "a//b", "./a", "a\nb", "", "~/x"])
def test_unsafe_paths_are_named(path):
    assert path_problem(path)


def test_safe_paths_pass():
    assert path_problem("pkg/sub/mod.py") is None and path_problem(".github/workflows/ci.yml") is None


def test_write_then_read_round_trips_and_keeps_executable_bits(tmp_path):
    write_files({**BEFORE, "run.sh": b"#!/bin/sh\n"}, str(tmp_path / "r"), executable={"run.sh"})
    files, exe = read_tree(str(tmp_path / "r"))
    assert files == {**BEFORE, "run.sh": b"#!/bin/sh\n"} and exe == {"run.sh"}


def test_write_refuses_unsafe_repositories(tmp_path):
    for files in ({"../evil.py": b"x"}, {"a": b"1", "a/b": b"2"}, {}):
        with pytest.raises(RepoRefused):
            write_files(files, str(tmp_path / "r"))
    assert not (tmp_path / "evil.py").exists()


def test_read_tree_refuses_a_symlink(tmp_path):
    write_files(BEFORE, str(tmp_path / "r"))
    os.symlink("/etc/passwd", tmp_path / "r" / "pw")
    with pytest.raises(RepoRefused, match="pw"):
        read_tree(str(tmp_path / "r"))


def test_archive_round_trips_and_refuses_links_and_escapes():
    text = encode_archive({**BEFORE, "bin/tool": b"\x00\x01"}, {"bin/tool"})
    assert decode_archive(text) == ({**BEFORE, "bin/tool": b"\x00\x01"}, frozenset({"bin/tool"}))

    def tar_of(*members):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for info, data in members:
                tar.addfile(info, io.BytesIO(data) if data is not None else None)
        return base64.b64encode(buf.getvalue()).decode()

    link = tarfile.TarInfo("pw")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    up = tarfile.TarInfo("../up.py")
    up.size = 1
    for bad, why in ((tar_of((link, None)), "not a regular file"), (tar_of((up, b"x")), "'..'"),
                     ("not base64!", "base64"), (base64.b64encode(b"junk").decode(), "gzipped tar")):
        with pytest.raises(RepoRefused, match=why):
            decode_archive(bad)


def test_gold_patch_applies_with_git_apply(tmp_path):
    patch = make_patch(BEFORE, AFTER)
    assert patch.startswith("diff --git a/pkg/new.py b/pkg/new.py") and "+++ b/pkg/util.py" in patch
    write_files(BEFORE, str(tmp_path / "r"))
    res = apply_patch(str(tmp_path / "r"), patch)
    assert res.ok and set(res.paths) == {"pkg/new.py", "pkg/util.py"}
    assert read_tree(str(tmp_path / "r"))[0] == AFTER
    assert not (tmp_path / "r" / ".git").exists()
    again = apply_patch(str(tmp_path / "r"), patch)  # already applied: does not apply, tree unchanged
    assert not again.ok and again.reason.startswith("does not apply")
    assert read_tree(str(tmp_path / "r"))[0] == AFTER


SYMLINK = """diff --git a/link b/link
new file mode 120000
--- /dev/null
+++ b/link
@@ -0,0 +1 @@
+/etc
\\ No newline at end of file
"""
BEYOND = SYMLINK + """diff --git a/link/passwd b/link/passwd
new file mode 100644
--- /dev/null
+++ b/link/passwd
@@ -0,0 +1 @@
+x
"""


def _new_file(path):
    return f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+x\n"


@pytest.mark.parametrize("patch, why", [
    ("", "empty patch"), ("   \n", "empty patch"), (None, "must be a string"),
    ("this is not a diff\n", "does not apply"),
    (_new_file("../evil.py"), "does not apply: invalid path '../evil.py'"),
    (_new_file(".git/hooks/pre-commit"), "does not apply: invalid path"),
    (SYMLINK, "makes a symlink"), (BEYOND, "beyond a symbolic link"),
    ("diff --git a/x b/x\nGIT binary patch\nliteral 3\nbcd\n", "binary"),
    ("--- a/main.py\n+++ b/main.py\n@@ -1 +1 @@\n-a\0\n+b\n", "NUL"),
    (_new_file("sub/.GIT/config"), "invalid path 'sub/.GIT/config'"),
    (_new_file("~/x.py"), "refused: absolute path '~/x.py'"),  # git takes it; our rules do not
])
def test_hostile_or_broken_patches_are_refused_and_change_nothing(tmp_path, patch, why):
    write_files(BEFORE, str(tmp_path / "r"))
    res = apply_patch(str(tmp_path / "r"), patch)
    assert not res.ok and why in res.reason
    assert read_tree(str(tmp_path / "r"))[0] == BEFORE
    assert not os.path.lexists(tmp_path / "evil.py") and not os.path.lexists(tmp_path / "r" / "link")


def test_git_reads_no_user_configuration(tmp_path, monkeypatch):
    """A global config that would rewrite every applied file (a clean filter) is not read."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[apply]\n\twhitespace = error\n[core]\n\tattributesFile = /nonexistent\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    write_files(BEFORE, str(tmp_path / "r"))
    trailing = "diff --git a/pkg/util.py b/pkg/util.py\n--- a/pkg/util.py\n+++ b/pkg/util.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 1\n+    return 1   \n"
    assert apply_patch(str(tmp_path / "r"), trailing).ok  # apply.whitespace=error would have refused it
