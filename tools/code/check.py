"""The check tool: run the workspace's check command in the sandbox, answer PASS or a compact FAIL.

Convention (issue 14): the command is the workspace's, fixed when the tools are made
(``workspace_tools(ws, check="python main.py")``), so the policy calls ``[CALL]check[/CALL]`` with
no arguments and never types a command line. The run goes through the same ``Sandbox`` as the
``run`` tool (``tools/sandbox/sandbox.py``); its output becomes the observation of
``trim_traceback`` (``tools/code/tracebacks.py``): ``PASS``, or ``FAIL exit N``, the innermost
frame in the workspace and the error line. The full run is in the observation's data.
"""

from __future__ import annotations

from tapehead.tools.base import Observation, ToolSpec, error
from tapehead.tools.code.tracebacks import trim_traceback
from tapehead.tools.sandbox.sandbox import Limits, Sandbox
from tapehead.tools.workspace.wstool import WorkspaceTool

DEFAULT_CHECK = "python main.py"


class Check(WorkspaceTool):
    spec = ToolSpec("check", "Run the workspace's check command in the sandbox: PASS, or FAIL with the "
                             "innermost frame and the error.", "exec", ())

    def __init__(self, ws, sandbox: Sandbox | None = None, command: str = DEFAULT_CHECK,
                 timeout_s: float | None = None):
        super().__init__(ws)
        self.sandbox = sandbox or Sandbox(ws, Limits())
        self.command = command
        self.timeout_s = timeout_s

    def act(self):
        if not self.command.strip():
            return error("this workspace has no check command")
        result = self.sandbox.run(["/bin/sh", "-c", self.command], self.timeout_s)
        if result.returncode == 125:
            return error(result.text())
        output = result.head.decode("utf-8", "replace")
        if result.cut_bytes:
            output += f"\n... [{result.cut_bytes} bytes of output cut] ...\n"
        output += result.tail.decode("utf-8", "replace")
        outcome = "" if result.returncode is not None and result.returncode >= 0 and not result.timed_out \
            else result.outcome
        text = trim_traceback(output, result.returncode, root=self.ws.root, outcome=outcome)
        return Observation(text, data={**result.to_json(), "command": self.command})

    def extra_snapshot(self) -> dict:
        last = self.sandbox.last
        return {"command": self.command, "last_run": last.to_json() if last else None}
