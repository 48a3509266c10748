"""The coding study (issue 15; paper §3.3, Figure 1): pass rate against repository size for every
(model, teacher, seed) cell, as one resumable command: ``tapehead eval suite code``.

A cell is an architecture of the paper study (``evals/suite.py``'s ``ARCHS``: the same ~1.8M
parameter budget for Mamba-2, the RoPE and sliding-window Transformers, LSTM and GRU), a teacher --
``interactive`` (task ``code-fix``: both bug families, both styles, the interactive and
search-driven trace) or ``single`` (task ``code-fix-single``: print every file, then edit: the
paper's single-turn baseline) -- and a seed. Every cell trains from scratch on repositories of at
most ``TRAIN_SIZE`` functions (the paper: <= 16) with the same data, steps, batch and learning rate,
then is evaluated by ``tapehead eval code-fix`` (``evals/coding/evaluate.py``: each instance in its
own scratch workspace, checked in the sandbox, graded on a fresh copy) at the study sizes, smallest
first, stopping (as the paper study does) once a size passes fewer than ``stop_below`` of its
instances: the larger ones are listed as not run, never given a score.

Resumable: a cell whose policy exists is not trained again, a size already in its results file is
not evaluated again, so the study can be spread over several GPU calls. At the end ``code.json`` (the
cells and their summaries), a Markdown table (``code_markdown``) and ``code.png`` (pass rate against
functions, one curve per model and teacher: the paper's Figure 1, to 1,024 functions).
"""

from __future__ import annotations

import json
from pathlib import Path

from .suite import ARCHS

SIZES = [4, 8, 16, 32, 64, 128, 256, 512, 1024]
TEACHERS = {"interactive": "code-fix", "single": "code-fix-single"}
TRAIN_SIZE = 16


