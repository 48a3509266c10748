"""Replay a trajectory file: re-execute its recorded tool calls against fresh tools, report divergence.

Convention: the recorded trace is run again through the real agent graph (in memory, every
category in yolo mode) with ``ReplayPolicy`` (``agent/policies/replay_policy.py``): the policy writes exactly
what it wrote then, and every observation -- tape reads and action calls alike -- comes from fresh
tools now: a new pointer tape, and for a run that had a workspace, a fresh scratch copy of the same
source directory (or ``workspace=``). Then the two traces are compared call by call: a call whose
observation differs is a divergence, as is a different answer or exit status. Timings in execution
results (``[exit 0; 0.09 s; ...]``) are not compared.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from tapehead.agent.graph.toolset import Toolset
from tapehead.agent.loops import limits as lim
from tapehead.agent.loops.episode import Limits
from tapehead.agent.policies.replay_policy import ReplayPolicy
from tapehead.agent.trace.trajectory import Trajectory
from . import models

_TIMING = re.compile(r"^\[([^\]\n]*?); \d+(?:\.\d+)? s; ")


def normalize(observation: str | None) -> str | None:
    """An observation without the parts that differ from run to run (execution timings)."""
    if observation is None:
        return None
    return _TIMING.sub(r"[\1; * s; ", observation)


@dataclass
class Divergence:
    what: str  # "call", "answer", "exit", "written"
    index: int | None  # trace index (of the call)
    tool: str
    recorded: str
    replayed: str


@dataclass
class ReplayReport:
    path: str
    calls: int  # calls compared (tape commands included)
    action_calls: int  # of which side-effecting calls, re-executed
    divergences: list[Divergence] = field(default_factory=list)
    replayed: Trajectory | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.divergences

    def to_json(self) -> dict:
        return {"path": self.path, "ok": self.ok, "calls": self.calls, "action_calls": self.action_calls,
                "divergences": [asdict(d) for d in self.divergences], "notes": self.notes,
                "replayed": {"exit": self.replayed.exit, "answer": self.replayed.answer[:200],
                             "tokens": len(self.replayed.tokens)} if self.replayed else None}


def replay(path: str, *, workspace: str | None = None, step_tokens: int = 4096) -> ReplayReport:
    from .agent import Agent

    rec = Trajectory.load(path)
    codec = models.codec()
    run = rec.meta.get("run") or {}
    notes: list[str] = []
    src = workspace or ((run.get("workspace") or {}).get("source"))
    toolset = Toolset.for_workspace(src) if src else Toolset()
    if src:
        notes.append(f"fresh scratch copy of {src}")
    limits = lim.from_json(run["limits"]) if run.get("limits") else Limits(max_tokens=rec.generated + 1000)
    policy = ReplayPolicy(rec.tokens, codec, rec.prompt_len)
    try:
        agent = Agent(policy=policy, toolset=toolset, yolo=True, limits=limits, step_tokens=step_tokens,
                      policy_name=f"replay:{path}")
        result = agent.solve(rec.input)
    finally:
        if toolset.workspace is not None:
            toolset.workspace.discard()
    new = result.trajectory
    new.task = rec.task
    report = ReplayReport(path, 0, 0, replayed=new, notes=notes)
    old_calls = codec.calls(rec.tokens, rec.prompt_len)
    new_calls = codec.calls(new.tokens, new.prompt_len)
    report.calls = len(old_calls)
    report.action_calls = sum(c["tool"] != "tape" for c in old_calls)
    for a, b in zip(old_calls, new_calls):
        if normalize(a["observation"]) != normalize(b["observation"]) or a["tool"] != b["tool"]:
            report.divergences.append(Divergence("call", a["index"], a["tool"], _short(a["observation"]),
                                                 _short(b["observation"])))
    if len(old_calls) != len(new_calls):
        report.divergences.append(Divergence("call", None, "", f"{len(old_calls)} calls", f"{len(new_calls)} calls"))
    if policy.divergences:
        pos, tok = policy.divergences[0]
        report.divergences.append(Divergence("written", pos, "", "as recorded", f"the loop wrote {codec.name(tok)}"))
    if new.answer != rec.answer:
        report.divergences.append(Divergence("answer", None, "", _short(rec.answer), _short(new.answer)))
    if new.exit != rec.exit:
        report.divergences.append(Divergence("exit", None, "", rec.exit, new.exit))
    return report


def _short(text: str | None, n: int = 300) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= n else text[: n // 2] + " … " + text[-n // 2:]
