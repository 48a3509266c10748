"""Transformer baselines: a decoder-only Transformer with RoPE and a KV cache, full or sliding-window.

Follows Pythia / GPT-NeoX (EleutherAI/pythia-160m as the paper's reference): token embedding, pre-LN
blocks with LayerNorm, multi-head causal self-attention with rotary position embeddings (GPT-NeoX
"rotate half" convention), a GELU MLP, a final LayerNorm and an LM head. Two simplifications against
stock GPT-NeoX: the rotary embedding covers the whole head dimension (Pythia rotates 25% of it) and
the residual is sequential (``x + attn(ln(x))`` then ``x + mlp(ln(x))``), not GPT-NeoX's parallel one.

With ``config.sliding_window > 0`` it is the Mistral-like baseline (mistralai/Mistral-7B-v0.1): every
layer's query at position ``p`` attends to keys ``p - window + 1 .. p`` only, and the decoding KV cache
is a ring buffer of ``window`` slots, so the state stays bounded however long the episode runs.

The paper's shapes (arXiv 2510.14826, App. C): Pythia 24 layers, d_model 768, intermediate 1536,
8 heads; Mistral-style 8 layers, d_model 768, intermediate 1536, window 512. Our configurations are
smaller; the shapes come from ``ModelConfig`` (``n_layer``, ``d_model``, ``n_head``, ``d_intermediate``,
``rope_base``, ``sliding_window``, ``max_cache``).

Decoding follows model/protocol.py. Keys are cached after RoPE at their absolute positions, so the
rotary phases continue across prefill -> steps -> prefill. Cache layout per layer, ``[B, H, C, Dh]``:

- full attention: slot ``i`` holds position ``i``; ``C`` grows (doubling) as needed, or is fixed at
  ``config.max_cache`` when that is > 0 (overflowing it is an error);
- sliding window: ``C = window``; slot ``p % window`` holds the latest position ``p`` with that residue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from tapehead.model.config import ModelConfig
from tapehead.model.protocol import DecodingModel, DecodingState


KEY_BLOCK = 512  # keys per block of blockwise_attention: [B, H, 2048, 512] fp32 scores are 32 MiB at H=8


@dataclass
class TransformerState(DecodingState):
    """KV cache: per layer keys (after RoPE) and values, each ``[B, H, C, Dh]``, plus the position.

    ``position`` is the number of tokens consumed so far, i.e. the absolute position of the next one.
    """

    rows_independent: ClassVar[bool] = False  # one position for the whole batch

    k: list[torch.Tensor] = field(default_factory=list)
    v: list[torch.Tensor] = field(default_factory=list)
    position: int = 0
    window: int = 0  # 0: full attention (slot i holds position i); > 0: ring buffer of `window` slots

    @property
    def cached_tokens(self) -> int:
        """How many past tokens the cache holds (and later tokens can attend to)."""
        return min(self.position, self.window) if self.window else self.position


# --- rotary position embeddings ------------------------------------------------------------------


def rope_cos_sin(positions: torch.Tensor, head_dim: int, base: float, dtype: torch.dtype):
    """cos, sin tables ``[T, Dh]`` for absolute ``positions [T]`` (computed in float32)."""
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float32) / head_dim))
    freqs = positions.to(torch.float32)[:, None] * inv_freq[None, :]  # [T, Dh/2]
    emb = torch.cat((freqs, freqs), dim=-1)  # [T, Dh]
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x ``[B, H, T, Dh]``, cos/sin ``[T, Dh]`` -> rotated x ``[B, H, T, Dh]``."""
    return x * cos + rotate_half(x) * sin


def attention_mask(q_pos: torch.Tensor, k_pos: torch.Tensor, window: int) -> torch.Tensor:
    """Boolean mask ``[Tq, Tk]`` (True = attend): causal, within the window, and only real keys.

    ``k_pos`` may hold negative positions for empty cache slots; they are masked out.
    """
    q = q_pos[:, None]
    k = k_pos[None, :]
    mask = (k <= q) & (k >= 0)
    if window > 0:
        mask &= k > q - window
    return mask


