"""A tensor-loop run suspended and resumed any number of times gives exactly the uninterrupted run."""

import gzip
import random
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tapehead.agent import models  # noqa: E402
from tapehead.agent.loops.episode import Limits  # noqa: E402
from tapehead.agent.loops.snapshot import Suspend, Suspended  # noqa: E402
from tapehead.agent.loops.tensor import run_tensor_batched  # noqa: E402

C = models.codec()
POLICY = Path(__file__).resolve().parents[2] / "evals" / "policies" / "addition"


def _problems(k=3, digits=8):
    rng = random.Random(11)
    return [f"{rng.randrange(10 ** (digits - 1), 10 ** digits)}+{rng.randrange(10 ** (digits - 1), 10 ** digits)}="
            for _ in range(k)]


def _run_to_end(model, texts, limits, path, **kw):
    suspensions = 0
    while True:
        try:
            return run_tensor_batched(model, C, texts, limits=limits, batch_size=len(texts),
                                      suspend=Suspend(str(path), after_s=0.0), **kw), suspensions
        except Suspended as e:
            assert Path(e.path).exists() and e.rows == len(texts)
            suspensions += 1


@pytest.mark.parametrize("compile", [False, "rules"])
def test_suspend_and_resume_equals_one_run(tmp_path, compile):
    model, _ = models.load(str(POLICY), device="cpu")
    texts, limits = _problems(), Limits(max_tokens=800)
    ref = run_tensor_batched(model, C, texts, limits=limits, batch_size=len(texts), sync_every=64)
    got, suspensions = _run_to_end(model, texts, limits, tmp_path / "snap.pt.gz", sync_every=64, compile=compile)
    assert suspensions >= 3  # after_s=0: it stops at every host sync after the first
    for a, b in zip(ref, got):
        assert (a.tokens, a.answer, a.exit, a.counts) == (b.tokens, b.answer, b.exit, b.counts)
    assert all(int(t.answer) == int(x[:-1].split("+")[0]) + int(x[:-1].split("+")[1]) for t, x in zip(got, texts))


def test_snapshot_of_other_problems_or_corrupt_is_refused(tmp_path):
    model, _ = models.load(str(POLICY), device="cpu")
    path = tmp_path / "snap.pt.gz"
    texts, limits = _problems(), Limits(max_tokens=800)
    with pytest.raises(Suspended):
        run_tensor_batched(model, C, texts, limits=limits, batch_size=3, sync_every=64, suspend=Suspend(str(path), 0.0))
    other = _problems(3, 8)[::-1]
    with pytest.raises(ValueError, match="other problems"):
        run_tensor_batched(model, C, other, limits=limits, batch_size=3, suspend=Suspend(str(path), 0.0))
    path.write_bytes(gzip.compress(b"not a snapshot"))
    with pytest.raises(ValueError, match="not a readable loop snapshot"):
        run_tensor_batched(model, C, texts, limits=limits, batch_size=3, suspend=Suspend(str(path), 0.0))


def test_suspend_needs_one_lockstep_batch(tmp_path):
    model, _ = models.load(str(POLICY), device="cpu")
    with pytest.raises(ValueError, match="one lockstep batch"):
        run_tensor_batched(model, C, ["1+1=", "12+34="], limits=Limits(max_tokens=50),
                           suspend=Suspend(str(tmp_path / "s"), 0.0))
