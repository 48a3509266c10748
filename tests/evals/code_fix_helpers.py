"""Shared helpers for the code-fix tests: a generated instance in a real workspace, the teacher run
through the real tools and the real sandbox, and the sandboxed check of a finished repository."""

from __future__ import annotations

from tapehead.agent.graph.toolset import call_functions
from tapehead.agent.loops.loop import run_episode
from tapehead.agent.models import codec as get_codec
from tapehead.evals.tasks.code_fix import changed_functions, read_repo, write_repo
from tapehead.tools.code.tracebacks import trim_traceback
from tapehead.tools.sandbox.sandbox import Limits, Sandbox
from tapehead.tools.workspace import Workspace

C = get_codec()
BIG_OUTPUT = Limits(timeout_s=30, head_bytes=4 << 20, tail_bytes=0)


def sandboxed(ws, command: str = "python main.py") -> tuple[str, str]:
    """(compact observation, whole stdout) of the check in the real sandbox."""
    r = Sandbox(ws, BIG_OUTPUT).run(["/bin/sh", "-c", command])
    out = r.head.decode()
    assert r.cut_bytes == 0
    return trim_traceback(out, r.returncode, ws.root), out


def run_real(task, inst, tmp_path, name="repo"):
    """The teacher through the real tools on a real workspace of ``inst``: (trajectory, workspace)."""
    src = write_repo(inst.files, str(tmp_path / name))
    ws = Workspace.create(src, scratch_parent=str(tmp_path))
    traj = run_episode(task.teacher(C, inst), C, inst.text, call_tools=call_functions(task.tools(ws)))
    return traj, ws


def assert_fixed(inst, ws):
    """The check passes in the sandbox, the stdout is the reference's, the necessary functions
    (and only they) changed."""
    obs, out = sandboxed(ws)
    assert obs == "PASS", obs
    assert out == inst.expected_stdout
    assert changed_functions(inst.files, read_repo(ws)) == set(inst.necessary)
