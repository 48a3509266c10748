"""``tapehead run``, ``tapehead sessions`` and ``tapehead replay``: the agent's own commands.

Registered as plugins of ``agent/cli.py`` (entry points in pyproject.toml). They drive the LangGraph
agent of ``agent/agent.py``; sessions live in ``--db`` (default ``agent/sessions.py``). Exit status
of ``run``: 0 when the episode ended with ``[EOS]``, 1 for any other exit status, 3 when the run is
paused waiting for an approval (continue with ``--resume ID --answer yes|no``), 2 for a user error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from rich.console import Console

from . import events as ev
from . import limits as lim

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


# --- run --------------------------------------------------------------------------------------------------
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
    _common(p)
    for name, typ, help_ in (("max-tokens", int, "tokens after the input"), ("max-steps", int, "graph steps"),
                             ("max-tool-calls", int, "tool calls, tape commands included"),
                             ("max-seconds", float, "running time"), ("max-malformed", int, "consecutive malformed outputs")):
        p.add_argument(f"--{name}", type=typ, help=help_)
    p.add_argument("--step-tokens", type=int, default=None, help="tokens decoded per policy step (default 2048)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--compile", action="store_true", help="CPU: fuse the network's decode step with torch.compile")
    p.set_defaults(func=cmd_run)


def _common(p) -> None:
    p.add_argument("--db", help="sessions database (default: TAPEHEAD_HOME/sessions.sqlite, "
                                "TAPEHEAD_HOME defaulting to ~/.local/state/tapehead)")


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
    from .agent import Agent
    from .cli import UserError
    from .sessions import default_db, home

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
        from .agent import new_thread_id

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


# --- sessions ---------------------------------------------------------------------------------------------
def register_sessions(sub) -> None:
    p = sub.add_parser("sessions", help="list, show and delete agent sessions",
                       description="Sessions are checkpointed runs: `tapehead sessions` lists them.")
    _common(p)
    p.add_argument("--json", action="store_true")
    # the same options after the action (`tapehead sessions show ID --json`); SUPPRESS keeps the outer value
    opts = argparse.ArgumentParser(add_help=False)
    opts.add_argument("--db", default=argparse.SUPPRESS, help="sessions database")
    opts.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    s = p.add_subparsers(dest="action", metavar="ACTION")
    s.add_parser("list", help="list sessions (the default)", parents=[opts])
    show = s.add_parser("show", help="one session: its run, state and calls", parents=[opts])
    show.add_argument("id", help="session id (a unique prefix is enough)")
    show.add_argument("--trace", action="store_true", help="print the coloured trace")
    dele = s.add_parser("delete", help="delete sessions (checkpoints, summary, workspace copy)", parents=[opts])
    dele.add_argument("ids", nargs="+")
    p.set_defaults(func=cmd_sessions)


def cmd_sessions(args) -> int:
    from .sessions import SessionIndex, default_db, open_saver

    db = args.db or default_db()
    if not os.path.exists(db):
        if args.json:
            print("[]")
        else:
            err.print(f"no sessions yet ({db})")
        return 0
    saver = open_saver(db)
    index = SessionIndex(saver)
    try:
        action = args.action or "list"
        if action == "list":
            rows = index.list()
            if args.json:
                print(json.dumps([{k: v for k, v in r.items() if k != "run"} for r in rows]))
                return 0
            from rich.table import Table

            import time as _t

            from rich.table import Column

            t = Table(Column("id", no_wrap=True, min_width=22), "task", "input", "status", "tokens", "steps",
                      "answer", Column("updated", no_wrap=True), box=None)

            for r in rows:
                t.add_row(r["thread_id"], r["task"] or "-", _short(r["input"], 30), r["status"], str(r["tokens"]),
                          str(r["steps"]), _short(r["answer"] or "", 24), _t.strftime("%m-%d %H:%M:%S", _t.localtime(r["updated"])))
            (out if out.is_terminal else Console(width=160, soft_wrap=True)).print(t)
            return 0
        if action == "show":
            return _show(args, saver, index)
        for i in args.ids:
            tid = index.find(i)
            note = index.delete(tid)
            out.print(f"deleted {tid}: {note}", highlight=False)
        return 0
    finally:
        saver.conn.close()


def _show(args, saver, index) -> int:
    from . import models
    from .agent import trajectory_of
    from .graph import GraphContext, build_graph
    from .runtime import RuntimeCache
    from .toolset import Toolset

    tid = index.find(args.id)
    row = index.get(tid)
    codec = models.codec()
    # a graph that is only read from: no policy is loaded to show a session
    ctx = GraphContext(codec, Toolset(), RuntimeCache(codec, lambda: None, lambda *a, **k: None), row["policy"])
    snap = build_graph(ctx).compile(checkpointer=saver).get_state({"configurable": {"thread_id": tid}})
    v = snap.values
    status = v.get("exit") or (lim.PAUSED if snap.interrupts else lim.RUNNING)
    traj = trajectory_of(v, tid, row["policy"], status)
    info = {"session": tid, "status": status, "next": list(snap.next), "task": row["task"], "input": row["input"],
            "policy": row["policy"], "answer": v.get("answer", ""), "tokens": len(traj.tokens),
            "steps": v.get("steps"), "seconds": round(v.get("seconds", 0.0), 3), "counts": v.get("counts"),
            "error": v.get("error"), "approval": snap.interrupts[0].value if snap.interrupts else None,
            "calls": v.get("calls") or [], "run": v.get("run")}
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    for k in ("session", "status", "next", "task", "input", "policy", "answer", "tokens", "steps", "seconds",
              "counts", "error", "approval"):
        out.print(f"[bold]{k}[/]: {_short(str(info[k]), 200)}", highlight=False)
    out.print(f"[bold]trajectory[/]: {(v.get('run') or {}).get('out')}", highlight=False)
    for c in info["calls"]:
        out.print(f"  call {c['tool']} {json.dumps(c['args'])} approved={c['approved']} ok={c['ok']}: "
                  f"{_short(c['observation'], 120)!r}", highlight=False)
    if args.trace:
        out.print(codec.legend())
        out.print(codec.render(traj.tokens, traj.prompt_len, max_tokens=4000))
    return 0


# --- replay -----------------------------------------------------------------------------------------------
def register_replay(sub) -> None:
    p = sub.add_parser("replay", help="re-execute a trajectory's tool calls against fresh tools; report divergence")
    p.add_argument("file", help="a trajectory file (tapehead run --out, or TAPEHEAD_HOME/trajectories/ID.json)")
    p.add_argument("--workspace", help="directory for the fresh workspace (default: the recorded source)")
    p.add_argument("--trace", action="store_true", help="print the recorded trace, coloured")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_replay)


def cmd_replay(args) -> int:
    from . import models
    from .replay import replay
    from .trajectory import Trajectory

    if args.trace and not args.json:
        rec = Trajectory.load(args.file)
        codec = models.codec()
        out.print(codec.legend())
        out.print(codec.render(rec.tokens, rec.prompt_len, max_tokens=4000))
    report = replay(args.file, workspace=args.workspace)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        for n in report.notes:
            err.print(f"note: {n}", highlight=False)
        for d in report.divergences:
            where = f" at token {d.index}" if d.index is not None else ""
            out.print(f"[red]diverged[/] ({d.what}{where}{' ' + d.tool if d.tool else ''}): "
                      f"recorded {d.recorded!r}, now {d.replayed!r}", highlight=False)
        verdict = "[green]same[/]" if report.ok else f"[red]{len(report.divergences)} divergence(s)[/]"
        out.print(f"{verdict}: {report.calls} calls re-executed ({report.action_calls} side-effecting); "
                  f"answer {report.replayed.answer[:60]!r}, exit {report.replayed.exit}", highlight=False)
    return 0 if report.ok else 1


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
