"""Recurrent baselines: LSTM and GRU language models behind the decoding protocol of model/protocol.py.

Token embedding -> multi-layer ``nn.LSTM`` / ``nn.GRU`` (``config.rnn_hidden`` units, or ``d_model``;
``config.n_layer`` layers; batch first) -> a linear projection back to ``d_model`` when the hidden
size differs -> LM head (tied to the embedding when ``config.tie_embeddings``).

The paper (arXiv 2510.14826, App. C) uses LSTM and GRU baselines of 4 layers with hidden size 1536,
"roughly comparable capacity" to its Mamba; our configurations are smaller.

Like Mamba's, the decoding state has a fixed size, whatever the episode's length: the hidden state
``h`` (and the cell state ``c`` for an LSTM), each ``[n_layer, B, H]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tapehead.model.config import ModelConfig
from tapehead.model.protocol import DecodingModel, DecodingState


@dataclass
class RNNState(DecodingState):
    """Recurrent state: ``h [n_layer, B, H]``; ``c [n_layer, B, H]`` for an LSTM, None for a GRU."""

    h: torch.Tensor
    c: torch.Tensor | None = None


class RNNLM(DecodingModel):
    """LSTM / GRU language model; logits have ``config.padded_vocab_size`` columns."""

    def __init__(self, config: ModelConfig, device=None, dtype=None):
        super().__init__()
        if config.arch not in ("lstm", "gru"):
            raise ValueError(f"RNNLM needs arch 'lstm' or 'gru', got {config.arch!r}")
        self.config = config
        fk = dict(device=device, dtype=dtype)
        V, d = config.padded_vocab_size, config.d_model
        self.hidden_size = config.rnn_hidden or d
        self.is_lstm = config.arch == "lstm"
        self.embedding = nn.Embedding(V, d, **fk)
        rnn_cls = nn.LSTM if self.is_lstm else nn.GRU
        self.rnn = rnn_cls(d, self.hidden_size, num_layers=config.n_layer, batch_first=True, **fk)
        # H -> d_model, so the head can share the embedding's shape
        self.proj = nn.Linear(self.hidden_size, d, bias=False, **fk) if self.hidden_size != d else nn.Identity()
        self.lm_head = nn.Linear(d, V, bias=False, **fk)
        nn.init.normal_(self.embedding.weight, std=0.02)
        if config.tie_embeddings:
            self.lm_head.weight = self.embedding.weight

    @staticmethod
    def state_shapes(c: ModelConfig) -> dict[str, tuple]:
        """``state_dict()`` names and shapes of the network ``c`` describes, without building it
        (``nn.LSTM``/``nn.GRU`` parameter names: 4 or 3 gates per layer)."""
        d, V, H = c.d_model, c.padded_vocab_size, c.rnn_hidden or c.d_model
        gates = (4 if c.arch == "lstm" else 3) * H
        out = {"embedding.weight": (V, d)}
        for k in range(c.n_layer):
            out.update({f"rnn.weight_ih_l{k}": (gates, d if k == 0 else H), f"rnn.weight_hh_l{k}": (gates, H),
                        f"rnn.bias_ih_l{k}": (gates,), f"rnn.bias_hh_l{k}": (gates,)})
        if H != d:
            out["proj.weight"] = (d, H)
        out["lm_head.weight"] = (V, d)
        return out

    def _run(self, input_ids: torch.Tensor, state: RNNState | None, last_only: bool = False):
        """input_ids ``[B, T]`` -> (logits ``[B, T, V]``, or ``[B, V]`` with ``last_only``; (h, c) or h)."""
        x = self.embedding(input_ids)  # [B, T, D]
        if state is None:
            hx = None
        elif self.is_lstm:
            hx = (state.h, state.c)
        else:
            hx = state.h
        y, hx = self.rnn(x, hx)  # y [B, T, H]
        if last_only:
            y = y[:, -1]  # [B, H]
        return self.lm_head(self.proj(y)), hx

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids ``[B, T]`` -> logits ``[B, T, V]`` from a zero state."""
        return self._run(input_ids, None)[0]

    def allocate_state(self, batch_size: int, device=None, dtype=None) -> RNNState:
        w = self.embedding.weight
        device = device if device is not None else w.device
        dtype = dtype if dtype is not None else w.dtype
        shape = (self.config.n_layer, batch_size, self.hidden_size)
        h = torch.zeros(shape, device=device, dtype=dtype)
        c = torch.zeros(shape, device=device, dtype=dtype) if self.is_lstm else None
        return RNNState(h=h, c=c)

    def prefill_block(self, input_ids: torch.Tensor, state: RNNState, *, last_only: bool = False) -> torch.Tensor:
        """input_ids ``[B, T]`` (T >= 1) -> logits ``[B, T, V]`` (``[B, V]`` with ``last_only``) in one
        piece; advances ``state`` (the hidden state carries a chunked prefill from chunk to chunk)."""
        if input_ids.shape[1] < 1:
            raise ValueError("prefill needs at least one token")
        if input_ids.shape[0] != state.h.shape[1]:
            raise ValueError(f"batch size {input_ids.shape[0]} does not match the state's {state.h.shape[1]}")
        logits, hx = self._run(input_ids, state, last_only)
        if self.is_lstm:
            state.h, state.c = hx
        else:
            state.h = hx
        return logits

    def step(self, input_ids: torch.Tensor, state: RNNState) -> torch.Tensor:
        """input_ids ``[B]`` -> logits ``[B, V]``."""
        return self.prefill_block(input_ids[:, None], state)[:, 0]


__all__ = ["RNNLM", "RNNState"]
