"""Benchmark of the workspace tools: ``python -m tapehead.tools.bench_workspace [--package torch] [--runs 10]``.

Convention: measures on a real, large Python tree -- the ``.py`` files of an installed package (torch
by default, else sympy), copied into a plain temporary directory -- through the same objects the
agent uses: workspace creation (copy mode), ``grep`` (a rare and a common pattern), the symbol
index (cold build, warm refresh with nothing changed, refresh after one edit), one
``find_definition`` query, and the cost of one sandboxed ``python -c pass`` (mean of ``--runs``)
next to a bare ``python -c pass``. Prints one line per figure; nothing is estimated.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from tapehead.tools.code.symbols import SymbolIndex
from tapehead.tools.code.workspace_tools import tools_by_name
from tapehead.tools.sandbox.sandbox import Limits, Sandbox
from tapehead.tools.workspace.workspace import Workspace


def copy_sources(package: str, dest: str) -> tuple[int, int]:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise SystemExit(f"package {package!r} is not installed")
    src = os.path.dirname(spec.origin)
    files = size = 0
    for dirpath, _, names in os.walk(src):
        for name in names:
            if name.endswith(".py"):
                full = os.path.join(dirpath, name)
                out = os.path.join(dest, package, os.path.relpath(full, src))
                os.makedirs(os.path.dirname(out), exist_ok=True)
                shutil.copyfile(full, out)
                files += 1
                size += os.path.getsize(full)
    return files, size


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", default=None, help="installed package whose .py files are the tree")
    ap.add_argument("--runs", type=int, default=10, help="sandboxed runs to average")
    args = ap.parse_args(argv)
    package = args.package or next((p for p in ("torch", "sympy") if importlib.util.find_spec(p)), None)
    if package is None:
        raise SystemExit("neither torch nor sympy is installed; pass --package")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPU(s), "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    with tempfile.TemporaryDirectory(prefix="tapehead-bench-") as tmp:
        src = os.path.join(tmp, "src")
        files, size = copy_sources(package, src)
        print(f"tree: the .py files of {package}: {files} files, {size / 2**20:.1f} MiB")
        t, ws = timed(lambda: Workspace.create(src, scratch_parent=tmp))
        print(f"workspace create (copy + git base commit): {t:.2f} s")
        try:
            tools = tools_by_name(ws)
            for pattern in (r"def __init__\(self", r"^import re$"):
                t, obs = timed(lambda: tools["grep"].call(pattern=pattern, max_results=50))
                print(f"grep {pattern!r}: {t:.2f} s, {obs.data.get('total', 0)} matching lines")
            cold = tools_by_name(ws)["find_definition"]
            t, obs = timed(lambda: cold.call(name="checkpoint_wrapper"))
            stats = cold.index.last
            print(f"find_definition on a cold index (parses only files containing the name): {t:.2f} s "
                  f"({stats['parsed']} parsed, {stats['pending']} pending, {len(obs.data['hits'])} hits)")
            index = SymbolIndex(ws)
            t, stats = timed(index.refresh)
            snap = index.snapshot()
            print(f"symbol index cold build: {t:.2f} s ({stats['parsed']} files parsed, {snap['symbols']} "
                  f"definitions, {snap['calls']} call sites)")
            t, stats = timed(index.refresh)
            print(f"symbol index warm refresh (nothing changed): {t:.3f} s ({stats['reused']} reused)")
            some = sorted(index.entries)[len(index.entries) // 2]
            with open(os.path.join(ws.root, some), "a") as f:
                f.write("\n\ndef tapehead_bench_marker():\n    pass\n")
            t, stats = timed(index.refresh)
            print(f"symbol index refresh after one edit: {t:.3f} s ({stats['parsed']} parsed)")
            find = tools["find_definition"]
            find.index = index
            t, obs = timed(lambda: find.call(name="tapehead_bench_marker"))
            print(f"find_definition (refresh + lookup): {t:.3f} s -> {obs.text}")
            sandbox = Sandbox(ws, Limits())
            print(f"isolation: {sandbox.isolation()}")
            runs = [sandbox.run([sys.executable, "-c", "pass"]).wall_s for _ in range(args.runs)]
            bare = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-c", "pass"], check=True)
                bare.append(time.perf_counter() - t0)
            print(f"sandboxed `python -c pass`: mean {statistics.mean(runs) * 1000:.0f} ms, median "
                  f"{statistics.median(runs) * 1000:.0f} ms over {args.runs} runs")
            print(f"bare `python -c pass` (subprocess.run): mean {statistics.mean(bare) * 1000:.0f} ms, "
                  f"median {statistics.median(bare) * 1000:.0f} ms over {args.runs} runs")
        finally:
            ws.discard()


if __name__ == "__main__":
    main()