def blockwise_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, offset: int, block: int) -> torch.Tensor:
    """Causal attention of queries at positions ``offset .. offset+T-1`` over keys at ``0 .. S-1``, one
    block of ``block`` keys at a time with a running max and sum (FlashAttention's online softmax, Dao
    et al. 2022, Alg. 1), so the scores held are ``[B, H, T, block]`` however long the cache is.

    q ``[B, H, T, Dh]``, k and v ``[B, H, S, Dh]`` -> ``[B, H, T, Dh]``; its reference twin is
    ``F.scaled_dot_product_attention`` with ``attention_mask(offset + arange(T), arange(S), 0)``."""
    B, H, T, Dh = q.shape
    qf = q.float() * Dh ** -0.5
    q_pos = torch.arange(offset, offset + T, device=q.device)
    m = qf.new_full((B, H, T, 1), float("-inf"))  # running max of each query's scores
    l = qf.new_zeros(B, H, T, 1)  # running sum of exp(score - m)
    acc = qf.new_zeros(B, H, T, v.shape[-1])  # running sum of exp(score - m) * value
    for s in range(0, min(k.shape[2], offset + T), block):  # keys past the last query: never seen
        kb, vb = k[:, :, s:s + block].float(), v[:, :, s:s + block].float()
        mask = attention_mask(q_pos, torch.arange(s, s + kb.shape[2], device=q.device), 0)  # [T, block]
        scores = (qf @ kb.transpose(-1, -2)).masked_fill(~mask, float("-inf"))  # [B, H, T, block]
        m_new = torch.maximum(m, scores.amax(-1, keepdim=True))
        m_safe = m_new.masked_fill(m_new == float("-inf"), 0.0)  # rows with nothing visible yet
        p = torch.exp(scores - m_safe)
        corr = torch.exp(m - m_safe)
        l = l * corr + p.sum(-1, keepdim=True)
        acc = acc * corr + p @ vb
        m = m_new
    return (acc / l).to(q.dtype)


# --- layers --------------------------------------------------------------------------------------


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with RoPE; optional sliding window and KV cache."""

    def __init__(self, config: ModelConfig, device=None, dtype=None):
        super().__init__()
        fk = dict(device=device, dtype=dtype)
        d = config.d_model
        if d % config.n_head:
            raise ValueError(f"d_model {d} is not divisible by n_head {config.n_head}")
        self.n_head = config.n_head
        self.head_dim = d // config.n_head
        if self.head_dim % 2:
            raise ValueError(f"RoPE needs an even head dimension, got {self.head_dim}")
        self.rope_base = config.rope_base
        self.window = config.sliding_window
        self.max_cache = config.max_cache
        self.qkv = nn.Linear(d, 3 * d, **fk)  # -> [q | k | v], each split into heads
        self.out_proj = nn.Linear(d, d, **fk)

    def _qkv(self, x: torch.Tensor, positions: torch.Tensor):
        """x ``[B, T, D]`` -> q, k, v ``[B, H, T, Dh]`` with RoPE applied to q and k."""
        B, T, _ = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)
        cos, sin = rope_cos_sin(positions, self.head_dim, self.rope_base, x.dtype)
        return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v

    def _out(self, y: torch.Tensor) -> torch.Tensor:
        """y ``[B, H, T, Dh]`` -> ``[B, T, D]``."""
        B, H, T, Dh = y.shape
        return self.out_proj(y.transpose(1, 2).reshape(B, T, H * Dh))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attention over the block itself from position 0 (training / scoring). x ``[B, T, D]``."""
        T = x.shape[1]
        pos = torch.arange(T, device=x.device)
        q, k, v = self._qkv(x, pos)
        if self.window > 0 and T > self.window:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask(pos, pos, self.window))
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self._out(y)

    def forward_cached(self, x: torch.Tensor, start: int, k_cache: torch.Tensor, v_cache: torch.Tensor,
                       key_block: int = 0):
        """A block x ``[B, T, D]`` at positions ``start .. start+T-1``, attending to the cache and to
        itself causally. Returns (y ``[B, T, D]``, k_cache, v_cache) with the block written in (the
        caches are updated in place unless a full-attention cache had to grow). With ``key_block``
        > 0, full attention over more keys than that runs in key blocks (``blockwise_attention``),
        so a chunk of a long prefill holds ``[T, key_block]`` scores, not ``[T, start + T]``."""
        T = x.shape[1]
        pos = torch.arange(start, start + T, device=x.device)
        q, k, v = self._qkv(x, pos)  # [B, H, T, Dh]
        if self.window > 0:
            W = self.window
            # position held by each ring slot before this block: the latest p < start with p % W == slot
            slot = torch.arange(W, device=x.device)
            slot_pos = (start - 1) - torch.remainder(start - 1 - slot, W)  # [W], negative = empty
            keys = torch.cat((k_cache, k), dim=2)  # [B, H, W + T, Dh]
            values = torch.cat((v_cache, v), dim=2)
            mask = attention_mask(pos, torch.cat((slot_pos, pos)), W)  # [T, W + T]
            y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
            # keep the last min(T, W) new keys, each in its slot
            m = min(T, W)
            slots = pos[-m:] % W
            k_cache.index_copy_(2, slots, k[:, :, -m:])
            v_cache.index_copy_(2, slots, v[:, :, -m:])
            return self._out(y), k_cache, v_cache

        end = start + T
        if end > k_cache.shape[2]:
            if self.max_cache > 0:
                raise ValueError(
                    f"KV cache full: {end} tokens exceed max_cache={self.max_cache} "
                    "(set max_cache=0 to grow the cache, or use a sliding window)"
                )
            k_cache, v_cache = _grow(k_cache, end), _grow(v_cache, end)
        k_cache[:, :, start:end] = k
        v_cache[:, :, start:end] = v
        keys, values = k_cache[:, :, :end], v_cache[:, :, :end]  # [B, H, end, Dh]
        if T == 1:  # one new token attends to everything before it
            y = F.scaled_dot_product_attention(q, keys, values)
        elif key_block > 0 and end > key_block:
            y = blockwise_attention(q, keys, values, start, key_block)
        else:
            mask = attention_mask(pos, torch.arange(end, device=x.device), 0)  # [T, end]
            y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
        return self._out(y), k_cache, v_cache


