"""The decoding protocol every policy network follows (Mamba-2 and the baselines alike).

A model is an ``nn.Module`` with

- ``forward(input_ids[B, T]) -> logits[B, T, V]``: training / scoring from an empty state;
- ``allocate_state(batch_size, device=None, dtype=None) -> DecodingState``: an empty state;
- ``prefill(input_ids[B, T], state, *, chunk=None, last_only=False) -> logits[B, T, V]``: consume a
  block of tokens, updating ``state`` in place (any T >= 1, any number of times: prefill -> steps ->
  prefill -> steps). It runs in chunks of ``chunk`` tokens (default ``prefill_chunk``), carrying the
  state from one chunk to the next, so activation memory depends on the chunk, not on T; with
  ``last_only`` it returns only the last token's logits ``[B, V]``, and then nothing it holds grows
  with T either (what a policy starting an episode needs). Each architecture implements the one-piece
  ``prefill_block``, the readable reference that ``chunk=0`` runs;
- ``step(input_ids[B], state) -> logits[B, V]``: consume one token per row, updating ``state``.

Teacher-forced ``prefill``/``step`` sequences give the same logits as one ``forward`` over the
concatenated tokens (tests/model/test_mamba2.py, test_baselines.py), and a chunked prefill gives the
same logits and state as the one-piece one (tests/model/test_chunked_prefill.py, for every
architecture; tests/model/test_gpu_parity.py for the CUDA kernels).

The state is explicit (docs/design.md): a cache owned by the caller, never part of a trajectory or of
LangGraph state, rebuilt from recorded tokens on resume. For an SSM or RNN its size is fixed; for a
Transformer it is a KV cache that grows with the episode (bounded by the window when sliding).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import torch


@dataclass
class DecodingState:
    """Base class: a dataclass of tensors (or lists of tensors), with helpers the loops use."""

    # whether a batch's rows are independent, each at its own point of its own episode, so that one
    # row can be swapped in or out alone (the code-fix batch, evals/coding/batched.py): true of a
    # fixed-size state (Mamba-2, LSTM, GRU), not of a KV cache with one position for the batch
    rows_independent: ClassVar[bool] = True

    def tensors(self) -> list[torch.Tensor]:
        out = []
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, torch.Tensor):
                out.append(v)
            elif isinstance(v, (list, tuple)):
                for x in v:
                    if isinstance(x, torch.Tensor):
                        out.append(x)
                    elif isinstance(x, (list, tuple)):
                        out.extend(t for t in x if isinstance(t, torch.Tensor))
        return out

    def nbytes(self) -> int:
        """Bytes held by the state now (what the TUI shows as the policy's memory)."""
        return sum(t.numel() * t.element_size() for t in self.tensors())


# Tokens per prefill chunk. The shipped Mamba-2 (d_model 256) holds ~80 KiB of activations a token of
# a chunk (the SSD scan's [h, L, L] matrices), so 1,024 tokens peak ~80 MiB above the loaded model;
# prefilling 100,000 tokens on one CPU thread took 15.9 s of CPU at 1,024, 16.2 at 512, 16.5 at 2,048,
# 17.5 at 4,096 (docs/benchmarks.md, "Memory").
PREFILL_CHUNK = 1024


class DecodingModel(torch.nn.Module):
    """Abstract base; subclasses implement ``allocate_state``, ``prefill_block`` and ``step``."""

    config: object
    prefill_chunk: int = PREFILL_CHUNK  # a setting: assign on an instance to change it

    def allocate_state(self, batch_size: int, device=None, dtype=None) -> DecodingState:  # pragma: no cover
        raise NotImplementedError

    def prefill(self, input_ids: torch.Tensor, state: DecodingState, *, chunk: int | None = None,
                last_only: bool = False) -> torch.Tensor:
        """input_ids ``[B, T]`` -> logits ``[B, T, V]`` (``[B, V]`` with ``last_only``), in chunks of
        ``chunk`` tokens (None: ``self.prefill_chunk``; 0: one piece), ``state`` carried across them."""
        T = input_ids.shape[1]
        if T < 1:
            raise ValueError("prefill needs at least one token")
        chunk = self.prefill_chunk if chunk is None else chunk
        if chunk < 0:
            raise ValueError(f"prefill chunk must be >= 0 (0: one piece), got {chunk}")
        if chunk == 0 or T <= chunk:
            return self.prefill_block(input_ids, state, last_only=last_only)
        outs = []
        for s in range(0, T, chunk):
            out = self.prefill_block(input_ids[:, s:s + chunk], state, last_only=last_only)
            if not last_only:
                outs.append(out)
        return out if last_only else torch.cat(outs, dim=1)

    def prefill_block(self, input_ids: torch.Tensor, state: DecodingState, *,
                      last_only: bool = False) -> torch.Tensor:  # pragma: no cover
        """The one-piece prefill (the reference twin of the chunked one)."""
        raise NotImplementedError

    def step(self, input_ids: torch.Tensor, state: DecodingState) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def num_parameters(self) -> int:
        """Unique parameters (tied embeddings counted once)."""
        return sum(p.numel() for p in {id(p): p for p in self.parameters()}.values())
