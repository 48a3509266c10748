"""Tables and the plot of a code-fix results file (``evals/coding/evaluate.py`` writes it).

Convention: as ``evals/report.py`` for the reasoning tasks: made from the results file alone; the
plot is pass rate against repository size (functions) on a log x axis (the paper's Figure 1 axes).
"""

from __future__ import annotations

from pathlib import Path

from tapehead.evals.report import _finish

COLUMNS = ("functions", "n", "pass", "hidden check", "minimal change", "resolved", "mean tokens", "check runs",
           "s / instance")


def _cells(s: dict) -> list[str]:
    pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
    return [str(s["size"]), str(s["n"]), pct(s["pass_rate"]), pct(s["hidden_rate"]), pct(s["minimal_rate"]),
            pct(s["resolved_rate"]), f"{s['mean_tokens']:.0f}", f"{s['mean_check_runs']:.1f}", f"{s['mean_seconds']:.2f}"]


def table(results: dict):
    from rich.table import Table

    t = Table(title=f"code-fix ({results['family']}, {results['style']}): {Path(results['policy']).name}")
    for col in COLUMNS:
        t.add_column(col, justify="right")
    for s in results["summary"]:
        t.add_row(*_cells(s))
    return t


def markdown(results: dict) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " ---: |" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(s)) + " |" for s in results["summary"]]
    return "\n".join(lines)


def plot(results: dict, path: str, train_size: int | None = 16) -> str:
    """PNG of the pass, hidden-check and minimal-change rates against functions (log x)."""
    from tapehead.evals.report import pyplot

    plt = pyplot()
    sizes = [s["size"] for s in results["summary"]]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for key, style, label in (("pass_rate", "o-", "check passes"), ("hidden_rate", "s--", "hidden check"),
                              ("minimal_rate", "^:", "minimal change")):
        ax.plot(sizes, [100 * s[key] for s in results["summary"]], style, label=label)
    if train_size and results["policy"] != "teacher":  # a teacher was never trained
        ax.axvline(train_size, color="grey", ls=":", label=f"trained on <= {train_size}")
    ax.set_title(f"code-fix ({results['family']}, {results['style']}): {Path(results['policy']).name}")
    return _finish(fig, ax, path, "repository size (functions)", "rate (%)", xticks=sizes)
