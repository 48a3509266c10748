"""The tools of one agent: side-effecting *actions* (graph tool steps) and in-process *memory* tools.

Convention (DESIGN.md, "Tools"; ``tools/base.py`` categories): a tool whose category is ``read``,
``edit``, ``exec`` or ``git`` is an action -- its calls leave the policy step and run in the
graph's tool node, where approval may interrupt; a ``memory`` tool (the search memory; the pointer
tape is built into every episode) runs inside the policy step, through ``Episode.call_tools``.
Both kinds are ``tapehead.tools.base.Tool`` objects and take the call format of ``agent/trace/calls.py``.

A toolset made for a workspace (``Toolset.for_workspace``) records the workspace's snapshot in the
session, so a resumed run (even in a new process) reattaches to the same scratch copy when it still
exists, keeping the edits made before; otherwise a fresh copy of the source is made (and the
result says so).
"""

from __future__ import annotations

from typing import Callable, Iterable

from tapehead.agent.trace.calls import parse_args
from .approval import SIDE_EFFECT_CATEGORIES


class Toolset:
    def __init__(self, actions: Iterable = (), memory: Iterable | Callable | None = None, workspace=None,
                 note: str = ""):
        self.actions = {}
        for t in actions:
            if t.spec.category not in SIDE_EFFECT_CATEGORIES:
                raise ValueError(f"tool {t.name!r} has category {t.spec.category!r}; actions are "
                                 f"{', '.join(SIDE_EFFECT_CATEGORIES)} (memory tools go in memory=)")
            self.actions[t.name] = t
        self.memory = memory  # list of memory Tools, or a factory f(tape) -> list of Tools
        self.workspace = workspace
        self.note = note  # e.g. "reattached to the scratch copy" / "made a fresh copy"

    # --- construction ---------------------------------------------------------------------------------
    @classmethod
    def for_workspace(cls, directory: str, sandbox_limits=None, check: str | None = None) -> "Toolset":
        """``check``: the command of the ``check`` tool (default ``python main.py``)."""
        from tapehead.tools.code.workspace_tools import DEFAULT_CHECK, workspace_tools
        from tapehead.tools.workspace.workspace import Workspace

        ws = Workspace.create(directory)
        return cls(workspace_tools(ws, sandbox_limits, check or DEFAULT_CHECK), workspace=ws,
                   note=f"scratch copy of {ws.source}")

    @classmethod
    def reattach(cls, snap: dict, sandbox_limits=None, check: str | None = None) -> "Toolset":
        """The toolset of a recorded workspace (``Workspace.snapshot()``): the same scratch copy if
        it is still there, else a fresh copy of its source. The record comes from a session database
        (untrusted): ``Workspace.attach`` checks it before any path in it is used, and raises
        ``WorkspaceInvalid`` (a ValueError with a one-line reason) for one that is not ours."""
        from tapehead.tools.code.workspace_tools import DEFAULT_CHECK, workspace_tools
        from tapehead.tools.workspace.workspace import Workspace, WorkspaceGone

        try:
            ws = Workspace.attach(snap)
        except WorkspaceGone as gone:
            ts = cls.for_workspace(snap["source"], sandbox_limits, check)
            ts.note = f"{gone}: made a fresh copy of {snap['source']}"
            return ts
        return cls(workspace_tools(ws, sandbox_limits, check or DEFAULT_CHECK), workspace=ws,
                   note=f"reattached to the scratch copy {ws.scratch}")

    # --- use ----------------------------------------------------------------------------------------
    def is_action(self, name: str) -> bool:
        return name in self.actions

    def memory_tools(self, tape) -> list:
        m = self.memory
        if m is None:
            return []
        return list(m(tape) if callable(m) else m)

    def call_tools(self, tape) -> tuple[dict, list]:
        """``Episode.call_tools`` for the memory tools of one episode, and those tools (for snapshots).
        A malformed call raises, which the episode turns into an error that counts as malformed."""
        tools = self.memory_tools(tape)
        return call_functions(tools), tools

    def names(self) -> list[str]:
        return sorted(self.actions)

    def describe(self) -> dict:
        return {"actions": self.names(), "workspace": self.workspace.snapshot() if self.workspace else None}

    def close(self) -> None:
        """Forget the tools; the workspace stays (the session may resume; ``sessions delete``
        discards it)."""
        self.actions = {}


def call_functions(tools: Iterable) -> dict[str, Callable[[str], str]]:
    """``{name: fn(call arguments text) -> observation text}`` for tools run inside the episode
    (``Episode.call_tools``): the memory tools here, any tools in a bare ``run_episode``. A
    malformed call raises ``CallError``, which the episode answers as malformed."""
    def bind(tool):
        def run(text: str) -> str:
            return tool.call(**parse_args(tool.spec, text)).text
        return run

    return {t.name: bind(t) for t in tools}
