"""Mamba2LM: decoding parity, mamba-ssm naming/shapes/initialisation, fixed-size state, paths."""

import math

import pytest

torch = pytest.importorskip("torch")

from tapehead.model import kernels  # noqa: E402
from tapehead.model.config import ModelConfig  # noqa: E402
from tapehead.model.factory import build_model  # noqa: E402

SMALL = ModelConfig(vocab_size=282, d_model=64, n_layer=2, d_state=16, headdim=16, chunk_size=8)


def rel(a, b):
    return ((a - b).norm() / b.norm()).item()


def model(cfg=SMALL, seed=0):
    torch.manual_seed(seed)
    return build_model(cfg).eval()


@pytest.mark.parametrize("cfg", [SMALL, ModelConfig(vocab_size=282, d_model=64, n_layer=3, d_state=8, headdim=8,
                                                      ngroups=2, chunk_size=16)])
def test_step_prefill_interleaving_equals_forward(cfg):
    m = model(cfg)
    ids = torch.randint(0, 282, (3, 37))
    with torch.no_grad():
        full = m(ids)
        st = m.allocate_state(3)
        outs = [m.prefill(ids[:, :13], st)]
        outs += [m.step(ids[:, t], st)[:, None] for t in range(13, 18)]
        outs.append(m.prefill(ids[:, 18:27], st))
        outs += [m.step(ids[:, t], st)[:, None] for t in range(27, 37)]
    assert rel(torch.cat(outs, 1), full) < 1e-4
    with torch.no_grad():  # all steps from an empty state, and a 1-token prefill
        st = m.allocate_state(3)
        outs = [m.prefill(ids[:, :1], st)] + [m.step(ids[:, t], st)[:, None] for t in range(1, 37)]
    assert rel(torch.cat(outs, 1), full) < 1e-4


def test_state_size_is_independent_of_episode_length():
    m = model()
    st = m.allocate_state(2)
    n0 = st.nbytes()
    with torch.no_grad():
        m.prefill(torch.randint(0, 282, (2, 300)), st)
        for _ in range(50):
            m.step(torch.tensor([1, 2]), st)
    assert st.nbytes() == n0
    c = SMALL
    per_layer = (c.d_inner + 2 * c.d_state) * c.d_conv * 4 + c.nheads * c.headdim * c.d_state * 4
    assert n0 == 2 * c.n_layer * per_layer


def test_parameter_names_and_shapes_follow_mamba_ssm():
    cfg = ModelConfig(vocab_size=282, d_model=256, n_layer=4, d_state=64, headdim=64)
    sd = build_model(cfg).state_dict()
    d_inner, h, conv_dim = 512, 8, 512 + 2 * 64
    expect = {"backbone.embedding.weight": (288, 256), "backbone.norm_f.weight": (256,), "lm_head.weight": (288, 256)}
    for i in range(4):
        p = f"backbone.layers.{i}."
        expect.update({
            p + "norm.weight": (256,), p + "mixer.in_proj.weight": (2 * d_inner + 2 * 64 + h, 256),
            p + "mixer.conv1d.weight": (conv_dim, 1, 4), p + "mixer.conv1d.bias": (conv_dim,),
            p + "mixer.dt_bias": (h,), p + "mixer.A_log": (h,), p + "mixer.D": (h,),
            p + "mixer.norm.weight": (d_inner,), p + "mixer.out_proj.weight": (256, d_inner),
        })
    assert {k: tuple(v.shape) for k, v in sd.items()} == expect


def test_initialisation_follows_mamba_ssm():
    cfg = ModelConfig(vocab_size=282, d_model=256, n_layer=4, d_state=64, headdim=64)
    torch.manual_seed(1)
    m = build_model(cfg)
    assert m.lm_head.weight is m.backbone.embedding.weight  # tied
    assert abs(m.backbone.embedding.weight.std().item() - 0.02) < 0.002
    mix = m.backbone.layers[0].mixer
    dt = torch.nn.functional.softplus(mix.dt_bias)
    assert dt.min() >= 1e-4 - 1e-7 and dt.max() <= 0.1 + 1e-6
    A = torch.exp(mix.A_log)
    assert A.min() >= 1 and A.max() <= 16
    assert torch.equal(mix.D, torch.ones(8)) and torch.equal(mix.norm.weight, torch.ones(512))
    bound = 1 / math.sqrt(512) / math.sqrt(4)  # kaiming_uniform(a=sqrt 5) bound, rescaled by 1/sqrt(n_layer)
    assert mix.out_proj.weight.abs().max() <= bound + 1e-6
    assert mix.out_proj.weight.abs().max() > 0.8 * bound
    assert all(getattr(p, "_no_weight_decay", False) for p in (mix.dt_bias, mix.A_log, mix.D))


def test_cpu_path_is_the_reference_and_says_so():
    assert kernels.load() is None or torch.cuda.is_available()
    assert model().kernel_path() == "pytorch reference (cpu)"


def test_training_gradients_flow_to_every_parameter():
    m = model()
    m.train()
    logits = m(torch.randint(0, 282, (2, 20)))
    logits.float().logsumexp(-1).mean().backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing
