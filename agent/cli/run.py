"""``tapehead run``: the LangGraph agent on one input (headless), or a session resumed.

Registered as a plugin of ``agent/cli/main.py`` (entry points in pyproject.toml). It drives the
LangGraph agent of ``agent/agent.py``; sessions live in ``--db`` (default
``agent/graph/sessions.py``). Exit status: 0 when the episode ended with ``[EOS]``, 1 for any other
exit status, 3 when the run is paused waiting for an approval (continue with ``--resume ID
--answer yes|no``), 2 for a user error.
"""

from __future__ import annotations

import json
import sys
import time

from rich.markup import escape

from tapehead.agent.graph import approval
from tapehead.agent.graph import events as ev

from . import options
from .common import db_option, err, out


def register_run(sub) -> None:
    p = sub.add_parser("run", help="run the agent on one input (headless), or resume a session",
                       description="Run the LangGraph agent, e.g. `tapehead run --task addition 123+456`; the input "
                                   "may also be @FILE, or - for stdin (an input that starts with '-' goes after '--').")
    p.add_argument("input_arg", nargs="?", metavar="INPUT", help="the problem (as --input)")
    p.add_argument("--task", help="task name (parses the input, grades the answer, gives the default policy)")
    p.add_argument("--input", help="the problem (for a task, in its natural form: 123+456), @FILE, or - for stdin")
    p.add_argument("--input-file", type=options.existing_file, metavar="FILE", help="read the input from this file")
    options.add(p, "policy", policy_help="checkpoint path (no suffix), 'teacher', or script:FILE; default: the "
                "configured one for the task ([policy] TASK), else the task's shipped one")
    p.add_argument("--out", type=options.out_file, metavar="FILE",
                   help="trajectory file, rewritten after every step (default: TAPEHEAD_HOME/trajectories/ID.json)")
    options.add(p, "resume", "answer", "thread", "workspace")
    p.add_argument("--yolo", action="store_true", help="run every tool call without asking")
    options.add(p, "approve")
    p.add_argument("--no-prompt", action="store_true", help="never ask on the terminal: pause the run instead")
    options.add(p, "json")
    p.add_argument("--events", action="store_true", help="print every event as a JSON line")
    options.add(p, "trace")
    db_option(p)
    options.add(p, *LIMITS, "step_tokens", "device", "threads")
    p.add_argument("--compile", action="store_true", help="CPU: fuse the network's decode step with torch.compile")
    p.set_defaults(func=cmd_run)


# option dest -> Limits field (agent/loops/episode.py)
LIMITS = {"max_tokens": "max_tokens", "max_steps": "max_steps", "max_tool_calls": "max_tool_calls",
          "max_seconds": "max_seconds", "max_malformed": "max_consecutive_malformed"}


def _limits(args, resume: bool) -> dict | None:
    """Limits over the run's default (the task's bound): given on the command line or configured; on
    resume, over the recorded ones, flags only. A new run records its input-size limit."""
    given = {field: getattr(args, dest) for dest, field in LIMITS.items()
             if getattr(args, dest) is not None and (options.given(args, dest) or not resume)}
    if not resume:
        given["max_input_bytes"] = options.max_input_bytes(args)
    return given or None


def _modes(args, base: dict | None) -> dict | None:
    """Approval modes: ``base`` (recorded, or the defaults under the configured ones), then --yolo,
    then --approve; None when nothing changes a resumed session's own."""
    if base is not None and not (args.yolo or args.approve):
        return None
    m = base if base is not None else approval.modes(False, args.settings.table("approval"))
    if args.yolo:
        m = {c: "yolo" for c in m}
    return approval.merge(m, args.approve)


def _approver(args):
    if args.no_prompt or args.json or args.events or not sys.stdin.isatty():
        return None

    def ask(request: dict):
        err.print(f"[bold yellow]approve[/] {escape(request['tool'])} ({request['category']}) "
                  f"{escape(json.dumps(request['args'], ensure_ascii=False))}")
        while True:  # the strict parser of every door (agent/graph/approval.py); ask again on a typo
            try:
                answer = input("  run it? [y/N] ").strip()
            except EOFError:
                return False
            if not answer:
                return False
            try:
                approval.parse_answer(answer)
                return answer
            except ValueError as e:
                err.print(f"  {escape(str(e))}")

    return ask


