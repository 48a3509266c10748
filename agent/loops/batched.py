"""Many episodes in lockstep: one batched model step per token, each episode with its own tape.

Every row consumes exactly one token per step: the token its policy writes (the argmax of its
logits) when it has nothing queued, else the next queued token (the observation a tool answered
with). The rules are ``Episode``'s, shared with ``loop.run_episode``, so the trajectories are the
single loop's (tests/agent/test_batched_loop.py checks token-for-token equality). Rows that have
finished are fed ``[PAD]`` and ignored.

Rows must share a prompt length to be prefilled together: ``run_batched`` groups inputs by
prompt length and runs the groups one after the other.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Sequence

from tapehead.agent.trace.codec import Codec
from tapehead.agent.trace.trajectory import Trajectory
from .episode import Episode, Limits


def run_batched(decoder_factory: Callable[[int], object], codec: Codec, texts: Sequence[str], *, task: str = "",
                limits: Limits | None = None, batch_size: int = 64, policy_name: str = "",
                on_step: Callable[[int, int], None] | None = None,
                call_tools: dict | Callable | None = None) -> list[Trajectory]:
    """``decoder_factory(batch)`` returns a ``tapehead.model.decoder.BatchDecoder``-like object (``prefill``,
    ``step``). ``on_step(done, total)`` reports finished episodes (progress bars); it is also called
    every 4,096 lockstep steps, so a long episode (10,000 digits: ~350k steps) shows life."""
    import torch

    order: dict[int, list[int]] = {}
    for i, text in enumerate(texts):
        order.setdefault(len(codec.prompt(text)), []).append(i)
    out: list[Trajectory | None] = [None] * len(texts)
    done = steps = 0
    decoders: dict[int, object] = {}
    for _, idx in sorted(order.items()):
        for s in range(0, len(idx), batch_size):
            chunk = idx[s:s + batch_size]
            n = len(chunk)
            dec = decoders.get(n) or decoders.setdefault(n, decoder_factory(n))
            eps = [Episode(codec, texts[i], task=task, limits=limits, call_tools=call_tools) for i in chunk]
            t0 = time.perf_counter()
            proposals = dec.prefill(torch.tensor([e.prompt for e in eps], dtype=torch.long))
            queues = [deque() for _ in eps]
            ends = [0.0] * n
            finished = [False] * n
            live = n
            while live:
                feed = []
                for r, ep in enumerate(eps):
                    q = queues[r]
                    if not q and ep.running and ep.check_limits():
                        q.extend(ep.accept(proposals[r]))
                    if not q and not ep.running and not finished[r]:
                        finished[r] = True
                        ends[r] = time.perf_counter() - t0
                        live -= 1
                        done += 1
                        if on_step is not None:
                            on_step(done, len(texts))
                    feed.append(q.popleft() if q else codec.PAD)
                if live:
                    proposals = dec.step(feed)
                    steps += 1
                    if on_step is not None and steps % 4096 == 0:
                        on_step(done, len(texts))
            for r, (i, ep) in enumerate(zip(chunk, eps)):
                out[i] = ep.trajectory(policy=policy_name, seconds=ends[r])
    return out  # type: ignore[return-value]
