"""The agent's one door to ``model/`` (docs/design.md: agent imports model only through one lazy factory).

Everything here imports ``model`` (and so torch) inside the function, so ``agent`` and its tests
import without torch. Callers above (evals, tui, the CLI) reach networks, checkpoints, decoders
and training only through these functions.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=None)
def vocab(heads: int = 4):
    """The byte + specials vocabulary (pure Python, no torch)."""
    from tapehead.model.vocab import Vocab

    return Vocab(heads=heads)


@lru_cache(maxsize=None)
def codec(heads: int = 4):
    from tapehead.agent.trace.codec import Codec

    return Codec(vocab(heads))


def model_config(**kwargs):
    from tapehead.model.config import ModelConfig

    kwargs.setdefault("vocab_size", vocab().size)
    return ModelConfig(**kwargs)


def build(config, device=None):
    from tapehead.model.factory import build_model

    return build_model(config, device=device)


def load(path: str, device: str = "cpu"):
    """(model, meta) from a checkpoint; refuses a vocabulary other than ours."""
    import torch

    from tapehead.model.checkpoint import load_checkpoint

    if not (os.path.exists(path) or os.path.exists(path + ".json") or os.path.exists(path + ".safetensors")):
        raise FileNotFoundError(f"no checkpoint at {path} (expected {path}.json and {path}.safetensors)")
    return load_checkpoint(path, expected_vocab=vocab().to_json(), device=device, dtype=torch.float32)


def save(path: str, model, *, recipe: dict | None = None, metrics: dict | None = None, bf16: bool = False) -> None:
    import torch

    from tapehead.model.checkpoint import save_checkpoint

    save_checkpoint(path, model, vocab_json=vocab().to_json(), recipe=recipe, metrics=metrics,
                    dtype=torch.bfloat16 if bf16 else None)


def decoder(model, batch_size: int, *, device=None, cuda_graph: bool = True, bf16: bool = False,
            compile_cpu: bool = False):
    from tapehead.model.decoder import BatchDecoder

    return BatchDecoder(model, batch_size, vocab().size, device=device, cuda_graph=cuda_graph, autocast_bf16=bf16,
                        compile_cpu=compile_cpu)


def model_policy(model, device: str = "cpu", compile: bool = False):
    from tapehead.agent.policies.policy import ModelPolicy

    return ModelPolicy(model, vocab().size, device=device, compile=compile)


def train(model, data, cfg: dict, *, val_data=None, callbacks=None) -> dict[str, Any]:
    """Train in place with ``tapehead.model.training.train.train``; ``cfg`` holds ``TrainConfig`` fields."""
    from tapehead.model.training.train import TrainConfig, train as _train

    return _train(model, data, TrainConfig(**cfg), val_data=val_data, vocab_json=vocab().to_json(), callbacks=callbacks)


def claim_run_dir(out_dir: str, *, resume: bool, overwrite: bool, rank: int = 0) -> None:
    """Refuse a new training run over an existing one (``RunExists``, a ValueError), before anything
    is built; ``train`` checks again (``tapehead.model.training.train_state.claim_run_dir``)."""
    from tapehead.model.training.train_state import claim_run_dir as _claim

    _claim(out_dir, resume=resume, overwrite=overwrite, rank=rank)


def make_batch(input_ids, loss_mask):
    """A ``tapehead.model.training.train.Batch`` (what the trainer consumes) from [B, T] tensors."""
    from tapehead.model.training.train import Batch

    return Batch(input_ids, loss_mask)


def kernel_path(model) -> str:
    fn = getattr(model, "kernel_path", None)
    return fn() if fn else "pytorch"


def reference_path():
    """Context manager: CUDA tensors take the network's pure-PyTorch reference step instead of
    mamba-ssm's Triton kernels (what ``torch.compile`` can trace; agent/loops/tensor.py)."""
    from tapehead.model import kernels

    return kernels.disabled()
