"""``tapehead solve``, ``tapehead eval TASK``, ``tapehead eval suite paper`` and ``tapehead train``: the task commands.

Registered as plugins of ``tapehead.agent.cli.main`` (entry points in pyproject.toml); every option
comes from the schema of ``tapehead.agent.cli.options`` (types, bounds, config keys). ``eval`` has
one parser per task (per-task options only), one for the study (``eval suite paper``: the study's
options only) and one for each ``tapehead.eval`` entry point (an evaluation with options of its
own, e.g. ``eval code-fix``), so no flag is ever accepted and then ignored. Machine output (``--json``,
train's summary, the suite's Markdown table) is plain ``print``; the rest goes through the CLI's
consoles (``agent/cli/common.py``: no wrapping, no markup in a pipe).
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

from rich.markup import escape

from tapehead.agent import models
from tapehead.agent.cli import options
from tapehead.agent.cli.common import err, out
from tapehead.agent.loops.episode import Limits
from tapehead.agent.loops.loop import run_episode
from tapehead.agent.policies import shipped
from tapehead.agent.policies.source import default_policy_name
from tapehead.agent.tasks import get_task, task_names


def _policy(args, task) -> str | None:
    """--policy, else the configuration's ``[policy] TASK``, else None (the task's shipped one)."""
    return args.policy or args.settings.policy_for(task.name)


# --- solve ------------------------------------------------------------------------------------------------
def register_solve(sub) -> None:
    p = sub.add_parser("solve", help="solve one problem with a policy (the shipped one by default)",
                       description="Solve one problem, e.g. `tapehead solve addition 123+456`; INPUT may be @FILE, "
                                   "or - to read stdin; an input that starts with '-' goes after '--'.")
    p.add_argument("task", help=f"task name ({', '.join(task_names())})")
    p.add_argument("input", help="the problem, in the task's natural form (e.g. 123+456), @FILE, or - for stdin")
    options.add(p, "policy")
    p.add_argument("--teacher", action="store_true", help="run the task's hard-coded teacher instead of a network")
    options.add(p, "trace", "json", "device", "max_tokens")
    p.add_argument("--compile", choices=["auto", "on", "off"], default="auto",
                   help="CPU: fuse the decode step with torch.compile (~2.7x faster; ~30 s first compile, then "
                        "cached); auto = on when the episode may exceed 50,000 tokens")
    options.add(p, "threads")
    p.set_defaults(func=cmd_solve)


def cmd_solve(args) -> int:
    from .runner import resolve_policy

    task = get_task(args.task)
    if hasattr(task, "tools"):  # the coding tasks: their tools are a workspace's, not the tape's
        raise ValueError(f"{task.name} works on a repository, not on a text: run it on a directory "
                         f"(tapehead fix DIR, or tapehead run --task {task.name} --workspace DIR)")
    if args.teacher and args.policy:
        raise ValueError("give --policy or --teacher, not both")
    cap = options.max_input_bytes(args)
    text = task.parse(options.read_input(args.input, cap))
    codec = models.codec()
    limits = Limits(max_tokens=args.max_tokens or task.max_tokens(text), max_input_bytes=cap)
    if args.teacher:
        policy, name = task.teacher(codec), "teacher"
    else:
        policy_arg = _policy(args, task)
        options.apply_threads(args)
        model, _ = models.load(resolve_policy(task, policy_arg, text), device=args.device)
        name = shipped.label(policy_arg) if policy_arg else default_policy_name(task, text)
        compile_step = args.compile == "on" or (args.compile == "auto" and limits.max_tokens > 50_000)
        policy = models.model_policy(model, device=args.device, compile=compile_step)
    traj = run_episode(policy, codec, text, task=task.name, limits=limits, policy_name=name,
                       call_tools=getattr(task, "call_tools", None))
    expected = task.answer(text)
    if args.json:
        calls = traj.counts["tool_calls"]
        print(json.dumps({
            "task": task.name, "input": text, "answer": traj.answer, "correct": traj.answer == expected,
            "exit": traj.exit, "tokens": traj.generated, "tool_calls": calls, "seconds": traj.seconds,
            "tokens_per_s": round(traj.generated / traj.seconds, 1) if traj.seconds else None,
            "state_bytes": traj.meta.get("state_bytes"), "policy": name, "counts": traj.counts,
        }))
    else:
        if args.trace:
            out.print(codec.legend())
            out.print(codec.render(traj.tokens, traj.prompt_len, max_tokens=4000))
        out.print(traj.answer, markup=False)
        if traj.exit != "eos" or traj.answer != expected:
            err.print("[yellow]note:[/] " + escape(f"exit={traj.exit}; the right answer is {expected[:80]}"
                                                  f"{'…' if len(expected) > 80 else ''}"))
    return 0 if traj.exit == "eos" else 1


# --- eval TASK --------------------------------------------------------------------------------------------
def register_eval(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a policy across sizes (results file, table, plot), or run the study",
                       description="Evaluate a policy on a task (`tapehead eval addition --sizes 5,10`), or run the "
                                   "paper's study (`tapehead eval suite paper`); `tapehead eval TASK --help` lists a "
                                   "task's options, `tapehead eval suite --help` the study's.")
    tasks = p.add_subparsers(dest="eval_task", metavar="TASK", required=True)
    # ``tapehead eval NAME`` of its own (e.g. code-fix: repositories, graded in the sandbox): the entry-point
    # group ``tapehead.eval``, each ``register(subparsers)`` adding the parser NAME with its own options
    own = sorted(entry_points(group="tapehead.eval"), key=lambda e: e.name)
    for ep in own:
        ep.load()(tasks)
    for name in task_names():
        if name in {ep.name for ep in own} or name.startswith("code-fix"):  # the coding tasks: `eval code-fix`
            continue
        t = tasks.add_parser(name, help=f"evaluate a policy on {name}",
                             description=f"Evaluate a policy on {name} across sizes: a results file, a table and a "
                                         "plot of accuracy against size.")
        _eval_options(t)
        t.set_defaults(func=cmd_eval, task=name)
    s = tasks.add_parser("suite", help="the paper's study: train and evaluate every (task, architecture, seed) cell",
                         description="The paper's study as one resumable command: trains and evaluates every (task, "
                                     "architecture, seed) cell; Table 1 beside the paper's, a plot per task.")
    studies = s.add_subparsers(dest="suite_name", metavar="STUDY", required=True)
    paper = studies.add_parser("paper", help="the paper's reasoning tasks (Table 1, Table 2)",
                               description="Every (task, architecture, seed) cell of the paper's reasoning tasks.")
    _suite_options(paper)
    paper.set_defaults(func=cmd_suite)
    code = studies.add_parser("code", help="code fixing against repository size (the paper's Figure 1)",
                              description="Every (architecture, teacher, seed) cell of the coding study: trained on "
                                          "repositories of <= 16 functions, pass rate to 1,024 (evals/code_study.py).")
    _code_suite_options(code)
    code.set_defaults(func=cmd_code_suite)


def _eval_options(p) -> None:
    options.add(p, "sizes", "n", "n_large", "large_from")
    p.add_argument("--hard", action="store_true", help="add the task's hard cases at each size")
    options.add(p, "policy", "device", "eval_batch", "seed")
    p.add_argument("--out", type=options.out_dir, metavar="DIR", help="results directory (default runs/eval-TASK-TIME)")
    p.add_argument("--save-trajectories", action="store_true", help="write every trajectory (gzip JSON)")
    p.add_argument("--teacher-workers", type=options.integer(0, 1024), default=0, metavar="N",
                   help="processes building teacher traces (0: inline)")
    p.add_argument("--no-cuda-graph", action="store_true", help="CUDA: decode without CUDA graphs")
    p.add_argument("--compile", action="store_true", help="CPU: fuse the decode step with torch.compile")
    p.add_argument("--fuse", choices=["off", "rules", "all", "all-kernels"], default="off",
                   help="--tensor-loop: what goes through torch.compile (the tape rules; with the network's step)")
    p.add_argument("--suspend-after", type=options.number(0, 10**7), metavar="SECONDS",
                   help="--tensor-loop, one size: stop after SECONDS (0: after the first chunk of steps), keep the "
                   "run in OUT/snapshot.pt.gz and exit 3; the same command again resumes it")
    p.add_argument("--tensor-loop", action="store_true",
                   help="tape on the device, no host sync per token (tapehead.agent.loops.tensor); tape-only tasks")
    options.add(p, "stop_below", "json", "threads", stop_below_default=0.0,
                stop_below_help="skip the larger sizes once a size scores below this on answers and trajectories "
                                "(listed as not run; 0: every size)", json_help="print the summary as JSON")


def cmd_eval(args) -> int:
    from tapehead.agent.loops.snapshot import Suspended

    from . import report
    from .runner import evaluate

    task = get_task(args.task)
    options.apply_threads(args)
    out_dir = args.out or f"runs/eval-{task.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        res = evaluate(task.name, args.sizes, args.n, policy=_policy(args, task), device=args.device,
                       batch_size=args.batch, seed=args.seed, hard=args.hard, out_dir=out_dir, n_large=args.n_large,
                       large_from=args.large_from, save_trajectories=args.save_trajectories,
                       cuda_graph=not args.no_cuda_graph, teacher_workers=args.teacher_workers,
                       progress=not args.json and sys.stderr.isatty(), compile_cpu=args.compile,
                       tensor_loop=args.tensor_loop, fuse=args.fuse, suspend_after=args.suspend_after,
                       stop_below=args.stop_below, command="tapehead " + " ".join(sys.argv[1:]))
    except Suspended as e:  # a long run that goes on in a later call: exit 3, not an error
        err.print(str(e), markup=False)
        return 3
    try:
        png = report.plot(res, str(Path(out_dir) / "accuracy.png"), train_size=getattr(task, "train_size", None))
    except ImportError as e:  # the GPU machine has no matplotlib: plot later from the results file
        png = f"(no plot: {e})"
    if args.json:
        print(json.dumps({"results": str(Path(out_dir) / "results.json"), "plot": png, "summary": res["summary"]}))
    else:
        if out.is_terminal:
            out.print(report.table(res))
        else:  # a pipe or a file gets the table as Markdown: no box drawing to parse around
            print(report.markdown(res))
        print(f"results: {out_dir}/results.json  plot: {png}")
    return 0


# --- eval suite paper -------------------------------------------------------------------------------------
def _study(what: str) -> list[str]:
    from . import suite

    return sorted(suite.STUDY) if what == "tasks" else list(suite.ARCHS)


def _suite_options(p) -> None:
    p.add_argument("--tasks", type=options.name_list(lambda: _study("tasks")), metavar="T,T,...",
                   help="comma-separated tasks (default: all of the paper's)")
    p.add_argument("--archs", type=options.name_list(lambda: _study("archs"), empty=True),
                   default="mamba2,transformer,swa,lstm,gru", metavar="A,A,...",
                   help="architectures ('': none, e.g. only the --multitask cell)")
    p.add_argument("--seeds", type=options.int_list(0, 10**6), default="0,1", metavar="S,S,...",
                   help="comma-separated seeds")
    options.add(p, "steps", steps_help="training steps per cell")
    p.add_argument("--multitask", action="store_true",
                   help="also one Mamba-2 per seed trained on the mixture of the tasks (arch mamba2-mix)")
    options.add(p, "stop_below", "micro_tokens", stop_below_default=0.05, micro_tokens_default=131072)
    p.add_argument("--report-only", action="store_true", help="train and evaluate nothing; summarise the cells already done")
    options.add(p, "train_batch", "lr", "train_size", "workers", train_batch_default=256, lr_default=2e-3,
                train_batch_flags=("--train-batch",))
    options.add(p, "sizes", "n", "n_large", "large_from", "device", "eval_batch", sizes_default=None,
                sizes_help="comma-separated sizes (default: each task's study sizes)")
    p.add_argument("--out", type=options.out_dir, default="runs/suite-paper", metavar="DIR", help="the study's directory")
    p.add_argument("--tensor-loop", action="store_true", help="evaluate tape-only tasks with the tape on the device")
    options.add(p, "json", "threads")


def _code_suite_options(p) -> None:
    from .code_study import SIZES, TEACHERS

    p.add_argument("--archs", type=options.name_list(lambda: _study("archs")), default="mamba2,transformer,swa,lstm,gru",
                   metavar="A,A,...", help="architectures")
    p.add_argument("--teachers", type=options.name_list(lambda: list(TEACHERS)), default="interactive,single",
                   metavar="T,T,...", help="teachers: interactive (code-fix), single (code-fix-single)")
    p.add_argument("--seeds", type=options.int_list(0, 10**6), default="0,1", metavar="S,S,...",
                   help="comma-separated seeds")
    options.add(p, "steps", "micro_tokens", steps_help="training steps per cell", steps_default=1500)
    p.add_argument("--report-only", action="store_true", help="train and evaluate nothing; summarise the cells already done")
    p.add_argument("--train-seconds", type=options.number(0, 10**7), default=0.0, metavar="S",
                   help="stop each cell's training after S seconds, then ship and evaluate it (0: no limit)")
    options.add(p, "train_batch", "lr", "workers", train_batch_default=64, lr_default=2e-3,
                train_batch_flags=("--train-batch",))
    options.add(p, "sizes", "n", "device", "eval_batch", "stop_below", sizes_default=",".join(map(str, SIZES)),
                n_default=20, stop_below_default=0.05)
    p.add_argument("--family", default="plumbing", choices=["plumbing", "import", "mixed"], help="bug family evaluated")
    p.add_argument("--style", default="paper", choices=["paper", "realistic"], help="repository style evaluated")
    p.add_argument("--eval-workers", type=options.SCHEMA["workers"].type, default=0,
                   help="evaluation worker processes on CPU (0: in this process)")
    p.add_argument("--out", type=options.out_dir, default="runs/suite-code", metavar="DIR", help="the study's directory")
    options.add(p, "json", "threads")


def cmd_code_suite(args) -> int:
    from .code_study import code_markdown, run_code_study

    options.apply_threads(args)
    study = run_code_study(args.out, archs=args.archs, teachers=args.teachers, seeds=args.seeds, steps=args.steps,
                           batch=args.train_batch, lr=args.lr, n=args.n, device=args.device, workers=args.workers,
                           eval_batch=args.batch, sizes=args.sizes, family=args.family, style=args.style,
                           stop_below=args.stop_below, report_only=args.report_only, micro_tokens=args.micro_tokens,
                           eval_workers=args.eval_workers, train_seconds=args.train_seconds,
                           log=lambda *a, **k: err.print(*a, markup=False))
    if args.json:
        print(json.dumps({"study": f"{args.out}/code.json", "cells": len(study["cells"]), "missing": study["missing"]}))
    else:
        print(code_markdown(study))
        print(f"study: {args.out}/code.json, plot: {args.out}/code.png")
    return 0


def cmd_suite(args) -> int:
    from . import report
    from .suite import PAPER_TASKS, run_suite

    options.apply_threads(args)
    out_dir = args.out
    suite = run_suite(out_dir, tasks=args.tasks or PAPER_TASKS, archs=args.archs, seeds=args.seeds, steps=args.steps,
                      batch=args.train_batch, lr=args.lr, n=args.n, n_large=args.n_large or args.n,
                      device=args.device, workers=args.workers, eval_batch=args.batch, sizes=args.sizes,
                      large_from=args.large_from, tensor_loop=args.tensor_loop, multitask=args.multitask,
                      stop_below=args.stop_below, report_only=args.report_only, micro_tokens=args.micro_tokens,
                      train_size=args.train_size, log=lambda *a, **k: err.print(*a, markup=False))
    if args.json:
        print(json.dumps({"suite": f"{out_dir}/suite.json", "table": suite["table"]}))
    else:
        print(report.suite_markdown(suite))
        print(f"suite: {out_dir}/suite.json, plots: {out_dir}/TASK.png")
    return 0


# --- train ------------------------------------------------------------------------------------------------
def register_train(sub) -> None:
    p = sub.add_parser("train", help="train a policy from scratch on a task's teacher traces",
                       description="Train a policy from scratch on fresh teacher traces every step, e.g. `tapehead "
                                   "train addition --out runs/x`; a mixture a+b+c trains one multi-task policy.")
    p.add_argument("task", help=f"task name ({', '.join(task_names())}), or a mixture a+b+c (one multi-task policy)")
    p.add_argument("--out", type=options.out_dir, required=True, metavar="DIR",
                   help="run directory (checkpoints, resumable state)")
    options.add(p, "max_size", "steps", "train_batch", "seq_len", "lr", "weight_decay", "warmup")
    p.add_argument("--arch", default="mamba2", choices=["mamba2", "transformer", "lstm", "gru"], help="architecture")
    options.add(p, "d_model", "layers", "d_state", "headdim", "chunk_size", "device", "seed", "workers",
                "checkpoint_every", "val_every", workers_help="processes building traces ahead (0: inline)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped "
                   "(after Ctrl-C, which checkpoints after the step in flight)")
    p.add_argument("--overwrite", action="store_true", help="start over in an --out that holds a run (deletes it; "
                   "without this or --resume such an --out is refused)")
    options.add(p, "log_every", "micro_tokens")
    p.add_argument("--ship", type=options.out_file, metavar="PATH",
                   help="also write the final weights in bf16 to this path (without suffix)")
    options.add(p, "threads")
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    from .training import train_policy

    for name in args.task.split("+"):
        get_task(name)  # an unknown task: one line before anything is built
    options.apply_threads(args)
    cfg = dict(arch=args.arch, d_model=args.d_model, n_layer=args.layers, d_state=args.d_state,
               headdim=args.headdim, chunk_size=args.chunk_size)
    mc = models.model_config(**cfg)
    if mc.arch == "mamba2" and mc.d_inner % mc.headdim:  # the network only asserts it, after the data is set up
        raise ValueError(f"--headdim {mc.headdim} must divide the Mamba-2 inner width {mc.d_inner} "
                         f"({mc.expand} x --d-model {mc.d_model})")
    summary = train_policy(args.task, cfg, out_dir=args.out, steps=args.steps, batch=args.batch,
                           seq_len=args.seq_len or None, lr=args.lr, weight_decay=args.weight_decay, warmup=args.warmup,
                           seed=args.seed, max_size=args.max_size, device=args.device, workers=args.workers,
                           checkpoint_every=args.checkpoint_every, val_every=args.val_every, resume=args.resume,
                           ship=args.ship, micro_tokens=args.micro_tokens, overwrite=args.overwrite,
                           log_every=args.log_every, log=lambda *a, **k: err.print(*a, markup=False))
    print(json.dumps({k: v for k, v in summary.items() if isinstance(v, (int, float, str))}))
    if summary["stopped"] == "interrupted":  # Ctrl-C: checkpointed; the usual exit status of SIGINT
        err.print(f"interrupted at step {summary['step']} of {summary['steps']}: checkpoint "
                  f"{summary['checkpoint']}; the same command with --resume continues it", markup=False)
        return 130
    return 0
