"""The Mamba-2 language model: mamba-ssm's ``MambaLMHeadModel`` (Mamba-2 layers, no MLP) in PyTorch.

Follows mamba-ssm 2.3.2 ``models/mixer_seq_simple.py`` and ``modules/block.py``: embedding ->
n_layer x [residual add -> RMSNorm -> Mamba2 mixer] -> residual add -> RMSNorm -> tied lm_head, the
residual stream kept in float32 (``residual_in_fp32``), the vocabulary padded to a multiple of
``pad_vocab_size_multiple``, and GPT-2-style init (embedding N(0, 0.02), ``out_proj`` rescaled by
1/sqrt(n_layer)). Keys: ``backbone.embedding.weight``, ``backbone.layers.N.norm.weight``,
``backbone.layers.N.mixer.*``, ``backbone.norm_f.weight``, ``lm_head.weight``.

Decoding state (``Mamba2State``): per layer a conv state [b, conv_dim, d_conv] and an SSM state
[b, h, p, n]; its size does not depend on how long the episode has run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn

from tapehead.model import kernels as _kernels
from tapehead.model.config import ModelConfig
from tapehead.model.protocol import DecodingModel, DecodingState
from .mamba2 import Mamba2Mixer, f32, rms_norm


@dataclass
class Mamba2State(DecodingState):
    conv: list  # per layer: [b, conv_dim, d_conv]
    ssm: list  # per layer: [b, nheads, headdim, d_state], float32


class RMSNorm(nn.Module):
    """mamba-ssm's ``RMSNorm`` (weight only)."""

    def __init__(self, d: int, eps: float = 1e-5, device=None, dtype=None):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(f32(x), f32(self.weight), self.eps)


class Block(nn.Module):
    """``Add -> RMSNorm -> Mamba2``; returns (mixer output, residual) as mamba-ssm's Block."""

    def __init__(self, config: ModelConfig, device=None, dtype=None):
        super().__init__()
        c = config
        self.norm = RMSNorm(c.d_model, eps=c.norm_epsilon, device=device, dtype=dtype)
        self.mixer = Mamba2Mixer(c.d_model, d_state=c.d_state, d_conv=c.d_conv, expand=c.expand, headdim=c.headdim,
                                 ngroups=c.ngroups, A_init_range=c.A_init_range, dt_min=c.dt_min, dt_max=c.dt_max,
                                 dt_init_floor=c.dt_init_floor, chunk_size=c.chunk_size, device=device, dtype=dtype)

    def add_norm(self, hidden, residual):
        """residual <- hidden + residual (fp32); returns (RMSNorm(residual) in hidden's dtype, residual)."""
        k = _kernels.load() if hidden.is_cuda else None
        if k is not None:
            return k.rms_norm_add(hidden, self.norm.weight, None, residual=residual, prenorm=True,
                                  residual_in_fp32=True, eps=self.norm.eps)
        residual = f32(hidden) if residual is None else f32(hidden) + residual
        normed = self.norm(residual)
        return (normed if normed.dtype == hidden.dtype else normed.to(hidden.dtype)), residual


class Backbone(nn.Module):
    def __init__(self, config: ModelConfig, device=None, dtype=None):
        super().__init__()
        self.embedding = nn.Embedding(config.padded_vocab_size, config.d_model, device=device, dtype=dtype)
        self.layers = nn.ModuleList(Block(config, device, dtype) for _ in range(config.n_layer))
        self.norm_f = RMSNorm(config.d_model, eps=config.norm_epsilon, device=device, dtype=dtype)

    def final_norm(self, hidden, residual):
        k = _kernels.load() if hidden.is_cuda else None
        if k is not None:
            return k.rms_norm_add(hidden, self.norm_f.weight, None, residual=residual, prenorm=False,
                                  residual_in_fp32=True, eps=self.norm_f.eps)
        out = self.norm_f(f32(hidden) + residual)
        return out if out.dtype == hidden.dtype else out.to(hidden.dtype)


