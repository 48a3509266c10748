"""``tapehead tui``: the terminal UI, with the options of ``tapehead run`` it shares.

Registered as a plugin of ``agent/cli/main.py`` (the ``tapehead.commands`` entry point ``tui``,
pyproject.toml). What can be checked before the screen opens is checked here, so a bad task,
input, workspace or session id is one line and exit status 2 (``UserError``), never a broken
screen. Exit status: the app's (``tui/app.py``): 0 ``eos`` or no run, 1 another exit status, 3 a run
left unfinished (resume it with ``--resume ID``).
"""

from __future__ import annotations

import os


def register_tui(sub) -> None:
    from tapehead.agent.cli import options

    p = sub.add_parser("tui", help="the terminal UI: watch and steer the agent",
                       description="Open the terminal UI, e.g. `tapehead tui --task addition --input 123+456`, "
                                   "`tapehead tui --workspace DIR --check 'python main.py'`, or `tapehead tui` "
                                   "to pick a task.")
    p.add_argument("--task", help="task name (parses the input, gives the default policy)")
    p.add_argument("--input", help="the problem (for a task, in its natural form: 123+456), or @FILE")
    p.add_argument("--policy", help="checkpoint path (no suffix), 'teacher', or script:FILE; default: the task's")
    p.add_argument("--workspace", help="work on a scratch copy of this directory (your tree changes only on accept)")
    p.add_argument("--check", metavar="CMD", help="with --workspace: the repository's check command")
    p.add_argument("--resume", metavar="ID", help="continue session ID")
    p.add_argument("--sessions", action="store_true", help="open on the sessions screen")
    p.add_argument("--thread", metavar="ID", help="the new session's id (default: time + random)")
    p.add_argument("--yolo", action="store_true", help="run every tool call without asking")
    p.add_argument("--approve", metavar="CAT=MODE,...", help="approval modes per category: confirm or yolo")
    # the option schema's types (bounded, ASCII digits); None: the run's own defaults
    options.add(p, "db", "step_tokens", "max_tokens", "threads", step_tokens_default=None, threads_default=None,
                max_tokens_help="tokens after the input")
    p.set_defaults(func=cmd_tui)


def spec_from_args(args):
    """A ``RunSpec`` from the options, or None (the start screen); raises ``UserError``."""
    from tapehead.agent.cli.main import UserError
    from tapehead.agent.graph import approval
    from tapehead.agent.tasks import get_task
    from .driver import RunSpec, check_policy, statement

    if args.approve:
        approval.modes(overrides=args.approve)  # (ValueError: one line, exit 2)
    common = dict(db=args.db, yolo=args.yolo, approve=args.approve, step_tokens=args.step_tokens,
                  limits={"max_tokens": args.max_tokens} if args.max_tokens else None)
    if args.resume:
        if args.input or args.task or args.workspace:
            raise UserError("--resume continues a session: give no --task, --input or --workspace")
        return RunSpec(resume=resume_id(args.resume, args.db), **common)
    if args.check and not args.workspace:
        raise UserError("--check goes with --workspace DIR")
    text = args.input
    if text and text.startswith("@"):
        if not os.path.isfile(text[1:]):
            raise UserError(f"no such input file: {text[1:]}")
        with open(text[1:]) as f:
            text = f.read().strip()
    if args.workspace:
        if not os.path.isdir(args.workspace):
            raise UserError(f"no such directory: {args.workspace}")
        text = text or (statement(args.check) if args.check else None)
        if not text:
            raise UserError("give --input (what to do) or --check CMD with --workspace")
    if args.task:
        task = get_task(args.task)  # (KeyError: unknown task, one line)
        if not text:
            raise UserError(f"give --input for task {args.task}")
        task.parse(text)  # (ValueError: the task's own message)
    if not text:
        if args.policy:
            raise UserError("give --task and --input (or --workspace) with --policy")
        return None
    problem = check_policy(args.policy or "", args.task)
    if problem:
        raise UserError(problem)
    return RunSpec(task=args.task, input=text, policy=args.policy, workspace=args.workspace, check=args.check,
                   thread=args.thread, **common)


def resume_id(prefix: str, db: str | None) -> str:
    """The full id of an existing session (one line if there is none)."""
    from tapehead.agent.cli.main import UserError
    from tapehead.agent.graph.sessions import SessionIndex, default_db, open_saver

    path = db or default_db()
    if not os.path.exists(path):
        raise UserError(f"no sessions database at {path}")
    saver = open_saver(path)
    try:
        return SessionIndex(saver).find(prefix)
    finally:
        saver.conn.close()


def cmd_tui(args) -> int:
    from .app import TapeheadApp

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    spec = spec_from_args(args)
    app = TapeheadApp(spec, db=args.db, start="sessions" if args.sessions else "auto")
    code = app.run()
    line = app.summary()
    if line:
        from rich.console import Console

        Console(stderr=True).print(line, highlight=False)
    return int(code or 0)
