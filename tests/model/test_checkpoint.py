"""Checkpoints (model/checkpoint.py): round trips for every architecture, bf16 shipping, tied
embeddings stored under both names, and a clear CheckpointError for each kind of broken file."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tapehead.model.checkpoint import (
    CheckpointError,
    checkpoint_paths,
    load_checkpoint,
    load_into,
    read_meta,
    save_checkpoint,
    sha256_file,
)
from tapehead.model.config import ModelConfig
from tapehead.model.factory import build_model
from tapehead.model.vocab import DEFAULT_VOCAB as VOCAB
from tapehead.model.vocab import Vocab

ARCHS = [a for a, mod in [("gru", "rnn"), ("lstm", "rnn"), ("transformer", "transformer"), ("mamba2", "mamba2_lm")]
         if importlib.util.find_spec(f"tapehead.model.networks.{mod}") is not None]


def tiny(arch: str = "gru", seed: int = 0, **kw):
    torch.manual_seed(seed)
    cfg = dict(arch=arch, vocab_size=VOCAB.size, d_model=32, n_layer=2, d_state=16, headdim=16, chunk_size=8, n_head=2)
    cfg.update(kw)
    model = build_model(ModelConfig(**cfg))
    with torch.no_grad():  # move every parameter off its init so a skipped load would show
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return model.eval()


def ids(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, VOCAB.size, (2, 11), generator=g)  # [B, T]


@pytest.fixture
def saved(tmp_path):
    """A GRU checkpoint at tmp_path/ckpt; returns (model, base path)."""
    model = tiny()
    base = tmp_path / "ckpt"
    save_checkpoint(base, model, vocab_json=VOCAB.to_json(), recipe={"lr": 1e-3}, metrics={"acc": 0.5})
    return model, base


def rewrite_weights(base: Path, tensors: dict):
    """Replace the weights and record the new sha256 in the JSON (a 'valid' file with other content)."""
    w, j = checkpoint_paths(base)
    save_file(tensors, str(w))
    meta = json.loads(j.read_text())
    meta["weights"]["sha256"] = sha256_file(w)
    j.write_text(json.dumps(meta))


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
def test_round_trip_gives_equal_logits(tmp_path, arch):
    model = tiny(arch)
    vj = VOCAB.to_json()
    meta = save_checkpoint(tmp_path / "p", model, vocab_json=vj, recipe={"steps": 3}, metrics={"loss": 1.5})
    for path in (tmp_path / "p", tmp_path / "p.safetensors", str(tmp_path / "p.json")):
        loaded, m = load_checkpoint(path, expected_vocab=VOCAB.to_json())
        assert type(loaded) is type(model) and not loaded.training
        with torch.no_grad():
            assert torch.equal(loaded(ids()), model(ids()))
    assert m == meta == read_meta(tmp_path / "p")
    assert m["format"] == "tapehead-checkpoint" and m["format_version"] == 1
    assert m["model_config"] == model.config.to_json() and m["vocab"] == VOCAB.to_json()
    assert m["recipe"] == {"steps": 3} and m["metrics"] == {"loss": 1.5}
    assert m["num_parameters"] == model.num_parameters()
    assert m["weights"]["sha256"] == sha256_file(tmp_path / "p.safetensors") and m["weights"]["dtype"] == "float32"


@pytest.mark.parametrize("arch", ARCHS)
def test_tied_embedding_is_stored_under_both_names_and_loads_strictly(tmp_path, arch):
    """A plain safetensors load + strict load_state_dict works (what mamba-ssm's MambaLMHeadModel does)."""
    model = tiny(arch)
    save_checkpoint(tmp_path / "p", model, vocab_json=VOCAB.to_json())
    state = load_file(tmp_path / "p.safetensors")
    assert set(state) == set(model.state_dict())
    emb = "backbone.embedding.weight" if arch == "mamba2" else "embedding.weight"
    if model.config.tie_embeddings:
        assert torch.equal(state[emb], state["lm_head.weight"])
    fresh = build_model(model.config)
    fresh.load_state_dict(state, strict=True)
    assert fresh.lm_head.weight.data_ptr() == fresh.state_dict()[emb].data_ptr()  # still tied


def test_bf16_for_shipping_loads_close(tmp_path):
    model = tiny("gru")
    save_checkpoint(tmp_path / "f32", model, vocab_json=VOCAB.to_json())
    meta = save_checkpoint(tmp_path / "bf16", model, vocab_json=VOCAB.to_json(), dtype=torch.bfloat16)
    assert meta["weights"]["dtype"] == "bfloat16"
    assert all(t.dtype == torch.bfloat16 for t in load_file(tmp_path / "bf16.safetensors").values())
    assert (tmp_path / "bf16.safetensors").stat().st_size < 0.6 * (tmp_path / "f32.safetensors").stat().st_size
    loaded, _ = load_checkpoint(tmp_path / "bf16")  # float32 by default
    assert next(loaded.parameters()).dtype == torch.float32
    with torch.no_grad():
        want, got = model(ids()), loaded(ids())
    torch.testing.assert_close(got, want, rtol=0.05, atol=0.02)
    assert (got.argmax(-1) == want.argmax(-1)).float().mean() > 0.9
    kept, _ = load_checkpoint(tmp_path / "bf16", dtype=torch.bfloat16)
    assert next(kept.parameters()).dtype == torch.bfloat16


def test_load_into_an_existing_model(saved):
    model, base = saved
    other = tiny(seed=1)
    meta = load_into(other, base, expected_vocab=VOCAB.to_json())
    assert meta["metrics"] == {"acc": 0.5}
    with torch.no_grad():
        assert torch.equal(other(ids()), model(ids()))
    with pytest.raises(CheckpointError, match=r"model config differs.*n_layer: 2 vs expected 1"):
        load_into(tiny(n_layer=1), base)


# --- refusals ------------------------------------------------------------------------------------


def test_missing_files(saved):
    _, base = saved
    Path(f"{base}.json").unlink()
    with pytest.raises(CheckpointError, match=r"missing checkpoint metadata file .*ckpt\.json"):
        load_checkpoint(base)
    model, base2 = tiny(), base.with_name("other")
    save_checkpoint(base2, model, vocab_json=VOCAB.to_json())
    Path(f"{base2}.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"missing weights file .*other\.safetensors"):
        load_checkpoint(base2)


def test_corrupt_json(saved):
    _, base = saved
    Path(f"{base}.json").write_text('{"format": "tapehead-checkpoint", ')
    with pytest.raises(CheckpointError, match="corrupt JSON"):
        load_checkpoint(base)
    Path(f"{base}.json").write_text('{"format": "something-else"}')
    with pytest.raises(CheckpointError, match="not a tapehead checkpoint"):
        load_checkpoint(base)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_safetensors(saved, damage):
    _, base = saved
    w = Path(f"{base}.safetensors")
    data = w.read_bytes()
    w.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x07" * 64 + data[64:])
    with pytest.raises(CheckpointError, match=r"corrupt weights file .*not a readable safetensors file"):
        load_checkpoint(base)


def test_sha_mismatch_when_the_file_still_parses(saved):
    _, base = saved
    w = Path(f"{base}.safetensors")
    data = bytearray(w.read_bytes())
    data[-3] ^= 0x40  # one bit inside the last tensor's data: a valid file with other numbers
    w.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        load_checkpoint(base)


def test_wrong_shape_names_key_and_both_shapes(saved):
    _, base = saved
    j = Path(f"{base}.json")
    meta = json.loads(j.read_text())
    meta["model_config"]["d_model"] = 48  # the weights are 32 wide
    j.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(base)
    assert re.search(r"shape mismatch for embedding\.weight: checkpoint \[\d+, 32\] vs model \[\d+, 48\]", str(e.value))


def test_missing_and_unexpected_keys(saved):
    model, base = saved
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["rnn.extra"] = state.pop("rnn.weight_hh_l1")
    rewrite_weights(base, state)
    with pytest.raises(CheckpointError, match=r"missing keys \['rnn.weight_hh_l1'\].*unexpected keys \['rnn.extra'\]"):
        load_checkpoint(base)


def test_tied_tensors_that_differ_are_refused(saved):
    model, base = saved
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["lm_head.weight"] += 1
    rewrite_weights(base, state)
    with pytest.raises(CheckpointError, match="embedding.weight and lm_head.weight are tied"):
        load_checkpoint(base)


def test_foreign_vocabulary_says_what_differs(saved):
    _, base = saved
    other = Vocab(heads=2).to_json()
    want = r"vocabulary differs.*heads: 4 vs expected 2.*specials: differs at index"
    with pytest.raises(CheckpointError, match=want):
        load_checkpoint(base, expected_vocab=other)
    with pytest.raises(CheckpointError, match="vocabulary differs"):
        load_into(tiny(), base, expected_vocab={"kind": "something-else"})


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


def test_nothing_in_model_unpickles():
    root = Path(__file__).resolve().parents[2] / "model"
    for py in root.rglob("*.py"):
        src = py.read_text()
        assert not re.search(r"torch\.load\(|\bimport pickle\b|pickle\.loads?\(", src), py.name
