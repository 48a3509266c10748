"""The decoding protocol every policy network follows (Mamba-2 and the baselines alike).

A model is an ``nn.Module`` with

- ``forward(input_ids[B, T]) -> logits[B, T, V]``: training / scoring from an empty state;
- ``allocate_state(batch_size, device=None, dtype=None) -> DecodingState``: an empty state;
- ``prefill(input_ids[B, T], state) -> logits[B, T, V]``: consume a block of tokens, updating
  ``state`` in place (any T >= 1, any number of times: prefill -> steps -> prefill -> steps);
- ``step(input_ids[B], state) -> logits[B, V]``: consume one token per row, updating ``state``.

Teacher-forced ``prefill``/``step`` sequences give the same logits as one ``forward`` over the
concatenated tokens (tests/model/test_decoding_parity.py checks it for every architecture).

The state is explicit (docs/design.md): a cache owned by the caller, never part of a trajectory or of
LangGraph state, rebuilt from recorded tokens on resume. For an SSM or RNN its size is fixed; for a
Transformer it is a KV cache that grows with the episode (bounded by the window when sliding).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch


@dataclass
class DecodingState:
    """Base class: a dataclass of tensors (or lists of tensors), with helpers the loops use."""

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


class DecodingModel(torch.nn.Module):
    """Abstract base; subclasses implement the four methods of the module docstring."""

    config: object

    def allocate_state(self, batch_size: int, device=None, dtype=None) -> DecodingState:  # pragma: no cover
        raise NotImplementedError

    def prefill(self, input_ids: torch.Tensor, state: DecodingState) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def step(self, input_ids: torch.Tensor, state: DecodingState) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def num_parameters(self) -> int:
        """Unique parameters (tied embeddings counted once)."""
        return sum(p.numel() for p in {id(p): p for p in self.parameters()}.values())
