"""File tools: list (gitignore honoured), read (numbered, ranges), grep (stable, capped), refusals."""

import os

import pytest
from workspace_helpers import SECRET, tools, user_repo, ws  # noqa: F401


def write(ws, rel, text):
    full = os.path.join(ws.root, rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def test_list_files_honours_gitignore_and_sees_new_files(tools, ws):
    write(ws, "build/made.txt", "ignored\n")
    write(ws, "src/new_mod.py", "y = 2\n")
    obs = tools["list_files"].call()
    assert obs.ok
    assert obs.text.splitlines() == [".gitignore", "README.md", "link_in", "link_out", "notes.txt",
                                     "run.sh", "secret.txt", "src/app.py", "src/new_mod.py", "src/util.py"]
    assert tools["list_files"].call(path="src", pattern="*.py").data["files"] == [
        "src/app.py", "src/new_mod.py", "src/util.py"]


def test_list_files_caps_with_a_count(tools, ws):
    for i in range(30):
        write(ws, f"many/f{i:02d}.txt", "x\n")
    obs = tools["list_files"].call(path="many", max_results=10)
    assert obs.data["files"][0] == "many/f00.txt" and len(obs.data["files"]) == 10
    assert obs.data["cut"] == 20 and "20 more files not shown" in obs.text


def test_read_file_numbers_lines_and_reads_ranges(tools):
    obs = tools["read_file"].call(path="src/app.py", start=4, end=5)
    assert obs.ok
    assert obs.text.splitlines()[1:] == ["4| def main():", "5|     return helper(2)"]
    assert "lines 4-5 of 9" in obs.text
    whole = tools["read_file"].call(path="link_in")  # a link that stays inside is followed
    assert whole.ok and "\n1| from src.util import helper" in whole.text


@pytest.mark.parametrize("kwargs, words", [
    ({"path": "src/app.py", "start": 50}, "outside src/app.py, which has 9 line(s)"),
    ({"path": "src/app.py", "start": 3, "end": 2}, "before start"),
    ({"path": "src"}, "is a directory"),
    ({"path": "nope.py"}, "no such file"),
    ({"path": "../user/secret.txt"}, "'..' is refused"),
    ({"path": "link_out"}, "leads outside the workspace"),
    ({"path": "/etc/passwd"}, "absolute paths are refused"),
    ({"path": ".git"}, ".git"),
    ({"path": 5}, "must be str"),
    ({}, "missing argument 'path'"),
])
def test_read_file_refusals_are_observations(tools, kwargs, words):
    obs = tools["read_file"].call(**kwargs)
    assert not obs.ok and words in obs.text


def test_read_file_refuses_binary_and_caps_long_files(tools, ws):
    with open(os.path.join(ws.root, "blob.bin"), "wb") as f:
        f.write(b"\x00\x01\x02" * 100)
    assert "binary" in tools["read_file"].call(path="blob.bin").text
    write(ws, "long.txt", "".join(f"line {i}\n" for i in range(1, 1001)))
    obs = tools["read_file"].call(path="long.txt")
    assert obs.data["end"] == 400 and "read on with start=401" in obs.text


def test_grep_is_stable_capped_and_counts_what_was_cut(tools, ws):
    for name in ("b.py", "a.py", "c/d.py"):
        write(ws, f"g/{name}", "".join(f"hit {i}\nmiss\n" for i in range(5)))
    obs = tools["grep"].call(pattern=r"hit \d", path="g", max_results=7)
    assert obs.ok
    lines = obs.text.splitlines()
    assert lines[:7] == [f"g/a.py:{2 * i + 1}: hit {i}" for i in range(5)] + ["g/b.py:1: hit 0",
                                                                               "g/b.py:3: hit 1"]
    assert obs.data["total"] == 15 and obs.data["cut"] == 8 and "8 more matching lines" in obs.text
    assert tools["grep"].call(pattern=r"hit \d", path="g", max_results=7).text == obs.text


def test_grep_options_and_refusals(tools, ws):
    assert tools["grep"].call(pattern="DEF MAIN", ignore_case=True, glob="*.py").data["total"] == 1
    assert "no match" in tools["grep"].call(pattern="zzz_not_there").text
    assert not tools["grep"].call(pattern="(").ok
    assert "'..' is refused" in tools["grep"].call(pattern="x", path="..").text
    assert tools["grep"].call(pattern=SECRET).data["total"] == 1  # secret.txt is part of the tree
    assert tools["grep"].call(pattern="ignored").data["total"] == 0  # build/ is ignored
    assert tools["grep"].call(pattern="^def", path="src/util.py").data["total"] == 2
