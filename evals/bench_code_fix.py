"""The code-fix teachers and their training data, measured: pass rate and trace length per size,
trace generation rate per worker, seconds per check in the sandbox and in process.

``python -m tapehead.evals.bench_code_fix --sizes 4,8,16,32,64,128,256,512,1024 --n 10
--sandbox-up-to 64 --json FILE`` prints three tables:

1. per size and teacher (interactive on each of the three instance families, single-turn on the
   two plumbing styles): the share of instances fixed -- the check passes, the stdout is the
   reference's, exactly the necessary functions changed -- and the mean trace tokens; sizes up to
   ``--sandbox-up-to`` run through the real workspace tools and the real sandbox, larger ones in
   process (the column says which);
2. traces per second of one process (``task.sample`` + ``task.trace``: what a data worker does) at
   each ``--rate-sizes`` size, for repositories of exactly that size and for training draws of 4 to
   that size, in wall time and per CPU second (what a worker with a core of its own gets: the
   figure that holds on a shared machine);
3. seconds per check: the sandboxed check tool, and the in-process run of the training path.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time

from tapehead.agent import models
from tapehead.agent.graph.toolset import call_functions
from tapehead.agent.loops.loop import run_episode
from tapehead.agent.tasks import get_task

from .tasks.code_fix import changed_functions, generate, read_repo, write_repo
from .tasks.code_fix.memtools import MemoryRepo
from .tasks.code_fix.teachers import fast_trace

TEACHERS = [("interactive", "code-fix", "plumbing", "paper"), ("interactive", "code-fix", "plumbing", "realistic"),
            ("interactive", "code-fix", "import", "realistic"), ("single-turn", "code-fix-single", "plumbing", "paper"),
            ("single-turn", "code-fix-single", "plumbing", "realistic")]


def solve(task, inst, sandbox: bool, codec) -> tuple[bool, int]:
    """(fixed, trace tokens) of the task's teacher on ``inst``."""
    if not sandbox:  # task.trace's path, keeping the repository it leaves
        repo = MemoryRepo(inst.files, inst.check)
        tokens, _ = fast_trace(codec, inst.text, task.steps(inst.check), repo.call)
        status, out = repo.runner.run(repo.files)
        ok = status == 0 and out == inst.expected_stdout
        return ok and changed_functions(inst.files, repo.files) == set(inst.necessary), len(tokens)
    from tapehead.tools.sandbox.sandbox import Limits, Sandbox
    from tapehead.tools.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        src = write_repo(inst.files, os.path.join(tmp, "repo"))
        ws = Workspace.create(src, scratch_parent=tmp)
        try:
            traj = run_episode(task.teacher(codec, inst), codec, inst.text, call_tools=call_functions(task.tools(ws)))
            r = Sandbox(ws, Limits(timeout_s=60, head_bytes=16 << 20, tail_bytes=0)).run(["/bin/sh", "-c", inst.check])
            ok = traj.exit == "eos" and r.returncode == 0 and r.head.decode() == inst.expected_stdout
            ok = ok and changed_functions(inst.files, read_repo(ws)) == set(inst.necessary)
            return ok, len(traj.tokens)
        finally:
            ws.discard()


def pass_rates(sizes, n, sandbox_up_to, codec, hard: bool = False, log=print) -> list[dict]:
    """``hard``: the hard cases (every kind but ``random``) instead of random instances."""
    from .tasks.code_fix.tasks import kinds_of

    rows = []
    for size in sizes:
        for teacher, task_name, family, style in TEACHERS:
            task = get_task(task_name)
            sandbox = size <= sandbox_up_to
            t0 = time.perf_counter()
            kinds = kinds_of(style, family)[1:] if hard else ("random",)
            results = [solve(task, generate(size, seed, family, style, kind), sandbox, codec)
                       for kind in kinds for seed in range(n)]
            row = {"size": size, "teacher": teacher, "family": family, "style": style, "n": len(results),
                   "kinds": list(kinds), "runs": "sandbox" if sandbox else "in process",
                   "fixed": sum(ok for ok, _ in results) / len(results),
                   "mean_tokens": round(statistics.mean(t for _, t in results)), "seconds": round(time.perf_counter() - t0, 2)}
            rows.append(row)
            log(f"{size:>5} {teacher:<12} {style}/{family:<9} {row['runs']:<10} fixed {row['fixed']:.0%} of {len(results)}  "
                f"tokens {row['mean_tokens']:>8,}  ({row['seconds']} s)")
    return rows


