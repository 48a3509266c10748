"""Suspend and resume a long ``tapehead.agent.loops.tensor`` run: one gzip file holds everything it needs.

A 100,000-digit addition is ~3.6M lockstep steps, more than one 10-minute GPU call. ``Suspend``
tells the loop to stop at its first host sync after ``after_s`` seconds and write the run to
``path``; the same call again (same model, same problems) finds the file and goes on from the very
step it stopped at, so the trajectories are exactly those of an uninterrupted run
(tests/agent/test_loop_snapshot.py).

What is kept: the prompts (checked on resume), the loop's per-row tensors (``S`` in
``tensor._run_chunk``: the token record and tape memory cut to their used length and stored as
int16, since token ids are < 32,768), the network's decoding state (``DecodingState.tensors()``,
fixed size), the pending proposal, and the seconds already spent. The file is written to a temporary
name and renamed, so a crash while writing leaves the previous snapshot whole.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path

BIG = ("tokens", "mem")  # [B, T] / [B, Lm] buffers: stored cut to their used length, as int16


@dataclass(frozen=True)
class Suspend:
    path: str  # the snapshot file (gzip); resumed from when it exists
    after_s: float  # stop at the first host sync after this many seconds of this call


class Suspended(Exception):
    """The run stopped and was saved; the same call again resumes it."""

    def __init__(self, path: str, steps: int, done: int, rows: int):
        super().__init__(f"suspended after {steps:,} steps ({done}/{rows} episodes done); "
                         f"the same command again resumes from {path}")
        self.path, self.steps, self.done, self.rows = path, steps, done, rows


def save(path: str, prompts: list[list[int]], S: dict, state_tensors: list, *, steps: int, seconds: float,
         secs: list[float], seen: list[bool], sync_every: int) -> None:
    import torch

    used = {"tokens": int(S["tlen"].max()), "mem": int(S["length"].max())}
    big = {k: S[k][:, :used[k]].to(torch.int16).cpu() for k in BIG}
    small = {k: v.cpu() for k, v in S.items() if k not in BIG}
    obj = {"prompts": prompts, "big": big, "small": small, "state": [t.cpu() for t in state_tensors],
           "steps": steps, "seconds": seconds, "secs": secs, "seen": seen, "sync_every": sync_every}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{path}.tmp"
    with gzip.open(tmp, "wb", compresslevel=6) as f:
        torch.save(obj, f)
    os.replace(tmp, path)


def load(path: str, prompts: list[list[int]]) -> dict:
    """The snapshot's contents; ``ValueError`` (with what differs) if it is not a run of these prompts."""
    import torch

    try:
        with gzip.open(path, "rb") as f:
            obj = torch.load(io.BytesIO(f.read()), weights_only=True)
    except Exception as e:  # gzip, zip or unpickling errors: all mean the same to the user
        raise ValueError(f"{path}: not a readable loop snapshot ({type(e).__name__}: {e}); delete it to start over") from e
    if obj.get("prompts") != prompts:
        raise ValueError(f"{path}: a snapshot of other problems (or another batch order); delete it to start over")
    return obj
