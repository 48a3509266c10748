"""The paper's length-generalisation study as one resumable command: ``tapehead eval suite paper``.

For every (task, architecture, seed) cell: train on the task's training sizes (same data, steps and
parameter budget for every architecture, paper App. C), evaluate at the study sizes, and keep the
results file. A cell whose ``results.json`` exists is not redone, so an interrupted study resumes
where it stopped (and can be spread over several GPU sessions). At the end: ``suite.json``, a
Table-1-style summary ("trained n -> largest m with p >= 5%, and p", paper Table 1, for every seed
and the best), and one PNG per task with a curve per architecture.

Architectures are sized to the Mamba-2 policy's budget (~1.8M parameters): the paper's Pythia
(RoPE Transformer), Mistral (sliding-window Transformer), LSTM and GRU.
"""

from __future__ import annotations

import json
from pathlib import Path

from agent.tasks import get_task

# model configs with about the same number of parameters: 1.80M (mamba2) to 1.84M (transformers)
ARCHS = {
    "mamba2": dict(arch="mamba2", d_model=256, n_layer=4, d_state=64, headdim=64, chunk_size=64),
    "transformer": dict(arch="transformer", d_model=192, n_layer=4, n_head=6),
    "swa": dict(arch="transformer", d_model=192, n_layer=4, n_head=6, sliding_window=256),
    "lstm": dict(arch="lstm", d_model=234, n_layer=4),
    "gru": dict(arch="gru", d_model=270, n_layer=4),
}

# (training size, study sizes) per task: the paper's (§3, Table 1, Table 2, App. D.7)
STUDY = {
    "addition": (5, [5, 10, 20, 50, 100, 200, 500, 1000]),
    "mult1": (10, [10, 20, 50, 100, 200, 500, 1000]),
    "mult2": (10, [10, 20, 50, 100, 200, 500, 1000]),
    "logical-graph": (10, [10, 20, 50, 100, 200, 500, 1000]),
    "hanoi": (8, [8, 9, 10, 11, 12]),
    "hanoi-recursive": (7, [7, 8, 9, 10]),
    "addition-nocot": (5, [5, 10, 20, 50, 100]),
    "addition-reversed": (5, [5, 10, 20, 50, 100]),
    "addition-calc": (5, [5, 10, 20, 50, 100]),
    "addition-predicted": (5, [5, 10, 20, 50, 100]),
}
PAPER_TASKS = ["mult1", "mult2", "logical-graph", "hanoi", "hanoi-recursive", "addition", "addition-nocot",
               "addition-reversed", "addition-calc", "addition-predicted"]


def seq_len_for(task_name: str, train_size: int, samples: int = 64) -> int:
    """Training sequence length: the task's bound on its largest training traces, rounded up to 64."""
    import random

    task = get_task(task_name)
    rng = random.Random(0)
    bound = max(task.max_tokens(task.sample(train_size, rng).text) for _ in range(samples))
    return (bound + 63) // 64 * 64


def reach(summary: list[dict], key: str, threshold: float = 0.05) -> tuple[int | None, float]:
    """Largest size whose accuracy (``key``) is >= threshold, and that accuracy (Table 1's m and p)."""
    ok = [s for s in summary if s[key] >= threshold]
    if not ok:
        return None, 0.0
    best = max(ok, key=lambda s: s["size"])
    return best["size"], best[key]


def run_suite(out_dir: str, *, tasks: list[str], archs: list[str], seeds: list[int], steps: int, batch: int,
              lr: float, n: int, n_large: int, device: str, workers: int, eval_batch: int,
              sizes: list[int] | None = None, large_from: int = 2000, tensor_loop: bool = False,
              log=print) -> dict:
    from .report import plot_suite
    from .runner import evaluate
    from .training import train_policy

    out = Path(out_dir)
    for name in tasks:
        if name not in STUDY:
            raise ValueError(f"no study sizes for task {name!r}; known: {', '.join(STUDY)}")
    for a in archs:
        if a not in ARCHS:
            raise ValueError(f"unknown architecture {a!r}; choose from {', '.join(ARCHS)}")
    cells = []
    for name in tasks:
        train_size, study_sizes = STUDY[name]
        for arch in archs:
            for seed in seeds:
                cell = out / name / f"{arch}-s{seed}"
                res_path = cell / "eval" / "results.json"
                if res_path.exists():
                    log(f"done already: {name} {arch} seed {seed}")
                else:
                    policy = cell / "policy"
                    if not Path(f"{policy}.json").exists():
                        summary = train_policy(name, ARCHS[arch], out_dir=str(cell / "train"), steps=steps,
                                               batch=batch, seq_len=seq_len_for(name, train_size), lr=lr, seed=seed,
                                               max_size=train_size, device=device, workers=workers,
                                               checkpoint_every=max(100, steps // 4), val_every=0, resume=True,
                                               ship=str(policy), log=log)
                        (cell / "train.json").write_text(json.dumps(
                            {k: v for k, v in summary.items() if isinstance(v, (int, float, str))}, indent=1))
                    evaluate(name, sizes or study_sizes, n, policy=str(policy), device=device,
                             batch_size=eval_batch, seed=seed, out_dir=str(cell / "eval"), n_large=n_large,
                             large_from=large_from, progress=False, tensor_loop=tensor_loop)
                res = json.loads(res_path.read_text())
                train = json.loads((cell / "train.json").read_text()) if (cell / "train.json").exists() else {}
                cells.append({"task": name, "arch": arch, "seed": seed, "train_size": train_size,
                              "params": res.get("policy_params") or train.get("num_parameters"),
                              "train_seconds": train.get("train_seconds"), "summary": res["summary"]})
    suite = {"cells": cells, "table": table1(cells), "tasks": tasks, "archs": archs, "seeds": seeds,
             "steps": steps, "batch": batch, "lr": lr, "device": device}
    (out / "suite.json").write_text(json.dumps(suite, indent=1))
    for name in tasks:
        plot_suite([c for c in cells if c["task"] == name], str(out / f"{name}.png"))
    return suite


def table1(cells: list[dict]) -> list[dict]:
    """One row per (task, arch): "n -> m (p%)" for every seed and the best seed (paper Table 1 reports
    the best of 2 seeds); p on whole-trajectory exact match (the paper's metric) and on answers."""
    rows = {}
    for c in cells:
        m, p = reach(c["summary"], "trajectory_acc")
        ma, pa = reach(c["summary"], "answer_acc")
        row = rows.setdefault((c["task"], c["arch"]), {"task": c["task"], "arch": c["arch"], "seeds": []})
        row["seeds"].append({"seed": c["seed"], "n": c["train_size"], "m": m, "p": p, "m_answer": ma, "p_answer": pa})
    out = []
    for row in rows.values():
        best = max(row["seeds"], key=lambda s: ((s["m"] or 0), s["p"]))
        row["best"] = best
        row["cell"] = f"{best['n']}->{best['m'] if best['m'] else '-'} ({100 * best['p']:.0f}%)"
        out.append(row)
    return out
