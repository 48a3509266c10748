"""``tapehead fix DIR --check CMD``: the agent fixes a repository in a scratch copy; the user accepts the diff.

Convention (DESIGN.md "Coding": the user's tree changes only on accept): a ``Workspace`` (scratch
copy) of DIR gets the workspace tools with ``check`` running CMD in the sandbox -- with the
repository's own virtual environment when it has one (``evals/coding/venv.py``) -- and the
LangGraph agent (``tapehead.agent.agent.Agent``, a session in the sessions database) runs the
policy on the problem statement made for CMD. Every call is streamed on stderr with its arguments,
its observation cut to a few lines, and edits shown as the tool's excerpt. At the end the diff is
shown with the check's result and the user is asked to accept it (``--yes`` accepts, for scripts,
but only a diff whose check passes; with nobody to answer nothing is accepted); accepting copies the changed files into DIR
(``Workspace.accept``: refused when DIR changed meanwhile). The scratch copy is then discarded.
"""

from __future__ import annotations

import json
import os
import time

from rich.markup import escape

from tapehead.agent import models
from tapehead.agent.graph import events as ev
from tapehead.agent.graph.toolset import Toolset
from tapehead.agent.loops.episode import Limits
from tapehead.tools.workspace.workspace import Workspace
from . import task_api
from .record import BenchInstance
from .venv import sandbox_limits

NO_POLICY = ("no trained code-fix policy ships yet (issue 15): pass --teacher to run the hard-coded teacher "
             "for a known bug family (--family plumbing|import), or --policy PATH for a checkpoint")
OBS_LINES = 6


def user_instance(ws: Workspace, check: str, family: str | None, statement: str) -> BenchInstance:
    """The user's repository as an instance for the teacher: its check and bug family only (the
    teacher reads the tools' answers, never the files or a reference fix)."""
    return BenchInstance(f"fix-{os.path.basename(ws.source)}", statement, {}, (check,), family=family,
                         style="realistic")


def run_fix(directory: str, check: str, *, policy=None, teacher: bool = False,
            family: str | None = None, yes: bool = False, as_json: bool = False, db: str | None = None,
            max_tokens: int | None = None, err=None, ask=None) -> dict:
    """Returns the result object (``--json`` prints it); ``err`` is a rich Console for the stream,
    ``ask(prompt) -> bool`` the accept question (None: nobody to ask, so no accept without ``yes``).
    ``policy``: a spec (``agent/policies/source.py``) or a policy object (the benchmarks' forced one)."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"not a directory: {directory}")
    if not check.strip():
        raise ValueError("--check needs a command, e.g. --check 'python main.py'")
    if not teacher and not policy:
        raise ValueError(NO_POLICY)
    limits, interpreter = sandbox_limits(directory)
    show = err is not None and not as_json  # the stream on stderr, for a person watching
    ws = Workspace.create(directory)
    try:
        statement = task_api.problem_statement(check)
        codec = models.codec()
        inst = user_instance(ws, check, family, statement)
        toolset = Toolset(task_api.workspace_tools(ws, check, limits), workspace=ws, note=interpreter)
        from tapehead.agent.agent import Agent

        spec = task_api.teacher(codec, inst) if teacher else policy
        run_limits = Limits(max_tokens=max_tokens or 200_000, max_consecutive_malformed=3)
        agent = Agent(policy=spec, policy_name="teacher" if teacher else None, toolset=toolset, yolo=True,
                      limits=run_limits, db=db)
        if show:
            err.print(f"[bold]fix[/] {escape(f'{ws.source}: scratch copy {ws.root}; {interpreter}')}", highlight=False)
        t0 = time.perf_counter()
        try:
            res = agent.solve(statement, on_event=(lambda e: _stream(err, e)) if show else None)
        finally:
            agent.close()
        seconds = time.perf_counter() - t0
        diff = ws.diff_text()
        final = toolset.actions["check"].call()  # once more, on what the agent left
        passed = final.data.get("returncode") == 0
        first = final.text.splitlines()[0] if final.text else ""
        traj = res.trajectory
        calls = traj.meta.get("calls") or []
        accepted, note = False, "nothing to accept: the agent changed nothing" if not diff else ""
        if diff:
            if show:
                _show_diff(err, diff)
                err.print(f"check after the run: {first}", highlight=False, markup=False)
            if yes and not passed:  # a script's --yes never takes a fix whose check still fails
                note = "not accepted: the check still fails in the scratch copy; your tree is unchanged"
            elif yes or (ask is not None and ask("accept this diff into your tree? [y/N] ")):
                obs = ws.accept()
                accepted, note = obs.ok, obs.text.splitlines()[0]
            elif not note:
                note = "not accepted: your tree is unchanged" + ("" if ask is not None else " (pass --yes to accept without asking)")
        result = {"session": res.thread_id, "exit": res.exit, "tokens": traj.generated, "calls": len(calls),
                  "check_runs": sum(1 for c in calls if c.get("tool") == "check"), "seconds": round(seconds, 3),
                  "check": first, "check_passed": passed,
                  "diff": diff, "accepted": accepted, "note": note, "interpreter": interpreter, "error": res.error}
        if show:
            err.print(f"{note}\nsession {res.thread_id}: exit={res.exit}, {traj.generated} tokens, {len(calls)} calls, "
                      f"{seconds:.1f} s" + (f"; error: {res.error}" if res.error else ""), highlight=False, markup=False)
        return result
    finally:
        ws.discard()


def _stream(err, e) -> None:
    """One event of the run, for a person watching: calls, cut observations, malformed calls."""
    if isinstance(e, ev.ToolCall):
        args = json.dumps(e.args, ensure_ascii=False)
        err.print(f"[bold cyan]> {escape(e.tool)}[/] {escape(args if len(args) < 200 else args[:199] + '…')}", highlight=False)
    elif isinstance(e, ev.ToolResult):
        lines = e.text.splitlines() or [""]
        shown = lines[:OBS_LINES] + ([f"… ({len(lines) - OBS_LINES} more lines)"] if len(lines) > OBS_LINES else [])
        colour = "green" if e.ok else "red"
        for ln in shown:  # tool output is the repository's text: never rich markup
            err.print(f"  [{colour}]{escape(ln)}[/]", highlight=False)
    elif isinstance(e, ev.MalformedCall):
        err.print(f"[red]! malformed call:[/] {escape(e.error)}", highlight=False)


def _show_diff(err, diff: str) -> None:
    from rich.syntax import Syntax

    err.print(Syntax(diff, "diff", theme="ansi_dark", background_color="default"))


def ask_stdin(prompt: str) -> bool:
    """The accept question on stdin (a terminal, or a pipe: ``echo y | tapehead fix ...``); EOF is no."""
    try:
        return input(prompt).strip().lower() in ("y", "yes")
    except EOFError:
        return False
