"""Benchmark of the workspace tools: ``python -m tapehead.tools.bench_workspace [--package torch] [--runs 10]``,
and of snapshots alone: ``python -m tapehead.tools.bench_workspace --snapshot 1000,5000``.

Convention: measures on a real, large Python tree -- the ``.py`` files of an installed package (torch
by default, else sympy), copied into a plain temporary directory -- through the same objects the
agent uses: workspace creation (copy mode), ``grep`` (a rare and a common pattern), the symbol
index (cold build, warm refresh with nothing changed, refresh after one edit), one
``find_definition`` query, and the cost of one sandboxed ``python -c pass`` (mean of ``--runs``)
next to a bare ``python -c pass``. Prints one line per figure; nothing is estimated.

``--snapshot N,M``: for synthetic trees of N and M Python files (25 per directory, two levels, about
1.5 KB each), in git mode (a committed repository) and copy mode (a plain directory): workspace
creation, then the *cold* status after one edit (the first ``changes()`` of a new workspace) and
the *warm* one (median of 5: one edit, then ``changes()``), taken a second and more after creation
so that the stat cache may trust its hashes (git's racy rule). It uses only ``Workspace.create``,
``changes`` and ``discard``, so the same file runs against an older tapehead on ``PYTHONPATH``.
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


def make_tree(root: str, n: int, git_mode: bool) -> None:
    body = "".join(f"def f{i}(x):\n    return x + {i}  # {'.' * 40}\n\n" for i in range(25))
    for i in range(n):
        path = os.path.join(root, f"d{i // 625:02d}", f"e{i // 25 % 25:02d}", f"m{i % 25:02d}.py")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(f"# module {i}\n{body}")
    if git_mode:
        env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
                   GIT_COMMITTER_EMAIL="b@b")
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "tree"]):
            subprocess.run(["git", *args], cwd=root, env=env, check=True)


def bench_snapshots(sizes: list[int]) -> None:
    for n in sizes:
        for git_mode in (True, False):
            with tempfile.TemporaryDirectory(prefix="tapehead-bench-snap-") as tmp:
                src = os.path.join(tmp, "src")
                make_tree(src, n, git_mode)
                t_create, ws = timed(lambda: Workspace.create(src, scratch_parent=tmp))
                try:
                    time.sleep(1.2)
                    files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(ws.root) for f in fs
                                   if f.endswith(".py"))

                    def edit(k):
                        with open(files[k * 7919 % len(files)], "a") as f:
                            f.write(f"# edit {k}\n")
                        return ws.changes()

                    t_cold, changes = timed(lambda: edit(0))
                    assert len(changes) == 1, changes
                    warm = [timed(lambda: edit(k))[0] for k in range(1, 6)]
                    print(f"{n} files, {ws.mode} mode: create {t_create:.3f} s, status after one edit "
                          f"cold {t_cold * 1000:.0f} ms, warm {statistics.median(warm) * 1000:.0f} ms "
                          f"(median of 5)")
                finally:
                    ws.discard()


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", default=None, help="installed package whose .py files are the tree")
    ap.add_argument("--runs", type=int, default=10, help="sandboxed runs to average")
    ap.add_argument("--snapshot", default="", help="only the snapshot benchmark, on trees of these sizes, "
                                                  "e.g. 1000,5000")
    args = ap.parse_args(argv)
    if args.snapshot:
        print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPU(s), "
              f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
        bench_snapshots([int(x) for x in args.snapshot.split(",")])
        return
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
