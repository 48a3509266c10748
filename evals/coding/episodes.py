"""One policy on one benchmark instance: a scratch workspace, the episode, its diff as the prediction.

Convention (SWE-bench's inference step; the tools of DESIGN.md "Coding"): the instance's repository
is written to a fresh temporary directory, a ``Workspace`` (scratch copy) is made of it, and the
policy runs through ``tapehead.agent.loops.loop.run_episode`` with the workspace tools as its call
tools (``evals/coding/task_api.workspace_tools``: the general ones, the structured edits, and
``check`` running the instance's check command in the sandbox). Its input is the problem statement.
What it leaves in the workspace, as ``git diff`` against the start, is the ``model_patch``; the
patch is untrusted (the sandbox could have written anything in that tree) and is graded by
``evals/coding/grader.py`` on a fresh copy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field

from tapehead.agent.graph.toolset import Toolset
from tapehead.agent.loops.episode import Episode, Limits
from tapehead.agent.loops.loop import run_episode
from tapehead.agent.trace.trajectory import Trajectory
from tapehead.tools.workspace.workspace import Workspace
from . import task_api
from .record import BenchInstance
from .repo_files import write_files

CHECK_TOOL = "check"


@dataclass
class Solved:
    patch: str
    trajectory: Trajectory
    calls: Counter = field(default_factory=Counter)  # tool name -> calls made

    @property
    def check_runs(self) -> int:
        return self.calls[CHECK_TOOL]


class InstanceTools:
    """The workspace and the call tools of one instance; ``close()`` discards them."""

    def __init__(self, inst: BenchInstance, sandbox_limits=None, scratch_parent: str | None = None):
        self.tmp = tempfile.mkdtemp(prefix="tapehead-episode-", dir=scratch_parent)
        try:
            repo = os.path.join(self.tmp, "repo")
            write_files(inst.files, repo, inst.executable)
            self.ws = Workspace.create(repo, scratch_parent=self.tmp)
            tools = task_api.workspace_tools(self.ws, inst.check, sandbox_limits)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self.calls: Counter = Counter()
        fns, _ = Toolset(memory=tools).call_tools(None)  # the one binding of call text -> tool arguments
        self.fns = {name: self._counted(name, fn) for name, fn in fns.items()}

    def _counted(self, name, fn):
        def run(text: str) -> str:
            self.calls[name] += 1
            return fn(text)
        return run

    def diff(self) -> str:
        return self.ws.diff_text()

    def close(self) -> None:
        self.ws.discard()
        shutil.rmtree(self.tmp, ignore_errors=True)


def limits_for(inst: BenchInstance, factor: float = 1.5) -> Limits:
    """Episode limits: ``factor`` x the teacher's bound for this instance, plus slack."""
    return Limits(max_tokens=int(factor * task_api.max_tokens(inst)) + 2000)


def solve(inst: BenchInstance, policy, codec, *, limits: Limits | None = None, sandbox_limits=None,
          policy_name: str = "", scratch_parent: str | None = None) -> Solved:
    """Run ``policy`` on ``inst``; the prediction patch and the trajectory."""
    tools = InstanceTools(inst, sandbox_limits, scratch_parent)
    task, lim = task_api.task_name(inst.family, inst.style), limits or limits_for(inst)
    last: dict = {}
    try:
        t0 = time.perf_counter()
        try:
            traj = run_episode(policy, codec, inst.problem_statement, task=task, limits=lim, call_tools=tools.fns,
                               policy_name=policy_name, on_tokens=lambda ep, fed: last.update(ep=ep))
        except Exception as e:  # a failing policy (a teacher that gets stuck) ends its episode, not the run
            ep = last.get("ep") or Episode(codec, inst.problem_statement, task=task, limits=lim)
            ep.exit = "error"  # agent/loops/limits.py: "the policy or a tool failed"
            traj = ep.trajectory(policy=policy_name)
            traj.meta["error"] = f"{type(e).__name__}: {e}"
        traj.seconds = round(time.perf_counter() - t0, 6)
        return Solved(tools.diff(), traj, Counter(tools.calls))
    finally:
        tools.close()
