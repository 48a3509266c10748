"""``tapehead run``: the LangGraph agent on one input (headless), or a session resumed.

Registered as a plugin of ``agent/cli/main.py`` (entry points in pyproject.toml). It drives the
LangGraph agent of ``agent/agent.py``; sessions live in ``--db`` (default
``agent/graph/sessions.py``). Exit status: 0 when the episode ended with ``[EOS]``, 1 for any other
exit status, 3 when the run is paused waiting for an approval (continue with ``--resume ID
--answer yes|no``), 2 for a user error.
"""

from __future__ import annotations

import json
import os
import sys
import time

from tapehead.agent.graph import events as ev

from .common import db_option, err, out


def register_run(sub) -> None:
    p = sub.add_parser("run", help="run the agent on one input (headless), or resume a session",
                       description="Run the LangGraph agent, e.g. `tapehead run --task addition --input 123+456`.")
    p.add_argument("--task", help="task name (parses the input, grades the answer, gives the default policy)")
    p.add_argument("--input", help="the problem (for a task, in its natural form: 123+456), or @FILE")
    p.add_argument("--input-file", help="read the input from this file")
    p.add_argument("--policy", help="checkpoint path (no suffix), 'teacher', or script:FILE; default: the task's")
    p.add_argument("--out", help="trajectory file, rewritten after every step (default: TAPEHEAD_HOME/trajectories/ID.json)")
    p.add_argument("--resume", metavar="ID", help="continue session ID (after a kill, or to answer an approval)")
    p.add_argument("--answer", help="with --resume: the answer to the pending approval (yes or no)")
    p.add_argument("--thread", metavar="ID", help="the new session's id (default: time + random)")
    p.add_argument("--workspace", help="give the agent the workspace tools on a scratch copy of this directory")
    p.add_argument("--yolo", action="store_true", help="run every tool call without asking")
    p.add_argument("--approve", metavar="CAT=MODE,...", help="approval modes per category (read, edit, exec, git, all): confirm or yolo")
    p.add_argument("--no-prompt", action="store_true", help="never ask on the terminal: pause the run instead")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.add_argument("--events", action="store_true", help="print every event as a JSON line")
    p.add_argument("--trace", action="store_true", help="print the coloured trace at the end")
    db_option(p)
    for name, typ, help_ in (("max-tokens", int, "tokens after the input"), ("max-steps", int, "graph steps"),
                             ("max-tool-calls", int, "tool calls, tape commands included"),
                             ("max-seconds", float, "running time"), ("max-malformed", int, "consecutive malformed outputs")):
        p.add_argument(f"--{name}", type=typ, help=help_)
    p.add_argument("--step-tokens", type=int, default=None, help="tokens decoded per policy step (default 2048)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--compile", action="store_true", help="CPU: fuse the network's decode step with torch.compile")
    p.set_defaults(func=cmd_run)


def _limits(args) -> dict | None:
    """Limits given on the command line, over the run's default (the task's bound) or recorded ones."""
    names = {"max_tokens": "max_tokens", "max_steps": "max_steps", "max_tool_calls": "max_tool_calls",
             "max_seconds": "max_seconds", "max_malformed": "max_consecutive_malformed"}
    given = {field: getattr(args, arg) for arg, field in names.items() if getattr(args, arg) is not None}
    return given or None


def _approver(args):
    if args.no_prompt or args.json or args.events or not sys.stdin.isatty():
        return None

    def ask(request: dict) -> bool:
        err.print(f"[bold yellow]approve[/] {request['tool']} ({request['category']}) "
                  f"{json.dumps(request['args'], ensure_ascii=False)}", highlight=False)
        try:
            return input("  run it? [y/N] ").strip().lower() in ("y", "yes")
        except EOFError:
            return False

    return ask


