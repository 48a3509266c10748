"""Batched decoding across code-fix instances: one network step for many episodes, tool calls in threads.

Convention (``agent/loops/batched.py``'s lockstep loop and ``Episode`` rules, extended for slow tools):
each row of the batch holds one instance's episode. A row's call to a workspace tool (``check``,
an edit, a grep: tens of milliseconds to seconds in the sandbox) is *deferred* (``Episode.defer``)
and runs in a thread pool (``Episode.call_result``); meanwhile the row is *held* -- the other rows
step on, the held row's decoding state is put back after each step, so it resumes exactly where it
stopped -- and it is fed the observation when the call returns. A row whose episode ends is graded
in the pool and refilled with the next instance (its prompt prefilled into that row alone), so
rows never wait for the slowest episode of a group.

Two implementations of the rows, one loop:

- ``ModelRows``: a network through ``tapehead.model.decoder.BatchDecoder`` (CUDA graph on the GPU),
  with per-row prefill and hold done on the state's tensors along their batch dimension (for any
  fixed-size state: Mamba-2, LSTM, GRU; the Transformers' KV caches share one position per batch,
  so their rows are ``PolicyRows`` of batch-1 ``ModelPolicy`` objects, tool calls still overlapped);
- ``PolicyRows``: one ``Policy`` object per row (the teachers, a scripted policy, ``ModelPolicy``):
  the readable reference twin. ``tests/evals/test_coding_batched.py`` checks that the loop gives the
  single loop's trajectories, and that ``ModelRows`` with holds decodes what a batch-1 policy does.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable

from tapehead.agent import models
from tapehead.agent.loops.episode import Episode, Limits
from . import task_api
from .episodes import InstanceTools
from .record import BenchInstance


class ModelRows:
    """``batch_size`` rows of one network; ``start`` prefills one row, ``step`` advances all but ``hold``."""

    def __init__(self, model, batch_size: int, device: str = "cpu", cuda_graph: bool = True):
        import torch

        self.torch = torch
        self.model, self.device, self.batch_size = model, device, batch_size
        self.vocab = models.vocab().size
        self.dec = models.decoder(model, batch_size, device=device, cuda_graph=cuda_graph)
        self.failed: dict[int, str] = {}  # a network does not fail per row
        one, two = model.allocate_state(1, device=device), model.allocate_state(2, device=device)
        if not one.rows_independent:  # a KV cache: one position for the whole batch, rows cannot differ
            raise ValueError("batched code-fix decoding needs a fixed-size decoding state (Mamba-2, LSTM, GRU)")
        self.dims = []  # per state tensor: its batch dimension
        for a, b in zip(one.tensors(), two.tensors()):
            diff = [d for d, (x, y) in enumerate(zip(a.shape, b.shape)) if x != y]
            if len(diff) != 1 or a.shape[diff[0]] != 1:
                raise ValueError("batched code-fix decoding needs a fixed-size decoding state (Mamba-2, LSTM, GRU); "
                                 "run this policy with --batch 1")
            self.dims.append(diff[0])

    def _rows(self, r: int):
        return [t.select(d, r) for t, d in zip(self.dec.state.tensors(), self.dims)]

    def start(self, r: int, prompt: list[int], policy=None) -> int:
        torch = self.torch
        with torch.inference_mode():
            state = self.model.allocate_state(1, device=self.device)
            logits = self.model.prefill(torch.tensor([prompt], dtype=torch.long, device=self.device), state)
            for row, t, d in zip(self._rows(r), state.tensors(), self.dims):
                row.copy_(t.select(d, 0))  # this row's state = a batch-1 prefill of its prompt
        return int(logits[0, -1, : self.vocab].argmax())

    def stop(self, r: int) -> None:
        pass  # an idle row is fed [PAD]; its state is overwritten by the next start

    def step(self, feed: list[int], hold: set[int]) -> list[int]:
        with self.torch.inference_mode():
            kept = {r: [x.clone() for x in self._rows(r)] for r in hold}
            out = self.dec.step(feed)
            for r, saved in kept.items():  # the held rows did not really take that step
                for row, x in zip(self._rows(r), saved):
                    row.copy_(x)
        return out


class PolicyRows:
    """One policy object per row: the reference twin of ``ModelRows``."""

    def __init__(self, batch_size: int, pad: int):
        self.batch_size, self.pad = batch_size, pad
        self.policies: list = [None] * batch_size
        self.failed: dict[int, str] = {}  # row -> why its policy raised (a teacher that got stuck)

    def start(self, r: int, prompt: list[int], policy=None) -> int:
        self.policies[r] = policy
        return self._guard(r, lambda: (policy.start(prompt), policy.propose())[1])

    def _guard(self, r: int, fn) -> int:
        try:
            return fn()
        except Exception as e:  # the row's episode ends with exit "error"; the other rows go on
            self.failed[r] = f"{type(e).__name__}: {e}"
            self.policies[r] = None
            return self.pad

    def stop(self, r: int) -> None:
        self.policies[r] = None

    def step(self, feed: list[int], hold: set[int]) -> list[int]:
        out = []
        for r, p in enumerate(self.policies):
            if p is None or r in hold:
                out.append(self.pad)
                continue
            out.append(self._guard(r, lambda: (p.feed(feed[r]), p.propose())[1]))
        return out


@dataclass
class _Row:
    k: int  # index of the instance
    ep: Episode
    tools: InstanceTools
    t0: float
    queue: deque = field(default_factory=deque)
    call: object = None  # the future of a deferred call
    error: str = ""


def run_rows(rows, insts: list[BenchInstance], *, limits: Callable[[BenchInstance], Limits],
             policy_for: Callable[[BenchInstance], object] | None = None, policy_name: str = "",
             finish: Callable | None = None, threads: int = 8, on_done: Callable[[int], None] | None = None) -> list:
    """Run every instance through ``rows``; ``finish(inst, patch, trajectory, check_runs, seconds)`` (in
    the pool) makes each result, in the order of ``insts``. ``policy_for(inst)`` gives PolicyRows' policy."""
    codec = models.codec()
    todo, slots = deque(range(len(insts))), [None] * rows.batch_size
    proposals, results, done = [codec.PAD] * rows.batch_size, [None] * len(insts), 0
    finish = finish or (lambda inst, patch, traj, runs, secs: (patch, traj, runs, secs))

    def close(row: _Row, traj) -> object:
        try:
            return finish(insts[row.k], row.tools.diff(), traj, row.tools.calls["check"], time.perf_counter() - row.t0)
        finally:
            row.tools.close()

    with ThreadPoolExecutor(threads) as pool:
        def fill(r: int) -> None:
            if not todo:
                slots[r] = None
                rows.stop(r)
                return
            k = todo.popleft()
            inst = insts[k]
            tools = InstanceTools(inst)
            ep = Episode(codec, inst.problem_statement, task=task_api.task_name(inst.family, inst.style),
                         limits=limits(inst), call_tools=tools.fns, defer=lambda name: True)
            slots[r] = _Row(k, ep, tools, time.perf_counter())
            proposals[r] = rows.start(r, ep.prompt, policy_for(inst) if policy_for else None)

        closing = []
        for r in range(rows.batch_size):
            fill(r)
        while any(slots):
            feed, hold = [codec.PAD] * rows.batch_size, set()
            for r, row in enumerate(slots):
                if row is None:
                    continue
                if r in rows.failed:  # its policy raised: the episode ends here
                    row.ep.exit, row.queue, row.error = "error", deque(), rows.failed.pop(r)
                if row.call is not None:
                    if not row.call.done():
                        hold.add(r)
                        continue
                    text, ok = row.call.result()
                    row.call = None
                    row.queue.extend(row.ep.answer_call(text, ok))
                if not row.queue and row.ep.running and row.ep.check_limits():
                    row.queue.extend(row.ep.accept(proposals[r]))
                    if row.ep.deferred is not None:  # [/CALL] is fed now, the answer when it comes
                        row.call = pool.submit(row.ep.call_result, *row.ep.deferred)
                if not row.queue and row.call is None and not row.ep.running:
                    traj = row.ep.trajectory(policy=policy_name, seconds=time.perf_counter() - row.t0)
                    if row.error:
                        traj.meta["error"] = row.error
                    closing.append((row.k, pool.submit(close, row, traj)))
                    done += 1
                    if on_done is not None:
                        on_done(done)
                    fill(r)
                    row = slots[r]
                    if row is None:
                        continue
                if row.queue:
                    feed[r] = row.queue.popleft()
                else:
                    hold.add(r)
            live = [r for r, row in enumerate(slots) if row is not None]
            if live and all(r in hold for r in live):  # everyone waits on a tool: sleep until one answers
                wait([slots[r].call for r in live if slots[r].call is not None], return_when=FIRST_COMPLETED)
                continue
            if live:  # a held row keeps its proposal (a row just refilled has not written it yet)
                stepped = rows.step(feed, hold)
                proposals = [proposals[r] if r in hold else t for r, t in enumerate(stepped)]
        for k, fut in closing:
            results[k] = fut.result()
    return results


