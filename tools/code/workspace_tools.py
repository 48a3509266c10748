"""Every workspace tool, bound to one Workspace: ``workspace_tools(ws) -> list[Tool]``.

Convention: the symbol tools share one incremental index, the execution tools one sandbox, so
snapshots agree and the index is built once. ``check`` is the workspace's check command, run by the
``check`` tool (``tools/code/check.py``; default ``python main.py``). ``accept``, ``undo`` and ``discard`` are deliberately
not tools: they are the user's decisions (``Workspace.accept()`` and friends), never the policy's.
"""

from __future__ import annotations

from tapehead.tools.base import Tool
from tapehead.tools.code.check import DEFAULT_CHECK, Check
from tapehead.tools.code.edits import CreateFile, ReplaceLines, ReplaceText
from tapehead.tools.code.files import Grep, ListFiles, ReadFile
from tapehead.tools.code.git_tools import GitDiff, GitReset, GitStatus
from tapehead.tools.code.refactor_tools import AddImport, AddParam, PassArg
from tapehead.tools.code.symbols import FindCalls, FindDefinition, Outline, SymbolIndex
from tapehead.tools.sandbox.exec_tools import RunCommand, RunPython
from tapehead.tools.sandbox.sandbox import Limits, Sandbox
from tapehead.tools.workspace.workspace import Workspace


def workspace_tools(ws: Workspace, limits: Limits | None = None, check: str = DEFAULT_CHECK) -> list[Tool]:
    index = SymbolIndex(ws)
    sandbox = Sandbox(ws, limits or Limits())
    return [ListFiles(ws), ReadFile(ws), Grep(ws),
            Outline(ws, index), FindDefinition(ws, index), FindCalls(ws, index),
            ReplaceText(ws), ReplaceLines(ws), CreateFile(ws),
            AddParam(ws), PassArg(ws), AddImport(ws),
            RunCommand(ws, sandbox), RunPython(ws, sandbox), Check(ws, sandbox, check),
            GitStatus(ws), GitDiff(ws), GitReset(ws)]


def tools_by_name(ws: Workspace, limits: Limits | None = None, check: str = DEFAULT_CHECK) -> dict[str, Tool]:
    return {t.name: t for t in workspace_tools(ws, limits, check)}
