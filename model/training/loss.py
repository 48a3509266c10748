"""The masked next-token loss of the training loop (``model/training/train.py``) and validation.

Convention (docs/design.md: loss on what the policy produces; input and observations masked): cross
entropy of ``logits[:, :-1]`` against ``input_ids[:, 1:]`` where ``loss_mask[:, 1:]``, summed in
float32 without host synchronisation; the loop divides by the step's target count.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F

from tapehead.model.checkpoint import _unwrap
from .batch import DataSource, micro_batches


def masked_nll(logits: torch.Tensor, input_ids: torch.Tensor, loss_mask: torch.Tensor):
    """Sums for the masked next-token loss, in float32 and without host synchronisation.

    logits ``[B, T, V]``, input_ids ``[B, T]``, loss_mask ``[B, T]`` -> (nll_sum, n_targets, n_correct),
    each a 0-d float32 tensor; targets are ``input_ids[:, 1:]`` where ``loss_mask[:, 1:]``."""
    lg = logits[:, :-1].float()  # [B, T-1, V]
    tgt = input_ids[:, 1:]  # [B, T-1]
    m = loss_mask[:, 1:]  # [B, T-1] bool
    nll = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), tgt.reshape(-1), reduction="none").view_as(tgt)  # [B, T-1]
    nll_sum = torch.where(m, nll, torch.zeros_like(nll)).sum()
    n = m.sum().float()
    correct = ((lg.argmax(-1) == tgt) & m).sum().float()
    return nll_sum, n, correct


@torch.no_grad()
def evaluate(model, data: DataSource, batches: int, *, bf16: bool = True, rank: int = 0, world_size: int = 1) -> dict:
    """Masked loss and masked next-token accuracy over ``data.batch(i, rank, world_size)``,
    ``i < batches``, summed over ranks when a process group is active. Returns
    ``{"loss", "acc", "targets"}``."""
    raw = _unwrap(model)
    device = next(raw.parameters()).device
    was_training = raw.training
    raw.eval()
    sums = torch.zeros(3, device=device, dtype=torch.float64)  # nll, targets, correct
    try:
        for i in range(batches):
            for b in micro_batches(data.batch(i, rank, world_size)):
                b = b.to(device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and device.type == "cuda"):
                    logits = raw(b.input_ids)  # [B, T, V]
                nll, n, c = masked_nll(logits, b.input_ids, b.loss_mask)
                sums += torch.stack([nll, n, c]).double()
    finally:
        raw.train(was_training)
    if world_size > 1 and dist.is_initialized():
        dist.all_reduce(sums)
    nll, n, c = sums.tolist()
    return {"loss": nll / max(n, 1.0), "acc": c / max(n, 1.0), "targets": int(n)}
