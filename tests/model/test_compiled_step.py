"""The torch.compile'd CPU decode step (model/decoder.py, agent/policies/policy.py) is a fast path: its
reference twin is the eager ``model.step``; both must give the same tokens and close logits."""

import pytest

torch = pytest.importorskip("torch")

from tapehead.model.config import ModelConfig  # noqa: E402
from tapehead.model.decoder import BatchDecoder  # noqa: E402
from tapehead.model.factory import build_model  # noqa: E402


@pytest.mark.slow
def test_compiled_cpu_step_matches_eager():
    torch.manual_seed(0)
    m = build_model(ModelConfig(vocab_size=282, d_model=64, n_layer=2, d_state=16, headdim=16, chunk_size=8)).eval()
    ids = torch.randint(0, 282, (2, 11))
    fast = BatchDecoder(m, 2, 282, device="cpu", compile_cpu=True)
    ref = BatchDecoder(m, 2, 282, device="cpu")
    a, b = fast.prefill(ids), ref.prefill(ids)
    assert a == b
    for _ in range(40):
        a, b = fast.step(a), ref.step(b)
        assert a == b
    for s_fast, s_ref in zip(fast.state.tensors(), ref.state.tensors()):
        assert torch.allclose(s_fast, s_ref, rtol=1e-4, atol=1e-5)
