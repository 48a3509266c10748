"""Train one policy on one task's teacher traces: the function behind ``tapehead train`` and the
study suite (``evals/suite.py``). Fresh instances every step (``evals/data.py``), the trainer of
``model/train.py`` reached through ``agent.models``.
"""

from __future__ import annotations

import os
import sys

from agent import models
from agent.tasks import get_task

from .data import Prefetched, TraceSource


def train_policy(task_name: str, model_cfg: dict, *, out_dir: str, steps: int, batch: int, seq_len: int,
                 lr: float = 2e-3, weight_decay: float = 0.01, warmup: int = 100, seed: int = 0,
                 max_size: int | None = None, device: str = "cpu", workers: int = 0, checkpoint_every: int = 500,
                 val_every: int = 250, resume: bool = False, ship: str | None = None, log=print) -> dict:
    """Returns the trainer's summary; the final model is ``out_dir/last`` (and ``ship`` in bf16)."""
    import torch

    rank, local_rank = int(os.environ.get("RANK", 0)), os.environ.get("LOCAL_RANK")
    if device == "cuda" and local_rank is not None:  # under torchrun: one GPU per process
        device = f"cuda:{local_rank}"
    if rank:
        log = lambda *a, **k: None  # noqa: E731  (rank 0 speaks and ships for all)
    task = get_task(task_name)
    max_size = max_size or getattr(task, "train_size", 5)
    torch.manual_seed(seed)
    model = models.build(models.model_config(**model_cfg), device=device)
    data = TraceSource(task.name, max_size, batch, seq_len, seed=seed)
    val = TraceSource(task.name, max_size, batch, seq_len, seed=seed + 10_000)
    if workers:
        data = Prefetched(data, workers=workers)
    recipe = {"task": task.name, "max_size": max_size, "steps": steps, "batch": batch, "seq_len": seq_len,
              "lr": lr, "weight_decay": weight_decay, "warmup": warmup, "seed": seed, "model": model_cfg,
              "command": "tapehead " + " ".join(sys.argv[1:])}
    log(f"training {model_cfg.get('arch', 'mamba2')} ({model.num_parameters():,} parameters, "
        f"{models.kernel_path(model)}) on {task.name} <= {max_size}, {steps} steps x {batch}")
    try:
        summary = models.train(model, data, dict(
            steps=steps, lr=lr, weight_decay=weight_decay, warmup_steps=min(warmup, max(1, steps // 10)),
            seed=seed, out_dir=out_dir, checkpoint_every=checkpoint_every, val_every=val_every,
            bf16=device.startswith("cuda"), resume=resume), val_data=val)
    finally:
        if hasattr(data, "close"):
            data.close()
    if ship and rank == 0:
        models.save(ship, model, recipe=recipe, metrics={"train": {k: v for k, v in summary.items()
                                                                   if isinstance(v, (int, float, str))}}, bf16=True)
        log(f"shipped bf16 weights to {ship}.safetensors")
    summary["num_parameters"] = model.num_parameters()
    return summary