def cmd_run(args) -> int:
    from tapehead.agent.agent import Agent, new_thread_id
    from tapehead.agent.graph.sessions import SessionIndex, default_db, home, open_saver
    from tapehead.agent.graph.toolset import Toolset
    from .config import sandbox_limits
    from .main import UserError

    db = args.db or options.db_file.value(default_db())
    approver = _approver(args)
    sandbox = sandbox_limits(args.settings)
    common = dict(approver=approver, device=args.device, compile=args.compile)
    if args.resume:
        if args.input or args.input_file or args.input_arg:
            raise UserError("--resume continues a session: give no input")
        for flag in ("task", "policy", "thread", "workspace", "out"):
            if getattr(args, flag):
                raise UserError(f"--{flag} is for a new run; a resumed session keeps its own")
        saver = open_saver(db)
        index = SessionIndex(saver)
        thread = index.find(args.resume)
        run = (index.get(thread) or {}).get("run") or {}
        kw = {}
        modes = _modes(args, dict(run.get("approval") or approval.modes()))
        if modes is not None:
            kw["approval"] = modes
        if options.given(args, "step_tokens"):
            kw["step_tokens"] = args.step_tokens
        if _limits(args, resume=True):
            kw["limits"] = _limits(args, resume=True)
        if run.get("workspace") and sandbox is not None:
            kw["toolset"] = Toolset.reattach(run["workspace"], sandbox)
        agent = Agent.from_session(thread, checkpointer=saver, **common, **kw)
        if args.answer is not None and not agent.graph.get_state({"configurable": {"thread_id": thread}}).interrupts:
            agent.close()
            raise UserError(f"session {thread} is not waiting for an approval: give no --answer")
        if agent.toolset.workspace is not None and not (args.json or args.events):
            err.print(f"note: {escape(agent.toolset.note)}")
        stream = agent.stream(thread_id=thread, **({} if args.answer is None else {"resume": args.answer}))
    else:
        if args.answer is not None:
            raise UserError("--answer goes with --resume ID")
        given = [v for v in (args.input_arg, args.input, "@" + args.input_file if args.input_file else None) if v is not None]
        if len(given) > 1:
            raise UserError("give the input once: INPUT, --input or --input-file")
        if not given:
            raise UserError("give --input (or INPUT, --input-file), or --resume ID")
        text = options.read_input(given[0], options.max_input_bytes(args))
        if not text.strip():
            raise UserError("the input is empty")
        if given[0].startswith("@") or given[0] == "-":
            text = text.strip()
        policy = args.policy or args.settings.policy_for(args.task)
        toolset = Toolset.for_workspace(args.workspace, sandbox) if args.workspace else None
        agent = Agent(task=args.task, policy=policy, toolset=toolset, limits=_limits(args, resume=False), db=db,
                      approval=_modes(args, None), step_tokens=args.step_tokens, **common)
        thread = args.thread or new_thread_id()
        out_path = args.out or str(home() / "trajectories" / f"{thread}.json")
        stream = agent.stream(text, thread_id=thread, out=out_path)
    if "torch" in sys.modules:  # a network runs (teacher and script policies need no torch)
        options.apply_threads(args)
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
            out.print(res.answer, markup=False)
        if res.paused:
            r = res.request or {}
            err.print(f"[yellow]paused:[/] " + escape(f"{r.get('tool')} ({r.get('category')}) "
                      f"{json.dumps(r.get('args'), ensure_ascii=False)} waits for approval; continue with "
                      f"`tapehead run --resume {res.thread_id} --answer yes` (or no)"))
        else:
            note = "" if res.correct in (None, True) else " (wrong answer)"
            err.print(f"session {res.thread_id}: exit={res.exit}{note}, {traj.generated} tokens, {summary['steps']} steps, "
                      f"{secs:.2f} s" + (f", {summary['tokens_per_s']} tok/s" if summary["tokens_per_s"] else "")
                      + (f"; trajectory {row_out}" if row_out else "") + (f"; error: {res.error}" if res.error else ""),
                      markup=False)
    if res.paused:
        return 3
    return 0 if res.exit == "eos" else 1
