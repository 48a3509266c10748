"""Training loop for every policy network (any ``DecodingModel``): masked next-token loss, AdamW,
warmup + cosine, bf16 autocast on CUDA, validation, safetensors checkpoints with exact resume, DDP.

Conventions
-----------
- **Data** comes from a ``DataSource`` (``model/training/batch.py``): ``batch(step, rank, world_size) -> Batch``, a pure function
  of its arguments. A step may also be a list of micro-batches (``list[Batch]``, e.g. rows of
  similar length grouped so that long and short traces are not padded to one width): their
  gradients accumulate into one optimizer step, with the loss the mean over all their targets.
  Exact resume needs no data-loader state, and DDP sharding is the source's business (rank ``r``
  of ``w`` gets ``batch(step, r, w)``). Validation batch ``i`` is ``val_data.batch(i, rank,
  world_size)`` for ``i < val_batches``.
- **Loss** (``model/training/loss.py``; docs/design.md: loss on what the policy produces; input and observations masked):
  cross entropy of ``logits[:, :-1]`` against ``input_ids[:, 1:]``, weighted by
  ``loss_mask[:, 1:]``, mean over all target tokens of the step (of all ranks under DDP: each rank
  scales its sum by ``world / global_targets``, so DDP's gradient averaging gives the global mean).
- **Optimizer**: AdamW; like mamba-ssm, no weight decay for parameters marked
  ``_no_weight_decay`` (``A_log``, ``D``), 1-D parameters (norms, biases, ``dt_bias``) and any
  ``*.bias``; weight decay for matrices, embeddings included. Tied parameters count once.
- **Schedule**: step ``s`` (0-based) uses ``lr * (s + 1) / warmup_steps`` during warmup, then a cosine
  from ``lr`` down to ``lr * min_lr_ratio`` at the last step.
- **Checkpoints** (only rank 0 writes; the resumable half lives in ``model/training/train_state.py``, DDP setup in ``model/training/distributed.py``): ``out_dir/last.{safetensors,json}`` is a policy checkpoint
  (``model/checkpoint.py``, float32 weights); ``out_dir/last.train.{safetensors,json}`` is the
  resumable state: AdamW tensors and per-rank torch RNG states in safetensors, the rest (step,
  tokens seen, optimizer hyper-parameters, rank 0's Python ``random`` state, config) in JSON, tied to the
  weights by their sha256. Nothing is pickled. ``TrainConfig.resume`` continues from there; on CPU
  the resumed run ends with bit-identical weights to an uninterrupted one
  (tests/model/test_train.py).
- **DDP**: launched by torchrun (``WORLD_SIZE`` > 1 in the environment), ``train`` initialises the
  process group itself (NCCL on CUDA with device ``cuda:LOCAL_RANK``, gloo on CPU) and destroys it
  at the end; an already initialised group is used as is.
- **Run directory**: a new run into an ``out_dir`` that holds one is refused (``RunExists``, a
  ``ValueError``) unless ``resume`` or ``overwrite`` (``train_state.claim_run_dir``). Rank 0 appends
  a row per logged step (and validation) to ``out_dir/metrics.jsonl`` (``model/training/metrics.py``).
- **Ctrl-C** (``sigint``, ``model/training/interrupt.py``): SIGINT stops the loop after the step in
  flight -- every rank after the same step -- with a checkpoint and ``stopped == "interrupted"``;
  a second Ctrl-C raises ``KeyboardInterrupt`` at once (after a checkpoint being written).
- **Output**: a rich progress bar (loss, lr, tok/s) on rank 0 when stdout is a terminal; otherwise a
  plain line every ``log_every`` steps on rank 0 (``log_every=0``: silent); other ranks print nothing.
- **Throughput** ``tokens_per_s`` counts every token of every batch of every rank (masked or not),
  over the time spent in training steps (validation and checkpoint writing excluded).
"""

from __future__ import annotations

import math
import random
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist

from tapehead.model.checkpoint import _unwrap, save_checkpoint
from .batch import Batch, DataSource, micro_batches  # noqa: F401  (the loop's input, re-exported)
from .distributed import setup_distributed
from .interrupt import StopRequest
from .loss import evaluate, masked_nll  # noqa: F401  (re-exported)
from .metrics import MetricsFile
from .progress import Reporter
from .train_state import (LAST, claim_run_dir, gather_rng, load_train_state, save_train_state,  # noqa: F401
                          train_state_paths)