def _grow(cache: torch.Tensor, needed: int) -> torch.Tensor:
    """A copy of ``cache [B, H, C, Dh]`` with room for ``needed`` slots (at least doubling C)."""
    B, H, C, Dh = cache.shape
    new = cache.new_zeros(B, H, max(needed, 2 * C), Dh)
    new[:, :, :C] = cache
    return new


class MLP(nn.Module):
    """d_model -> d_intermediate (GELU) -> d_model."""

    def __init__(self, config: ModelConfig, device=None, dtype=None):
        super().__init__()
        fk = dict(device=device, dtype=dtype)
        hidden = config.d_intermediate or 4 * config.d_model
        self.fc_in = nn.Linear(config.d_model, hidden, **fk)
        self.act = nn.GELU()
        self.fc_out = nn.Linear(hidden, config.d_model, **fk)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_out(self.act(self.fc_in(x)))


class TransformerBlock(nn.Module):
    """Pre-LN block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``."""

    def __init__(self, config: ModelConfig, device=None, dtype=None):
        super().__init__()
        fk = dict(device=device, dtype=dtype)
        self.attn_norm = nn.LayerNorm(config.d_model, eps=config.norm_epsilon, **fk)
        self.attn = CausalSelfAttention(config, **fk)
        self.mlp_norm = nn.LayerNorm(config.d_model, eps=config.norm_epsilon, **fk)
        self.mlp = MLP(config, **fk)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x))
        return x + self.mlp(self.mlp_norm(x))

    def forward_cached(self, x, start, k_cache, v_cache, key_block: int = 0):
        a, k_cache, v_cache = self.attn.forward_cached(self.attn_norm(x), start, k_cache, v_cache, key_block)
        x = x + a
        return x + self.mlp(self.mlp_norm(x)), k_cache, v_cache


# --- the model -----------------------------------------------------------------------------------


