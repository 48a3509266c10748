"""The lockstep decoding loops side by side on one device: same trajectories, and how fast.

``python -m tapehead.evals.bench_loops --task addition --size 200 --n 16 --device cuda`` runs one batch of
problems through ``tapehead.agent.loops.batched.run_batched`` (the reference: one host round trip per token),
``tapehead.agent.loops.tensor.run_tensor_batched`` (tape on the device, CUDA-graph step) and the same with the
step fused by ``torch.compile``, checks that every trajectory is token-for-token the same as the
reference's, and prints for each: seconds in all (warm-up included: graph capture, compile), and
the steady rate in lockstep steps per second (for the tensor loops, measured between its host syncs,
every 1,024 steps, after the first: what a long run gets). ``--json FILE`` keeps them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from tapehead.agent import models
from tapehead.agent.loops.batched import run_batched
from tapehead.agent.loops.episode import Limits
from tapehead.agent.loops.tensor import run_tensor_batched
from tapehead.agent.tasks import get_task

from .runner import instances_for, resolve_policy


SYNC = 1024  # tensor loops: steps between host syncs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tapehead.evals.bench_loops", description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="addition")
    p.add_argument("--policy", default=None, help="checkpoint (default: the task's shipped policy)")
    p.add_argument("--size", type=int, default=200)
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--device", default="cuda")
    p.add_argument("--loops", default="batched,tensor,tensor-rules,tensor-all,tensor-all-kernels",
                   help="tensor-MODE: the tensor loop with compile=MODE (tapehead.agent.loops.tensor.FUSE)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    task = get_task(args.task)
    codec = models.codec()
    model, _ = models.load(resolve_policy(task, args.policy), device=args.device)
    insts = instances_for(task, args.size, args.n, 0, False)
    insts = [i for i in insts if len(codec.prompt(i.text)) == len(codec.prompt(insts[0].text))]  # one lockstep group
    texts = [i.text for i in insts]
    limits = Limits(max_tokens=int(1.25 * max(task.max_tokens(t) for t in texts)) + 200)
    rows, ref = [], None
    for loop in args.loops.split(","):
        t0 = time.perf_counter()
        syncs: list[float] = []
        if loop == "batched":
            decs: dict = {}
            trajs = run_batched(lambda b: decs.get(b) or decs.setdefault(b, models.decoder(model, b, device=args.device)),
                                codec, texts, limits=limits, batch_size=len(texts))
        elif loop == "tensor" or loop.startswith("tensor-"):
            try:
                trajs = run_tensor_batched(model, codec, texts, limits=limits, batch_size=len(texts),
                                           device=args.device, compile=loop[7:] or False, sync_every=SYNC,
                                           on_step=lambda d, tot: syncs.append(time.perf_counter()))
            except Exception as e:  # a variant that cannot compile here is reported, the others still run
                print(f"{loop:18s} failed: {type(e).__name__}: {str(e)[:300]}", flush=True)
                rows.append({"loop": loop, "error": f"{type(e).__name__}: {str(e)[:2000]}"})
                continue
        else:
            raise SystemExit(f"unknown loop {loop!r}: batched, tensor, tensor-MODE")
        secs = time.perf_counter() - t0
        steps = max(len(t.tokens) - t.prompt_len for t in trajs)  # lockstep steps ~ the longest episode
        ref = ref or trajs
        same = all(a.tokens == b.tokens and a.exit == b.exit for a, b in zip(ref, trajs))
        correct = sum(t.answer == i.answer for t, i in zip(trajs, insts))
        # syncs[0] precedes the capture/compile; the last call comes after the end
        steady = SYNC * (len(syncs) - 3) / (syncs[-2] - syncs[1]) if len(syncs) >= 4 else steps / secs
        rows.append({"loop": loop, "rows": len(texts), "size": args.size, "seconds": round(secs, 2),
                     "tokens_per_row": steps, "steps_per_s": round(steps / secs), "steady_steps_per_s": round(steady),
                     "same_as_first": same, "correct": correct})
        print(f"{loop:18s} rows {len(texts):3d}  {secs:8.2f} s  {steps / secs:10.0f} steps/s  steady {steady:10.0f}  "
              f"same trajectories as {args.loops.split(',')[0]}: {same}  correct {correct}/{len(texts)}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": " ".join(sys.argv), "rows": rows}, f, indent=1)
    return 0 if all(r.get("same_as_first") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
