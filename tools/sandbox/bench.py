"""Benchmark of the sandbox's own costs: ``python -m tapehead.tools.sandbox.bench [--runs 20] [--kills 5]``.

Convention: prints one line per figure, nothing estimated. Measures, on a workspace made from a
small plain directory, (1) the wall time of one sandboxed ``true`` (``RunResult.wall_s``: start,
isolation, the command, the clean-up, the janitor's end), mean and median of ``--runs``; (2) for
``--kills`` trials, an agent process running a command that leaves a ``setsid`` daemon, a
background job and a ``nohup`` job is SIGKILLed, and the time until none of the run's processes
(found by a marker in their environment) and none of its pids cgroups is left is measured (cut
off after ``--wait`` seconds, then what was left is counted). Only ``Sandbox``, ``Limits`` and
``Workspace`` are used, so the same file measures an older checkout too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from tapehead.tools.sandbox.sandbox import Limits, Sandbox
from tapehead.tools.workspace.workspace import Workspace

AGENT = ("import sys\nfrom tapehead.tools.sandbox.sandbox import Limits, Sandbox\n"
         "from tapehead.tools.workspace.workspace import Workspace\n"
         "ws = Workspace.create(sys.argv[1], scratch_parent=sys.argv[2])\n"
         "Sandbox(ws, Limits(timeout_s=120)).run(['/bin/sh', '-c', open(sys.argv[3]).read()])\n")


CGROUPS = "/sys/fs/cgroup/pids" if os.path.isdir("/sys/fs/cgroup/pids") else "/sys/fs/cgroup"


def run_processes(marker: bytes) -> list[int]:
    """The processes that carry ``marker`` in their environment."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker in f.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def run_cgroups(owner: int) -> list[str]:
    try:
        return [os.path.join(CGROUPS, n) for n in os.listdir(CGROUPS) if re.match(rf"tapehead-{owner}[.-]", n)]
    except OSError:
        return []


def clean_up(procs: list[int], groups: list[str]) -> None:
    """What a killed run left (an older checkout): killed and removed, after it was counted."""
    for pid in procs:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    for g in groups:
        with contextlib.suppress(OSError):
            os.rmdir(g)


def kill_trial(tmp: str, src: str, wait_s: float) -> tuple[float | None, int, int]:
    """(seconds from SIGKILL until nothing is left or None, processes left, cgroups left)."""
    mark = f"TH_BENCH={secrets.token_hex(6)}"
    scratch = tempfile.mkdtemp(dir=tmp)  # the agent's workspace copy goes here: the command marks it
    script = os.path.join(tmp, "command.sh")
    with open(script, "w") as f:
        f.write(f"export {mark}; setsid sleep 300 </dev/null >/dev/null 2>&1 & sleep 301 & "
                f"nohup sleep 302 >/dev/null 2>&1 & touch ready; sleep 120")
    agent = subprocess.Popen([sys.executable, "-c", AGENT, src, scratch, script])
    end = time.monotonic() + 60
    while not any(os.path.exists(os.path.join(scratch, d, "tree", "ready")) for d in os.listdir(scratch)):
        if agent.poll() is not None or time.monotonic() > end:
            raise SystemExit(f"the agent's command never started (agent exit {agent.poll()})")
        time.sleep(0.005)
    t0 = time.monotonic()
    agent.send_signal(signal.SIGKILL)
    agent.wait()
    needle = mark.encode()
    while True:
        procs, groups = run_processes(needle), run_cgroups(agent.pid)
        elapsed = time.monotonic() - t0
        if not procs and not groups:
            return elapsed, 0, 0
        if elapsed > wait_s:
            clean_up(procs, groups)
            return None, len(procs), len(groups)
        time.sleep(0.002)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="sandboxed `true` runs to average")
    ap.add_argument("--kills", type=int, default=5, help="agents to SIGKILL mid-run")
    ap.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a killed run's clean-up")
    args = ap.parse_args(argv)
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPU(s), "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    with tempfile.TemporaryDirectory(prefix="tapehead-bench-") as tmp:
        src = os.path.join(tmp, "src")
        os.mkdir(src)
        with open(os.path.join(src, "a.txt"), "w") as f:
            f.write("a\n")
        ws = Workspace.create(src, scratch_parent=tmp)
        try:
            sb = Sandbox(ws, Limits())
            facts = sb.isolation()
            print("isolation: " + "; ".join(f"{k}: {facts.get(k)}" for k in (
                "processes", "ipc", "pids_cgroup", "agent_death")))
            walls = [sb.run(["true"]).wall_s for _ in range(args.runs)]
            print(f"sandboxed `true`: mean {statistics.mean(walls) * 1000:.1f} ms, median "
                  f"{statistics.median(walls) * 1000:.1f} ms over {args.runs} runs")
        finally:
            ws.discard()
        trials = [kill_trial(tmp, src, args.wait) for _ in range(args.kills)]
        done = [t for t, _, _ in trials if t is not None]
        if done:
            print(f"agent SIGKILLed mid-run, until no process and no cgroup of the run is left: "
                  f"median {statistics.median(done) * 1000:.1f} ms, max {max(done) * 1000:.1f} ms "
                  f"({len(done)} of {len(trials)} trials clean)")
        for _, procs, groups in (t for t in trials if t[0] is None):
            print(f"agent SIGKILLed mid-run: after {args.wait:g} s still {procs} processes and {groups} cgroups "
                  "of the run (then killed and removed by this benchmark)")


if __name__ == "__main__":
    main()
