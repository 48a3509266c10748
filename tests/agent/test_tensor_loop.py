"""The device-resident lockstep loop must give exactly run_batched's trajectories (its reference twin)."""

import pytest

torch = pytest.importorskip("torch")

from tapehead.agent import models  # noqa: E402
from tapehead.agent.loops.batched import run_batched  # noqa: E402
from tapehead.agent.loops.episode import Limits  # noqa: E402
from tapehead.agent.loops.tensor import run_tensor_batched  # noqa: E402

C = models.codec()
FIELDS = ("task", "input", "prompt_len", "tokens", "answer", "exit", "counts", "policy", "meta")


def _model(seed):
    torch.manual_seed(seed)
    return models.build(models.model_config(d_model=64, n_layer=2, d_state=16, headdim=16, chunk_size=16)).eval()


def _same(ref, got):
    assert len(ref) == len(got)
    for a, b in zip(ref, got):
        for f in FIELDS:
            assert getattr(a, f) == getattr(b, f), (a.input, f)


TEXTS = ["12+34=", "99+1=", "5+7=", "0+0=", "31+42=", "64+64=", "7+8=", "70+11=", "123+4567=", "8+80="]


@pytest.mark.parametrize("seed,sync_every", [(0, 1), (4, 7), (5, 64), (0, 300)])
def test_tensor_loop_equals_run_batched(seed, sync_every, monkeypatch):
    # rows that write [CALL] are re-run by run_batched: these seeds keep nearly all rows on the tensor path
    import tapehead.agent.loops.tensor as tl

    on_tensor_path = []
    chunk = tl._run_chunk
    monkeypatch.setattr(tl, "_run_chunk", lambda *a, **k: [r for r in chunk(*a, **k) if on_tensor_path.append(
        r[1] != tl.CALL_EXIT) or True])
    model = _model(seed)
    limits = Limits(max_tokens=150, max_consecutive_malformed=2)
    ref = run_batched(lambda b: models.decoder(model, b), C, TEXTS, task="t", limits=limits, batch_size=3,
                      policy_name="p")
    got = run_tensor_batched(model, C, TEXTS, task="t", limits=limits, batch_size=3, policy_name="p",
                             sync_every=sync_every)
    _same(ref, got)
    assert len(on_tensor_path) == len(TEXTS) and sum(on_tensor_path) >= len(TEXTS) - 1


def test_limits_tool_calls_and_many_malformed():
    model = _model(5)
    for limits in (Limits(max_tokens=60, max_tool_calls=3), Limits(max_tokens=80, max_consecutive_malformed=5)):
        ref = run_batched(lambda b: models.decoder(model, b), C, TEXTS, limits=limits, batch_size=4)
        got = run_tensor_batched(model, C, TEXTS, limits=limits, batch_size=4, sync_every=16)
        _same(ref, got)


def test_statuses_are_exercised():
    # several random models: the comparison above must cover more than one way of ending
    exits = set()
    for seed in range(4):
        model = _model(seed)
        got = run_tensor_batched(model, C, TEXTS, limits=Limits(max_tokens=150, max_consecutive_malformed=2),
                                 batch_size=8, sync_every=32)
        exits |= {t.exit for t in got}
    assert len(exits) >= 2, exits


def test_refuses_call_tools():
    with pytest.raises(ValueError):
        run_tensor_batched(_model(0), C, ["1+1="], call_tools={"x": str})


def test_shipped_addition_policy():
    import random
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "evals" / "policies" / "addition"
    model, _ = models.load(str(path), device="cpu")
    rng = random.Random(7)
    pairs = [(rng.randrange(10 ** 19, 10 ** 20), rng.randrange(10 ** 19, 10 ** 20)) for _ in range(3)]
    pairs.append((rng.randrange(10 ** 19, 10 ** 20), 7))
    texts = [f"{a}+{b}=" for a, b in pairs]
    limits = Limits(max_tokens=3000)
    ref = run_batched(lambda b: models.decoder(model, b), C, texts, limits=limits, batch_size=4)
    got = run_tensor_batched(model, C, texts, limits=limits, batch_size=4, sync_every=256)
    _same(ref, got)
    for (a, b), t in zip(pairs, got):
        assert t.exit == "eos" and t.answer == str(a + b)


@pytest.mark.parametrize("mode", ["rules", "all"])
def test_compiled_step_equals_run_batched(mode):
    # the tape rules (and with "all" the network's step) through torch.compile; sync_every=16 makes
    # the buffers grow several times under the compiled step
    model = _model(4)
    limits = Limits(max_tokens=120, max_consecutive_malformed=2)
    ref = run_batched(lambda b: models.decoder(model, b), C, TEXTS, task="t", limits=limits, batch_size=5)
    got = run_tensor_batched(model, C, TEXTS, task="t", limits=limits, batch_size=5, sync_every=16, compile=mode)
    _same(ref, got)


def test_compile_mode_is_checked():
    with pytest.raises(ValueError, match="compile must be one of"):
        run_tensor_batched(_model(0), C, TEXTS[:1], limits=Limits(max_tokens=10), compile="fast")
