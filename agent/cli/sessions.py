"""``tapehead sessions``: list, show and delete the agent's sessions (checkpointed runs).

Registered as a plugin of ``agent/cli/main.py`` (entry points in pyproject.toml); sessions live in
``--db`` (default ``agent/graph/sessions.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from rich.markup import escape

from tapehead.agent.loops import limits as lim

from . import options
from .common import db_option, err, out, short


def register_sessions(sub) -> None:
    p = sub.add_parser("sessions", help="list, show and delete agent sessions",
                       description="Sessions are checkpointed runs: `tapehead sessions` lists them.")
    db_option(p)
    options.add(p, "json")
    # the same options after the action (`tapehead sessions show ID --json`); SUPPRESS keeps the outer value
    opts = argparse.ArgumentParser(add_help=False)
    opts.add_argument("--db", type=options.db_file, default=argparse.SUPPRESS, metavar="FILE", help="sessions database")
    opts.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    s = p.add_subparsers(dest="action", metavar="ACTION")
    s.add_parser("list", help="list sessions (the default)", parents=[opts])
    show = s.add_parser("show", help="one session: its run, state and calls", parents=[opts])
    show.add_argument("id", type=options.id_prefix, help="session id (a unique prefix is enough)")
    options.add(show, "trace")
    dele = s.add_parser("delete", help="delete sessions (checkpoints, summary, workspace copy); asks first",
                        parents=[opts])
    dele.add_argument("ids", nargs="+", type=options.id_prefix, metavar="ID",
                      help="session ids (each a whole id or a unique prefix)")
    options.add(dele, "yes", yes_help="delete without asking (needed when stdin is not a terminal)")
    p.set_defaults(func=cmd_sessions)


def cmd_sessions(args) -> int:
    from tapehead.agent.graph.sessions import SessionIndex, default_db, open_saver

    from .main import UserError

    db = args.db or options.db_file.value(default_db())
    if not os.path.exists(db):
        if (args.action or "list") != "list":
            raise UserError(f"no sessions yet ({db})")
        if args.json:
            print("[]")
        else:
            err.print(f"no sessions yet ({db})", markup=False)
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
            from rich.table import Column, Table

            t = Table(Column("id", no_wrap=True, min_width=22), "task", "input", "status", "tokens", "steps",
                      "answer", Column("updated", no_wrap=True), box=None)
            for r in rows:
                t.add_row(*(escape(str(x)) for x in (
                    r["thread_id"], r["task"] or "-", short(r["input"], 30), r["status"], r["tokens"], r["steps"],
                    short(r["answer"] or "", 24), time.strftime("%m-%d %H:%M:%S", time.localtime(r["updated"])))))
            out.print(t)
            return 0
        if action == "show":
            return _show(args, saver, index)
        ids = list(dict.fromkeys(index.find(i) for i in args.ids))  # every id resolved before anything goes
        if not args.yes:
            if not sys.stdin.isatty():
                raise UserError(f"sessions delete asks before deleting {', '.join(ids)}: give --yes "
                                "(stdin is not a terminal)")
            try:
                answer = input(f"delete {len(ids)} session(s): {', '.join(ids)}? [y/N] ")
            except EOFError:
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                err.print("nothing deleted")
                return 1
        for tid in ids:
            note = index.delete(tid)
            out.print(f"deleted {tid}: {note}", markup=False)
        return 0
    finally:
        saver.conn.close()


def _show(args, saver, index) -> int:
    from tapehead.agent import models
    from tapehead.agent.agent import trajectory_of
    from tapehead.agent.graph.build import GraphContext, build_graph
    from tapehead.agent.graph.runtime import RuntimeCache
    from tapehead.agent.graph.toolset import Toolset

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
        out.print(f"[bold]{k}[/]: {escape(short(str(info[k]), 200))}")
    out.print(f"[bold]trajectory[/]: {escape(str((v.get('run') or {}).get('out')))}")
    for c in info["calls"]:
        out.print(f"  call {c['tool']} {json.dumps(c['args'])} approved={c['approved']} ok={c['ok']}: "
                  f"{short(c['observation'], 120)!r}", markup=False)
    if args.trace:
        out.print(codec.legend())
        out.print(codec.render(traj.tokens, traj.prompt_len, max_tokens=4000))
    return 0
