"""Where an agent's policy comes from: one spec string (recorded in the session) -> a policy factory.

Convention: every policy is behind ``agent/policies/policy.py``'s protocol; a spec names one so that a
session can rebuild it in another process:

- a checkpoint path (without suffix; ``model/`` via ``tapehead.agent.models.load``): a ``ModelPolicy`` per
  thread over one loaded network;
- ``None`` / ``"default"``: the task's shipped checkpoint (``task.default_policy``, a path relative
  to the folder of the task's top-level package -- ``tapehead/``, which holds ``evals/`` -- resolved
  next to the task's own module, since the agent may not import ``evals``; or
  ``task.policy_path()`` when the task has one);
- ``"teacher"``: the task's hard-coded teacher (``task.teacher(codec)``);
- ``"script:FILE"``: the written tokens of a trajectory file, a JSON list of token ids,
  ``{"tokens": [...]}``, or a text file in ``agent/trace/markup.py`` markup, replayed by
  ``agent/policies/replay_policy.py`` (observations are answered afresh by the tools).

A ``Policy`` object can also be given directly (``PolicySource.of(obj)``): then the one instance is
shared, so the runtime cache keeps one thread's state at a time and rebuilds on a switch.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Callable


class PolicySource:
    def __init__(self, spec: str, make: Callable[[], object], shared: bool = False, info: dict | None = None):
        self.spec = spec  # recorded in the session
        self.make = make
        self.shared = shared
        self.info = info or {}

    @classmethod
    def of(cls, policy, name: str | None = None) -> "PolicySource":
        return cls(name or f"object:{type(policy).__name__}", lambda: policy, shared=True)

    @classmethod
    def resolve(cls, spec: str | None, task=None, *, device: str = "cpu", compile: bool = False) -> "PolicySource":
        """``compile``: fuse a network's CPU decode step with ``torch.compile`` (``ModelPolicy``)."""
        from tapehead.agent import models

        if spec in (None, "", "default"):
            if task is None:
                raise ValueError("no policy: give --policy (a checkpoint, teacher, or script:FILE) or a --task with a shipped policy")
            path = default_policy_path(task)
            if not path:
                raise ValueError(f"task {task.name!r} ships no policy: give --policy")
            spec = path
        if spec.startswith("object:"):
            raise ValueError(f"this session's policy was a Python object ({spec[7:]}): continue it from Python, "
                             "with Agent.from_session(ID, policy=...)")
        if spec == "teacher":
            if task is None:
                raise ValueError("--policy teacher needs a --task")
            codec = models.codec()
            return cls("teacher", lambda: task.teacher(codec))
        if spec.startswith("script:"):
            tokens, prompt_len = load_script(spec[len("script:"):])
            from .replay_policy import ReplayPolicy

            codec = models.codec()
            return cls(spec, lambda: ReplayPolicy(tokens, codec, prompt_len), info={"script_tokens": len(tokens)})
        path = os.path.abspath(os.path.expanduser(spec))
        model, meta = models.load(path, device=device)
        info = {"params": meta.get("num_parameters"), "kernel_path": models.kernel_path(model)}
        return cls(path, lambda: models.model_policy(model, device=device, compile=compile), info=info)


def default_policy_path(task) -> str:
    """The task's shipped checkpoint, without importing the task's package by name."""
    fn = getattr(task, "policy_path", None)
    if callable(fn):
        return str(fn())
    rel = getattr(task, "default_policy", "")
    if not rel:
        return ""
    mod = sys.modules.get(type(task).__module__)
    file = getattr(mod, "__file__", None)
    if file is None:
        return rel
    parts = type(task).__module__.split(".")
    # tapehead.evals.tasks.addition: .../evals/tasks/addition.py -> the folder of tapehead (holding evals/)
    root = Path(file).resolve().parents[max(len(parts) - 2, 0)]
    return str(root / rel)


def load_script(path: str) -> tuple[list[int], int | None]:
    """Token ids of a script file and its prompt length when known (see the module docstring); the
    file is untrusted: its size is bounded before reading and every id checked
    (``agent/trace/schema.py``), a problem is one ``ValueError``."""
    from tapehead.agent import models
    from tapehead.agent.trace import schema
    from tapehead.agent.trace.trajectory import FORMAT, Trajectory

    path = os.path.expanduser(path)
    if os.path.getsize(path) > schema.MAX_FILE_BYTES:  # (FileNotFoundError: "No such file or directory")
        raise ValueError(f"script file {path} is {os.path.getsize(path):,} bytes, more than {schema.MAX_FILE_BYTES:,}")
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        from tapehead.agent.trace.markup import parse_markup

        return parse_markup(models.codec(), text), None
    if isinstance(data, dict) and data.get("format") == FORMAT:
        traj = Trajectory.from_json(data, where=path)
        return traj.tokens.tolist(), traj.prompt_len
    if isinstance(data, dict) and isinstance(data.get("tokens"), list):
        data = data["tokens"]
    if not isinstance(data, list):
        raise ValueError(f"{path}: not a script (a trajectory, a JSON list of token ids, or markup text)")
    return schema.check_token_list(path, data, models.vocab().size).tolist(), None
