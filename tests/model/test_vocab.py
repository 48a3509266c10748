"""The vocabulary: bytes + named specials, JSON inside checkpoints, foreign ones refused."""

import pytest

from tapehead.model.vocab import NUM_BYTES, Vocab


def test_ids_and_names():
    v = Vocab()
    assert v.id("[PAD]") == NUM_BYTES and v.name(ord("7")) == "7"
    assert v.name(v.tape(2, "read")) == "[p2.read]" and v.name(v.id("[ANS]")) == "[ANS]"
    assert v.size == 256 + 10 + 16 and v.padded_size % 16 == 0 and v.padded_size >= v.size
    assert v.name(v.padded_size - 1).startswith("<unused")
    assert v.name(0x07) == "<0x07>"
    with pytest.raises(KeyError, match="unknown special"):
        v.id("[NOPE]")


def test_text_roundtrip_and_readable_decoding():
    v = Vocab()
    toks = v.encode_text("héllo 12+3") + [v.id("[EOS]")]
    assert v.decode_text(toks) == "héllo 12+3[EOS]"


def test_json_roundtrip_and_foreign_refused():
    v = Vocab(heads=4)
    assert Vocab.from_json(v.to_json()) == v
    bad = v.to_json() | {"specials": list(v.specials)[::-1]}
    with pytest.raises(ValueError, match="foreign vocabulary"):
        Vocab.from_json(bad)
    with pytest.raises(ValueError, match="foreign vocabulary"):
        Vocab.from_json({"kind": "gpt2"})
