"""Peak memory of ``tapehead solve addition @FILE`` by input size, and what a trajectory costs to keep.

The figures of docs/benchmarks.md ("Memory: chunked prefill, compact trajectories, the input limit").
Each input size runs in its own subprocess, ``python -m tapehead solve addition @FILE --max-tokens 1
--json``: it loads the shipped policy, prefills the whole input and decodes one token, then stops;
its peak RSS comes from ``os.wait4``'s rusage (the child's own, nothing else's). Beside it:

- the network's decoding state (``state_bytes`` of the solve's JSON: fixed for Mamba-2);
- the trajectory's own storage, measured in this process on a teacher episode: bytes a token for the
  token record in memory (``array('H')`` against the Python list it replaced, by ``tracemalloc``)
  and in the file (version 2, compact, against version 1's JSON list);
- the input-size limit: the one line and exit status beyond it (a 5 MiB input, the issue's).

``--code DIR`` runs the children on another checkout, for a before/after (``DIR/tapehead`` holding
it, e.g. ``git archive COMMIT | tar -x -C DIR/tapehead``: ``PYTHONPATH`` comes before the editable
install); ``--cap-gib`` bounds each child's address space, so a checkout that prefills in one piece
fails at the cap instead of taking the machine. Inputs are random digits (seed 0), ``a+b`` of equal
halves.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

SIZES = {"1 KB": 1_000, "100 KB": 100_000, "1 MB": 1_000_000}


def make_input(n_bytes: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    half = (n_bytes - 1) // 2
    digits = lambda k: str(rng.randrange(1, 10)) + "".join(rng.choice("0123456789") for _ in range(k - 1))  # noqa: E731
    return digits(half) + "+" + digits(n_bytes - 1 - half)


def run_child(argv: list[str], *, code: str | None, cap_gib: float | None, env: dict | None = None) -> dict:
    """Run ``python -m tapehead ARGV``; its exit status, peak RSS (MiB), wall time, stdout and stderr."""
    env = {**os.environ, **(env or {}), "COLUMNS": "400"}
    if code:
        env["PYTHONPATH"] = code + os.pathsep + env.get("PYTHONPATH", "")

    def limit():
        if cap_gib:
            cap = int(cap_gib * (1 << 30))
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tapehead", *argv], stdout=out, stderr=err, env=env,
                                preexec_fn=limit)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        return {"rc": proc.returncode, "peak_mib": round(usage.ru_maxrss / 1024, 1),
                "seconds": round(time.perf_counter() - t0, 1), "stdout": out.read(), "stderr": err.read()}


def prefill_rows(code: str | None, cap_gib: float | None, sizes: dict, report) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for name, n in sizes.items():
            path = Path(d) / f"{n}.txt"
            path.write_text(make_input(n))
            r = run_child(["solve", "addition", f"@{path}", "--max-tokens", "1", "--json"], code=code, cap_gib=cap_gib)
            row = {"input": name, "bytes": n, "rc": r["rc"], "peak_mib": r["peak_mib"], "seconds": r["seconds"]}
            try:
                row["state_bytes"] = json.loads(r["stdout"].strip().splitlines()[-1]).get("state_bytes")
            except (json.JSONDecodeError, IndexError):
                row["error"] = (r["stderr"].strip().splitlines() or ["?"])[-1][:160]
            rows.append(row)
            report(row)
    return rows


def limit_row(code: str | None, cap_gib: float | None, n_bytes: int = 5 << 20) -> dict:
    """The issue's case: a 5 MiB input (it once reached 24 GB before the kernel killed it)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "over.txt"
        path.write_text(make_input(n_bytes))
        r = run_child(["solve", "addition", f"@{path}", "--max-tokens", "1", "--json"], code=code, cap_gib=cap_gib)
    return {"input_bytes": n_bytes, "rc": r["rc"], "peak_mib": r["peak_mib"], "seconds": r["seconds"],
            "stderr": r["stderr"].strip()[-400:]}


def trajectory_storage(digits: int = 10_000) -> dict:
    """Bytes a token of a teacher episode's record: list against array in memory, v1 against v2 on disk."""
    from tapehead.agent import models
    from tapehead.agent.loops.loop import run_episode
    from tapehead.agent.tasks import get_task

    task, codec = get_task("addition"), models.codec()
    text = task.parse(make_input(2 * digits + 1, seed=1))
    traj = run_episode(task.teacher(codec), codec, text, task="addition")
    n = len(traj.tokens)
    tracemalloc.start()
    as_list = traj.tokens.tolist()
    as_list[1::2] = [int(str(t)) for t in as_list[1::2]]  # ints made one by one, as a loop appends them
    list_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    v2 = len(json.dumps(traj.to_json()["tokens"]))
    v1 = len(json.dumps(as_list))
    del as_list
    return {"digits": digits, "tokens": n, "list_bytes_per_token": round(list_bytes / n, 1),
            "array_bytes_per_token": traj.tokens.itemsize, "file_v1_bytes_per_token": round(v1 / n, 2),
            "file_v2_bytes_per_token": round(v2 / n, 3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tapehead.evals.bench_memory", description=__doc__.split("\n\n")[0])
    p.add_argument("--code", help="run the children on this checkout (DIR holding tapehead/)")
    p.add_argument("--cap-gib", type=float, default=None, help="address-space cap for each child (GiB)")
    p.add_argument("--sizes", default=",".join(SIZES), help=f"which of {', '.join(SIZES)}")
    p.add_argument("--skip-limit", action="store_true", help="do not run the over-the-limit input")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    sizes = {k: SIZES[k.strip()] for k in args.sizes.split(",")}
    say = (lambda row: None) if args.json else (lambda row: print(json.dumps(row), flush=True))
    out = {"prefill": prefill_rows(args.code, args.cap_gib, sizes, say)}
    ok = {r["input"]: r["peak_mib"] for r in out["prefill"] if r["rc"] in (0, 1) and "error" not in r}
    if "100 KB" in ok and "1 MB" in ok:
        out["peak_1mb_over_100kb"] = round(ok["1 MB"] / ok["100 KB"], 3)
    if not args.skip_limit:
        out["limit"] = limit_row(args.code, args.cap_gib)
        say(out["limit"])
    out["trajectory"] = trajectory_storage()
    print(json.dumps(out, indent=None if not args.json else 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
