"""Baseline policy networks (Transformer full / sliding window, LSTM, GRU): the decoding protocol.

Teacher-forced prefill -> steps -> prefill -> steps matches one forward pass; the sliding-window KV
cache stays bounded; the window and causality are what they claim; the factory builds every baseline.
"""

import pytest
import torch

from tapehead.model.config import ModelConfig
from tapehead.model.factory import build_model
from tapehead.model.networks.rnn import RNNLM, RNNState
from tapehead.model.networks.transformer import TransformerLM, TransformerState

B, T = 3, 37  # batch and a length that is a multiple of nothing convenient
SMALL = dict(vocab_size=288, d_model=32, n_layer=2, n_head=4)

CONFIGS = {
    "transformer": dict(arch="transformer"),
    "transformer-maxcache": dict(arch="transformer", max_cache=40),
    "transformer-window8": dict(arch="transformer", sliding_window=8),  # window < every prefill block
    "transformer-window16": dict(arch="transformer", sliding_window=16),  # window > the prefill blocks
    "transformer-untied": dict(arch="transformer", tie_embeddings=False, d_intermediate=48),
    "lstm": dict(arch="lstm", rnn_hidden=48),  # hidden != d_model: exercises the projection
    "gru": dict(arch="gru"),
}


def make(name, **over):
    torch.manual_seed(0)
    cfg = ModelConfig(**{**SMALL, **CONFIGS[name], **over})
    return build_model(cfg, dtype=torch.float32).eval()


def rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def decode(model, ids, schedule):
    """Teacher-forced decoding: ``schedule`` lists prefill block lengths (int) and step runs ("s", n);
    the last entry may be ("s", None) for steps to the end. Returns logits [B, T, V] and the state."""
    state = model.allocate_state(ids.shape[0])
    out, t = [], 0
    for item in schedule:
        if isinstance(item, int):
            out.append(model.prefill(ids[:, t : t + item], state))
            t += item
        else:
            n = ids.shape[1] - t if item[1] is None else item[1]
            for _ in range(n):
                out.append(model.step(ids[:, t], state)[:, None])
                t += 1
    assert t == ids.shape[1]
    return torch.cat(out, dim=1), state


@pytest.mark.parametrize("name", list(CONFIGS))
@torch.no_grad()
def test_decoding_matches_forward(name):
    model = make(name)
    ids = torch.randint(0, model.config.vocab_size, (B, T), generator=torch.Generator().manual_seed(1))
    ref = model(ids)
    assert ref.shape == (B, T, model.config.padded_vocab_size)
    for schedule in ([13, ("s", 5), 9, ("s", None)], [("s", 4), 17, ("s", 2), 1, 13]):
        got, state = decode(model, ids, schedule)
        assert rel_err(got, ref) <= 1e-4, (name, schedule)
        if isinstance(state, TransformerState):
            assert state.position == T


@torch.no_grad()
def test_sliding_window_state_is_bounded():
    W = 8
    model = make("transformer-window8")
    ids = torch.randint(0, 288, (B, T), generator=torch.Generator().manual_seed(2))
    state = model.allocate_state(B)
    Dh = 32 // 4
    full_bytes = 2 * 2 * B * 4 * W * Dh * 4  # (k, v) x layers x [B, H, W, Dh] x float32
    sizes = []
    model.prefill(ids[:, :13], state)
    for t in range(13, T):
        model.step(ids[:, t], state)
        sizes.append(state.nbytes())
    assert set(sizes) == {full_bytes}
    assert state.cached_tokens == W and all(k.shape[2] == W for k in state.k)


@torch.no_grad()
def test_full_cache_grows_and_max_cache_is_enforced():
    model = make("transformer")
    state = model.allocate_state(B)
    before = state.nbytes()
    model.prefill(torch.zeros(B, 10, dtype=torch.long), state)
    assert state.nbytes() > before and state.cached_tokens == 10

    capped = make("transformer-maxcache")
    state = capped.allocate_state(B)
    capped.prefill(torch.zeros(B, 40, dtype=torch.long), state)
    with pytest.raises(ValueError, match="max_cache"):
        capped.step(torch.zeros(B, dtype=torch.long), state)


@pytest.mark.parametrize("name", ["transformer", "transformer-window8", "lstm", "gru"])
@torch.no_grad()
def test_causal(name):
    """Changing token t changes no logit before t."""
    model = make(name)
    ids = torch.randint(0, 288, (1, 20), generator=torch.Generator().manual_seed(3))
    other = ids.clone()
    other[0, 12] = (other[0, 12] + 1) % 288
    a, b = model(ids), model(other)
    assert torch.equal(a[:, :12], b[:, :12])
    assert not torch.allclose(a[:, 12:], b[:, 12:])


@torch.no_grad()
def test_window_limits_what_a_query_sees():
    """One layer, window W: logits at position p depend only on tokens p-W+1 .. p."""
    W = 5
    model = make("transformer-window8", n_layer=1, sliding_window=W)
    ids = torch.randint(0, 288, (1, 20), generator=torch.Generator().manual_seed(4))
    other = ids.clone()
    other[0, 3] = (other[0, 3] + 1) % 288
    a, b = model(ids), model(other)
    assert not torch.allclose(a[:, 3 : 3 + W], b[:, 3 : 3 + W])  # positions 3..7 see token 3
    assert torch.allclose(a[:, 3 + W :], b[:, 3 + W :], atol=1e-6)  # 8.. do not


def test_factory_builds_each_baseline():
    for arch, cls, state_cls in [
        ("transformer", TransformerLM, TransformerState),
        ("lstm", RNNLM, RNNState),
        ("gru", RNNLM, RNNState),
    ]:
        cfg = ModelConfig(arch=arch, **SMALL)
        model = build_model(cfg)
        assert type(model) is cls and model.config is cfg
        assert model.lm_head.weight is model.embedding.weight  # tied by default
        assert model.num_parameters() < sum(p.numel() for p in model.state_dict().values())
        state = model.allocate_state(2)
        assert isinstance(state, state_cls)
        assert model.step(torch.tensor([1, 2]), state).shape == (2, cfg.padded_vocab_size)
    lstm = build_model(ModelConfig(arch="lstm", **SMALL))
    assert lstm.allocate_state(2).c.shape == (2, 2, 32)
    gru = build_model(ModelConfig(arch="gru", rnn_hidden=40, **SMALL))
    assert gru.allocate_state(2).c is None and gru.allocate_state(2).h.shape == (2, 2, 40)