class Mamba2LM(DecodingModel):
    def __init__(self, config: ModelConfig, device=None, dtype=None):
        super().__init__()
        if config.arch != "mamba2":
            raise ValueError(f"Mamba2LM needs arch 'mamba2', got {config.arch!r}")
        self.config = config
        self.backbone = Backbone(config, device, dtype)
        self.lm_head = nn.Linear(config.d_model, config.padded_vocab_size, bias=False, device=device, dtype=dtype)
        self._init_weights()
        if config.tie_embeddings:
            self.lm_head.weight = self.backbone.embedding.weight

    def _init_weights(self):
        """mamba-ssm ``_init_weights`` with n_residuals_per_layer = 1 (no MLP)."""
        nn.init.normal_(self.backbone.embedding.weight, std=0.02)
        for layer in self.backbone.layers:
            w = layer.mixer.out_proj.weight
            nn.init.kaiming_uniform_(w, a=math.sqrt(5))
            with torch.no_grad():
                w /= math.sqrt(self.config.n_layer)

    @staticmethod
    def state_shapes(c: ModelConfig) -> dict[str, tuple]:
        """``state_dict()`` names and shapes of the network ``c`` describes, without building it (what a
        checkpoint's weights are held against before anything is allocated; tests/model/test_checkpoint.py
        checks it against the built module)."""
        d, V, cd, h = c.d_model, c.padded_vocab_size, c.d_inner + 2 * c.ngroups * c.d_state, c.nheads
        out = {"backbone.embedding.weight": (V, d)}
        for i in range(c.n_layer):
            p = f"backbone.layers.{i}."
            out.update({p + "norm.weight": (d,), p + "mixer.dt_bias": (h,), p + "mixer.A_log": (h,),
                        p + "mixer.D": (h,), p + "mixer.in_proj.weight": (2 * c.d_inner + 2 * c.ngroups * c.d_state + h, d),
                        p + "mixer.conv1d.weight": (cd, 1, c.d_conv), p + "mixer.conv1d.bias": (cd,),
                        p + "mixer.norm.weight": (c.d_inner,), p + "mixer.out_proj.weight": (d, c.d_inner)})
        out.update({"backbone.norm_f.weight": (d,), "lm_head.weight": (V, d)})
        return out

    def kernel_path(self) -> str:
        """Which implementation runs this model now (shown in logs and benchmark output)."""
        dev = self.lm_head.weight.device
        return _kernels.describe() if dev.type == "cuda" else "pytorch reference (cpu)"

    # --- protocol -------------------------------------------------------------------------------------
    def allocate_state(self, batch_size: int, device=None, dtype=None) -> Mamba2State:
        states = [layer.mixer.allocate_state(batch_size, device, dtype) for layer in self.backbone.layers]
        return Mamba2State(conv=[c for c, _ in states], ssm=[s for _, s in states])

    def forward(self, input_ids: torch.Tensor, state: Mamba2State | None = None, last_only: bool = False) -> torch.Tensor:
        """input_ids [b, l] -> logits [b, l, padded_vocab] ([b, padded_vocab] of the last token with
        ``last_only``); continues from and updates ``state`` if given."""
        hidden, residual = self.backbone.embedding(input_ids), None
        for i, layer in enumerate(self.backbone.layers):
            normed, residual = layer.add_norm(hidden, residual)
            if state is None:
                hidden = layer.mixer(normed)
            else:
                hidden = layer.mixer(normed, state.conv[i], state.ssm[i])
        if last_only:  # the head on one position: [b, 1, d] -> [b, V]
            hidden, residual = hidden[:, -1:], residual[:, -1:]
            return self.lm_head(self.backbone.final_norm(hidden, residual))[:, 0]
        return self.lm_head(self.backbone.final_norm(hidden, residual))

    def prefill_block(self, input_ids: torch.Tensor, state: Mamba2State, *, last_only: bool = False) -> torch.Tensor:
        """One piece: the conv history and SSM state of ``state`` carry in and out (model/networks/mamba2.py)."""
        return self.forward(input_ids, state, last_only)

    def step(self, input_ids: torch.Tensor, state: Mamba2State) -> torch.Tensor:
        """input_ids [b] -> logits [b, padded_vocab]; updates ``state`` in place."""
        hidden, residual = self.backbone.embedding(input_ids), None
        for i, layer in enumerate(self.backbone.layers):
            normed, residual = layer.add_norm(hidden, residual)
            hidden = layer.mixer.step(normed, state.conv[i], state.ssm[i])
        return self.lm_head(self.backbone.final_norm(hidden, residual))
