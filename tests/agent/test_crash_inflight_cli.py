"""The crash test (issue 12, class 4): ``tapehead run --workspace DIR`` SIGKILLed while its sandboxed
command runs leaves no process and no cgroup behind, and the resumed run neither loses a step nor
re-runs the call unasked.

Real ``tapehead`` processes on a real directory; the policy is a script (``--policy
script:FILE.txt``, ``agent/trace/markup.py``) that makes one ``run`` call. The command appends a
line to ``runs.log`` in the scratch copy, so the test counts how often it really ran; its first run
starts a background child and a ``setsid`` grandchild and sleeps 30 s. Every process of it carries
a marker in its environment (``export TH_MARK``), which is how the host is searched afterwards
(``tests/leftovers.py``). The session starts in confirm mode: the approval is answered by the
process that is then killed, so the resume meets LangGraph's stale approval interrupt and must ask
the re-run question instead.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time

import pytest
from graph_helpers import source_dir
from leftovers import EMPTY, left_behind, nothing_left

from tapehead.agent.graph.sessions import SessionIndex, open_saver
from tapehead.agent.trace.markup import parse_markup
from tapehead.agent.trace.trajectory import Trajectory
from tapehead.agent.models import codec
from tapehead.agent.trace.codec import Kind

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMAND = ("export TH_MARK={mark}; echo ran >> runs.log; if [ $(wc -l < runs.log) -eq 1 ]; then "
           "sleep 300 & setsid sh -c 'sleep 301' & echo ready > ready; sleep 30; fi; echo finished")


def tapehead(home, *args, **kw):
    return subprocess.Popen([sys.executable, "-m", "tapehead", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "TAPEHEAD_HOME": str(home)}, **kw)


def finished(p, timeout=60):
    out, err = p.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    return p.returncode, (json.loads(out) if out.strip() else None)


def session(home, thread, delete: bool = False) -> str:
    """The session's scratch copy (and with ``delete``, the session deleted, its copy discarded)."""
    saver = open_saver(str(home / "sessions.sqlite"))
    try:
        index = SessionIndex(saver)
        scratch = index.get(thread)["workspace"]["scratch"]
        if delete:
            index.delete(thread)
        return scratch
    finally:
        saver.conn.close()


def written(tokens, prompt_len):
    """The tokens the policy wrote (observations excluded): what a lost or repeated step would change."""
    reader = codec().reader()
    return [t for t in tokens[prompt_len:] if reader.feed(t) is not Kind.OBSERVATION]


@pytest.mark.slow  # about 10 s per answer: eight `tapehead` processes start
@pytest.mark.parametrize("answer", ["yes", "no"])
def test_sigkill_mid_call_leaves_nothing_and_resume_asks_before_rerunning(tmp_path, answer):
    home, thread, mark = tmp_path / "home", f"crash-{answer}", f"thcrash{secrets.token_hex(4)}"
    markup = ("[CALL]run " + json.dumps({"command": COMMAND.format(mark=mark), "timeout_s": 60})
              + "[/CALL][OBS][/OBS][ANS]done[EOS]")
    (tmp_path / "script.txt").write_text(markup)
    base = ["--policy", f"script:{tmp_path / 'script.txt'}", "--json"]
    rc, res = finished(tapehead(home, "run", "--input", "go", "--workspace", source_dir(tmp_path),
                                "--thread", thread, "--no-prompt", *base))
    assert rc == 3 and res["approval"]["kind"] == "approval"
    tree = os.path.join(session(home, thread), "tree")
    try:
        crash_then_resume(home, thread, mark, tree, answer)
        path = os.path.join(home, "trajectories", f"{thread}.json")
        traj = json.load(open(path))
        traj["tokens"] = list(Trajectory.load(path).tokens)  # (the file holds them compact: agent/trace/tokens.py)
        # no step lost, none repeated: policy, tool, policy; the policy wrote exactly its script
        assert traj["meta"]["steps"] == 3 and traj["counts"]["tool_calls"] == 1
        assert written(traj["tokens"], traj["prompt_len"]) == written(parse_markup(codec(), markup), 0)
        [call] = traj["meta"]["calls"]
        assert call["observation"] in bytes(t for t in traj["tokens"] if t < 256).decode("utf-8", "replace")
        if answer == "yes":
            assert call["approved"] and call["observation"].startswith("note: this call was running when the agent")
            assert "finished" in call["observation"]
        else:
            assert not call["approved"] and call["observation"].startswith("not re-run: this run call was running")
    finally:
        session(home, thread, delete=True)  # and its scratch copy
    assert not os.path.exists(tree)


def crash_then_resume(home, thread: str, mark: str, tree: str, answer: str) -> None:
    """SIGKILL the agent running the approved call; check the host; resume, ask, answer."""
    agent = tapehead(home, "run", "--resume", thread, "--answer", "yes", "--json")
    try:
        end = time.monotonic() + 30
        while not os.path.exists(os.path.join(tree, "ready")):
            assert time.monotonic() < end and agent.poll() is None, agent.stderr.read()
            time.sleep(0.02)
        before = left_behind(mark, agent.pid)
        assert len(before["processes"]) >= 6 and len(before["cgroups"]) <= 1  # launcher, init, sh, sleeps
    finally:
        agent.send_signal(signal.SIGKILL)
        agent.wait()
    assert nothing_left(mark, agent.pid, within=5.0) == EMPTY  # no process, no cgroup of that run

    # resumed without an answer: it pauses with the re-run question, and nothing ran again
    rc, res = finished(tapehead(home, "run", "--resume", thread, "--no-prompt", "--json"))
    request = res["approval"]
    assert rc == 3 and request["kind"] == "rerun" and request["args"]["command"].startswith("export")
    assert request["message"].startswith("this run call was running when the agent stopped (it started at ")
    assert open(os.path.join(tree, "runs.log")).read() == "ran\n"

    rc, res = finished(tapehead(home, "run", "--resume", thread, "--answer", answer, "--json"))
    assert rc == 0 and res["exit"] == "eos" and res["answer"] == "done"
    assert open(os.path.join(tree, "runs.log")).read() == ("ran\nran\n" if answer == "yes" else "ran\n")
