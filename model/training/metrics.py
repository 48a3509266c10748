"""The run's metrics file: ``out_dir/metrics.jsonl``, one JSON object per line, written by rank 0.

A row per logged step -- ``step``, ``loss`` (masked train loss since the previous row), ``lr``,
``grad_norm``, ``tokens_per_s``, ``tokens_seen``, ``time`` (Unix seconds) -- with ``val_loss`` and
``val_acc`` added on steps where validation ran (a row of its own when validation falls on a step
that is not logged). Appended and flushed row by row, so a killed run keeps what it logged. A
resumed run first drops the rows after the step it resumes from (a crash may have logged steps
that the checkpoint does not hold), so the file always reads as one run.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

METRICS = "metrics.jsonl"


def _json_number(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v


class MetricsFile:
    def __init__(self, out_dir: str | None, rank: int, resumed_from: int | None):
        self.path = Path(out_dir) / METRICS if out_dir and rank == 0 else None
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept = []
        if resumed_from is not None and self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:  # a line cut by a kill
                    continue
                if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= resumed_from:
                    kept.append(line + "\n")
        tmp = self.path.with_name(METRICS + ".tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        os.replace(tmp, self.path)

    def write(self, row: dict) -> None:
        if self.path is None:
            return
        row = {k: _json_number(v) for k, v in row.items()}
        row["time"] = round(time.time(), 3)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
