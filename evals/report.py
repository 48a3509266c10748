"""Tables and plots made from a results file alone (``evals/runner.py`` writes it)."""

from __future__ import annotations

import json
import re
from pathlib import Path


def load(path: str) -> dict:
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    return json.loads(p.read_text())


def table(results: dict):
    """A rich Table: one row per size."""
    from rich.table import Table

    t = Table(title=f"{results['task']}: {Path(results['policy']).name} on {results['device']} ({results['kernel_path']})")
    for col in ("size", "n", "answer acc", "trajectory acc", "hard cases", "mean tokens", "seconds", "tok/s"):
        t.add_column(col, justify="right")
    for s in results["summary"]:
        t.add_row(str(s["size"]), str(s["n"]), f"{100 * s['answer_acc']:.1f}%", f"{100 * s['trajectory_acc']:.1f}%",
                  f"{s['hard_correct']}/{s['hard_n']}" if s["hard_n"] else "-", f"{s['mean_tokens']:.0f}",
                  f"{s['seconds']:.1f}", f"{s['tokens_per_s'] or 0:.0f}")
    return t


def markdown(results: dict) -> str:
    lines = ["| size | n | answer acc | trajectory acc | hard cases | mean tokens | seconds |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in results["summary"]:
        hard = f"{s['hard_correct']}/{s['hard_n']}" if s["hard_n"] else "-"
        lines.append(f"| {s['size']} | {s['n']} | {100 * s['answer_acc']:.1f}% | {100 * s['trajectory_acc']:.1f}% | "
                     f"{hard} | {s['mean_tokens']:.0f} | {s['seconds']:.1f} |")
    return "\n".join(lines)


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend. matplotlib is the ``plot`` extra (the GPU
    machine has none): without it, an ImportError that says how to get it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'tapehead[plot]' (the results file holds "
                          "every figure)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(results: dict, path: str, train_size: int | None = None) -> str:
    """PNG of answer and trajectory accuracy against size (log x)."""
    plt = pyplot()

    sizes = [s["size"] for s in results["summary"]]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot(sizes, [100 * s["answer_acc"] for s in results["summary"]], "o-", label="answer")
    ax.plot(sizes, [100 * s["trajectory_acc"] for s in results["summary"]], "s--", label="whole trajectory")
    if train_size:
        ax.axvline(train_size, color="grey", ls=":", label=f"trained on <= {train_size}")
    ax.set_title(f"{results['task']}: {Path(results['policy']).name}")
    return _finish(fig, ax, path, "size (digits)" if results["task"] == "addition" else "size", "accuracy (%)")


def _finish(fig, ax, path: str, xlabel: str, ylabel: str, xticks: list[int] | None = None) -> str:
    """Accuracy-against-size axes (log x, 0-100 %; ``xticks``: label exactly these sizes), saved as PNG."""
    import matplotlib.pyplot as plt

    ax.set_xscale("log")
    if xticks:
        ax.set_xticks(xticks, [str(x) for x in xticks])
        ax.minorticks_off()
    ax.set_ylim(-3, 103)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def best_run(runs: list[dict]) -> dict:
    """The seed with the most whole-trajectory accuracy summed over its sizes."""
    return max(runs, key=lambda c: sum(s["trajectory_acc"] for s in c["summary"]))


def plot_suite(cells: list[dict], path: str) -> str:
    """One task of the study: whole-trajectory accuracy (the paper's metric) against size, a curve
    per architecture (best seed bold, other seeds thin)."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6.4, 4))
    colours = {}
    for arch in dict.fromkeys(c["arch"] for c in cells):
        runs = [c for c in cells if c["arch"] == arch]
        best = best_run(runs)
        for c in runs:
            xs = [s["size"] for s in c["summary"]]
            ys = [100 * s["trajectory_acc"] for s in c["summary"]]
            kw = dict(lw=2.2, marker="o", label=arch) if c is best else dict(lw=0.8, alpha=0.5)
            line, = ax.plot(xs, ys, color=colours.get(arch), **kw)
            colours[arch] = line.get_color()
    if cells:
        ax.axvline(cells[0]["train_size"], color="grey", ls=":", label="training size")
        ax.set_title(f"{cells[0]['task']}: whole-trajectory accuracy")
    return _finish(fig, ax, path, "size", "exact trajectory (%)")


def suite_markdown(suite: dict) -> str:
    """Table 1 as markdown: tasks down, architectures across; best seed, every seed, and the paper's
    cell (``tapehead.evals.suite.PAPER``) where it has one. Then the multi-task policy against the per-task
    Mamba-2 at every size, when the suite has both."""
    from .suite import MULTI_ARCH, PAPER

    archs = list(dict.fromkeys(suite["archs"] + [r["arch"] for r in suite["table"]]))  # + mamba2-mix, kept cells
    lines = ["| task | " + " | ".join(archs) + " |", "| --- |" + " --- |" * len(archs)]
    by = {(r["task"], r["arch"]): r for r in suite["table"]}
    for task in suite["tasks"]:
        cells = []
        for a in archs:
            r = by.get((task, a))
            ours = "-"
            if r:
                seeds = ", ".join(f"s{s['seed']}: {s['m'] or '-'} ({100 * s['p']:.0f}%)" for s in r["seeds"])
                ours = f"{r['cell']} [{seeds}]"
            paper = PAPER.get(task, {}).get(a)
            cells.append(f"{ours}; paper {paper}" if paper else ours)
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    extra = [traces_markdown(suite["cells"])] + [multitask_markdown(suite["cells"], a) for a in (MULTI_ARCH, "mamba2-multi")]
    extra = [t for t in extra if t]
    return "\n\n".join(["\n".join(lines)] + extra)


def traces_markdown(cells: list[dict]) -> str:
    """The paper's trace beside ours for the same problem (``suite.VARIANTS``: ``mult1`` beside
    ``mult1-reread``): per
    size, whole-trajectory accuracy of each Mamba-2 variant, best seed, with every seed's in
    brackets ("" when the suite has no such pair). The lesson of the local-decision rule, in one
    table (docs/design.md)."""
    from .suite import VARIANTS

    variants = []
    for task in dict.fromkeys(c["task"] for c in cells):
        ours = VARIANTS.get(task)
        if ours and any(c["task"] == ours for c in cells):
            for arch in dict.fromkeys(c["arch"] for c in cells if c["task"] == task
                                      and re.fullmatch(r"mamba2(-n\d+)?", c["arch"])):  # per-task, any training size
                variants.append((task, arch, f"{task} (paper's trace, trained <= {_train_size(cells, task, arch)})"))
            variants.append((ours, "mamba2", f"{ours} (ours, trained <= {_train_size(cells, ours, 'mamba2')})"))
    if not variants:
        return ""
    accs, sizes = [], set()
    for task, arch, _ in variants:
        runs = [c for c in cells if c["task"] == task and c["arch"] == arch]
        per = {c["seed"]: {s["size"]: s["trajectory_acc"] for s in c["summary"]} for c in runs}
        best = best_run(runs)["seed"] if runs else None
        accs.append((per, best))
        sizes |= {size for acc in per.values() for size in acc}
    lines = ["| size | " + " | ".join(label for *_, label in variants) + " |", "| ---: |" + " ---: |" * len(variants)]
    for size in sorted(sizes):
        row = []
        for per, best in accs:
            if best is None or size not in per[best]:
                row.append("not run")
                continue
            seeds = ", ".join(f"s{k}: {100 * acc[size]:.0f}%" for k, acc in sorted(per.items()) if size in acc)
            row.append(f"{100 * per[best][size]:.0f}% [{seeds}]")
        lines.append(f"| {size:,} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _train_size(cells: list[dict], task: str, arch: str):
    return next((c["train_size"] for c in cells if c["task"] == task and c["arch"] == arch), "?")


def multitask_markdown(cells: list[dict], multi_arch: str = "mamba2-mix") -> str:
    """Per task and size: whole-trajectory accuracy of the best per-task Mamba-2 seed and of the best
    multi-task seed, and the difference in points ("" when the suite has no multi-task cells)."""
    def best(task, arch):
        runs = [c for c in cells if c["task"] == task and c["arch"] == arch]
        return best_run(runs) if runs else None

    def fmt(x):
        return "not run" if x is None else f"{100 * x:.1f}%"

    rows = []
    for task in dict.fromkeys(c["task"] for c in cells):
        one, mt = best(task, "mamba2"), best(task, multi_arch)  # (mamba2-multi: the first mixture, a record)
        if not (one and mt):
            continue
        acc = {k: {s["size"]: s["trajectory_acc"] for s in c["summary"]} for k, c in (("one", one), ("mt", mt))}
        for size in sorted(set(acc["one"]) | set(acc["mt"])):
            a, b = acc["one"].get(size), acc["mt"].get(size)
            diff = "-" if a is None or b is None else f"{100 * (b - a):+.1f}"
            rows.append(f"| {task} | {size} | {fmt(a)} | {fmt(b)} | {diff} |")
    if not rows:
        return ""
    return "\n".join([f"| task | size | per-task Mamba-2 | multi-task Mamba-2 ({multi_arch}) | points |",
                      "| --- | ---: | ---: | ---: | ---: |"] + rows)
