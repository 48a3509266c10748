"""A loop snapshot (agent/loops/snapshot.py) is untrusted on resume: checked before any of it is used.

A real suspended run of the shipped policy is saved, then damaged the ways a hostile or broken file
could be: other shapes or dtypes, token ids outside the vocabulary, lengths past the buffers, missing
fields, a gzip bomb. Each is one ``ValueError`` saying what is wrong, and the run is not touched.
"""

import gzip
import io
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tapehead.agent import models  # noqa: E402
from tapehead.agent.loops.episode import Limits  # noqa: E402
from tapehead.agent.loops.snapshot import Suspend, Suspended  # noqa: E402
from tapehead.agent.loops.tensor import run_tensor_batched  # noqa: E402

C = models.codec()
POLICY = Path(__file__).resolve().parents[2] / "evals" / "policies" / "addition"
TEXTS, LIMITS = ["12345678+87654321=", "11111111+99999999="], Limits(max_tokens=600)


@pytest.fixture(scope="module")
def model():
    return models.load(str(POLICY), device="cpu")[0]


@pytest.fixture(scope="module")
def snapshot(model, tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("snap") / "s.pt.gz"
    with pytest.raises(Suspended):
        run_tensor_batched(model, C, TEXTS, limits=LIMITS, batch_size=2, sync_every=32, suspend=Suspend(str(path), 0.0))
    return path.read_bytes()


def _load(raw: bytes) -> dict:
    return torch.load(io.BytesIO(gzip.decompress(raw)), weights_only=True)


def _save(obj: dict, path: Path) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    path.write_bytes(gzip.compress(buf.getvalue()))


def _damage(obj: dict, how: str) -> None:
    if how == "state-shape":
        obj["state"][0] = torch.zeros(3, 3)
    elif how == "state-count":
        obj["state"] = obj["state"][:-1]
    elif how == "token-oov":
        obj["big"]["tokens"][0, 5] = 30000
    elif how == "token-negative":
        obj["big"]["tokens"][1, 3] = -7
    elif how == "tokens-dtype":
        obj["big"]["tokens"] = obj["big"]["tokens"].to(torch.int64)
    elif how == "tlen-past-buffer":
        obj["small"]["tlen"][0] = obj["big"]["tokens"].shape[1] + 1000
    elif how == "heads-past-memory":
        obj["small"]["heads"][1, 0] = 10 ** 6
    elif how == "small-shape":
        obj["small"]["done"] = torch.zeros(5, dtype=torch.bool)
    elif how == "missing-field":
        del obj["secs"]
    elif how == "steps-float":
        obj["steps"] = 1.5
    elif how == "seen-length":
        obj["seen"] = [True] * 7


CASES = {
    "state-shape": "the network state does not have this network's shapes",
    "state-count": "the network state does not have this network's shapes",
    "token-oov": "tokens holds ids outside the vocabulary",
    "token-negative": "tokens holds ids outside the vocabulary",
    "tokens-dtype": "tokens must be int16",
    "tlen-past-buffer": "lengths or heads outside the buffers",
    "heads-past-memory": "lengths or heads outside the buffers",
    "small-shape": "done must be bool [2]",
    "missing-field": "expected the fields prompts, big, small",
    "steps-float": "counters (steps, seconds, secs, seen, sync_every) of the wrong type",
    "seen-length": "counters (steps, seconds, secs, seen, sync_every) of the wrong type",
}


@pytest.mark.parametrize("how", list(CASES))
def test_a_damaged_snapshot_is_refused_with_what_is_wrong(model, snapshot, tmp_path, how):
    obj = _load(snapshot)
    _damage(obj, how)
    path = tmp_path / "s.pt.gz"
    _save(obj, path)
    with pytest.raises(ValueError, match=r"not a loop snapshot of this run: .*" + __import__("re").escape(CASES[how])):
        run_tensor_batched(model, C, TEXTS, limits=LIMITS, batch_size=2, sync_every=32, suspend=Suspend(str(path), 60.0))
    assert path.exists()  # kept, for the user to look at or delete


def test_the_untouched_snapshot_resumes(model, snapshot, tmp_path):
    path = tmp_path / "s.pt.gz"
    path.write_bytes(snapshot)
    ref = run_tensor_batched(model, C, TEXTS, limits=LIMITS, batch_size=2, sync_every=32)
    got = run_tensor_batched(model, C, TEXTS, limits=LIMITS, batch_size=2, sync_every=32, suspend=Suspend(str(path), 60.0))
    assert [t.tokens for t in got] == [t.tokens for t in ref]


def test_a_gzip_bomb_is_not_inflated(model, tmp_path):
    path = tmp_path / "s.pt.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        for _ in range(64):
            f.write(b"\0" * (1 << 20))  # 64 MiB of zeros, ~64 KB on disk
    assert path.stat().st_size < 1 << 20
    with pytest.raises(ValueError, match=r"not a readable loop snapshot \(ValueError: more than the [\d,]+ bytes a run"):
        run_tensor_batched(model, C, TEXTS, limits=LIMITS, batch_size=2, sync_every=32, suspend=Suspend(str(path), 60.0))
