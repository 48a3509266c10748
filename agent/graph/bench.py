"""Benchmark: the LangGraph agent's overhead against the bare loop (``python -m tapehead.agent.graph.bench``).

Three measurements, printed as one JSON object (figures go to docs/benchmarks.md):

1. ``model``: an addition of two ``--digits``-digit numbers with the shipped policy on CPU: the
   bare loop (``tapehead.agent.loops.loop.run_episode``) against the graph (``Agent.solve``: SQLite sessions, a
   trajectory file rewritten after every step), both in this process with the time inside the
   network measured (``TimedPolicy``), so that the overhead is also given with the network's time
   removed -- on a shared machine the network's speed alone varies by tens of percent between runs;
   then ``tapehead run`` in a subprocess: its ``graph_seconds`` (the stream loop) and wall time
   (start-up and model load included). Same ``--threads`` everywhere (1 by default: the dev VM's
   2 cores are shared).
2. ``steps``: the teacher's trace of the same addition replayed by a ``ScriptedPolicy`` (no network:
   the loop's own cost is all there is), bare against the graph at several step sizes: the
   overhead per policy step.
3. ``tool_steps``: a scripted policy making ``--calls`` sandboxed ``run true`` calls, bare (the
   tool called inside the loop) against the graph (each call a tool step, yolo): the overhead per
   tool step.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time


def _number(rng: random.Random, n: int) -> str:
    return str(rng.randrange(1, 10)) + "".join(rng.choice("0123456789") for _ in range(n - 1))


class TimedPolicy:
    """A policy wrapper that adds up the time spent inside the policy (the network's steps)."""

    prefill_resume = True  # a wrapped network prefills all recorded tokens at once

    def __init__(self, inner):
        self.inner = inner
        self.seconds = 0.0

    def start(self, prompt):
        t = time.perf_counter()
        self.inner.start(prompt)
        self.seconds += time.perf_counter() - t

    def propose(self):
        t = time.perf_counter()
        tok = self.inner.propose()
        self.seconds += time.perf_counter() - t
        return tok

    def feed(self, token):
        t = time.perf_counter()
        self.inner.feed(token)
        self.seconds += time.perf_counter() - t

    def state_bytes(self):
        return self.inner.state_bytes()


def bench_model(a: str, b: str, threads: int, tmp: str, step_tokens: int) -> dict:
    """Bare loop and graph in this process, each with the time inside the network measured, so the
    graph's own cost is separated from the network's speed, which varies with the load of a shared
    machine; then ``tapehead run`` end to end."""
    import torch

    from tapehead.agent import models
    from tapehead.agent.agent import Agent
    from tapehead.agent.loops.loop import run_episode
    from tapehead.agent.policies.source import default_policy_path
    from tapehead.agent.tasks import get_task
    from tapehead.agent.trace.trajectory import Trajectory

    torch.set_num_threads(threads)
    task = get_task("addition")
    text = task.parse(f"{a}+{b}")
    path = default_policy_path(task)
    model, _ = models.load(path)
    loads = [os.getloadavg()[0]]
    pol = TimedPolicy(models.model_policy(model))
    t0 = time.perf_counter()
    bare = run_episode(pol, models.codec(), text, task="addition")
    bare_s, bare_net = time.perf_counter() - t0, pol.seconds
    loads.append(os.getloadavg()[0])
    pol = TimedPolicy(models.model_policy(model))
    agent = Agent(task="addition", policy=pol, db=os.path.join(tmp, "inproc.sqlite"), step_tokens=step_tokens)
    t0 = time.perf_counter()
    res = agent.solve(f"{a}+{b}", out=os.path.join(tmp, "inproc.json"))
    graph_s, graph_net = time.perf_counter() - t0, pol.seconds
    agent.close()
    loads.append(os.getloadavg()[0])
    out = os.path.join(tmp, "traj.json")
    cmd = ["tapehead", "run", "--task", "addition", "--input", f"{a}+{b}", "--json", "--threads", str(threads),
           "--db", os.path.join(tmp, "sessions.sqlite"), "--out", out, "--step-tokens", str(step_tokens)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    loads.append(os.getloadavg()[0])
    cli = json.loads(proc.stdout)
    own_bare, own_graph = bare_s - bare_net, graph_s - graph_net
    return {
        "digits": len(a), "tokens": bare.generated, "steps": res.trajectory.meta["steps"], "step_tokens": step_tokens,
        "bare_seconds": round(bare_s, 2), "bare_network_seconds": round(bare_net, 2),
        "graph_seconds": round(graph_s, 2), "graph_network_seconds": round(graph_net, 2),
        "bare_own_seconds": round(own_bare, 3), "graph_own_seconds": round(own_graph, 3),
        "overhead_pct_raw": round(100 * (graph_s / bare_s - 1), 2),
        "overhead_pct_network_time_removed": round(100 * (own_graph - own_bare) / bare_s, 3),
        "tapehead_run_graph_seconds": cli["graph_seconds"], "tapehead_run_wall_seconds": round(wall, 2),
        "tapehead_run_overhead_pct_raw": round(100 * (cli["graph_seconds"] / bare_s - 1), 2),
        "correct": bool(cli["correct"] and res.correct),
        "same_trajectory": Trajectory.load(out).tokens == bare.tokens == res.trajectory.tokens,
        "bare_tokens_per_s": round(bare.generated / bare_s, 1), "state_bytes": bare.meta.get("state_bytes"),
        "command": " ".join(cmd[:4]) + " A+B " + " ".join(cmd[6:]), "load_average_1min": loads,
    }


def bench_steps(a: str, b: str, tmp: str, step_sizes: list[int], repeat: int = 3) -> dict:
    from tapehead.agent import models
    from tapehead.agent.agent import Agent
    from tapehead.agent.loops.loop import run_episode
    from tapehead.agent.policies.policy import ScriptedPolicy
    from tapehead.agent.tasks import get_task

    codec, task = models.codec(), get_task("addition")
    text = task.parse(f"{a}+{b}")
    ref = run_episode(task.teacher(codec), codec, text)
    bare = float("inf")
    for _ in range(repeat):  # the best of several: the machine is shared
        t0 = time.perf_counter()
        run_episode(ScriptedPolicy(ref.tokens, codec.EOS), codec, text)
        bare = min(bare, time.perf_counter() - t0)
    rows = []
    for st in step_sizes:
        g = float("inf")
        for k in range(repeat):
            agent = Agent(task="addition", policy=ScriptedPolicy(ref.tokens, codec.EOS), step_tokens=st,
                          db=os.path.join(tmp, f"steps-{st}-{k}.sqlite"))
            t0 = time.perf_counter()
            r = agent.solve(f"{a}+{b}", out=os.path.join(tmp, f"steps-{st}.json"))
            g = min(g, time.perf_counter() - t0)
            agent.close()
        steps = r.trajectory.meta["steps"]
        rows.append({"step_tokens": st, "steps": steps, "graph_seconds": round(g, 3),
                     "ms_per_step": round(1000 * (g - bare) / steps, 2), "same": r.trajectory.tokens == ref.tokens})
    return {"tokens": ref.generated, "bare_seconds": round(bare, 4), "rows": rows}


def bench_tool_steps(n: int, tmp: str) -> dict:
    from tapehead.tools.code.workspace_tools import tools_by_name
    from tapehead.tools.workspace.workspace import Workspace

    from tapehead.agent import models
    from tapehead.agent.agent import Agent
    from tapehead.agent.loops.loop import run_episode
    from tapehead.agent.policies.replay_policy import ReplayPolicy
    from tapehead.agent.trace.calls import parse_args
    from tapehead.agent.trace.markup import parse_markup
    from .toolset import Toolset

    codec = models.codec()
    src = os.path.join(tmp, "src")
    os.makedirs(src, exist_ok=True)
    script = parse_markup(codec, "[CALL]run true[/CALL][OBS][/OBS]" * n + "[ANS]ok[EOS]")
    ws = Workspace.create(src)
    try:
        tools = tools_by_name(ws)
        run = tools["run"]
        t0 = time.perf_counter()
        bare = run_episode(ReplayPolicy(script, codec), codec, "x",
                           call_tools={"run": lambda s: run.call(**parse_args(run.spec, s)).text})
        bare_s = time.perf_counter() - t0
        agent = Agent(policy=ReplayPolicy(script, codec), toolset=Toolset(tools.values(), workspace=ws), yolo=True,
                      db=os.path.join(tmp, "tools.sqlite"))
        t0 = time.perf_counter()
        r = agent.solve("x", out=os.path.join(tmp, "tools.json"))
        g = time.perf_counter() - t0
        agent.close()
    finally:
        ws.discard()
    assert bare.exit == "eos" and r.exit == "eos", (bare.exit, r.exit)
    return {"calls": n, "bare_seconds": round(bare_s, 3), "graph_seconds": round(g, 3),
            "graph_steps": r.trajectory.meta["steps"], "ms_per_tool_step": round(1000 * (g - bare_s) / n, 2)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tapehead.agent.graph.bench", description=__doc__.split("\n")[0])
    p.add_argument("--digits", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--step-tokens", type=int, default=2048, help="policy step size of the model run")
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("--skip-model", action="store_true", help="only the scripted measurements (seconds, not minutes)")
    p.add_argument("--model-only", action="store_true", help="only the model measurement")
    args = p.parse_args(argv)
    rng = random.Random(f"bench_graph/{args.seed}")
    a, b = _number(rng, args.digits), _number(rng, args.digits)
    out = {"date": time.strftime("%Y-%m-%d"), "python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory(prefix="tapehead-bench-") as tmp:
        if not args.model_only:
            out["steps"] = bench_steps(a, b, tmp, [64, 256, 1024, 2048, 8192])
            out["tool_steps"] = bench_tool_steps(args.calls, tmp)
        if not args.skip_model:
            out["model"] = bench_model(a, b, args.threads, tmp, args.step_tokens)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
