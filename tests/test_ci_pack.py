"""The GPU round's packer (.ci/pack.py): what comes back from the device within its return limits."""

import os
import runpy
from pathlib import Path

import pytest

PACK = runpy.run_path(str(Path(__file__).resolve().parents[1] / ".ci" / "pack.py"))


def _write(path: Path, size: int = 10, text: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        path.write_text(text)
    else:
        path.write_bytes(os.urandom(size))  # incompressible, like weights


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Path("runs/suite")
    # finished Mamba-2 cell (seed 0): results and policy kept, its training state not
    _write(s / "mult1/mamba2-s0/eval/results.json", text='{"finished": "x"}')
    _write(s / "mult1/mamba2-s0/policy.json", text="{}")
    _write(s / "mult1/mamba2-s0/policy.safetensors", 1000)
    _write(s / "mult1/mamba2-s0/train/last.train.safetensors", 5000)
    # finished seed-1 cell: its policy is a lower priority
    _write(s / "mult1/mamba2-s1/policy.json", text="{}")
    _write(s / "mult1/mamba2-s1/policy.safetensors", 1000)
    # a finished baseline: results only
    _write(s / "mult1/lstm-s0/eval/results.json", text='{"finished": "x"}')
    _write(s / "mult1/lstm-s0/train.json", text="{}")
    _write(s / "mult1/lstm-s0/policy.json", text="{}")
    _write(s / "mult1/lstm-s0/policy.safetensors", 1000)
    # two unfinished cells: their training state, the one further along first
    for cell, step in [("mult2/mamba2-s0", 200), ("logical-graph/mamba2-s0", 800)]:
        _write(s / cell / "train/last.train.json", text=f'{{"step": {step}}}')
        _write(s / cell / "train/last.train.safetensors", 3000)
    # an unfinished baseline: its state too, after every Mamba-2 one
    _write(s / "mult1/lstm-s1/train/last.train.json", text='{"step": 1050}')
    _write(s / "mult1/lstm-s1/train/last.train.safetensors", 3000)
    _write(Path("runs/logs/lane0.log"), text="log")
    return tmp_path


def test_groups_and_priorities(tree):
    c = PACK["classify"]
    assert c(Path("runs/suite/mult1/mamba2-s0/train/last.train.safetensors")) is None
    assert c(Path("runs/suite/mult1/lstm-s0/policy.safetensors")) is None
    assert c(Path("runs/suite/mult1/lstm-s0/eval/results.json")) == "results"
    assert c(Path("runs/suite/mult1/mamba2-s0/policy.safetensors")) == "policies"
    assert c(Path("runs/suite/mult1/mamba2-s1/policy.safetensors")) == "policies-more"
    assert c(Path("runs/suite/mult1/mamba2-n20-s0/policy.safetensors")) == "policies"
    assert c(Path("runs/suite/addition-calc/mamba2-s0/policy.safetensors")) == "policies-more"
    assert c(Path("runs/suite/mult2/mamba2-s0/train/last.train.json")) == "state-mult2-mamba2-s0"
    assert c(Path("runs/add100k/snapshot.pt.gz")) == "add100k"
    out = tree / "out"
    report = PACK["pack"](out, [Path("runs/suite"), Path("runs/logs")], tree / "no-triton")
    assert [r.split(":")[0] for r in report] == [
        "packed results", "packed policies", "packed state-logical-graph-mamba2-s0",
        "packed state-mult2-mamba2-s0", "packed state-mult1-lstm-s1", "packed policies-more"]
    dest = tree / "back"
    dest.mkdir()
    PACK["unpack"](out, dest)
    got = {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}
    assert "runs/suite/mult2/mamba2-s0/train/last.train.safetensors" in got
    assert "runs/suite/mult1/mamba2-s0/train/last.train.safetensors" not in got
    assert "runs/suite/mult1/lstm-s0/policy.safetensors" not in got
    assert "runs/suite/mult1/lstm-s0/eval/results.json" in got
    assert (dest / "runs/suite/mult1/mamba2-s0/policy.safetensors").read_bytes() == \
        (tree / "runs/suite/mult1/mamba2-s0/policy.safetensors").read_bytes()


def test_a_group_past_the_limits_is_left_out_and_said_so(tree, monkeypatch):
    g = PACK["pack"].__globals__
    monkeypatch.setitem(g, "MAX_TOTAL", 3500)  # results + policies (~2 KB) fit; no 3 KB state more does
    report = PACK["pack"](tree / "out", [Path("runs/suite"), Path("runs/logs")], tree / "no-triton")
    left = [r for r in report if r.startswith("LEFT OUT")]
    assert any("state-logical-graph" in r for r in left)
    assert not any(p.name.startswith("state-") for p in (tree / "out").iterdir())
    assert (tree / "out" / "results.tgz.part-00").exists()


def test_large_groups_are_split_into_parts(tree, monkeypatch):
    g = PACK["pack"].__globals__
    monkeypatch.setitem(g, "PART", 1500)
    PACK["pack"](tree / "out", [Path("runs/suite")], tree / "no-triton")
    parts = sorted(p.name for p in (tree / "out").iterdir() if p.name.startswith("state-logical"))
    assert len(parts) >= 2
    dest = tree / "back"
    dest.mkdir()
    PACK["unpack"](tree / "out", dest)
    assert (dest / "runs/suite/logical-graph/mamba2-s0/train/last.train.safetensors").read_bytes() == \
        (tree / "runs/suite/logical-graph/mamba2-s0/train/last.train.safetensors").read_bytes()