def run_code_study(out_dir: str, *, archs: list[str], teachers: list[str], seeds: list[int], steps: int,
                   batch: int, lr: float, n: int, device: str, workers: int, eval_batch: int,
                   sizes: list[int] | None = None, family: str = "plumbing", style: str = "paper",
                   stop_below: float = 0.05, report_only: bool = False, micro_tokens: int = 0,
                   eval_workers: int = 0, train_seconds: float = 0.0, log=print) -> dict:
    """Runs the missing cells (none with ``report_only``), then writes ``code.json`` and the plot.
    ``train_seconds`` > 0 bounds each cell's training (it stops, ships and is evaluated; its row says
    how many steps it reached)."""
    from .coding.evaluate import evaluate
    from .training import train_policy

    for a in archs:
        if a not in ARCHS:
            raise ValueError(f"unknown architecture {a!r}; choose from {', '.join(ARCHS)}")
    for t in teachers:
        if t not in TEACHERS:
            raise ValueError(f"unknown teacher {t!r}; choose from {', '.join(TEACHERS)}")
    out = Path(out_dir)
    sizes = sorted(sizes or SIZES)
    cells, missing = [], []
    for arch in archs:
        for teacher in teachers:
            for seed in seeds:
                cell = out / f"{arch}-{teacher}-s{seed}"
                policy = cell / "policy"
                trained = Path(f"{policy}.json").exists()
                if not trained and report_only:
                    missing.append(cell.name)
                    continue
                if not trained:
                    summary = train_policy(TEACHERS[teacher], ARCHS[arch], out_dir=str(cell / "train"), steps=steps,
                                           batch=batch, seq_len=None, lr=lr, seed=seed, max_size=TRAIN_SIZE,
                                           device=device, workers=workers, checkpoint_every=max(100, steps // 10),
                                           val_every=0, resume=True, ship=str(policy), micro_tokens=micro_tokens,
                                           time_limit_s=train_seconds, log=log)
                    (cell / "train.json").write_text(json.dumps(
                        {k: v for k, v in summary.items() if isinstance(v, (int, float, str))}, indent=1))
                res = _evaluated(cell, str(policy), sizes, n, seed, family, style, device, eval_batch, eval_workers,
                                 stop_below, report_only, evaluate, log)
                train = json.loads((cell / "train.json").read_text()) if (cell / "train.json").exists() else {}
                done = {r["size"] for r in res.get("summary", [])}
                cells.append({"arch": arch, "teacher": teacher, "seed": seed, "params": train.get("num_parameters"),
                              "steps": train.get("step", train.get("steps")), "stopped": train.get("stopped"),
                              "train_seconds": train.get("train_seconds"),
                              "summary": res.get("summary", []), "not_run": [s for s in sizes if s not in done]})
    if missing:
        log(f"not trained yet ({len(missing)}): " + ", ".join(missing))
    study = {"cells": cells, "missing": missing, "archs": archs, "teachers": teachers, "seeds": seeds,
             "steps": steps, "batch": batch, "lr": lr, "train_size": TRAIN_SIZE, "family": family, "style": style,
             "n": n, "stop_below": stop_below, "device": device}
    out.mkdir(parents=True, exist_ok=True)
    (out / "code.json").write_text(json.dumps(study, indent=1))
    if cells:
        try:
            plot_code(cells, str(out / "code.png"))
        except ImportError as e:  # the GPU machine has no matplotlib: --report-only plots it here
            log(f"no plot: {e}")
    return study


def _evaluated(cell: Path, policy: str, sizes: list[int], n: int, seed: int, family: str, style: str, device: str,
               eval_batch: int, workers: int, stop_below: float, report_only: bool, evaluate, log) -> dict:
    """The cell's results, evaluated size by size (resumed from its results file) up to the first size
    whose pass rate is below ``stop_below``."""
    path = cell / "eval" / "results.json"
    res = json.loads(path.read_text()) if path.exists() else {}
    if report_only:
        return res
    for size in sizes:
        have = {r["size"]: r for r in res.get("summary", [])}
        if size not in have:
            log(f"{cell.name}: evaluating at {size} functions ({n} instances)")
            res = evaluate([size], n, policy=policy, out_dir=str(cell / "eval"), family=family, style=style,
                           seed=seed, workers=workers, device=device, batch_size=eval_batch, progress=False,
                           command=f"tapehead eval code-fix --policy {policy} --sizes {size} --n {n} --family "
                                   f"{family} --style {style} --seed {seed}")
            have = {r["size"]: r for r in res["summary"]}
        if have[size]["pass_rate"] < stop_below:
            break
    return res


def code_markdown(study: dict) -> str:
    """Pass rate (check passes) and, in brackets, resolved rate (hidden check too) per cell and size."""
    sizes = sorted({r["size"] for c in study["cells"] for r in c["summary"]} | set(
        s for c in study["cells"] for s in c["not_run"]))
    head = "| model | teacher | seed | " + " | ".join(str(s) for s in sizes) + " |"
    lines = [head, "| --- | --- | ---: | " + " | ".join("---:" for _ in sizes) + " |"]
    for c in study["cells"]:
        by = {r["size"]: r for r in c["summary"]}
        row = [f"{100 * by[s]['pass_rate']:.0f}% ({100 * by[s]['resolved_rate']:.0f}%)" if s in by else "-"
               for s in sizes]
        lines.append(f"| {c['arch']} | {c['teacher']} | {c['seed']} | " + " | ".join(row) + " |")
    lines.append("")
    lines.append(f"Pass rate (the check passes) and, in brackets, resolved (the hidden check too); trained on <= "
                 f"{study['train_size']} functions, evaluated on {study['family']} bugs in the {study['style']} style, "
                 f"n = {study['n']} per size; '-': not run (a smaller size passed < "
                 f"{100 * study['stop_below']:.0f}%, or not evaluated yet).")
    return "\n".join(lines)


def plot_code(cells: list[dict], path: str) -> str:
    """Pass rate against functions (log x), one curve per (model, teacher): the best seed at each size."""
    from .report import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key in sorted({(c["arch"], c["teacher"]) for c in cells}):
        best: dict[int, float] = {}
        for c in cells:
            if (c["arch"], c["teacher"]) == key:
                for r in c["summary"]:
                    best[r["size"]] = max(best.get(r["size"], 0.0), r["pass_rate"])
        if best:
            xs = sorted(best)
            ax.plot(xs, [100 * best[x] for x in xs], marker="o", label=f"{key[0]}, {key[1]}")
    ax.axvline(TRAIN_SIZE, color="red", linestyle="--", linewidth=1, label=f"trained on <= {TRAIN_SIZE}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("functions in the repository")
    ax.set_ylabel("pass rate (%)")
    ax.set_ylim(-2, 102)
    ax.set_title("Code fixing beyond the training size (best seed)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
