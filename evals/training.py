"""Train one policy on one task's teacher traces, or on a mixture of tasks: the function behind
``tapehead train`` and the study suite (``evals/suite.py``). Fresh instances every step
(``evals/data.py``), the trainer of ``model/training/train.py`` reached through ``tapehead.agent.models``.

A task name ``a+b+c`` trains one policy on the equal-weight mixture of those tasks, each up to its
own training size (``MixtureSource``): the multi-task policy.
"""

from __future__ import annotations

import os
import sys

from tapehead.agent import models
from tapehead.agent.tasks import get_task

from .data import MixtureSource, Prefetched, TraceSource


def seq_len_for(task_name: str, train_size: int, samples: int = 64) -> int:
    """Training sequence length: the task's bound on its largest training traces, rounded up to 64
    (batches are cut to their longest trace, so the bound costs nothing when traces are shorter)."""
    import random

    task = get_task(task_name)
    if hasattr(task, "trace"):  # the coding tasks bound their traces by repository size
        bound = task.max_tokens(train_size)
    else:
        rng = random.Random(0)
        bound = max(task.max_tokens(task.sample(train_size, rng).text) for _ in range(samples))
    return (bound + 63) // 64 * 64


def mixture_parts(task_name: str) -> list[tuple[str, int, float]]:
    """``a+b+c`` -> [(a, a's training size, 1.0), ...]; a single task -> one part."""
    names = [t for t in task_name.split("+") if t]
    return [(get_task(t).name, getattr(get_task(t), "train_size", 5), 1.0) for t in names]


def train_policy(task_name: str, model_cfg: dict, *, out_dir: str, steps: int, batch: int, seq_len: int | None,
                 lr: float = 2e-3, weight_decay: float = 0.01, warmup: int = 100, seed: int = 0,
                 max_size: int | None = None, device: str = "cpu", workers: int = 0, checkpoint_every: int = 500,
                 val_every: int = 250, resume: bool = False, ship: str | None = None, micro_tokens: int = 0,
                 log=print, overwrite: bool = False, log_every: int = 50, time_limit_s: float = 0.0) -> dict:
    """Returns the trainer's summary; the final model is ``out_dir/last`` (and ``ship`` in bf16).
    ``seq_len`` None: the tasks' bound on their training traces (``seq_len_for``); ``micro_tokens``:
    ``TraceSource``'s (a step's rows in micro-batches of similar length); ``time_limit_s`` > 0: stop
    after that many seconds of this call, checkpoint and still ship (a device round's deadline; the
    summary's ``stopped`` says ``time_limit`` and ``step`` how far it got)."""
    import torch

    rank, local_rank = int(os.environ.get("RANK", 0)), os.environ.get("LOCAL_RANK")
    if device == "cuda" and local_rank is not None:  # under torchrun: one GPU per process
        device = f"cuda:{local_rank}"
    if rank:
        log = lambda *a, **k: None  # noqa: E731  (rank 0 speaks and ships for all)
    models.claim_run_dir(out_dir, resume=resume, overwrite=overwrite, rank=rank)  # before anything is built
    parts = mixture_parts(task_name)
    if len(parts) > 1:
        if max_size:
            raise ValueError("--max-size is for one task; a mixture trains each task up to its own training size")
        seq_len = seq_len or max(seq_len_for(t, m) for t, m, _ in parts)
        data = MixtureSource(parts, batch, seq_len, seed=seed, micro_tokens=micro_tokens)
        val = MixtureSource(parts, batch, seq_len, seed=seed + 10_000, micro_tokens=micro_tokens)
        max_size = data.max_size
    else:
        (name, default_size, _), = parts
        max_size = max_size or default_size
        seq_len = seq_len or seq_len_for(name, max_size)
        data = TraceSource(name, max_size, batch, seq_len, seed=seed, micro_tokens=micro_tokens)
        val = TraceSource(name, max_size, batch, seq_len, seed=seed + 10_000, micro_tokens=micro_tokens)
    name = data.task_name  # before ``Prefetched`` wraps the source
    torch.manual_seed(seed)
    model = models.build(models.model_config(**model_cfg), device=device)
    if workers:
        data = Prefetched(data, workers=workers)
    recipe = {"task": name, "mixture": [list(p) for p in parts] if len(parts) > 1 else None,
              "max_size": max_size, "steps": steps, "batch": batch, "seq_len": seq_len,
              "micro_tokens": micro_tokens, "lr": lr, "weight_decay": weight_decay, "warmup": warmup, "seed": seed,
              "model": model_cfg,
              "command": "tapehead " + " ".join(sys.argv[1:])}
    log(f"training {model_cfg.get('arch', 'mamba2')} ({model.num_parameters():,} parameters, "
        f"{models.kernel_path(model)}) on {name} <= {max_size}, {steps} steps x {batch} (<= {seq_len} tokens)")
    try:
        summary = models.train(model, data, dict(
            steps=steps, lr=lr, weight_decay=weight_decay, warmup_steps=min(warmup, max(1, steps // 10)),
            seed=seed, out_dir=out_dir, checkpoint_every=checkpoint_every, val_every=val_every,
            bf16=device.startswith("cuda"), resume=resume, overwrite=overwrite, log_every=log_every, time_limit_s=time_limit_s),
            val_data=val)
    finally:
        if hasattr(data, "close"):
            data.close()
    if ship and rank == 0 and summary["stopped"] != "interrupted":  # ship a finished policy, not a cut one
        models.save(ship, model, recipe=recipe, metrics={"train": {k: v for k, v in summary.items()
                                                                   if isinstance(v, (int, float, str))}}, bf16=True)
        log(f"shipped bf16 weights to {ship}.safetensors")
    summary["num_parameters"] = model.num_parameters()
    return summary