# --- configuration -------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    steps: int = 1000  # total optimizer steps (the schedule's length)
    lr: float = 1e-3
    weight_decay: float = 0.1
    betas: tuple = (0.9, 0.95)
    eps: float = 1e-8
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1  # cosine ends at lr * min_lr_ratio
    grad_clip: float = 1.0  # max global grad norm; 0 = no clipping
    seed: int = 0
    log_every: int = 50  # 0 = no log lines / callbacks "log"
    val_every: int = 0  # 0 = validate only at the end (when val_data is given)
    val_batches: int = 8
    checkpoint_every: int = 0  # 0 = checkpoint only when the run stops (when out_dir is set)
    out_dir: str | None = None
    bf16: bool = True  # autocast to bfloat16 on CUDA; ignored on CPU
    compile: bool = False  # torch.compile the forward
    resume: bool = False  # continue from out_dir/last* when present
    overwrite: bool = False  # start over in an out_dir that holds a run (else: refused, unless resume)
    sigint: bool = True  # Ctrl-C stops after the step in flight, with a checkpoint (model/training/interrupt.py)
    stop_at: int = 0  # > 0: stop (and checkpoint) once this global step is done, e.g. to split long runs
    time_limit_s: float = 0.0  # > 0: stop (and checkpoint) after this many seconds of this run
    progress: bool | None = None  # None: a progress bar when stdout is a terminal

    def __post_init__(self):
        self.betas = tuple(self.betas)
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")

    def to_json(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_json(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate of 0-based ``step``: linear warmup, then cosine to ``lr * min_lr_ratio``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - 1 - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.lr * (cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Two AdamW groups in ``named_parameters`` order (deterministic): decayed matrices, and the rest
    (``_no_weight_decay`` params, 1-D params, biases). Tied parameters appear once."""
    decay, no_decay, seen = [], [], set()
    for name, p in model.named_parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        if getattr(p, "_no_weight_decay", False) or p.dim() < 2 or name.endswith(".bias"):
            no_decay.append(p)
        else:
            decay.append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


# --- the loop ------------------------------------------------------------------------------------


def train(
    model: torch.nn.Module,
    data: DataSource,
    cfg: TrainConfig,
    *,
    val_data: DataSource | None = None,
    vocab_json: dict,
    callbacks: list[Callable[[str, dict], None]] | None = None,
) -> dict:
    """Train ``model`` in place; returns a summary dict.

    ``callbacks``: callables ``cb(event, info)`` run on every rank, with ``event`` one of ``"log"``
    (every ``log_every`` steps: step, loss, lr, grad_norm, tokens_per_s), ``"val"`` (step, loss,
    acc), ``"checkpoint"`` (step, path) and ``"end"`` (the summary).

    Summary: ``step`` (global steps done), ``stopped`` ("completed" | "stop_at" | "time_limit" |
    "interrupted"),
    ``final_loss`` (masked train loss over the last logging window, all ranks), ``val`` (last
    validation or None), ``tokens_seen`` (all tokens of all ranks since step 0, resumed runs
    included), ``target_tokens_seen``, ``seconds`` (this call's wall time), ``train_seconds``,
    ``tokens_per_s`` (this call's tokens / train_seconds), ``resumed_from`` (step or None),
    ``world_size``, ``checkpoint`` (path of out_dir/last or None), ``num_parameters``.
    """
    t_wall = time.perf_counter()
    callbacks = list(callbacks or [])
    raw = _unwrap(model)
    dctx = setup_distributed()
    try:
        if dctx.enabled and torch.cuda.is_available() and dist.get_backend() == "nccl":
            device = torch.device("cuda", dctx.local_rank)
            raw.to(device)
        else:
            device = next(raw.parameters()).device
        if cfg.out_dir:
            claim_run_dir(cfg.out_dir, resume=cfg.resume, overwrite=cfg.overwrite, rank=dctx.rank)
        torch.manual_seed(cfg.seed + dctx.rank)
        random.seed(cfg.seed + dctx.rank)

        opt = torch.optim.AdamW(
            param_groups(raw, cfg.weight_decay),
            lr=cfg.lr,
            betas=cfg.betas,
            eps=cfg.eps,
            fused=True if device.type == "cuda" else None,
        )
        start, tokens_seen, targets_seen, resumed_from = 0, 0, 0, None
        if cfg.resume:
            if not cfg.out_dir:
                raise ValueError("resume=True needs out_dir")
            if train_state_paths(cfg.out_dir)[1].exists():
                state_meta = load_train_state(cfg.out_dir, raw, opt, dctx, device, vocab_json)
                start = resumed_from = int(state_meta["step"])
                tokens_seen = int(state_meta.get("tokens_seen", 0))
                targets_seen = int(state_meta.get("target_tokens_seen", 0))
        raw.train()

        fwd = raw
        if dctx.enabled:
            fwd = torch.nn.parallel.DistributedDataParallel(
                raw, device_ids=[device.index] if device.type == "cuda" else None
            )
        if cfg.compile:
            fwd = torch.compile(fwd)

        end = cfg.steps if cfg.stop_at <= 0 else min(cfg.steps, cfg.stop_at)
        autocast = dict(device_type=device.type, dtype=torch.bfloat16, enabled=cfg.bf16 and device.type == "cuda")
        params = [p for g in opt.param_groups for p in g["params"]]
        reporter = Reporter(cfg, dctx.rank, start)
        recipe = {
            "train_config": cfg.to_json(),
            "world_size": dctx.world,
            "optimizer": "AdamW (no decay: _no_weight_decay, 1-D, biases)",
            "schedule": "linear warmup, cosine to lr * min_lr_ratio",
            "loss": "masked next-token cross entropy, mean over target tokens",
            "data": data.describe() if callable(getattr(data, "describe", None)) else type(data).__name__,
            "torch": torch.__version__,
        }

        def emit(event: str, info: dict):
            for cb in callbacks:
                cb(event, info)

        # running sums since the last log line, kept on the device (no host sync per step)
        win = torch.zeros(2, device=device, dtype=torch.float64)  # nll, targets
        run_targets = torch.zeros((), device=device, dtype=torch.float64)  # target tokens of all ranks
        final_loss = float("nan")
        val_metrics = None
        last_ckpt = None
        train_seconds = 0.0
        run_tokens = 0
        log_tokens, log_time = 0, 0.0
        grad_norm = torch.zeros((), device=device)
        stopped = "completed" if end >= cfg.steps else "stop_at"
        done = start

        def window_loss() -> float:
            w = dctx.all_reduce(win.clone())
            win.zero_()
            return (w[0] / w[1]).item() if w[1] > 0 else float("nan")

        def checkpoint(done: int, train_loss: float):
            nonlocal last_ckpt
            if not cfg.out_dir:
                return
            rng = gather_rng(dctx, device)  # collective: every rank takes part
            if dctx.rank == 0:
                base = Path(cfg.out_dir) / LAST
                targets = targets_seen + int(run_targets.item())
                metrics = {"step": done, "train_loss": train_loss, "tokens_seen": tokens_seen}
                if val_metrics is not None:
                    metrics.update({"val_loss": val_metrics["loss"], "val_acc": val_metrics["acc"]})
                meta = save_checkpoint(base, raw, vocab_json=vocab_json, recipe=recipe, metrics=metrics)
                info = {
                    "step": done,
                    "tokens_seen": tokens_seen,
                    "target_tokens_seen": targets,
                    "world_size": dctx.world,
                    "train_config": cfg.to_json(),
                }
                save_train_state(cfg.out_dir, opt, rng, info, meta["weights"]["sha256"])
            last_ckpt = str(Path(cfg.out_dir) / LAST)
            if dctx.enabled:
                dist.barrier()
            emit("checkpoint", {"step": done, "path": last_ckpt, "rank": dctx.rank})

        stop = StopRequest(cfg.sigint, dctx.rank)
        metrics_file = MetricsFile(cfg.out_dir, dctx.rank, resumed_from)
        with stop:  # SIGINT: a stop request while the loop runs
            try:
                for step in range(start, end):
                    t0 = time.perf_counter()
                    lr = lr_at(step, cfg)
                    for g in opt.param_groups:
                        g["lr"] = lr
                    parts = micro_batches(data.batch(step, dctx.rank, dctx.world))
                    # target tokens of the whole step, of all ranks, before any backward: every
                    # micro-batch's loss is scaled by it, so the gradients add up to the step's mean
                    n = torch.tensor(float(sum(int(p.loss_mask[:, 1:].sum()) for p in parts)), device=device)
                    n_all = dctx.all_reduce(n.clone())
                    nll_sum = torch.zeros((), device=device)
                    for k, part in enumerate(parts):
                        b = part.to(device)
                        # DDP: all-reduce the gradients once, with the step's last micro-batch
                        sync = nullcontext() if k == len(parts) - 1 or not dctx.enabled else fwd.no_sync()
                        with sync:
                            with torch.autocast(**autocast):
                                logits = fwd(b.input_ids)  # [B, T, V]
                            part_nll, _, _ = masked_nll(logits, b.input_ids, b.loss_mask)  # 0-d each
                            (part_nll * dctx.world / n_all.clamp_min(1.0)).backward()
                        nll_sum = nll_sum + part_nll.detach()
                    if cfg.grad_clip > 0:
                        grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                    opt.step()
                    opt.zero_grad(set_to_none=True)
                    win += torch.stack([nll_sum.detach(), n]).double()
                    run_targets += n_all.double()
                    batch_tokens = sum(p.num_tokens for p in parts) * dctx.world
                    tokens_seen += batch_tokens
                    run_tokens += batch_tokens
                    log_tokens += batch_tokens
                    done = step + 1
                    is_last = done == end
                    # Ctrl-C or the time limit, agreed by every rank: stop after this step (no sync alone)
                    time_up = cfg.time_limit_s > 0 and time.perf_counter() - t_wall > cfg.time_limit_s
                    over_time, interrupted = (False, False) if is_last else stop.check(dctx, device, time_up)
                    halt = over_time or interrupted
                    log_now = bool(cfg.log_every) and (done % cfg.log_every == 0 or is_last or halt)
                    if log_now or is_last or halt:
                        final_loss = window_loss()  # .item() syncs, so the time below is true
                    dt = time.perf_counter() - t0
                    train_seconds += dt
                    log_time += dt
                    reporter.advance()
                    row = {}
                    if log_now:
                        info = {
                            "step": done,
                            "loss": final_loss,
                            "lr": lr,
                            "grad_norm": float(grad_norm),
                            "tokens_per_s": log_tokens / max(log_time, 1e-9),
                            "rank": dctx.rank,
                        }
                        log_tokens, log_time = 0, 0.0
                        reporter.log(info)
                        emit("log", info)
                        row = {k: v for k, v in info.items() if k != "rank"} | {"tokens_seen": tokens_seen}
                    if halt:
                        stopped = "interrupted" if interrupted else "time_limit"
                    # validation on the way out of a time limit, not of a Ctrl-C (the user wants out now)
                    if val_data is not None and (is_last or over_time or (cfg.val_every and done % cfg.val_every == 0)):
                        val_metrics = evaluate(
                            raw, val_data, cfg.val_batches, bf16=cfg.bf16, rank=dctx.rank, world_size=dctx.world
                        )
                        val_metrics["step"] = done
                        reporter.message(f"step {done}: val loss {val_metrics['loss']:.4f}  "
                                         f"acc {val_metrics['acc']:.4f}")
                        emit("val", {**val_metrics, "rank": dctx.rank})
                        row.update(step=done, val_loss=val_metrics["loss"], val_acc=val_metrics["acc"])
                    if row:
                        metrics_file.write(row)
                    if is_last or halt or (cfg.checkpoint_every and done % cfg.checkpoint_every == 0):
                        with stop.writing():
                            checkpoint(done, final_loss)
                    if halt:
                        break
            finally:
                reporter.close()

        summary = {
            "step": done,
            "steps": cfg.steps,
            "stopped": stopped,
            "final_loss": final_loss,
            "val": val_metrics,
            "tokens_seen": tokens_seen,
            "target_tokens_seen": targets_seen + int(run_targets.item()),
            "seconds": time.perf_counter() - t_wall,
            "train_seconds": train_seconds,
            "tokens_per_s": run_tokens / train_seconds if train_seconds > 0 else 0.0,
            "resumed_from": resumed_from,
            "world_size": dctx.world,
            "checkpoint": last_ckpt,
            "num_parameters": int(raw.num_parameters())
            if hasattr(raw, "num_parameters")
            else sum(p.numel() for p in params),
        }
        emit("end", summary)
        return summary
    finally:
        if dctx.created:
            dist.destroy_process_group()
