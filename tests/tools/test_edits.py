"""Edit tools: exact replace (exactly once), line ranges, create; the tree-sitter syntax gate."""

import hashlib
import os

import pytest
from workspace_helpers import tools, tree_digest, user_repo, ws  # noqa: F401


def content(ws, rel):
    with open(os.path.join(ws.root, rel), "rb") as f:
        return f.read()


def digest(ws, rel):
    return hashlib.sha256(content(ws, rel)).hexdigest()


def test_replace_text_exactly_once(tools, ws):
    obs = tools["replace_text"].call(path="src/util.py", old="return x * 2", new="return x * 3")
    assert obs.ok and "syntax: ok" in obs.text and "2|     return x * 3" in obs.text
    assert b"return x * 3" in content(ws, "src/util.py")


def test_replace_text_zero_or_many_matches_change_nothing(tools, ws):
    before = digest(ws, "src/app.py")
    zero = tools["replace_text"].call(path="src/app.py", old="def nowhere():", new="x")
    assert not zero.ok and zero.data["matches"] == 0 and "0 matches" in zero.text
    many = tools["replace_text"].call(path="src/app.py", old="return", new="yield")
    assert not many.ok and many.data["matches"] == 2 and "2 matches" in many.text
    assert "lines 5, 9" in many.text
    overlapping = tools["create_file"].call(path="o.txt", content="aaa\n")
    assert overlapping.ok
    assert tools["replace_text"].call(path="o.txt", old="aa", new="b").data["matches"] == 2
    assert digest(ws, "src/app.py") == before


def test_zero_match_hints_at_whitespace(tools):
    obs = tools["replace_text"].call(path="src/util.py", old="return x * 2   ", new="y")
    assert "different surrounding whitespace at line 2" in obs.text
    obs = tools["replace_text"].call(path="src/util.py", old="def helper(x):\n  return x * 2", new="y")
    assert "first line occurs at line(s) 1" in obs.text


def test_syntax_breaking_edit_is_refused_and_the_file_left_unchanged(tools, ws):
    before = digest(ws, "src/util.py")
    obs = tools["replace_text"].call(path="src/util.py", old="def helper(x):", new="def helper(x:")
    assert not obs.ok and "would break the python syntax" in obs.text and "line 1:" in obs.text
    assert "allow_syntax_errors=true" in obs.text and obs.data["problems"]
    assert digest(ws, "src/util.py") == before
    forced = tools["replace_text"].call(path="src/util.py", old="def helper(x):", new="def helper(x:",
                                        allow_syntax_errors=True)
    assert forced.ok and "broken by this edit" in forced.text
    assert b"def helper(x:" in content(ws, "src/util.py")


def test_an_already_broken_file_can_still_be_fixed(tools, ws):
    assert tools["create_file"].call(path="b.py", content="def f(:\n    pass\n",
                                     allow_syntax_errors=True).ok
    obs = tools["replace_text"].call(path="b.py", old="def f(:", new="def f():")
    assert obs.ok and "syntax: ok" in obs.text
    tools["replace_text"].call(path="b.py", old="def f():", new="def f(:", allow_syntax_errors=True)
    same = tools["replace_text"].call(path="b.py", old="pass", new="return 1")  # errors not added
    assert same.ok and "already present" in same.text


def test_replace_lines_replace_insert_append(tools, ws):
    obs = tools["replace_lines"].call(path="src/util.py", start=2, end=2, text="    return x + x")
    assert obs.ok and content(ws, "src/util.py").startswith(b"def helper(x):\n    return x + x\n")
    ins = tools["replace_lines"].call(path="src/util.py", start=1, end=0, text="# head")
    assert ins.ok and content(ws, "src/util.py").startswith(b"# head\ndef helper")
    n = content(ws, "src/util.py").count(b"\n")
    app = tools["replace_lines"].call(path="src/util.py", start=n + 1, end=n, text="TAIL = 1\n")
    assert app.ok and content(ws, "src/util.py").endswith(b"TAIL = 1\n")


