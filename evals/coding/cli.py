"""``tapehead bench make|predict|grade``, ``tapehead fix`` and ``tapehead eval code-fix``: the coding commands.

Registered as plugins of ``tapehead.agent.cli.main`` (entry points ``bench`` and ``fix`` in
pyproject.toml); ``eval code-fix`` is a parser of its own under ``tapehead eval`` (entry-point group
``tapehead.eval``, ``register_eval``). User errors (a bad file, an unknown instance file, a missing
directory) are one line and exit status 2, through ``main``'s handler.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from tapehead.agent.trace.trajectory_file import write_json_atomic
from . import task_api
from .record import load_instances, load_predictions, prediction, write_jsonl

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
DEFAULT_SIZES = "4,8,16,32,64,128,256,512,1024"


def _family(p, default="plumbing") -> None:
    p.add_argument("--family", default=default, choices=[*task_api.FAMILIES, "mixed"], help="bug family")
    p.add_argument("--style", default="paper", choices=task_api.STYLES, help="repository style")


def _policy(p) -> None:
    p.add_argument("--policy", help="checkpoint path (without suffix)")
    p.add_argument("--teacher", action="store_true", help="the hard-coded teacher of the instance's bug family")


def _spec(args) -> str:
    if args.teacher and args.policy:
        raise ValueError("give --policy or --teacher, not both")
    if args.teacher:
        return "teacher"
    if not args.policy:
        from .fix import NO_POLICY

        raise ValueError(NO_POLICY)
    return args.policy


# --- bench ----------------------------------------------------------------------------------------------
def register_bench(sub) -> None:
    from tapehead.agent.cli import options

    p = sub.add_parser("bench", help="SWE-bench-shaped benchmark files: make instances, predict, grade locally",
                       description="Benchmark I/O in the SWE-bench shape (docs/coding.md).")
    bsub = p.add_subparsers(dest="bench_command", metavar="SUBCOMMAND", required=True)
    m = bsub.add_parser("make", help="write instances as JSONL: `bench make code-fix --sizes 4,8 --n 20 --out F.jsonl`")
    m.add_argument("source", choices=["code-fix", "heldout"], help="generated code-fix instances, or the held-out repositories")
    options.add(m, "sizes", "n", "seed", sizes_default="4,8,16", sizes_help="comma-separated repository sizes "
                "(functions)", n_default=20, n_help="instances per size")
    _family(m)
    m.add_argument("--archive", action="store_true", help="carry each repository as a base64 tar.gz instead of a files object")
    m.add_argument("--out", required=True, help="instances file (JSONL)")
    m.set_defaults(func=cmd_make)
    pr = bsub.add_parser("predict", help="run the agent on every instance; write SWE-bench predictions (JSONL)")
    pr.add_argument("instances", help="instances file (JSONL)")
    _policy(pr)
    pr.add_argument("--model-name", default=None, help="model_name_or_path to record (default: the policy)")
    options.add(pr, "workers", workers_default=1, workers_help="worker processes")
    pr.add_argument("--out", required=True, help="predictions file (JSONL)")
    pr.set_defaults(func=cmd_predict)
    g = bsub.add_parser("grade", help="grade predictions locally in the sandbox (no Docker)")
    g.add_argument("instances", help="instances file (JSONL)")
    g.add_argument("predictions", help="predictions file (JSONL: instance_id, model_name_or_path, model_patch)")
    g.add_argument("--out", default=None, help="report file (JSON)")
    options.add(g, "workers", "json", workers_default=1, workers_help="instances graded at once",
                json_help="print the summary as JSON")
    g.set_defaults(func=cmd_grade)


def cmd_make(args) -> int:
    if args.source == "heldout":
        from tapehead.evals.heldout.loader import load_all

        insts = load_all()
    else:
        from .evaluate import instances_for

        insts = [i for size in args.sizes for i in instances_for(size, args.n, args.seed, args.family, args.style)]
    write_jsonl(args.out, (i.to_json(archive=True if args.archive else None) for i in insts))
    out.print(f"wrote {len(insts)} instances to {args.out}", highlight=False, markup=False)
    return 0


def cmd_predict(args) -> int:
    from .evaluate import predict_one

    spec = _spec(args)
    insts = load_instances(args.instances)
    name = args.model_name or spec
    jobs = [{"instance": i, "policy": spec} for i in insts]
    rows, t0 = [], time.perf_counter()
    pool = mp.get_context("spawn").Pool(args.workers) if args.workers > 1 else None
    try:
        for k, (patch, traj, runs, secs) in enumerate(pool.imap(predict_one, jobs) if pool else map(predict_one, jobs), 1):
            rows.append(prediction(insts[k - 1].instance_id, name, patch))
            err.print(f"[{k}/{len(jobs)}] {insts[k - 1].instance_id}: exit={traj.exit}, {traj.generated} tokens, "
                      f"{runs} check runs, {secs:.1f} s, patch {len(patch)} bytes", highlight=False, markup=False)
    finally:
        if pool:
            pool.terminate()
    write_jsonl(args.out, rows)
    out.print(f"wrote {len(rows)} predictions to {args.out} ({time.perf_counter() - t0:.1f} s)", highlight=False,
              markup=False)
    return 0


def cmd_grade(args) -> int:
    from .grader import grade

    insts = load_instances(args.instances)
    preds, problems = load_predictions(args.predictions)
    done = [0]

    def on_row(row):
        done[0] += 1
        if not args.json:
            verdict = "resolved" if row["resolved"] else f"unresolved: {row['reason']}"
            err.print(f"[{done[0]}/{len(preds)}] {row['instance_id']}: {verdict} ({row['seconds']:.2f} s)", highlight=False,
                      markup=False)

    report = grade(insts, preds, problems, workers=args.workers, on_row=on_row)
    report.update(instances_file=str(Path(args.instances).resolve()), predictions_file=str(Path(args.predictions).resolve()),
                  graded=time.strftime("%Y-%m-%d %H:%M:%S"))
    if args.out:
        write_json_atomic(args.out, report)
    s = report["summary"]
    if args.json:
        print(json.dumps(s))
    else:
        for p in report["problems"]:
            err.print(f"[yellow]line {p['line']}[/] {escape(p['instance_id'] or '')}: {escape(p['reason'])}", highlight=False)
        out.print(f"resolved {s['resolved']}/{s['instances']} ({100 * s['resolved_rate']:.1f}%); applied {s['applied']}, "
                  f"check {s['check']}, hidden {s['hidden']}, minimal {s['minimal']}; {s['problems']} bad prediction line(s)"
                  + (f"; report {args.out}" if args.out else ""), highlight=False, markup=False)
    return 0


# --- fix -------------------------------------------------------------------------------------------------
def register_fix(sub) -> None:
    from tapehead.agent.cli import options

    p = sub.add_parser("fix", help="fix a repository in a scratch copy; show the diff; accept it into your tree",
                       description="`tapehead fix DIR --check 'python main.py' --teacher`: docs/coding.md.")
    p.add_argument("directory", help="the repository")
    p.add_argument("--check", required=True, help="the command that fails now and must pass (run in the sandbox)")
    _policy(p)
    p.add_argument("--family", choices=task_api.FAMILIES, default=None, help="the bug family, when known (for --teacher)")
    p.add_argument("--yes", action="store_true", help="accept the diff without asking")
    options.add(p, "json", "max_tokens", "db", json_help="print one result object (session, exit, tokens, calls, "
                "seconds, diff, accepted)", max_tokens_help="stop the episode after this many tokens")
    p.set_defaults(func=cmd_fix)


def cmd_fix(args) -> int:
    from tapehead.agent.graph.sessions import default_db

    from .fix import ask_stdin, run_fix

    if args.teacher and args.policy:
        raise ValueError("give --policy or --teacher, not both")
    res = run_fix(args.directory, args.check, policy=args.policy, teacher=args.teacher, family=args.family,
                  yes=args.yes, as_json=args.json, db=args.db or default_db(), max_tokens=args.max_tokens,
                  err=None if args.json else err, ask=None if (args.yes or args.json) else ask_stdin)
    if args.json:
        print(json.dumps(res, ensure_ascii=False))
    return 0 if res["check_passed"] else 1


# --- eval code-fix -----------------------------------------------------------------------------------------
def register_eval(tasks) -> None:
    """``tapehead eval code-fix``: its own parser under ``tapehead eval`` (entry-point group
    ``tapehead.eval``), with the option schema of ``tapehead.agent.cli.options``."""
    from tapehead.agent.cli import options

    p = tasks.add_parser("code-fix", help="evaluate a policy (or the teachers) on repositories against their size",
                         description="Pass rate, hidden-check rate and minimal-change rate against the number of "
                                     "functions, graded in the sandbox: docs/coding.md.")
    options.add(p, "sizes", "n", "seed", "device", "eval_batch", "json", sizes_default=DEFAULT_SIZES,
                n_default=20, json_help="print the summary as JSON")
    _policy(p)
    p.add_argument("--instances", default=None, help="a benchmark file (JSONL) instead of generated instances")
    _family(p)
    p.add_argument("--workers", type=options.SCHEMA["workers"].type, default=1, help="worker processes (CPU)")
    p.add_argument("--out", type=options.out_dir, metavar="DIR", help="results directory (default "
                   "runs/eval-code-fix-TIME)")
    p.set_defaults(func=cmd_eval)


def _given(args, dest: str) -> bool:
    from tapehead.agent.cli import options

    return options.given(args, dest)


def cmd_eval(args) -> int:
    """``tapehead eval code-fix``: the results file, the table, the PNG."""
    from . import report
    from .evaluate import evaluate

    spec = _spec(args)
    sizes = args.sizes
    if args.instances and not _given(args, "sizes"):
        sizes = []  # every instance of the file
    out_dir = args.out or f"runs/eval-code-fix-{time.strftime('%Y%m%d-%H%M%S')}"
    res = evaluate(sizes, args.n, policy=spec, out_dir=out_dir, instances=args.instances, family=args.family,
                   style=args.style, seed=args.seed, workers=args.workers, device=args.device, batch_size=args.batch,
                   progress=not args.json and sys.stderr.isatty(), command="tapehead " + " ".join(sys.argv[1:]))
    try:
        png = report.plot(res, str(Path(out_dir) / "pass_rate.png"))
    except ImportError as e:  # no matplotlib (the GPU machine): the results file holds every figure
        png = None
        err.print(f"no plot: {e}", highlight=False, markup=False)
    if args.json:
        print(json.dumps({"results": str(Path(out_dir) / "results.json"), "plot": png, "summary": res["summary"]}))
    else:
        out.print(report.table(res))
        out.print(f"results: {out_dir}/results.json  plot: {png}", highlight=False, markup=False)
    return 0
