"""Policies behind one protocol: a network checkpoint, or a scripted token stream.

A policy is driven by the loop (``agent/loops/loop.py``) token by token:

- ``start(prompt)``: begin an episode with the input tokens (prefill);
- ``propose() -> int``: the token the policy writes next (greedy: the argmax of its logits);
- ``feed(token)``: append a token to the policy's context, whether the policy wrote it or a tool
  did (observations are fed, never proposed).

``ModelPolicy`` keeps the network's decoding state as a private cache (docs/design.md: never part of a
trajectory); ``ScriptedPolicy`` replays a recorded stream, which makes teacher traces and tests run
through the very same loop and tools as a trained network. A scripted policy is a real policy.
"""

from __future__ import annotations

from typing import Protocol, Sequence


class Policy(Protocol):
    def start(self, prompt: Sequence[int]) -> None: ...

    def propose(self) -> int: ...

    def feed(self, token: int) -> None: ...

    def state_bytes(self) -> int: ...


class ScriptedPolicy:
    """Replays ``script`` (a whole episode, observations included: they are skipped over when fed).

    ``propose`` returns the script's token at the current position; when the script runs out it
    proposes ``fallback`` (``[EOS]`` normally), so a truncated script still ends cleanly.
    ``divergences`` lists positions where a fed token differs from the script (e.g. a tool answered
    differently than when the script was recorded)."""

    def __init__(self, script: Sequence[int], fallback: int):
        self.script = list(script)
        self.fallback = fallback
        self.pos = 0
        self.divergences: list[int] = []

    def start(self, prompt: Sequence[int]) -> None:
        prompt = list(prompt)
        if self.script[: len(prompt)] == prompt:
            self.pos = len(prompt)  # a full recorded episode: skip its input
        else:
            self.pos = 0  # a continuation script
        self.divergences = []

    def propose(self) -> int:
        return self.script[self.pos] if self.pos < len(self.script) else self.fallback

    def feed(self, token: int) -> None:
        if self.pos < len(self.script) and self.script[self.pos] != token:
            self.divergences.append(self.pos)
        self.pos += 1

    def state_bytes(self) -> int:
        return 0


class ModelPolicy:
    """Greedy decoding of a ``tapehead.model.protocol.DecodingModel`` on one episode (batch 1).

    ``vocab_size`` limits the argmax to real tokens (the embedding is padded). Torch is imported by
    the model, not here, so the agent package imports without torch."""

    def __init__(self, model, vocab_size: int, device="cpu", compile: bool = False, prefill_chunk: int | None = None):
        self.model = model
        self.compile = compile
        self.prefill_chunk = prefill_chunk  # tokens per prefill chunk; None: the model's own setting
        self.vocab_size = vocab_size
        self.device = device
        self.state = None
        self._logits = None
        self._torch = None

    def start(self, prompt: Sequence[int]) -> None:
        import torch

        self._torch = torch
        self.model.eval()
        self._step = self.model.step
        if self.compile and str(self.device).startswith("cpu"):  # fuse the op-bound CPU step (decoder.py)
            self._step = torch.compile(self.model.step, dynamic=False)
        with torch.inference_mode():
            self.state = self.model.allocate_state(1, device=self.device)
            ids = torch.as_tensor(prompt, dtype=torch.long).view(1, -1).to(self.device)  # [1, T]
            # in chunks, only the last logits kept: memory does not grow with the prompt (model/protocol.py)
            self._logits = self.model.prefill(ids, self.state, chunk=self.prefill_chunk, last_only=True)[0, : self.vocab_size]
        self._buf = torch.zeros(1, dtype=torch.long, device=self.device)

    def propose(self) -> int:
        return int(self._logits.argmax())

    def feed(self, token: int) -> None:
        with self._torch.inference_mode():
            self._buf.fill_(token)
            self._logits = self._step(self._buf, self.state)[0, : self.vocab_size]

    def state_bytes(self) -> int:
        return self.state.nbytes() if self.state is not None else 0
