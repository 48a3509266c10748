"""Training data: fresh task instances every step, turned into teacher traces through the real tools.

``TraceSource.batch(step, rank, world_size)`` is a pure function of its arguments (the instance
generator is seeded by (seed, step, rank)), which is what the trainer needs for exact resume and
for DistributedDataParallel (each rank draws its own share of the global batch). Each row is
``[BOS] input ... [EOS]`` from the teacher, padded with ``[PAD]``; ``loss_mask`` is the codec's
(input and observations masked, padding masked). A batch is as long as its longest trace rounded up
to ``PAD_TO`` (64, the SSD chunk), never more than ``seq_len``: a task whose traces vary a lot in
length (multiplication, the logical graph) trains on far less padding than its worst-case bound.

Teacher traces cost a few microseconds per token in Python; on the GPU machine ``Prefetched``
builds the next batches in worker processes while the current one trains. A task with a
``trace(codec, instance) -> (tokens, loss_mask)`` hook builds its own (the coding tasks: the
teacher against an in-memory repository instead of a sandbox per check; its parity with the real
loop is tested by the task).
"""

from __future__ import annotations

import multiprocessing as mp
import random
import signal
import numpy as np
import torch

from tapehead.agent.loops.loop import run_episode
from tapehead.agent.models import codec as get_codec
from tapehead.agent.models import make_batch
from tapehead.agent.tasks import get_task

PAD_TO = 64  # batch lengths are multiples of this (Mamba-2's chunk size)


def trace(task, codec, inst) -> tuple[list[int], list[bool]]:
    """The teacher's tokens and loss mask for one instance: the task's ``trace`` hook when it has
    one, else the teacher through the real loop on the instance's text."""
    hook = getattr(task, "trace", None)
    if hook is not None:
        return hook(codec, inst)
    text = inst.text
    traj = run_episode(task.teacher(codec), codec, text, task=task.name, call_tools=getattr(task, "call_tools", None))
    if traj.exit != "eos":
        raise RuntimeError(f"teacher for {task.name} did not finish on {text!r}: {traj.exit}")
    return traj.tokens, codec.loss_mask(traj.tokens, traj.prompt_len)


