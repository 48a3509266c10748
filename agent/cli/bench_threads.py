"""How many torch CPU threads ``tapehead`` should use by default: decode tokens/s of ``tapehead solve
addition`` with 1 and 2 threads, on a quiet machine and beside one busy process.

``python -m tapehead.agent.cli.bench_threads [--digits 200] [--repeats 5] [--threads 1,2]``: each
run is a real ``tapehead solve addition A+B --json --threads N`` subprocess (the shipped policy,
eager decoding); the figure is the ``tokens_per_s`` it reports (decoding only, not the start-up).
"Busy" runs ``python -c 'while 1: pass'`` beside it (one core taken, as another user's job would).
Runs alternate between settings, so that a change in the machine's load shows in every column;
the 1-minute load average before each run is printed with it. The table (median, min-max) goes
to docs/benchmarks.md ("CPU threads"); ``options.DEFAULT_THREADS`` follows from it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys


def one(digits: int, threads: int, seed: int) -> float:
    rng = random.Random(seed)
    a, b = (str(rng.randint(10 ** (digits - 1), 10**digits - 1)) for _ in range(2))
    p = subprocess.run([sys.executable, "-m", "tapehead", "solve", "addition", f"{a}+{b}", "--json",
                        "--threads", str(threads), "--compile", "off"], capture_output=True, text=True, check=True)
    res = json.loads(p.stdout)
    assert res["correct"], res
    return res["tokens_per_s"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--digits", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args(argv)
    settings = [(t, busy) for busy in (False, True) for t in (int(x) for x in a.threads.split(","))]
    got: dict = {s: [] for s in settings}
    for r in range(a.repeats):
        for t, busy in settings:
            hog = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if busy else None
            try:
                load = os.getloadavg()[0]
                tps = one(a.digits, t, seed=r)
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
            got[(t, busy)].append(tps)
            print(json.dumps({"repeat": r, "threads": t, "busy": busy, "tokens_per_s": tps, "load1": load}), flush=True)
    print(f"\n{a.digits}-digit addition, tokens/s of decoding (median, min-max of {a.repeats}), {os.cpu_count()} CPUs")
    print("| threads | quiet | one busy process |\n| ---: | ---: | ---: |")
    for t in sorted({t for t, _ in settings}):
        cells = []
        for busy in (False, True):
            v = got[(t, busy)]
            cells.append(f"{statistics.median(v):.0f} ({min(v):.0f}-{max(v):.0f})")
        print(f"| {t} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
