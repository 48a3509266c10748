"""Chunked prefill against the one-piece prefill, for every architecture (model/protocol.py).

A prefill cut into chunks, the state carried from one to the next (Mamba-2: conv history and SSD
initial state; Transformer: the KV cache, grown chunk by chunk with the causal mask offset; LSTM/GRU:
the hidden state), gives the same logits and every piece of the same state as one piece, from an
empty state and from a state that steps have already advanced. The blockwise attention a chunk uses
over a long cache equals masked ``scaled_dot_product_attention``.
"""

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

from tapehead.model.config import ModelConfig  # noqa: E402
from tapehead.model.factory import build_model  # noqa: E402
from tapehead.model.networks.transformer import TransformerState, attention_mask, blockwise_attention  # noqa: E402

B, T = 2, 61  # a length that no chunk below divides
CONFIGS = {
    "mamba2": dict(arch="mamba2", d_model=32, n_layer=2, d_state=8, headdim=16, chunk_size=8),
    "mamba2-groups": dict(arch="mamba2", d_model=32, n_layer=2, d_state=8, headdim=8, ngroups=2, chunk_size=16),
    "transformer": dict(arch="transformer", d_model=32, n_layer=2, n_head=4),
    "transformer-maxcache": dict(arch="transformer", d_model=32, n_layer=2, n_head=4, max_cache=80),
    "transformer-window8": dict(arch="transformer", d_model=32, n_layer=2, n_head=4, sliding_window=8),
    "transformer-window16": dict(arch="transformer", d_model=32, n_layer=2, n_head=4, sliding_window=16),
    "lstm": dict(arch="lstm", d_model=32, n_layer=2, rnn_hidden=24),
    "gru": dict(arch="gru", d_model=32, n_layer=2),
}


def make(name):
    torch.manual_seed(0)
    return build_model(ModelConfig(vocab_size=288, **CONFIGS[name])).eval()


def pieces(state) -> list[torch.Tensor]:
    """Every tensor of a decoding state, a full-attention KV cache cut to the positions it holds
    (its capacity depends on how it grew, its contents must not)."""
    if isinstance(state, TransformerState) and not state.window:
        n = state.position
        return [t[:, :, :n] for t in state.k + state.v]
    return state.tensors()


def close(a, b, tol=1e-5):
    scale = max(b.abs().max().item(), 1.0)
    return (a - b).abs().max().item() <= tol * scale


def run(model, ids, warm: int, chunk: int, key_block: int, last_only=False):
    """Steps over the first ``warm`` tokens (a state already advanced), then one prefill of the rest."""
    if hasattr(model, "key_block"):
        model.key_block = key_block
    state = model.allocate_state(ids.shape[0])
    for t in range(warm):
        model.step(ids[:, t], state)
    out = model.prefill(ids[:, warm:], state, chunk=chunk, last_only=last_only)
    return out, state


@pytest.mark.parametrize("warm", [0, 3])
@pytest.mark.parametrize("chunk", [8, 13])
@pytest.mark.parametrize("name", list(CONFIGS))
@torch.no_grad()
def test_chunked_equals_one_piece(name, chunk, warm):
    model = make(name)
    ids = torch.randint(0, 288, (B, T))
    ref, ref_state = run(model, ids, warm, chunk=0, key_block=0)  # one piece, masked SDPA
    got, got_state = run(model, ids, warm, chunk=chunk, key_block=chunk)  # blockwise over the cache
    assert got.shape == ref.shape == (B, T - warm, model.config.padded_vocab_size)
    assert close(got, ref)
    ref_p, got_p = pieces(ref_state), pieces(got_state)
    assert len(ref_p) == len(got_p) > 0
    for a, b in zip(got_p, ref_p):
        assert a.shape == b.shape and close(a, b)
    if isinstance(ref_state, TransformerState):
        assert got_state.position == ref_state.position == T
    # the state goes on to decode identically
    nxt = torch.randint(0, 288, (B,))
    assert close(model.step(nxt, got_state), model.step(nxt, ref_state))


@pytest.mark.parametrize("name", list(CONFIGS))
@torch.no_grad()
def test_last_only_is_the_last_row_and_leaves_the_same_state(name):
    model = make(name)
    ids = torch.randint(0, 288, (B, T))
    full, s_full = run(model, ids, 0, chunk=16, key_block=16)
    last, s_last = run(model, ids, 0, chunk=16, key_block=16, last_only=True)
    assert last.shape == (B, model.config.padded_vocab_size)
    assert close(last, full[:, -1])
    for a, b in zip(pieces(s_last), pieces(s_full)):
        assert torch.equal(a, b)


@torch.no_grad()
def test_default_chunk_is_the_models_setting():
    model = make("mamba2")
    ids = torch.randint(0, 288, (1, 40))
    model.prefill_chunk = 7
    s_default, s_seven, s_one = (model.allocate_state(1) for _ in range(3))
    a = model.prefill(ids, s_default, last_only=True)
    b = model.prefill(ids, s_seven, chunk=7, last_only=True)
    c = model.prefill(ids, s_one, chunk=0, last_only=True)
    assert torch.equal(a, b)  # the same chunks, the same arithmetic
    assert close(a, c)
    with pytest.raises(ValueError, match="chunk must be >= 0"):
        model.prefill(ids, s_one, chunk=-1)
    with pytest.raises(ValueError, match="at least one token"):
        model.prefill(ids[:, :0], s_one)


@pytest.mark.parametrize("offset,T_,block", [(0, 9, 4), (20, 7, 8), (33, 1, 5), (5, 16, 64)])
@torch.no_grad()
def test_blockwise_attention_equals_masked_sdpa(offset, T_, block):
    torch.manual_seed(offset)
    S = offset + T_
    q, k, v = torch.randn(2, 3, T_, 8), torch.randn(2, 3, S, 8), torch.randn(2, 3, S, 8)
    mask = attention_mask(torch.arange(offset, S), torch.arange(S), 0)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert close(blockwise_attention(q, k, v, offset, block), ref)
