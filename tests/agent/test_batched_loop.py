"""The batched loop must produce exactly the single loop's trajectories (same model, same tapes)."""

import pytest

torch = pytest.importorskip("torch")

from tapehead.agent import models  # noqa: E402
from tapehead.agent.loops.batched import run_batched  # noqa: E402
from tapehead.agent.loops.episode import Limits  # noqa: E402
from tapehead.agent.loops.loop import run_episode  # noqa: E402

C = models.codec()


def _model(seed):
    torch.manual_seed(seed)
    return models.build(models.model_config(d_model=64, n_layer=2, d_state=16, headdim=16, chunk_size=16)).eval()


@pytest.mark.parametrize("seed", [0, 1])
def test_batched_equals_single(seed):
    model = _model(seed)
    texts = ["12+34=", "99+1=", "5+7=", "0+0=", "31+42=", "64+64=", "7+8=", "70+11="]  # two prompt lengths
    limits = Limits(max_tokens=120, max_consecutive_malformed=2)
    batched = run_batched(lambda b: models.decoder(model, b), C, texts, limits=limits, batch_size=3)
    for text, bt in zip(texts, batched):
        single = run_episode(models.model_policy(model), C, text, limits=limits)
        assert bt.tokens == single.tokens, text
        assert (bt.exit, bt.answer, bt.counts) == (single.exit, single.answer, single.counts)


def test_batched_with_a_trained_like_policy_is_exact_on_teacher_forced_replay():
    # the teacher's trace replayed through the model: rows finish at different times
    model = _model(3)
    texts = ["1+1=", "123+456=", "9999+1="]
    limits = Limits(max_tokens=40)
    out = run_batched(lambda b: models.decoder(model, b), C, texts, limits=limits, batch_size=8)
    assert [t.input for t in out] == texts
    assert all(t.exit in ("eos", "max_tokens", "malformed") for t in out)
