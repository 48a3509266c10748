"""The policy cache: per thread, a live ``Episode`` and the policy positioned after its tokens.

Convention (docs/design.md): the policy's recurrent state is a cache, never graph state. A ``Runtime``
belongs to one thread and is valid while its episode holds exactly the tokens the checkpoint
records (same length, same last token). Otherwise -- a new process resuming a session, another
thread having used a shared policy instance, a step that failed half-way -- it is rebuilt from the
recorded tokens: ``Episode.resume`` replays their meaning onto a fresh tape (no tool runs), and the
policy is re-prefilled (``prefill``). ``Tracker`` follows the same tokens to give the events their
kinds and the answer without rescanning the trace each step.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

from tapehead.agent.loops.episode import Episode
from tapehead.agent.policies.policy import ModelPolicy
from tapehead.agent.trace.codec import Codec, Kind
from .state import last_token, tokens_of


def prefill(policy, tokens: list[int], prompt_len: int) -> None:
    """Position ``policy`` after ``tokens``: a network prefills them all at once; any other policy
    (scripted, teacher programs) starts on the prompt and is fed the rest, token by token."""
    if isinstance(policy, ModelPolicy) or getattr(policy, "prefill_resume", False):
        policy.start(tokens)
        return
    policy.start(tokens[:prompt_len])
    for t in tokens[prompt_len:]:
        policy.feed(t)


class Tracker:
    """Kinds of appended tokens and the answer so far, incrementally (the codec's reader)."""

    def __init__(self, codec: Codec, prompt_len: int):
        self.reader = codec.reader()
        self.prompt_len = prompt_len
        self.seen = 0
        self.out = bytearray()

    def feed(self, tokens: list[int]) -> list[str]:
        kinds = []
        reader, out = self.reader, self.out
        for t in tokens:
            if self.seen < self.prompt_len:
                k = Kind.INPUT
            else:
                k = reader.feed(t)
                if k is Kind.OUTPUT and t < 256:
                    out.append(t)
            self.seen += 1
            kinds.append(k.value)
        return kinds

    @property
    def answer(self) -> str:
        return self.out.decode("utf-8", errors="replace")


class Runtime:
    def __init__(self, thread_id: str, episode: Episode, policy, rebuilt: bool):
        self.thread_id = thread_id
        self.episode = episode
        self.policy = policy
        self.rebuilt = rebuilt  # True when made from recorded tokens (a resume), until the step reports it
        self.tracker = Tracker(episode.codec, len(episode.prompt))
        self.tracker.feed(episode.tokens)
        self.emitted = len(episode.tokens)  # tokens already sent as events

    def matches(self, state: dict) -> bool:
        toks = self.episode.tokens
        return len(toks) == state.get("n_tokens") and (not toks or toks[-1] == last_token(state))


class RuntimeCache:
    """Runtimes by thread id. ``make_episode(run, tokens=None, counts=None, malformed_run=0)`` makes
    the episode of a run (rebuilt from ``tokens`` when given); ``make_policy()`` gives a policy for a
    new runtime; with a shared
    policy instance (``shared=True``) only one runtime can hold it, so the cache keeps one."""

    def __init__(self, codec: Codec, make_policy: Callable[[], object], make_episode: Callable[..., Episode],
                 *, shared: bool = False, size: int = 4):
        self.codec = codec
        self.make_policy = make_policy
        self.make_episode = make_episode
        self.size = 1 if shared else size
        self._rts: OrderedDict[str, Runtime] = OrderedDict()

    def get(self, thread_id: str, state: dict) -> Runtime:
        rt = self._rts.get(thread_id)
        if rt is not None and rt.matches(state):
            self._rts.move_to_end(thread_id)
            return rt
        self.drop(thread_id)
        rt = self._build(thread_id, state)
        self._rts[thread_id] = rt
        while len(self._rts) > self.size:
            self._rts.popitem(last=False)
        return rt

    def drop(self, thread_id: str) -> None:
        self._rts.pop(thread_id, None)

    def _build(self, thread_id: str, state: dict) -> Runtime:
        run = state["run"]
        tokens = tokens_of(state)
        plen = state["prompt_len"]
        resumed = len(tokens) > plen
        if resumed:
            ep = self.make_episode(run, tokens=tokens, counts=state.get("counts"),
                                   malformed_run=state.get("malformed_run", 0))
        else:
            ep = self.make_episode(run)
        policy = self.make_policy()
        prefill(policy, tokens, plen)
        return Runtime(thread_id, ep, policy, rebuilt=resumed)