def run_batched_instances(insts: list[BenchInstance], spec: str, paths: list[str | None], *, device: str = "cpu",
                          batch_size: int = 32, factor: float = 1.5, threads: int = 8, cuda_graph: bool = True,
                          on_done=None) -> list[dict]:
    """``tapehead eval code-fix --policy P`` batched: the result rows of ``evaluate.finish_row``."""
    from .episodes import limits_for
    from .evaluate import finish_row

    model, _ = models.load(spec, device=device)
    policy_for = None
    try:
        rows = ModelRows(model, min(batch_size, len(insts)), device=device, cuda_graph=cuda_graph)
    except ValueError:  # the Transformers' KV caches: a batch-1 ModelPolicy per row, tool calls still overlapped
        rows = PolicyRows(min(batch_size, len(insts)), models.codec().PAD)
        policy_for = lambda inst: models.model_policy(model, device=device)  # noqa: E731
    index = {inst.instance_id: k for k, inst in enumerate(insts)}

    def finish(inst, patch, traj, runs, secs):
        return finish_row(inst, patch, traj, runs, paths[index[inst.instance_id]], secs)

    return run_rows(rows, insts, limits=lambda inst: limits_for(inst, factor), policy_name=spec, finish=finish,
                    policy_for=policy_for, threads=threads, on_done=on_done)
