"""Ctrl-C during training: stop at the next step boundary with a checkpoint, on every rank at once.

Convention (the usual one of training loops that own their process, e.g. Lightning's): the first
SIGINT is a request, honoured after the step in flight -- the loop checkpoints and returns with
``stopped == "interrupted"``, and ``--resume`` continues exactly from there. A second SIGINT exits
at once (``KeyboardInterrupt``), except while a checkpoint is being written: then right after it,
so the files on disk stay a consistent pair. A SIGINT within ``REPEAT_S`` of the first is the same
Ctrl-C (torchrun forwards the terminal's SIGINT to workers that already got it), not a second one.

Under DDP every rank must stop after the same step (a rank that left early would hang the others'
collectives): ``StopRequest.check`` all-reduces the local flags (MAX) once per step, so the stop
happens at the first step boundary after any rank saw the signal.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager

import torch
import torch.distributed as dist

REPEAT_S = 1.0  # a second SIGINT sooner than this after the first is the same Ctrl-C


class StopRequest:
    """Installs the SIGINT handler for the ``with`` block (main thread only; elsewhere it stays off)."""

    def __init__(self, enabled: bool = True, rank: int = 0):
        self.enabled, self.rank = enabled, rank
        self.requested: float | None = None  # monotonic time of the first SIGINT
        self._writing = False
        self._exit_after_write = False
        self._previous = None

    def __enter__(self) -> "StopRequest":
        if self.enabled and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _on_sigint(self, signum, frame) -> None:
        now = time.monotonic()
        if self.requested is None:
            self.requested = now
            if self.rank == 0:  # os.write: safe whatever the main thread was printing
                os.write(2, b"\ninterrupted: stopping with a checkpoint after this step (Ctrl-C again: quit now)\n")
            return
        if now - self.requested < REPEAT_S:
            return
        if self._writing:
            self._exit_after_write = True
            return
        raise KeyboardInterrupt

    @contextmanager
    def writing(self):
        """A checkpoint write: a second Ctrl-C waits for its end."""
        self._writing = True
        try:
            yield
        finally:
            self._writing = False
            if self._exit_after_write:
                raise KeyboardInterrupt

    def check(self, dctx, device: torch.device, time_up: bool) -> tuple[bool, bool]:
        """``(time_up, interrupted)`` as every rank agrees (MAX over ranks; no collective alone)."""
        flags = (time_up, self.requested is not None)
        if not dctx.enabled:
            return flags
        t = torch.tensor([float(f) for f in flags], device=device)  # [2]
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t[0].item()), bool(t[1].item())