@pytest.mark.parametrize("start, end, words", [(0, 1, "start=0 is outside"), (99, 99, "start=99"),
                                               (2, 0, "end=0 must be"), (1, 99, "end=99 must be")])
def test_replace_lines_range_refusals(tools, ws, start, end, words):
    before = digest(ws, "src/util.py")
    obs = tools["replace_lines"].call(path="src/util.py", start=start, end=end, text="x")
    assert not obs.ok and words in obs.text
    assert digest(ws, "src/util.py") == before


def test_replace_lines_syntax_gate(tools, ws):
    before = digest(ws, "src/util.py")
    obs = tools["replace_lines"].call(path="src/util.py", start=1, end=1, text="def helper(x")
    assert not obs.ok and "refused" in obs.text
    assert digest(ws, "src/util.py") == before


def test_create_file(tools, ws):
    obs = tools["create_file"].call(path="new/pkg/mod.py", content="def f():\n    return 1\n")
    assert obs.ok and content(ws, "new/pkg/mod.py") == b"def f():\n    return 1\n"
    again = tools["create_file"].call(path="new/pkg/mod.py", content="x = 1\n")
    assert not again.ok and "already exists" in again.text
    assert tools["create_file"].call(path="new/pkg/mod.py", content="x = 1\n", overwrite=True).ok
    bad = tools["create_file"].call(path="new/bad.py", content="def (:\n")
    assert not bad.ok and not os.path.exists(os.path.join(ws.root, "new/bad.py"))
    text = tools["create_file"].call(path="notes/a.txt", content="free text (\n")
    assert text.ok and "unchecked" in text.text


@pytest.mark.parametrize("tool, kwargs, words", [
    ("create_file", {"path": "../escape.py", "content": "x"}, "'..' is refused"),
    ("create_file", {"path": "/tmp/abs.py", "content": "x"}, "absolute paths are refused"),
    ("create_file", {"path": "link_out", "content": "x", "overwrite": True}, "leads outside"),
    ("create_file", {"path": ".git/hooks/pre-commit", "content": "x"}, ".git"),
    ("create_file", {"path": ".", "content": "x"}, "not the workspace root"),
    ("replace_text", {"path": "link_out", "old": "a", "new": "b"}, "leads outside"),
    ("replace_text", {"path": "missing.py", "old": "a", "new": "b"}, "no such file"),
    ("replace_text", {"path": "src/app.py", "old": "", "new": "b"}, "old is empty"),
    ("replace_lines", {"path": "src", "start": 1, "end": 1, "text": "x"}, "is a directory"),
])
def test_edit_refusals_leave_everything_unchanged(tools, ws, tool, kwargs, words):
    before = tree_digest(ws.root)
    obs = tools[tool].call(**kwargs)
    assert not obs.ok and words in obs.text
    assert tree_digest(ws.root) == before


def test_binary_and_non_utf8_files_are_refused(tools, ws):
    with open(os.path.join(ws.root, "latin.txt"), "wb") as f:
        f.write("caf\xe9\n".encode("latin-1"))
    assert "not UTF-8" in tools["replace_text"].call(path="latin.txt", old="caf", new="x").text


def test_crlf_files_keep_their_line_endings(tools, ws):
    with open(os.path.join(ws.root, "w.py"), "wb") as f:
        f.write(b"def f():\r\n    return 1\r\n")
    obs = tools["replace_text"].call(path="w.py", old="def f():\n    return 1", new="def f():\n    return 2")
    assert obs.ok and content(ws, "w.py") == b"def f():\r\n    return 2\r\n"


def test_edit_history_in_snapshot(tools):
    tools["replace_text"].call(path="src/util.py", old="x * 2", new="x * 4")
    snap = tools["replace_text"].snapshot()
    assert snap["edits"][-1] == {"tool": "replace_text", "path": "src/util.py", "lines": [2, 2],
                                 "syntax": "ok"}
