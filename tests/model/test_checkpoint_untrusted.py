"""Checkpoints as untrusted input: sizes are checked before anything is allocated.

Every ``model_config`` field is typed and bounded; the safetensors header is read and checked
without reading a tensor, and held against the network the config describes before it is built
(model/schema.py, model/weights_header.py). A 2 KB JSON asking for a huge network fails with one
clear ``CheckpointError`` (a ``ValueError``) and no large allocation: peak RSS is measured in a
subprocess with ``resource.getrusage``.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from tapehead.model.checkpoint import MAX_JSON_BYTES, CheckpointError, checkpoint_paths, load_checkpoint, save_checkpoint
from tapehead.model.config import ModelConfig
from tapehead.model.factory import build_model, state_shapes
from tapehead.model.vocab import DEFAULT_VOCAB as VOCAB

SHAPE_CONFIGS = [
    dict(arch="mamba2", d_model=32, n_layer=2, d_state=16, headdim=16),
    dict(arch="mamba2", d_model=48, n_layer=3, d_state=8, headdim=8, ngroups=3, expand=1, d_conv=3),
    dict(arch="mamba2", d_model=32, n_layer=1, headdim=16, tie_embeddings=False),
    dict(arch="transformer", d_model=32, n_layer=2, n_head=4),
    dict(arch="transformer", d_model=24, n_layer=1, n_head=2, d_intermediate=40, tie_embeddings=False),
    dict(arch="lstm", d_model=32, n_layer=3, rnn_hidden=24),
    dict(arch="gru", d_model=32, n_layer=2),
]


@pytest.mark.parametrize("cfg", SHAPE_CONFIGS, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_state_shapes_are_the_built_networks(cfg):
    config = ModelConfig(vocab_size=VOCAB.size, **cfg)
    built = {k: tuple(t.shape) for k, t in build_model(config).state_dict().items()}
    assert state_shapes(config) == built


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="gru", vocab_size=VOCAB.size, d_model=32, n_layer=2))
    base = tmp_path / "ckpt"
    save_checkpoint(base, model, vocab_json=VOCAB.to_json())
    return base


def edit_config(base: Path, **fields) -> None:
    _, j = checkpoint_paths(base)
    meta = json.loads(j.read_text())
    meta["model_config"].update(fields)
    j.write_text(json.dumps(meta))


BAD_FIELDS = [
    ({"d_model": 10 ** 7}, r"d_model = 10000000 is out of range \(1\.\.65536\)"),
    ({"n_layer": 0}, r"n_layer = 0 is out of range"),
    ({"d_model": -3}, r"d_model = -3 is out of range"),
    ({"d_model": 32.0}, r"d_model must be an integer, got 32\.0"),
    ({"n_layer": True}, r"n_layer must be an integer, got True"),
    ({"d_model": "32"}, r"d_model must be an integer, got '32'"),
    ({"vocab_size": 10 ** 9}, r"vocab_size = 1000000000 is out of range"),
    ({"rnn_hidden": 1 << 40}, r"rnn_hidden = 1099511627776 is out of range"),
    ({"dt_min": float("nan")}, r"dt_min must be a number, got nan"),
    ({"rope_base": float("inf")}, r"rope_base must be a number"),
    ({"A_init_range": [1.0]}, r"A_init_range must hold 2 values, got 1"),
    ({"A_init_range": [1.0, "x"]}, r"A_init_range\[1\] must be a number"),
    ({"tie_embeddings": 1}, r"tie_embeddings must be true or false, got 1"),
    ({"arch": "rwkv"}, r"arch = 'rwkv' is not one of mamba2, transformer, lstm, gru"),
    ({"arch": 7}, r"arch must be a string, got 7"),
    ({"bogus": 1}, r"unknown fields \['bogus'\]"),
    ({"arch": "mamba2", "headdim": 7}, r"d_inner 64 \(expand x d_model\) is not a multiple of headdim 7"),
    ({"arch": "transformer", "n_head": 5}, r"d_model 32 does not split into 5 heads of even size"),
]


@pytest.mark.parametrize("fields,message", BAD_FIELDS, ids=[m[:30] for _, m in BAD_FIELDS])
def test_every_config_field_is_typed_and_bounded(ckpt, fields, message):
    edit_config(ckpt, **fields)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(ckpt)


def test_a_config_that_does_not_match_the_header_is_refused_before_building(ckpt):
    edit_config(ckpt, d_model=4096, rnn_hidden=4096)  # within bounds; the weights are 32 wide
    with pytest.raises(CheckpointError, match=r"does not fit the model: shape mismatch for embedding\.weight: "
                                              r"checkpoint \[\d+, 32\] vs model \[\d+, 4096\]"):
        load_checkpoint(ckpt)


def _header_file(path: Path, header: dict, data: bytes) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


@pytest.mark.parametrize("damage,message", [
    ("short", r"not a readable safetensors file.*: 5 bytes"),
    ("huge-header", r"header length 18,446,744,073,709,551,615 does not fit the file"),
    ("garbled", r"not a readable safetensors file.*: garbled header"),
    ("offsets", r"embedding\.weight F32\[\d+, 32\] needs [\d,]+ bytes but its offsets are"),
    ("overlap", r"tensors overlap in the data"),
    ("int-dtype", r"embedding\.weight is stored as I32, not as floating point"),
    ("bad-entry", r"bad header entry for 'embedding\.weight'"),
])
def test_a_damaged_header_is_one_clear_error(ckpt, damage, message):
    w, _ = checkpoint_paths(ckpt)
    raw = w.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
    first = header["embedding.weight"]
    if damage == "short":
        w.write_bytes(raw[:5])
    elif damage == "huge-header":
        w.write_bytes(b"\xff" * 8 + raw[8:])
    elif damage == "garbled":
        w.write_bytes(raw[:8] + b"{" * n + data)
    else:
        if damage == "offsets":
            first["data_offsets"][1] += 4
        elif damage == "overlap":
            other = next(k for k in header if k not in ("embedding.weight", "__metadata__"))
            header[other]["data_offsets"] = list(first["data_offsets"])
            header[other]["shape"], header[other]["dtype"] = first["shape"], first["dtype"]
        elif damage == "int-dtype":
            first["dtype"] = "I32"
        else:
            first["shape"] = [-1, 32]
        _header_file(w, header, data)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(ckpt)


def test_an_oversized_json_is_refused_unread(ckpt):
    _, j = checkpoint_paths(ckpt)
    with open(j, "r+b") as f:
        f.truncate(MAX_JSON_BYTES + 1)  # sparse: nothing of it written
    with pytest.raises(CheckpointError, match=r"is 16,777,217 bytes, more than 16,777,216"):
        load_checkpoint(ckpt)


PROBE = textwrap.dedent("""
    import json, resource, sys, time
    from tapehead.model.checkpoint import load_checkpoint
    from tapehead.model.vocab import DEFAULT_VOCAB
    for path in sys.argv[1:]:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        try:
            load_checkpoint(path, expected_vocab=DEFAULT_VOCAB.to_json())
            error = None
        except ValueError as e:
            error = str(e)
        grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB
        print(json.dumps({"error": error, "grew_kib": grew, "ms": 1000 * (time.perf_counter() - t0)}))
