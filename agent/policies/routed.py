"""A policy chosen per episode from its input: the task says which shipped policy suits which input.

Convention: a task whose shipped policies each cover part of its inputs (``mult``: n×1 by
``mult1-reread``, n×2 by ``mult2-reread``) declares ``policy_for(text) -> shipped name``; its
default policy is then a ``RoutedPolicy``, which at ``start(prompt)`` reads the input back from the
prompt (``[BOS]`` + the text's bytes, ``agent/trace/codec.py``), asks ``choose`` for the policy of
that input and drives it for the whole episode. Everything else (``propose``, ``feed``, the state)
is the chosen policy's, so a routed run's trajectory is the chosen network's own.
"""

from __future__ import annotations

from typing import Callable, Sequence


class RoutedPolicy:
    def __init__(self, choose: Callable[[Sequence[int]], object]):
        self.choose = choose  # prompt tokens -> a Policy (agent/policies/policy.py) for this episode
        self.inner = None

    def start(self, prompt: Sequence[int]) -> None:
        self.inner = self.choose(prompt)
        self.inner.start(prompt)

    def propose(self) -> int:
        return self.inner.propose()

    def feed(self, token: int) -> None:
        self.inner.feed(token)

    def state_bytes(self) -> int:
        return self.inner.state_bytes() if self.inner is not None else 0
