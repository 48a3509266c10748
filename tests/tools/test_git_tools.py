"""Git tools: status and diff against where the workspace started; reset of one file or all."""

import os

from workspace_helpers import tools, tree_digest, user_repo, ws  # noqa: F401


def edit_a_few(ws):
    with open(os.path.join(ws.root, "src/util.py"), "a") as f:
        f.write("# changed\n")
    with open(os.path.join(ws.root, "added.py"), "w") as f:
        f.write("A = 1\n")
    os.remove(os.path.join(ws.root, "README.md"))


def test_status_and_diff_start_clean(tools):
    assert tools["git_status"].call().text == "no changes since the workspace started"
    assert tools["git_diff"].call().text == "no changes since the workspace started"


def test_status_lists_added_modified_deleted(tools, ws):
    edit_a_few(ws)
    obs = tools["git_status"].call()
    assert obs.text.splitlines() == ["3 file(s) changed (1 added, 1 modified, 1 deleted):",
                                     "D README.md", "A added.py", "M src/util.py"]
    assert tools["git_status"].call(path="src").data["changes"] == [{"status": "M", "path": "src/util.py"}]


def test_diff_shows_unified_diff_and_cuts_long_ones(tools, ws):
    edit_a_few(ws)
    obs = tools["git_diff"].call(path="src/util.py")
    assert "+# changed" in obs.text and "--- a/src/util.py" in obs.text and "README" not in obs.text
    with open(os.path.join(ws.root, "big.txt"), "w") as f:
        f.write("".join(f"line {i}\n" for i in range(5000)))
    cut = tools["git_diff"].call(max_chars=1000)
    assert cut.data["cut"] > 0 and "characters of diff cut" in cut.text and len(cut.text) < 1200


def test_reset_one_file_then_all(tools, ws, user_repo):
    before = tree_digest(ws.root)
    edit_a_few(ws)
    one = tools["git_reset"].call(path="src/util.py")
    assert one.ok and "reset 1 file(s)" in one.text
    assert [c["path"] for c in tools["git_status"].call().data["changes"]] == ["README.md", "added.py"]
    rest = tools["git_reset"].call(path=".")
    assert rest.ok and "reset 2 file(s)" in rest.text
    assert tree_digest(ws.root) == before
    assert "nothing to reset" in tools["git_reset"].call(path=".").text


def test_reset_restores_links_and_modes(tools, ws):
    before = tree_digest(ws.root)
    os.remove(os.path.join(ws.root, "link_in"))
    with open(os.path.join(ws.root, "link_in"), "w") as f:  # a link replaced by a file
        f.write("not a link\n")
    os.chmod(os.path.join(ws.root, "run.sh"), 0o644)
    os.makedirs(os.path.join(ws.root, "newdir/deeper"))
    with open(os.path.join(ws.root, "newdir/deeper/x.txt"), "w") as f:
        f.write("x\n")
    assert tools["git_reset"].call(path=".").ok
    assert tree_digest(ws.root) == before


def test_git_tools_refuse_paths_outside(tools):
    for name in ("git_status", "git_diff", "git_reset"):
        obs = tools[name].call(path="../x")
        assert not obs.ok and "'..' is refused" in obs.text
