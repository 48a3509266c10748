"""``tapehead solve``, ``tapehead eval`` and ``tapehead train``: the task commands.

Registered as plugins of ``tapehead.agent.cli.main`` (entry points in pyproject.toml).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rich.console import Console

from tapehead.agent import models
from tapehead.agent.loops.episode import Limits
from tapehead.agent.loops.loop import run_episode
from tapehead.agent.tasks import get_task, task_names

out = Console()


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--sizes takes comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise ValueError(f"--sizes needs positive integers, got {text!r}")
    return sizes


# --- solve ------------------------------------------------------------------------------------------------
def register_solve(sub) -> None:
    p = sub.add_parser("solve", help="solve one problem with a policy (the shipped one by default)",
                       description="Solve one problem, e.g. `tapehead solve addition 123+456`.")
    p.add_argument("task", help=f"task name ({', '.join(task_names())})")
    p.add_argument("input", help="the problem, in the task's natural form (e.g. 123+456), or @FILE to read it from a file")
    p.add_argument("--policy", help="checkpoint path (without suffix); default: the task's shipped policy")
    p.add_argument("--teacher", action="store_true", help="run the task's hard-coded teacher instead of a network")
    p.add_argument("--trace", action="store_true", help="print the coloured trace (thoughts, commands, observations, outputs)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--device", default="cpu")
    p.add_argument("--max-tokens", type=int, default=None, help="stop the episode after this many tokens")
    p.add_argument("--compile", choices=["auto", "on", "off"], default="auto",
                   help="CPU: fuse the decode step with torch.compile (~2.7x faster; ~30 s first compile, then "
                        "cached); auto = on when the episode may exceed 50,000 tokens")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.set_defaults(func=cmd_solve)


def cmd_solve(args) -> int:
    from .runner import resolve_policy

    task = get_task(args.task)
    user_input = args.input
    if user_input.startswith("@"):  # a problem too long for the command line, e.g. a logical-graph program
        path = Path(user_input[1:])
        if not path.is_file():
            raise FileNotFoundError(f"no such input file: {path}")
        user_input = path.read_text()
    text = task.parse(user_input)
    codec = models.codec()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    limits = Limits(max_tokens=args.max_tokens or task.max_tokens(text))
    if args.teacher:
        policy, name = task.teacher(codec), "teacher"
    else:
        name = resolve_policy(task, args.policy)
        model, _ = models.load(name, device=args.device)
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
        out.print(traj.answer, highlight=False, soft_wrap=True)
        if traj.exit != "eos" or traj.answer != expected:
            Console(stderr=True).print(f"[yellow]note:[/] exit={traj.exit}; the right answer is {expected[:80]}"
                                       f"{'…' if len(expected) > 80 else ''}", highlight=False)
    return 0 if traj.exit == "eos" else 1


# --- eval -------------------------------------------------------------------------------------------------
def register_eval(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a policy across sizes (results file, table, plot)",
                       description="Evaluate a policy on a task, or run the whole study: `tapehead eval suite paper`.")
    p.add_argument("task", help=f"task name ({', '.join(task_names())}), or `suite`")
    p.add_argument("suite_name", nargs="?", help="with `suite`: the study to run (paper)")
    p.add_argument("--tasks", default=None, help="suite: comma-separated tasks (default: all of the paper's)")
    p.add_argument("--archs", default="mamba2,transformer,swa,lstm,gru", help="suite: architectures")
    p.add_argument("--seeds", default="0,1", help="suite: comma-separated seeds")
    p.add_argument("--steps", type=int, default=2000, help="suite: training steps per cell")
    p.add_argument("--multitask", action="store_true",
                   help="suite: also one Mamba-2 per seed trained on the mixture of the tasks (arch mamba2-multi)")
    p.add_argument("--stop-below", type=float, default=None,
                   help="skip the larger sizes once a size scores below this on answers and trajectories "
                        "(listed as not run; default: 0.05 for the suite, 0 = every size for one task)")
    p.add_argument("--micro-tokens", type=int, default=131072,
                   help="suite: split a training step into micro-batches of rows of similar length, each at most "
                        "this many padded tokens (0: one batch per step)")
    p.add_argument("--report-only", action="store_true",
                   help="suite: train and evaluate nothing; summarise the cells already done")
    p.add_argument("--train-batch", type=int, default=256, help="suite: training batch")
    p.add_argument("--lr", type=float, default=2e-3, help="suite: learning rate")
    p.add_argument("--train-size", type=int, default=None,
                   help="suite: train on sizes up to this instead of each task's own (cells named ARCH-nN)")
    p.add_argument("--workers", type=int, default=0, help="suite: processes building training traces")
    p.add_argument("--sizes", default="5,10,100,1000", help="comma-separated sizes (default 5,10,100,1000)")
    p.add_argument("--n", type=int, default=100, help="random problems per size")
    p.add_argument("--n-large", type=int, default=None, help="problems per size for sizes >= --large-from")
    p.add_argument("--large-from", type=int, default=2000)
    p.add_argument("--hard", action="store_true", help="add the task's hard cases at each size")
    p.add_argument("--policy", help="checkpoint path (without suffix); default: the shipped policy")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=64, help="episodes decoded in lockstep")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="results directory (default runs/eval-TASK-TIME)")
    p.add_argument("--save-trajectories", action="store_true", help="write every trajectory (gzip JSON)")
    p.add_argument("--teacher-workers", type=int, default=0, help="processes building teacher traces")
    p.add_argument("--no-cuda-graph", action="store_true")
    p.add_argument("--compile", action="store_true", help="CPU: fuse the decode step with torch.compile")
    p.add_argument("--fuse", choices=["off", "rules", "all", "all-kernels"], default="off",
                   help="--tensor-loop: what goes through torch.compile (the tape rules; with the network's step)")
    p.add_argument("--suspend-after", type=float, default=None, metavar="SECONDS",
                   help="--tensor-loop, one size: stop after SECONDS, keep the run in OUT/snapshot.pt.gz and exit 3; "
                   "the same command again resumes it")
    p.add_argument("--tensor-loop", action="store_true",
                   help="tape on the device, no host sync per token (tapehead.agent.loops.tensor); tape-only tasks")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    from .coding.cli import add_eval_options  # tapehead eval code-fix (evals/coding/cli.py)

    add_eval_options(p)
    p.set_defaults(func=cmd_eval)


def cmd_eval(args) -> int:
    from tapehead.agent.loops.snapshot import Suspended

    from . import report
    from .runner import evaluate

    if args.task == "suite":
        return cmd_suite(args)
    if args.task == "code-fix":  # repositories against size, graded in the sandbox
        from .coding.cli import cmd_eval as cmd_code_fix

        return cmd_code_fix(args)
    task = get_task(args.task)
    sizes = _sizes(args.sizes)
    out_dir = args.out or f"runs/eval-{task.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        res = evaluate(task.name, sizes, args.n, policy=args.policy, device=args.device, batch_size=args.batch,
                       seed=args.seed, hard=args.hard, out_dir=out_dir, n_large=args.n_large,
                       large_from=args.large_from, save_trajectories=args.save_trajectories,
                       cuda_graph=not args.no_cuda_graph, teacher_workers=args.teacher_workers,
                       progress=not args.json and sys.stderr.isatty(), compile_cpu=args.compile,
                       tensor_loop=args.tensor_loop, fuse=args.fuse, suspend_after=args.suspend_after,
                       stop_below=args.stop_below or 0.0, command="tapehead " + " ".join(sys.argv[1:]))
    except Suspended as e:  # a long run that goes on in a later call: exit 3, not an error
        out.print(str(e), highlight=False)
        return 3
    try:
        png = report.plot(res, str(Path(out_dir) / "accuracy.png"), train_size=getattr(task, "train_size", None))
    except ImportError as e:  # the GPU machine has no matplotlib: plot later from the results file
        png = f"(no plot: {e})"
    if args.json:
        print(json.dumps({"results": str(Path(out_dir) / "results.json"), "plot": png, "summary": res["summary"]}))
    else:
        out.print(report.table(res))
        out.print(f"results: {out_dir}/results.json  plot: {png}")
    return 0


def cmd_suite(args) -> int:
    from . import report
    from .suite import PAPER_TASKS, run_suite

    if args.suite_name != "paper":
        raise ValueError(f"unknown study {args.suite_name!r}: the one study is `tapehead eval suite paper`")
    out_dir = args.out or "runs/suite-paper"
    suite = run_suite(out_dir, tasks=args.tasks.split(",") if args.tasks else PAPER_TASKS,
                      archs=[a for a in args.archs.split(",") if a], seeds=[int(s) for s in args.seeds.split(",")],
                      steps=args.steps,
                      batch=args.train_batch, lr=args.lr, n=args.n, n_large=args.n_large or args.n,
                      device=args.device, workers=args.workers, eval_batch=args.batch,
                      sizes=_sizes(args.sizes) if args.sizes != "5,10,100,1000" else None,
                      large_from=args.large_from, tensor_loop=args.tensor_loop, multitask=args.multitask,
                      stop_below=0.05 if args.stop_below is None else args.stop_below,
                      report_only=args.report_only, micro_tokens=args.micro_tokens,
                      train_size=args.train_size, log=out.print)
    if args.json:
        print(json.dumps({"suite": f"{out_dir}/suite.json", "table": suite["table"]}))
    else:
        out.print(report.suite_markdown(suite), markup=False, highlight=False)
        out.print(f"suite: {out_dir}/suite.json, plots: {out_dir}/TASK.png")
    return 0


# --- train ------------------------------------------------------------------------------------------------
def register_train(sub) -> None:
    p = sub.add_parser("train", help="train a policy from scratch on a task's teacher traces")
    p.add_argument("task", help=f"task name ({', '.join(task_names())}), or a mixture a+b+c (one multi-task policy)")
    p.add_argument("--out", required=True, help="run directory (checkpoints, resumable state)")
    p.add_argument("--max-size", type=int, default=None, help="largest training size (default: the task's)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--seq-len", type=int, default=0, help="longest training trace (0: the task's bound)")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--arch", default="mamba2", choices=["mamba2", "transformer", "lstm", "gru"])
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--d-state", type=int, default=64)
    p.add_argument("--headdim", type=int, default=64)
    p.add_argument("--chunk-size", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=0, help="processes building traces ahead (0: inline)")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    p.add_argument("--micro-tokens", type=int, default=0,
                   help="split each step into micro-batches of rows of similar length, each at most this many "
                        "padded tokens (0: one batch per step)")
    p.add_argument("--ship", default=None, help="also write the final weights in bf16 to this path (without suffix)")
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    from .training import train_policy

    cfg = dict(arch=args.arch, d_model=args.d_model, n_layer=args.layers, d_state=args.d_state,
               headdim=args.headdim, chunk_size=args.chunk_size)
    summary = train_policy(args.task, cfg, out_dir=args.out, steps=args.steps, batch=args.batch,
                           seq_len=args.seq_len or None, lr=args.lr, weight_decay=args.weight_decay, warmup=args.warmup,
                           seed=args.seed, max_size=args.max_size, device=args.device, workers=args.workers,
                           checkpoint_every=args.checkpoint_every, val_every=args.val_every, resume=args.resume,
                           ship=args.ship, micro_tokens=args.micro_tokens, log=out.print)
    out.print(json.dumps({k: v for k, v in summary.items() if isinstance(v, (int, float, str))}))
    return 0
