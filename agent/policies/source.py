"""Where an agent's policy comes from: one spec string (recorded in the session) -> a policy factory.

Convention: every policy is behind ``agent/policies/policy.py``'s protocol; a spec names one so that a
session can rebuild it in another process:

- the name of a shipped policy (``addition``, ``multitask``: ``agent/policies/shipped.py``), or a
  checkpoint path (without suffix; ``model/`` via ``tapehead.agent.models.load``): a ``ModelPolicy``
  per thread over one loaded network; a shipped one is recorded by its name;
- ``None`` / ``"default"``: the task's shipped policy (``task.default_policy``, a shipped name; or
  ``task.policy_path()`` when the task has one); a task whose shipped policies each cover part of
  its inputs has ``policy_for(text)`` instead, and gets a ``RoutedPolicy`` (``routed.py``) that
  picks one per episode;
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
from typing import Callable

from . import shipped


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
            if callable(getattr(task, "policy_for", None)):
                return cls._routed(task, device, compile)
            spec = default_policy_name(task)
            if not spec:
                raise ValueError(f"task {task.name!r} ships no policy: give --policy")
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
        model, meta = models.load(shipped.resolve(spec), device=device)
        info = {"params": meta.get("num_parameters"), "kernel_path": models.kernel_path(model)}
        return cls(shipped.label(spec), lambda: models.model_policy(model, device=device, compile=compile), info=info)


    @classmethod
    def _routed(cls, task, device: str, compile: bool) -> "PolicySource":
        """The task's shipped policy for each episode's input (``task.policy_for``), each network
        loaded once, on first use. Recorded as ``default``: a resumed session routes the same way."""
        from tapehead.agent import models

        from .routed import RoutedPolicy

        codec, loaded = models.codec(), {}

        def choose(prompt):
            name = task.policy_for(codec.vocab.decode_text(list(prompt)[1:]))  # [BOS] + the text's bytes
            if name not in loaded:
                loaded[name] = models.load(shipped.resolve(name), device=device)[0]
            return models.model_policy(loaded[name], device=device, compile=compile)

        return cls("default", lambda: RoutedPolicy(choose), info={"routes": dict(getattr(task, "routes", {}))})


def has_default_policy(task) -> bool:
    """Whether a run of ``task`` needs no --policy: it ships one, or one per kind of input."""
    return callable(getattr(task, "policy_for", None)) or bool(default_policy_name(task))


def default_policy_name(task, text: str | None = None) -> str:
    """The task's default policy spec: its shipped name (for ``text``, when the task picks one per
    input: ``policy_for``), or the path its ``policy_path()`` gives; "" when there is none."""
    route = getattr(task, "policy_for", None)
    if callable(route):
        return route(text) if text is not None else ""
    fn = getattr(task, "policy_path", None)
    return str(fn()) if callable(fn) else getattr(task, "default_policy", "")


def default_policy_path(task, text: str | None = None) -> str:
    """The checkpoint path of the task's default policy for ``text`` ("" when it has none)."""
    spec = default_policy_name(task, text)
    return shipped.resolve(spec) if spec else ""


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
