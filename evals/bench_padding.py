"""How much padding a training step carries: real trace tokens against the padded tokens of one
batch cut to its longest trace, and of micro-batches of rows of similar length (``TraceSource``).

``python -m tapehead.evals.bench_padding --tasks hanoi,mult1 --batch 128 --micro-tokens 131072`` prints a
markdown table (docs/benchmarks.md, the study section); it builds the traces of one step on CPU.
"""

from __future__ import annotations

import argparse
import sys

from .data import TraceSource
from .training import mixture_parts, seq_len_for


def measure(task: str, batch: int, micro_tokens: int, seed: int = 0) -> dict:
    from tapehead.agent.models import codec

    (name, size, _), = mixture_parts(task)
    seq_len = seq_len_for(name, size)
    parts = TraceSource(name, size, batch, seq_len, seed=seed, micro_tokens=micro_tokens).arrays(0)
    # the parts hold the rows shortest first: the last one's width is the whole batch's, cut
    real = sum(int((ids != codec().PAD).sum()) for ids, _ in parts)
    return {"task": name, "size": size, "bound": batch * seq_len, "real": real, "whole": batch * parts[-1][0].shape[1],
            "micro": sum(p[0].size for p in parts), "parts": len(parts)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="hanoi,hanoi-recursive,logical-graph,mult1")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--micro-tokens", type=int, default=131072)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print("| task (training sizes) | real tokens | padded to the bound | one batch, cut to its longest | micro-batches "
          "| padding factor: bound -> cut -> micro |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for t in args.tasks.split(","):
        m = measure(t, args.batch, args.micro_tokens, args.seed)
        print(f"| {m['task']} (<= {m['size']}) | {m['real']:,} | {m['bound']:,} | {m['whole']:,} | "
              f"{m['micro']:,} ({m['parts']} parts) | {m['bound'] / m['real']:.2f} -> {m['whole'] / m['real']:.2f} -> "
              f"{m['micro'] / m['real']:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
