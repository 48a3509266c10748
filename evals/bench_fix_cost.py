"""The efficiency case at the agent level (issue 18): wall seconds per 1,000 tokens of a ``tapehead
fix`` episode as the episode grows, Mamba-2 against the same-budget KV-cache Transformer.

    python -m tapehead.evals.bench_fix_cost --sizes 4,16,64 --models mamba2,transformer \\
        --teacher single --json runs/fix-cost.json

Every run is ``tapehead fix`` itself (``evals/coding/fix.py``'s ``run_fix``) on a generated
repository of N functions written to a directory: its scratch copy (``Workspace``), the workspace
tools with the check run in the sandbox, and the LangGraph ``Agent`` with its sessions database. The policy is
*forced* (``ForcedPolicy``): a teacher decides every token, and the row's network runs as it would
decoding -- the prompt prefilled, then one step for every token written or observed. No code-fix
policy is trained yet (issue 15) and what a step costs depends on the architecture and the depth,
not on the weights, so both networks pay for the very same episode; ``--teacher single`` (the
paper's single-turn agent: every file printed, then the edits) gives episodes that grow with the
repository, ``interactive`` the short ones a good policy writes.

Per row: tokens, wall seconds of the whole run (network, tools, sandboxed checks, the graph and
its checkpoints), the network's own seconds, and seconds per 1,000 tokens in consecutive blocks of
``--block`` tokens (the first and the last block show the growth), wall and network.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from tapehead.agent import models
from tapehead.agent.tasks import get_task

from .bench_efficiency import load_model
from .coding.fix import run_fix
from .tasks.code_fix.instance import generate

TEACHERS = {"interactive": "code-fix-paper", "single": "code-fix-single"}


class ForcedPolicy:
    """The teacher's tokens, with ``network`` (a ``ModelPolicy``) stepping on every one of them:
    the cost of decoding that episode with that network. ``stamps[i]``: when token i after the
    prompt was fed (perf_counter), ``network_s``: the network's own time."""

    def __init__(self, teacher, network):
        self.teacher, self.network = teacher, network
        self.stamps: list[float] = []
        self.network_s = 0.0

    def start(self, prompt) -> None:
        t = time.perf_counter()
        self.network.start(prompt)
        self.network_s += time.perf_counter() - t
        self.teacher.start(prompt)
        self.stamps = [time.perf_counter()]

    def propose(self) -> int:
        return self.teacher.propose()

    def feed(self, token: int) -> None:
        t = time.perf_counter()
        self.network.feed(token)
        self.network_s += time.perf_counter() - t
        self.teacher.feed(token)
        self.stamps.append(time.perf_counter())

    def state_bytes(self) -> int:
        return self.network.state_bytes()


def run(size: int, model, name: str, source: str, teacher: str, seed: int, block: int, compile_step: bool) -> dict:
    task = get_task(TEACHERS[teacher])
    inst = generate(size, seed, "plumbing", "paper")
    with tempfile.TemporaryDirectory(prefix="tapehead-fixcost-") as tmp:
        repo = Path(tmp) / "repo"
        for path, text in inst.files.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
        policy = ForcedPolicy(task.teacher(models.codec(), inst), models.model_policy(model, compile=compile_step))
        res = run_fix(str(repo), inst.check, policy=policy, db=str(Path(tmp) / "sessions.db"), max_tokens=2_000_000)
    stamps = policy.stamps
    blocks = [round(1000 * (stamps[min(i + block, len(stamps) - 1)] - stamps[i]) / block, 3)
              for i in range(0, len(stamps) - block, block)]
    tokens = len(stamps) - 1
    return {"model": name, "weights": source, "teacher": teacher, "functions": size, "seed": seed,
            "exit": res["exit"], "check_passed": res["check_passed"], "tokens": tokens, "wall_s": res["seconds"],
            "network_s": round(policy.network_s, 3), "s_per_1k": round(1000 * res["seconds"] / tokens, 3),
            "network_s_per_1k": round(1000 * policy.network_s / tokens, 3), "block": block,
            "block_s_per_1k": blocks, "state_bytes": policy.state_bytes()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tapehead.evals.bench_fix_cost", description=__doc__.split("\n\n")[0],
                                allow_abbrev=False, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--sizes", default="4,16,64", help="functions in the repository")
    p.add_argument("--models", default="mamba2,transformer")
    p.add_argument("--teacher", choices=sorted(TEACHERS), default="single")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--block", type=int, default=1000, help="tokens per block of the per-block figures")
    p.add_argument("--baselines", default=None, help="directory with transformer-s0/policy (else fresh weights)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--compile", action="store_true", help="the Mamba-2 decode step through torch.compile")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    meta = {"command": " ".join(["python -m tapehead.evals.bench_fix_cost", *(argv or sys.argv[1:])]),
            "date": time.strftime("%Y-%m-%d"), "machine": platform.node(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count()}
    rows = []
    for name in args.models.split(","):
        model, source = load_model(name, "cpu", args.baselines)
        for size in [int(s) for s in args.sizes.split(",")]:
            r = run(size, model, name, source, args.teacher, args.seed, args.block,
                    args.compile and name == "mamba2")
            rows.append(r)
            if args.json:  # after every row: a cut run keeps what it measured
                Path(args.json).parent.mkdir(parents=True, exist_ok=True)
                Path(args.json).write_text(json.dumps({**meta, "rows": rows}, indent=1))
            b = r["block_s_per_1k"]
            print(f"{name:12s} {size:5d} functions  {r['tokens']:8,} tokens  {r['wall_s']:8.1f} s  "
                  f"{r['s_per_1k']:7.3f} s/1k (network {r['network_s_per_1k']:.3f})  blocks first "
                  f"{b[0] if b else '-'} last {b[-1] if b else '-'} s/1k  exit {r['exit']}, check "
                  f"{'passes' if r['check_passed'] else 'FAILS'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