def cmd_run(args) -> int:
    from tapehead.agent.agent import Agent
    from tapehead.agent.graph.sessions import default_db, home
    from .main import UserError

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    db = args.db or default_db()
    approver = _approver(args)
    kw = {}
    if args.yolo or args.approve:
        kw.update(yolo=args.yolo, approval=args.approve)
    if args.step_tokens:
        kw["step_tokens"] = args.step_tokens
    if args.resume:
        if args.input or args.input_file:
            raise UserError("--resume continues a session: give no --input")
        if _limits(args):
            kw["limits"] = _limits(args)
        agent = Agent.from_session(args.resume, db=db, approver=approver, device=args.device, compile=args.compile,
                                   **kw)
        thread = agent.resumed_thread
        if agent.toolset.workspace is not None and not (args.json or args.events):
            err.print(f"note: {agent.toolset.note}", highlight=False)
        answer = args.answer if args.answer is not None else _UNSET_ANSWER
        stream = agent.stream(thread_id=thread, **({} if answer is _UNSET_ANSWER else {"resume": answer}))
    else:
        if args.answer is not None:
            raise UserError("--answer goes with --resume ID")
        text = args.input
        if args.input_file or (text or "").startswith("@"):
            path = args.input_file or text[1:]
            if not os.path.isfile(path):
                raise UserError(f"no such input file: {path}")
            with open(path) as f:
                text = f.read().strip()
        if not text:
            raise UserError("give --input (or --input-file), or --resume ID")
        agent = Agent(task=args.task, policy=args.policy, workspace=args.workspace, approver=approver,
                      limits=_limits(args), db=db, device=args.device, compile=args.compile, **kw)
        from tapehead.agent.agent import new_thread_id

        thread = args.thread or new_thread_id()
        out_path = args.out or str(home() / "trajectories" / f"{thread}.json")
        stream = agent.stream(text, thread_id=thread, out=out_path)
    live = err.is_terminal and not (args.json or args.events)
    t0 = time.perf_counter()
    try:
        for e in stream:
            if args.events:
                print(json.dumps(e.to_json(), ensure_ascii=False), flush=True)
            elif live and isinstance(e, ev.Stats):
                rate = f", {e.tokens_per_s:.0f} tok/s" if e.tokens_per_s else ""
                err.file.write(f"\r{e.tokens} tokens, {e.steps} steps{rate}   ")
                err.file.flush()
        if live:
            err.file.write("\r" + " " * 60 + "\r")
        graph_seconds = time.perf_counter() - t0
        res = agent.result(thread)
    finally:
        agent.close()
    return _report(args, agent, res, graph_seconds)


_UNSET_ANSWER = object()


def _report(args, agent, res, graph_seconds: float) -> int:
    traj = res.trajectory
    row_out = (traj.meta.get("run") or {}).get("out")
    secs = traj.seconds
    summary = {"session": res.thread_id, "task": traj.task, "input": (traj.meta.get("run") or {}).get("input", traj.input),
               "answer": res.answer, "correct": res.correct, "exit": res.exit, "tokens": traj.generated,
               "steps": traj.meta.get("steps"), "tool_calls": traj.counts.get("tool_calls"),
               "malformed": traj.counts.get("malformed"), "seconds": secs,
               "graph_seconds": round(graph_seconds, 3),
               "tokens_per_s": round(traj.generated / secs, 1) if secs else None, "policy": traj.policy,
               "trajectory": row_out, "error": res.error, "approval": res.request}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    elif not args.events:
        if args.trace:
            codec = agent.codec
            out.print(codec.legend())
            out.print(codec.render(traj.tokens, traj.prompt_len, max_tokens=4000))
        if res.answer:
            out.print(res.answer, highlight=False)
        if res.paused:
            r = res.request or {}
            err.print(f"[yellow]paused:[/] {r.get('tool')} ({r.get('category')}) "
                      f"{json.dumps(r.get('args'), ensure_ascii=False)} waits for approval; continue with "
                      f"`tapehead run --resume {res.thread_id} --answer yes` (or no)", highlight=False)
        else:
            note = "" if res.correct in (None, True) else " (wrong answer)"
            err.print(f"session {res.thread_id}: exit={res.exit}{note}, {traj.generated} tokens, {summary['steps']} steps, "
                      f"{secs:.2f} s" + (f", {summary['tokens_per_s']} tok/s" if summary["tokens_per_s"] else "")
                      + (f"; trajectory {row_out}" if row_out else "") + (f"; error: {res.error}" if res.error else ""),
                      highlight=False)
    if res.paused:
        return 3
    return 0 if res.exit == "eos" else 1