""")


def test_a_small_json_asking_for_a_huge_network_allocates_nothing(tmp_path):
    """One subprocess (its peak RSS is its own), two checkpoints: a field out of bounds, and fields
    within bounds describing a ~13 GB GRU where the file holds a 32-wide one."""
    cases = [({"d_model": 10 ** 7}, "d_model = 10000000 is out of range"),
             ({"d_model": 8192, "rnn_hidden": 8192, "n_layer": 16}, "shape mismatch for embedding.weight")]
    paths = []
    for i, (fields, _) in enumerate(cases):
        torch.manual_seed(0)
        base = tmp_path / f"c{i}"
        save_checkpoint(base, build_model(ModelConfig(arch="gru", vocab_size=VOCAB.size, d_model=32, n_layer=2)),
                        vocab_json=VOCAB.to_json())
        edit_config(base, **fields)
        assert checkpoint_paths(base)[1].stat().st_size < 4096
        paths.append(str(base))
    out = subprocess.run([sys.executable, "-c", PROBE, *paths], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for line, (_, message) in zip(out.stdout.strip().splitlines(), cases):
        r = json.loads(line)
        assert r["error"] is not None and message in r["error"] and "\n" not in r["error"]
        assert r["grew_kib"] < 64 * 1024, r  # building them would take gigabytes