class TraceSource:
    """``micro_tokens`` > 0: a step's rows, sorted by length, are split into micro-batches of at most
    that many padded tokens each (the trainer accumulates them into one step), so a batch that mixes
    3-disk and 8-disk Hanoi traces is not padded to the longest for every row."""

    def __init__(self, task: str, max_size: int, batch_size: int, seq_len: int, seed: int = 0,
                 micro_tokens: int = 0):
        self.task_name, self.max_size, self.batch_size, self.seq_len, self.seed = task, max_size, batch_size, seq_len, seed
        self.micro_tokens = micro_tokens

    def draw(self, rng) -> tuple[object, object]:
        """One training row's (task, instance)."""
        task = get_task(self.task_name)
        return task, task.sample(self.max_size, rng, train=True)

    def arrays(self, step: int, rank: int = 0, world_size: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
        """The step's rows as (ids [B, T], loss_mask [B, T]) pairs: one, or micro-batches."""
        codec = get_codec()
        rows = self.batch_size // world_size
        rng = random.Random(f"{self.seed}/{step}/{rank}")
        traces = []
        for _ in range(rows):
            task, inst = self.draw(rng)
            toks, m = trace(task, codec, inst)
            if len(toks) > self.seq_len:
                raise ValueError(f"trace of {inst.text[:200]!r} has {len(toks)} tokens > seq_len {self.seq_len}; "
                                 "raise --seq-len")
            traces.append((toks, m))
        lengths = [max(2, len(toks)) for toks, _ in traces]
        # as wide as the longest row (seq_len is a bound, which for the coding tasks is far above it)
        width = self._width(max(lengths))
        ids = np.full((rows, width), codec.PAD, dtype=np.int64)
        mask = np.zeros((rows, width), dtype=bool)
        for r, (toks, m) in enumerate(traces):
            ids[r, : len(toks)] = toks
            mask[r, : len(m)] = m
        groups = [list(range(rows))]
        if self.micro_tokens > 0:  # shortest first; a group grows while its padded size fits
            groups = []
            for r in sorted(range(rows), key=lambda r: lengths[r]):
                if groups and (len(groups[-1]) + 1) * self._width(lengths[r]) <= self.micro_tokens:
                    groups[-1].append(r)
                else:
                    groups.append([r])
        out = []
        for g in groups:
            w = self._width(max(lengths[r] for r in g))
            out.append((ids[g, :w], mask[g, :w]))
        return out

    def _width(self, longest: int) -> int:
        return min(self.seq_len, -(-longest // PAD_TO) * PAD_TO)

    def describe(self) -> dict:
        return {"task": self.task_name, "max_size": self.max_size, "batch_size": self.batch_size,
                "seq_len": self.seq_len, "seed": self.seed, "micro_tokens": self.micro_tokens}

    def batch(self, step: int, rank: int = 0, world_size: int = 1):
        return _batches(self.arrays(step, rank, world_size))


def _batches(parts: list[tuple[np.ndarray, np.ndarray]]):
    """One trainer ``Batch``, or a list of them (micro-batches)."""
    out = [make_batch(torch.from_numpy(np.ascontiguousarray(i)), torch.from_numpy(np.ascontiguousarray(m)))
           for i, m in parts]
    return out[0] if len(out) == 1 else out


def _arrays(source: TraceSource, step: int, rank: int, world_size: int):
    return source.arrays(step, rank, world_size)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the training loop, which stops after its step (a worker killed by it
    would leave that step's batch never coming)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Prefetched:
    """Same batches as ``source``, built ``ahead`` steps in advance by ``workers`` processes."""

    def __init__(self, source: TraceSource, workers: int = 8, ahead: int = 32):
        self.source, self.workers, self.ahead = source, workers, ahead
        self._pool = None
        self._pending: dict[tuple, object] = {}

    def describe(self) -> dict:
        return self.source.describe()

    def batch(self, step: int, rank: int = 0, world_size: int = 1):
        if self._pool is None:  # spawn: the parent may already hold a CUDA context
            self._pool = mp.get_context("spawn").Pool(self.workers, initializer=_ignore_sigint)
        for s in range(step, step + self.ahead):
            key = (s, rank, world_size)
            if key not in self._pending:
                self._pending[key] = self._pool.apply_async(_arrays, (self.source, s, rank, world_size))
        parts = self._pending.pop((step, rank, world_size)).get()
        for key in [k for k in self._pending if k[0] < step]:  # a resume can skip steps
            self._pending.pop(key)
        return _batches(parts)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None


class MixtureSource(TraceSource):
    """One policy's data for several tasks (the paper's task mixture, App. D.8): every row draws its
    task with probability proportional to its weight, then an instance of up to that task's training
    size. ``parts``: ``[(task, max_size, weight), ...]``. Tasks whose inputs look alike but whose
    traces differ (addition and its ablations) must not be mixed: the policy could not tell them apart.
    """

    def __init__(self, parts: list[tuple[str, int, float]], batch_size: int, seq_len: int, seed: int = 0,
                 micro_tokens: int = 0):
        if not parts or any(w <= 0 for _, _, w in parts):
            raise ValueError(f"a mixture needs tasks with positive weights, got {parts!r}")
        super().__init__("+".join(t for t, _, _ in parts), max(m for _, m, _ in parts), batch_size, seq_len, seed,
                         micro_tokens)
        self.parts = [(t, int(m), float(w)) for t, m, w in parts]

    def draw(self, rng) -> tuple[object, object]:
        name, size, _ = rng.choices(self.parts, weights=[w for _, _, w in self.parts])[0]
        task = get_task(name)
        return task, task.sample(size, rng, train=True)

    def describe(self) -> dict:
        return {**super().describe(), "mixture": [list(p) for p in self.parts]}
