"""The base of every tool bound to a Workspace (files, symbols, edits, execution, git).

Convention: subclasses implement ``act(**args)`` instead of ``_run``. ``_run`` checks that the
workspace is still open, counts the call, turns a refused path (``PathRefused``) or a file that
may not be read (``NotReadable``: a FIFO, a device, too large) into an error observation with its
message, and records a one-line summary of the last call for ``snapshot()``.
Paths are checked with ``self.path(p)`` (``tools/workspace/paths.py``); anything else unexpected is turned into
an error observation by ``Tool.call``.
"""

from __future__ import annotations

from tapehead.tools.base import Observation, Tool, error
from tapehead.tools.workspace.paths import NotReadable, PathRefused, ToolPath, resolve
from tapehead.tools.workspace.workspace import WorkspaceClosed


class WorkspaceTool(Tool):
    def __init__(self, ws):
        self.ws = ws
        self.n_calls = 0
        self.last: dict = {}

    def path(self, path: str) -> ToolPath:
        return resolve(self.ws.root, path)

    def _run(self, **args) -> Observation:
        self.n_calls += 1
        try:
            self.ws.check_open()
            out = self.act(**args)
        except (PathRefused, NotReadable, WorkspaceClosed) as e:
            out = error(str(e))
        out = out if isinstance(out, Observation) else Observation(str(out))
        first = out.text.splitlines()[0][:200] if out.text else ""
        self.last = {"args": {k: (v if not isinstance(v, str) or len(v) <= 200 else v[:200] + "...")
                              for k, v in args.items()}, "ok": out.ok, "summary": first}
        return out

    def act(self, **args) -> Observation | str:
        raise NotImplementedError

    def snapshot(self) -> dict:
        return {"tool": self.name, "workspace": self.ws.root, "calls": self.n_calls, "last": self.last,
                **self.extra_snapshot()}

    def extra_snapshot(self) -> dict:
        return {}