class TransformerLM(DecodingModel):
    """Decoder-only Transformer LM (Pythia-like; Mistral-like sliding window when configured).

    Logits have ``config.padded_vocab_size`` columns, as the embedding has that many rows.
    ``key_block`` (a setting, like ``prefill_chunk``): keys per block when a prefilled block attends
    to a longer cache (0: one masked ``scaled_dot_product_attention``, the reference).
    """

    key_block: int = KEY_BLOCK

    def __init__(self, config: ModelConfig, device=None, dtype=None):
        super().__init__()
        if config.arch != "transformer":
            raise ValueError(f"TransformerLM needs arch 'transformer', got {config.arch!r}")
        if config.sliding_window < 0:
            raise ValueError(f"sliding_window must be >= 0, got {config.sliding_window}")
        self.config = config
        fk = dict(device=device, dtype=dtype)
        V, d = config.padded_vocab_size, config.d_model
        self.embedding = nn.Embedding(V, d, **fk)
        self.layers = nn.ModuleList(TransformerBlock(config, **fk) for _ in range(config.n_layer))
        self.norm_f = nn.LayerNorm(d, eps=config.norm_epsilon, **fk)
        self.lm_head = nn.Linear(d, V, bias=False, **fk)
        nn.init.normal_(self.embedding.weight, std=0.02)
        if config.tie_embeddings:
            self.lm_head.weight = self.embedding.weight

    @staticmethod
    def state_shapes(c: ModelConfig) -> dict[str, tuple]:
        """``state_dict()`` names and shapes of the network ``c`` describes, without building it."""
        d, V, hidden = c.d_model, c.padded_vocab_size, c.d_intermediate or 4 * c.d_model
        out = {"embedding.weight": (V, d)}
        for i in range(c.n_layer):
            p = f"layers.{i}."
            out.update({p + "attn_norm.weight": (d,), p + "attn_norm.bias": (d,), p + "attn.qkv.weight": (3 * d, d),
                        p + "attn.qkv.bias": (3 * d,), p + "attn.out_proj.weight": (d, d), p + "attn.out_proj.bias": (d,),
                        p + "mlp_norm.weight": (d,), p + "mlp_norm.bias": (d,), p + "mlp.fc_in.weight": (hidden, d),
                        p + "mlp.fc_in.bias": (hidden,), p + "mlp.fc_out.weight": (d, hidden), p + "mlp.fc_out.bias": (d,)})
        out.update({"norm_f.weight": (d,), "norm_f.bias": (d,), "lm_head.weight": (V, d)})
        return out

    @property
    def _param(self) -> torch.Tensor:
        return self.embedding.weight

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids ``[B, T]`` -> logits ``[B, T, V]`` from an empty state."""
        x = self.embedding(input_ids)  # [B, T, D]
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm_f(x))

    def allocate_state(self, batch_size: int, device=None, dtype=None) -> TransformerState:
        cfg = self.config
        device = device if device is not None else self._param.device
        dtype = dtype if dtype is not None else self._param.dtype
        H, Dh = cfg.n_head, cfg.d_model // cfg.n_head
        slots = cfg.sliding_window if cfg.sliding_window > 0 else cfg.max_cache  # 0: grown on demand

        def empty():
            return torch.zeros(batch_size, H, slots, Dh, device=device, dtype=dtype)

        n = cfg.n_layer
        return TransformerState(
            k=[empty() for _ in range(n)], v=[empty() for _ in range(n)], position=0, window=cfg.sliding_window
        )

    def prefill_block(self, input_ids: torch.Tensor, state: TransformerState, *, last_only: bool = False) -> torch.Tensor:
        """input_ids ``[B, T]`` (T >= 1) -> logits ``[B, T, V]`` (``[B, V]`` with ``last_only``) in one
        piece; appends the block to ``state`` (a chunked prefill grows the KV cache chunk by chunk, each
        chunk's causal mask offset by ``state.position``)."""
        B, T = input_ids.shape
        if T < 1:
            raise ValueError("prefill needs at least one token")
        if state.k and state.k[0].shape[0] != B:
            raise ValueError(f"batch size {B} does not match the state's {state.k[0].shape[0]}")
        x = self.embedding(input_ids)  # [B, T, D]
        for i, layer in enumerate(self.layers):
            x, state.k[i], state.v[i] = layer.forward_cached(x, state.position, state.k[i], state.v[i], self.key_block)
        state.position += T
        if last_only:
            x = x[:, -1]  # [B, D]
        return self.lm_head(self.norm_f(x))

    def step(self, input_ids: torch.Tensor, state: TransformerState) -> torch.Tensor:
        """input_ids ``[B]`` -> logits ``[B, V]``."""
        return self.prefill_block(input_ids[:, None], state)[:, 0]


__all__ = ["TransformerLM", "TransformerState", "apply_rope", "attention_mask", "blockwise_attention", "rope_cos_sin"]
