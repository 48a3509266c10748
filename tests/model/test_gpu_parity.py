"""On the H200: the mamba-ssm kernel path against our pure-PyTorch path, and against mamba-ssm's own
``MambaLMHeadModel`` on the same weights. Run by .ci/gpu (never in CI: no CUDA there)."""

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.gpu

from tapehead.model import kernels  # noqa: E402
from tapehead.model.config import ModelConfig  # noqa: E402
from tapehead.model.decoder import BatchDecoder  # noqa: E402
from tapehead.model.factory import build_model  # noqa: E402

CFG = ModelConfig(vocab_size=282, d_model=256, n_layer=4, d_state=64, headdim=64, chunk_size=64)


def rel(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_model(CFG, device="cuda").eval()
    assert kernels.load() is not None, f"mamba-ssm kernels unavailable: {kernels.describe()}"
    return m


def test_path_is_visible(model):
    assert model.kernel_path().startswith("mamba-ssm")


def test_forward_fp32_kernel_vs_reference(model):
    ids = torch.randint(0, 282, (4, 301), device="cuda")
    with torch.no_grad():
        fast = model(ids)
        with kernels.disabled():
            ref = model(ids)
    assert rel(fast, ref) < 3e-3  # Triton's SSD uses TF32 dot products


def test_forward_bf16_kernel_vs_fp32_reference(model):
    ids = torch.randint(0, 282, (4, 301), device="cuda")
    with torch.no_grad():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            fast = model(ids)
        with kernels.disabled():
            ref = model(ids)
    assert rel(fast, ref) < 3e-2


def test_100_decode_steps_kernel_vs_reference(model):
    ids = torch.randint(0, 282, (3, 140), device="cuda")
    with torch.no_grad():
        s_fast, s_ref = model.allocate_state(3), model.allocate_state(3)
        model.prefill(ids[:, :40], s_fast)
        with kernels.disabled():
            model.prefill(ids[:, :40], s_ref)
        worst = 0.0
        for t in range(40, 140):
            a = model.step(ids[:, t], s_fast)
            with kernels.disabled():
                b = model.step(ids[:, t], s_ref)
            worst = max(worst, rel(a, b))
            assert torch.equal(a.argmax(-1), b.argmax(-1))
    assert worst < 1e-3


def test_chunked_prefill_on_the_kernels_equals_one_piece(model):
    """The Triton SSD scan's initial state and the conv history carry a prefill across chunks (model/protocol.py):
    the chunked kernel prefill against the one-piece kernel prefill and the reference, logits and every state."""
    ids = torch.randint(0, 282, (3, 1000), device="cuda")
    with torch.no_grad():
        s_one, s_chunk, s_ref = model.allocate_state(3), model.allocate_state(3), model.allocate_state(3)
        one = model.prefill(ids, s_one, chunk=0)
        chunked = model.prefill(ids, s_chunk, chunk=200)  # not a multiple of the SSD chunk (64)
        with kernels.disabled():
            ref = model.prefill(ids, s_ref, chunk=0)
        last = model.prefill(ids, model.allocate_state(3), chunk=200, last_only=True)
    assert rel(chunked, one) < 3e-3 and rel(chunked, ref) < 3e-3  # TF32 dot products in both kernel runs
    assert rel(last, chunked[:, -1]) < 1e-5
    for a, b, c in zip(s_chunk.tensors(), s_one.tensors(), s_ref.tensors()):
        assert rel(a, b) < 3e-3 and rel(a, c) < 3e-3
    nxt = ids[:, 0]
    assert torch.equal(model.step(nxt, s_chunk).argmax(-1), model.step(nxt, s_one).argmax(-1))


def test_state_dict_moves_both_ways_with_mamba_ssm(model):
    from mamba_ssm.models.config_mamba import MambaConfig
    from mamba_ssm.models.mixer_seq_simple import MambaLMHeadModel

    theirs = MambaLMHeadModel(MambaConfig(**CFG.mamba_ssm_config()), device="cuda").eval()
    theirs.load_state_dict(model.state_dict(), strict=True)
    ids = torch.randint(0, 282, (2, 200), device="cuda")
    with torch.no_grad():
        assert rel(theirs(ids).logits, model(ids)) < 1e-4
    torch.manual_seed(5)
    theirs2 = MambaLMHeadModel(MambaConfig(**CFG.mamba_ssm_config()), device="cuda").eval()
    ours2 = build_model(CFG, device="cuda").eval()
    ours2.load_state_dict(theirs2.state_dict(), strict=True)
    assert sorted(theirs2.state_dict()) == sorted(ours2.state_dict())
    with torch.no_grad():
        assert rel(ours2(ids), theirs2(ids).logits) < 1e-4


def test_cuda_graph_decoder_matches_eager(model):
    ids = torch.randint(0, 282, (8, 30), device="cuda")
    g = BatchDecoder(model, 8, 282, device="cuda", cuda_graph=True)
    e = BatchDecoder(model, 8, 282, device="cuda", cuda_graph=False)
    a, b = g.prefill(ids), e.prefill(ids)
    assert a == b
    for _ in range(200):
        a, b = g.step(a), e.step(b)
        assert a == b
    assert g.graph is not None and e.graph is None
