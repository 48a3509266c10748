"""``tapehead policies``: the shipped policies, by name, with what each checkpoint's JSON says of it.

Registered as a plugin of ``agent/cli/main.py`` (entry points in pyproject.toml). The rows come
from ``agent/policies/shipped.py`` (``describe``): task or mixture, parameters, training recipe
(steps, batch, lr, training sizes) and the measured range (whole trajectories exact up to which
size, and the first size below that). Any of the names goes to ``--policy`` from any directory.
"""

from __future__ import annotations

import json

from .common import out


def register_policies(sub) -> None:
    p = sub.add_parser("policies", help="list the shipped policies (for --policy NAME)",
                       description="The shipped policies: `tapehead solve TASK INPUT --policy NAME` takes any of them.")
    p.add_argument("--json", action="store_true", help="print one JSON list")
    p.set_defaults(func=cmd_policies)


def cmd_policies(args) -> int:
    from tapehead.agent.policies import shipped

    rows = [shipped.describe(name, path) for name, path in shipped.shipped().items()]
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        out.print("no shipped policies found (is tapehead installed? pip install -e .)")
        return 0
    from rich.console import Console
    from rich.table import Column, Table

    t = Table(Column("name", no_wrap=True), Column("task", no_wrap=True), Column("trained on", no_wrap=True),
              Column("params", justify="right"), Column("steps x batch, lr", no_wrap=True),
              Column("measured: whole trajectory exact", no_wrap=True), box=None)
    for r in rows:  # one line per task: a multi-task policy has several
        if "error" in r:
            t.add_row(r["name"], "-", "-", "-", "-", r["error"])
            continue
        rec, measured = r["recipe"], {m["task"]: shipped.range_text(m) for m in r["measured"]}
        for k, task in enumerate(r["tasks"]):
            first = k == 0
            t.add_row(r["name"] if first else "", task, f"<= {rec['train_size'].get(task)}",
                      f"{r['parameters']:,}" if first else "",
                      f"{rec['steps']:,} x {rec['batch']}, {rec['lr']:g}" if first else "",
                      measured.get(task, "not measured"))
    # off a terminal, wide enough that no row wraps (the table is read by scripts too)
    (out if out.is_terminal else Console(width=200, soft_wrap=True)).print(t)
    return 0