def trace_rates(sizes, seconds, codec, log=print) -> list[dict]:
    rows = []
    for task_name in ("code-fix", "code-fix-paper", "code-fix-single"):
        task = get_task(task_name)
        for size in sizes:
            for train in (False, True):
                rng, k, tokens = random.Random(size), 0, 0
                t0, c0 = time.perf_counter(), time.process_time()
                while time.perf_counter() - t0 < seconds:
                    toks, _ = task.trace(codec, task.sample(size, rng, train=train))
                    k, tokens = k + 1, tokens + len(toks)
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
                row = {"task": task_name, "size": size, "sizes": f"4..{size}" if train else str(size),
                       "traces_per_s": round(k / dt, 1), "traces_per_cpu_s": round(k / cpu, 1),
                       "tokens_per_trace": round(tokens / k), "traces": k}
                rows.append(row)
                log(f"{task_name:<16} size {row['sizes']:>6}: {row['traces_per_s']:>6} traces/s "
                    f"({row['traces_per_cpu_s']} per CPU second: a worker with a core of its own), "
                    f"{row['tokens_per_trace']:,} tokens/trace")
    return rows


def check_seconds(sizes, repeats, log=print) -> list[dict]:
    from tapehead.tools.code.check import Check
    from tapehead.tools.workspace import Workspace

    rows = []
    for size in sizes:
        inst = generate(size, 0)
        with tempfile.TemporaryDirectory() as tmp:
            ws = Workspace.create(write_repo(inst.files, os.path.join(tmp, "repo")), scratch_parent=tmp)
            check = Check(ws)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                check.call()
                times.append(time.perf_counter() - t0)
            ws.discard()
        repo = MemoryRepo(inst.files)
        repo.call("check")  # compile once, as the training path does after the first check
        inproc = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            repo.call("check")
            inproc.append(time.perf_counter() - t0)
        row = {"size": size, "sandbox_s": round(statistics.median(times), 4),
               "in_process_s": round(statistics.median(inproc), 5)}
        rows.append(row)
        log(f"check at {size:>5} functions: sandbox {row['sandbox_s']:.3f} s, in process {row['in_process_s']:.4f} s (median of {repeats})")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tapehead.evals.bench_code_fix", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="4,8,16,32,64,128,256,512,1024")
    p.add_argument("--n", type=int, default=10, help="instances per size and teacher")
    p.add_argument("--sandbox-up-to", type=int, default=64, help="largest size run in the real sandbox")
    p.add_argument("--rate-sizes", default="4,8,16")
    p.add_argument("--rate-seconds", type=float, default=10.0)
    p.add_argument("--check-sizes", default="4,16,64,256,1024")
    p.add_argument("--hard", action="store_true", help="pass rates on the hard cases (n of each kind)")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: pass, rate, check")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    codec = models.codec()
    skip = set(filter(None, args.skip.split(",")))
    out = {"command": "python -m tapehead.evals.bench_code_fix " + " ".join(sys.argv[1:] if argv is None else argv),
           "load_before": os.getloadavg()[0]}
    if "pass" not in skip:
        out["pass"] = pass_rates([int(s) for s in args.sizes.split(",")], args.n, args.sandbox_up_to, codec, args.hard)
    if "rate" not in skip:
        out["rate"] = trace_rates([int(s) for s in args.rate_sizes.split(",")], args.rate_seconds, codec)
    if "check" not in skip:
        out["check"] = check_seconds([int(s) for s in args.check_sizes.split(",")], 7)
    out["load_after"] = os.getloadavg()[0]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
