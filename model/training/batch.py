"""What the training loop consumes (``model/training/train.py``): a ``Batch`` of token ids and loss
mask, and a ``DataSource`` -- ``batch(step, rank, world_size)``, a pure function of its arguments,
so exact resume needs no data-loader state and DDP sharding is the source's business. A step may be
a list of micro-batches (rows of similar length grouped so that long and short traces are not
padded to one width): their gradients accumulate into one optimizer step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch


@dataclass
class Batch:
    """One training batch: ``input_ids [B, T]`` (int64) and ``loss_mask [B, T]`` (bool, True where
    token t is a target the policy produced)."""

    input_ids: torch.Tensor  # [B, T] long
    loss_mask: torch.Tensor  # [B, T] bool

    def validate(self) -> None:
        ids, m = self.input_ids, self.loss_mask
        if ids.dim() != 2 or ids.dtype != torch.long:
            raise ValueError(f"Batch.input_ids must be a [B, T] int64 tensor, got {list(ids.shape)} {ids.dtype}")
        if m.shape != ids.shape or m.dtype != torch.bool:
            raise ValueError(
                f"Batch.loss_mask must be a bool tensor shaped like input_ids {list(ids.shape)}, "
                f"got {list(m.shape)} {m.dtype}"
            )
        if ids.shape[1] < 2:
            raise ValueError(f"Batch needs T >= 2 tokens per row to have a target, got T={ids.shape[1]}")

    @property
    def num_tokens(self) -> int:
        return self.input_ids.numel()

    def to(self, device) -> "Batch":
        return Batch(self.input_ids.to(device, non_blocking=True), self.loss_mask.to(device, non_blocking=True))


@runtime_checkable
class DataSource(Protocol):
    """Deterministic batches: the same ``(step, rank, world_size)`` always gives the same batch.

    A source may also offer ``describe() -> dict`` (JSON), recorded in the checkpoint's recipe."""

    def batch(self, step: int, rank: int, world_size: int) -> Batch | list[Batch]: ...


def micro_batches(b: Batch | list[Batch]) -> list[Batch]:
    """A step's micro-batches, each validated."""
    parts = b if isinstance(b, list) else [b]
    if not parts:
        raise ValueError("a data source returned no batch for a step")
    for p in parts:
        p.validate()
    return parts
