"""Execution tools: run a shell command or a Python file of the workspace in the sandbox.

Convention: both tools go through one ``Sandbox`` (``tools/sandbox/sandbox.py``) bound to the workspace; the
observation starts with ``[outcome; seconds; bytes of output]`` (exit code, or the kill and its
reason), then the merged stdout+stderr cut to head and tail. A non-zero exit is still ``ok=True``
(the tool worked; the program failed); a refused call (bad path, bad timeout) is ``ok=False``.
``snapshot()`` carries the last run and the isolation facts of this machine.
"""

from __future__ import annotations

import shlex
import sys

from tapehead.tools.base import Arg, Observation, ToolSpec, error
from tapehead.tools.sandbox.sandbox import Limits, RunResult, Sandbox
from tapehead.tools.workspace.wstool import WorkspaceTool

TIMEOUT = Arg("timeout_s", "float", "wall-clock limit in seconds (default 10)", False, None)


class _ExecTool(WorkspaceTool):
    def __init__(self, ws, sandbox: Sandbox | None = None):
        super().__init__(ws)
        self.sandbox = sandbox or Sandbox(ws, Limits())

    def execute(self, argv: list[str], timeout_s) -> Observation:
        lim = self.sandbox.limits
        if timeout_s is not None and not 0 < timeout_s <= lim.max_timeout_s:
            return error(f"timeout_s must be in (0, {lim.max_timeout_s:g}], got {timeout_s}")
        result: RunResult = self.sandbox.run(argv, timeout_s)
        return Observation(result.text(), ok=result.returncode != 125, data=result.to_json())

    def extra_snapshot(self) -> dict:
        last = self.sandbox.last
        return {"last_run": last.to_json() if last else None, "isolation": self.sandbox._facts,
                "limits": self.sandbox.limits.__dict__}


class RunCommand(_ExecTool):
    spec = ToolSpec("run", "Run a shell command (/bin/sh -c) in the workspace, sandboxed.", "exec",
                    (Arg("command", "str", "shell command line"), TIMEOUT))

    def act(self, command, timeout_s):
        if not command.strip():
            return error("command is empty")
        return self.execute(["/bin/sh", "-c", command], timeout_s)


class RunPython(_ExecTool):
    spec = ToolSpec("run_python", "Run a Python file of the workspace with arguments, sandboxed.", "exec",
                    (Arg("path", "str", "the .py file, relative to the workspace root"),
                     Arg("args", "str", "arguments, split like a shell would (no expansion)", False, ""),
                     TIMEOUT))

    def act(self, path, args, timeout_s):
        p = self.path(path)
        if not p.exists or not p.real.endswith(".py"):
            return error(f"no such Python file: {p.rel}")
        try:
            extra = shlex.split(args)
        except ValueError as e:
            return error(f"cannot split args: {e}")
        return self.execute([sys.executable, p.inside, *extra], timeout_s)
