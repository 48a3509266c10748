"""The in-process loop: one policy, one episode, tools answering as the policy writes.

The policy decodes; a tape command runs at once and its observation is fed as the next token
(never sampled); thoughts and outputs are appended to the tape; the episode stops at ``[EOS]`` or
at a limit, with an exit status (``agent/loops/episode.py`` holds those rules, shared with the batched
loop). Returns a ``Trajectory``.
"""

from __future__ import annotations

import time
from typing import Callable

from tapehead.agent.policies.policy import Policy
from tapehead.agent.trace.codec import Codec
from tapehead.agent.trace.trajectory import Trajectory
from .episode import Episode, Limits


def run_episode(policy: Policy, codec: Codec, text: str, *, task: str = "", limits: Limits | None = None,
                call_tools: dict[str, Callable[[str], str]] | None = None, policy_name: str = "",
                on_tokens: Callable[[Episode, list[int]], None] | None = None) -> Trajectory:
    """Run one episode on input ``text``. ``on_tokens(episode, fed)`` is called after each written
    token with the tokens fed to the policy (for live views)."""
    t0 = time.perf_counter()
    ep = Episode(codec, text, task=task, limits=limits, call_tools=call_tools)
    policy.start(ep.prompt)
    feed = policy.feed
    while ep.check_limits():
        fed = ep.accept(policy.propose())
        for t in fed:
            feed(t)
        if on_tokens is not None:
            on_tokens(ep, fed)
    traj = ep.trajectory(policy=policy_name, seconds=time.perf_counter() - t0)
    traj.meta["state_bytes"] = policy.state_bytes()
    return traj
