"""Build a policy network from its ``ModelConfig`` (the one place that maps ``arch`` to a class), or
say which parameters it would have without building it.

Baseline modules are imported lazily so that loading a Mamba-2 policy touches only its own code.
"""

from __future__ import annotations

from .config import ModelConfig
from .protocol import DecodingModel


def model_class(config: ModelConfig) -> type[DecodingModel]:
    if config.arch == "mamba2":
        from tapehead.model.networks.mamba2_lm import Mamba2LM as cls
    elif config.arch == "transformer":
        from tapehead.model.networks.transformer import TransformerLM as cls
    elif config.arch in ("lstm", "gru"):
        from tapehead.model.networks.rnn import RNNLM as cls
    else:  # ModelConfig already validates; kept for configs built by hand
        raise ValueError(f"unknown architecture {config.arch!r}")
    return cls


def build_model(config: ModelConfig, device=None, dtype=None) -> DecodingModel:
    return model_class(config)(config, device=device, dtype=dtype)


def state_shapes(config: ModelConfig) -> dict[str, tuple]:
    """The network's ``state_dict()`` names and shapes, computed from the config alone (no memory;
    PyTorch's meta device would do it too, at ~2 s of imports on first use)."""
    return model_class(config).state_shapes(config)
