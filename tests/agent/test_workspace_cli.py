"""``tapehead accept / undo / discard ID`` against a real git repository, on a session made by
``tapehead run --workspace DIR`` with a scripted policy that edits a file: the user's tree changes
only on accept, undo restores it (from another process too), discard leaves the repository as it
was; and the Python ``Agent`` discards its scratch copy on close when its sessions are in memory."""

import json
import os
import pty
import subprocess
import sys

import pytest

from tapehead.agent.agent import Agent
from tapehead.agent.cli.main import main

from graph_helpers import scripted

EDIT = ('[CALL]replace_text {"path": "app.py", "old": "return 1", "new": "return 2"}[/CALL][OBS][/OBS]'
        '[CALL]create_file {"path": "notes/new.txt", "content": "made by the agent\\n"}[/CALL][OBS][/OBS]'
        '[ANS]edited[EOS]')
ORIGINAL = "def answer():\n    return 1\n"


def git(cwd, *args) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


def files(root) -> dict:
    """Every file of the user's tree but .git: path -> bytes."""
    out = {}
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if x != ".git"]
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


def repo_refs(root) -> tuple:
    """What a workspace could leave behind in the repository: branches, worktrees, status."""
    return (git(root, "branch", "--list"), git(root, "worktree", "list", "--porcelain"),
            git(root, "status", "--porcelain", "--untracked-files=all"))


@pytest.fixture
def session(tmp_path, monkeypatch, capsys):
    """A finished `tapehead run --workspace REPO` session whose policy edited app.py and made a file."""
    monkeypatch.setenv("TAPEHEAD_HOME", str(tmp_path / "home"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text(ORIGINAL)
    (repo / "README").write_text("a project\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    before = (files(repo), repo_refs(repo))
    script = tmp_path / "edit.txt"
    script.write_text(EDIT)
    assert main(["run", "--input", "edit it", "--policy", f"script:{script}", "--workspace", str(repo),
                 "--yolo", "--thread", "ws1", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["exit"] == "eos" and res["answer"] == "edited"
    assert files(repo) == before[0]  # the run changed nothing of the user's
    return repo, before


def run_cli(*args, tmp_path, **kw):
    env = {**os.environ, "TAPEHEAD_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-m", "tapehead", *args], capture_output=True, text=True, env=env,
                          timeout=120, **kw)


def test_accept_changes_the_tree_and_undo_restores_it(session, tmp_path, capsys):
    repo, (tree0, _) = session
    assert main(["accept", "ws1"]) == 2  # no terminal to ask on and no --yes: refused, nothing written
    cap = capsys.readouterr()
    assert "-    return 1" in cap.out and "+    return 2" in cap.out and "notes/new.txt" in cap.out  # diff first
    assert "--yes" in cap.err and files(repo) == tree0
    assert main(["accept", "ws1", "--yes"]) == 0
    assert "accepted 2 file(s)" in capsys.readouterr().out
    assert (repo / "app.py").read_text() == ORIGINAL.replace("return 1", "return 2")
    assert (repo / "notes" / "new.txt").read_text() == "made by the agent\n"
    assert main(["accept", "ws1", "--yes", "--json"]) == 0  # accepted already: nothing left to accept
    assert json.loads(capsys.readouterr().out)["files"] == []
    r = run_cli("undo", "ws1", "--json", tmp_path=tmp_path)  # another process: the accept is reloaded
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["ok"] and sorted(res["files"]) == ["app.py", "notes/new.txt"]
    assert files(repo) == tree0
    assert main(["undo", "ws1"]) == 1  # nothing left to undo: refused, one line
    assert "nothing to undo" in capsys.readouterr().err


def test_accept_asks_on_a_terminal_and_no_changes_nothing(session, tmp_path):
    repo, (tree0, _) = session
    master, slave = pty.openpty()
    try:
        os.write(master, b"n\n")
        r = run_cli("accept", "ws1", tmp_path=tmp_path, stdin=slave)
    finally:
        os.close(master)
        os.close(slave)
    assert r.returncode == 1 and "+    return 2" in r.stdout and "not accepted" in r.stderr
    assert files(repo) == tree0


def test_accept_refuses_a_file_the_user_changed_since(session, capsys):
    repo, _ = session
    (repo / "app.py").write_text("def answer():\n    return 42  # the user's own edit\n")
    mine = files(repo)
    assert main(["accept", "ws1", "--yes"]) == 1
    assert "accept refused" in capsys.readouterr().err and files(repo) == mine


def test_discard_leaves_the_repository_as_it_was(session, capsys):
    repo, before = session
    home = os.environ["TAPEHEAD_HOME"]
    assert main(["sessions", "show", "ws1", "--json"]) == 0
    scratch = json.loads(capsys.readouterr().out)["run"]["workspace"]["scratch"]
    assert os.path.isdir(scratch)
    assert main(["discard", "ws1"]) == 0
    assert "discarded the workspace" in capsys.readouterr().out
    assert not os.path.exists(scratch) and (files(repo), repo_refs(repo)) == before
    assert main(["discard", "ws1"]) == 0 and "already discarded" in capsys.readouterr().out
    assert main(["accept", "ws1", "--yes"]) == 2 and "discarded" in capsys.readouterr().err
    assert main(["sessions", "show", "ws1", "--json"]) == 0  # the session's record stays
    assert json.loads(capsys.readouterr().out)["answer"] == "edited"
    assert os.environ["TAPEHEAD_HOME"] == home


@pytest.mark.parametrize("argv, message", [
    (["accept", "nosuch", "--yes"], "no session"),
    (["undo", "nosuch"], "no session"),
])
def test_user_errors_are_one_line(session, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_session_without_workspace_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TAPEHEAD_HOME", str(tmp_path / "home"))
    assert main(["discard", "x"]) == 2 and "no sessions yet" in capsys.readouterr().err
    assert main(["run", "--task", "addition", "--input", "1+2", "--policy", "teacher", "--thread", "plain"]) == 0
    capsys.readouterr()
    assert main(["accept", "plain", "--yes"]) == 2
    assert "has no workspace" in capsys.readouterr().err


def test_agent_discards_its_copy_on_close_with_sessions_in_memory(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text(ORIGINAL)
    with Agent(policy=scripted(EDIT), workspace=str(src), yolo=True) as agent:
        assert agent.solve("edit it").answer == "edited"
        ws = agent.toolset.workspace
        assert "return 2" in ws.diff_text() and os.path.isdir(ws.scratch)
    assert ws.closed and not os.path.exists(ws.scratch)
    assert (src / "app.py").read_text() == ORIGINAL

    db = str(tmp_path / "s.sqlite")  # with a database the copy belongs to the session
    agent = Agent(policy=scripted(EDIT), workspace=str(src), yolo=True, db=db)
    tid = agent.solve("edit it", thread_id="kept").thread_id
    agent.close()
    ws = agent.toolset.workspace
    assert not ws.closed and os.path.isdir(ws.scratch)
    assert main(["discard", tid, "--db", db]) == 0
    assert not os.path.exists(ws.scratch)
