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
name and renamed, so a crash while writing leaves the previous snapshot whole. On resume it is
untrusted input: no more is inflated than a run of these problems could hold, and every field is
checked against the run about to continue (names, shapes, dtypes, token ids, lengths) before use.
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


KEYS = ("prompts", "big", "small", "state", "steps", "seconds", "secs", "seen", "sync_every")


def load(path: str, prompts: list[list[int]], *, S: dict, state_tensors: list, max_len: dict, vocab_size: int) -> dict:
    """The snapshot's contents, checked against the run about to resume -- ``S`` and ``state_tensors``
    as freshly allocated (names, shapes, dtypes), ``max_len`` the most each big buffer can hold,
    ``vocab_size`` for the token ids -- before any of it is used. ``ValueError`` (with what differs)
    if it is not a run of these prompts, is garbled, or is larger than such a run could be."""
    import torch

    B = len(prompts)
    # what a run of these prompts can hold: the big buffers at most full, the rest as allocated
    cap = 2 * B * sum(max_len.values()) + sum(t.numel() * t.element_size() for t in [*S.values(), *state_tensors])
    cap += (1 << 20) + 64 * B * len(prompts[0])  # pickle framing; the prompts as a list of ints
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read(cap + 1)  # no more than that is inflated: a small file cannot take gigabytes
        if len(raw) > cap:
            raise ValueError(f"more than the {cap:,} bytes a run of these problems can hold")
        obj = torch.load(io.BytesIO(raw), weights_only=True)
    except Exception as e:  # gzip, zip or unpickling errors, or too big: all mean the same to the user
        raise ValueError(f"{path}: not a readable loop snapshot ({type(e).__name__}: {e}); delete it to start over") from e
    bad = _problems(obj, prompts, S, state_tensors, max_len, vocab_size)
    if bad == "prompts":
        raise ValueError(f"{path}: a snapshot of other problems (or another batch order); delete it to start over")
    if bad:
        raise ValueError(f"{path}: not a loop snapshot of this run: {bad}; delete it to start over")
    return obj


def _problems(obj, prompts, S, state_tensors, max_len, vocab_size) -> str:
    """What is wrong with a loaded snapshot ("" if nothing; "prompts" if it is of other problems)."""
    import torch

    if not isinstance(obj, dict) or set(obj) != set(KEYS):
        return f"expected the fields {', '.join(KEYS)}"
    if obj["prompts"] != prompts:
        return "prompts"
    B = len(prompts)
    if not isinstance(obj["big"], dict) or set(obj["big"]) != set(BIG):
        return f"big buffers must be {', '.join(BIG)}"
    for k, v in obj["big"].items():
        if not (isinstance(v, torch.Tensor) and v.dtype == torch.int16 and v.dim() == 2 and v.shape[0] == B
                and len(prompts[0]) <= v.shape[1] <= max_len[k]):
            return f"{k} must be int16 [{B}, {len(prompts[0])}..{max_len[k]}]"
        if v.numel() and not (0 <= int(v.min()) and int(v.max()) < vocab_size):
            return f"{k} holds ids outside the vocabulary (0..{vocab_size - 1})"
    small = obj["small"]
    if not isinstance(small, dict) or set(small) != set(S) - set(BIG):
        return f"per-row state must be {', '.join(sorted(set(S) - set(BIG)))}"
    for k, v in small.items():
        if not (isinstance(v, torch.Tensor) and v.shape == S[k].shape and v.dtype == S[k].dtype):
            return f"{k} must be {str(S[k].dtype).removeprefix('torch.')} {list(S[k].shape)}"
    if not (int(small["tlen"].max()) <= obj["big"]["tokens"].shape[1] and int(small["length"].max()) <= obj["big"]["mem"].shape[1]
            and int(small["heads"].min()) >= 0 and bool((small["heads"] <= small["length"][:, None]).all())):
        return "lengths or heads outside the buffers"
    st = obj["state"]
    if not (isinstance(st, list) and len(st) == len(state_tensors)
            and all(isinstance(v, torch.Tensor) and v.shape == t.shape and v.dtype == t.dtype for v, t in zip(st, state_tensors))):
        return "the network state does not have this network's shapes"
    ints = isinstance(obj["steps"], int) and obj["steps"] >= 0 and isinstance(obj["sync_every"], int) and obj["sync_every"] >= 1
    nums = isinstance(obj["seconds"], (int, float)) and obj["seconds"] >= 0
    rows = (isinstance(obj["secs"], list) and len(obj["secs"]) == B and all(isinstance(x, (int, float)) for x in obj["secs"])
            and isinstance(obj["seen"], list) and len(obj["seen"]) == B and all(isinstance(x, bool) for x in obj["seen"]))
    return "" if ints and nums and rows else "counters (steps, seconds, secs, seen, sync_every) of the wrong type"
