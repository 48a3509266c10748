"""The token vocabulary: UTF-8 bytes plus named special tokens (docs/design.md, "The trace protocol").

Ids 0..255 are the bytes themselves (so a digit's id is its ASCII code), named specials follow from
256. The paper (App. D.1) uses one dedicated token per pointer command; we do the same for a fixed
number of heads: ``[pK.init]``, ``[pK.left]``, ``[pK.right]``, ``[pK.read]`` for K = 1..heads.
Multi-token tools use ``[CALL] ... [/CALL]`` and ``[OBS] ... [/OBS]`` spans (the search memory,
files, execution). What each token *means* in a trace is spelled in ``agent/trace/codec.py``; this
module only fixes ids and names.

The vocabulary is stored as JSON inside every checkpoint. ``Vocab.from_json`` refuses a vocabulary
it does not recognise, so a checkpoint trained with another token table cannot be loaded silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

NUM_BYTES = 256
TAPE_OPS = ("init", "left", "right", "read")

# Order matters: ids are assigned in this order after the bytes. Appending is backwards compatible
# (older checkpoints keep their ids); inserting or reordering is not.
BASE_SPECIALS = (
    "[PAD]",  # padding; never produced, never trained on
    "[BOS]",  # first token of every episode, first cell of the tape
    "[EOS]",  # ends the episode
    "[ANS]",  # separates thoughts (before) from the output stream (after)
    "[END]",  # observation of a read past the end of the tape
    "[CALL]",  # opens a multi-token tool call
    "[/CALL]",
    "[OBS]",  # opens a multi-token observation, produced by the tool
    "[/OBS]",
    "[ERR]",  # observation of a malformed single-token call (e.g. a read with no head)
)


def tape_token(head: int, op: str) -> str:
    """Name of the single-token tape command for ``head`` (1-based) and ``op``."""
    return f"[p{head}.{op}]"


@dataclass(frozen=True)
class Vocab:
    """Bytes + specials. ``size`` is the number of real tokens; ``padded_size`` the embedding rows
    (mamba-ssm pads the vocabulary to a multiple of ``pad_multiple``)."""

    heads: int = 4
    pad_multiple: int = 16
    version: int = 1

    @cached_property
    def specials(self) -> tuple[str, ...]:
        tape = tuple(tape_token(h, op) for h in range(1, self.heads + 1) for op in TAPE_OPS)
        return BASE_SPECIALS + tape

    @cached_property
    def _ids(self) -> dict[str, int]:
        return {name: NUM_BYTES + i for i, name in enumerate(self.specials)}

    @property
    def size(self) -> int:
        return NUM_BYTES + len(self.specials)

    @property
    def padded_size(self) -> int:
        m = self.pad_multiple
        return (self.size + m - 1) // m * m

    # --- ids and names -------------------------------------------------------------------------
    def id(self, name: str) -> int:
        """Id of a special token by name, e.g. ``vocab.id("[ANS]")``."""
        try:
            return self._ids[name]
        except KeyError:
            raise KeyError(f"unknown special token {name!r}; known: {', '.join(self.specials)}") from None

    def tape(self, head: int, op: str) -> int:
        return self.id(tape_token(head, op))

    def is_special(self, token: int) -> bool:
        return token >= NUM_BYTES

    def name(self, token: int) -> str:
        """Readable name: the character for printable bytes, the special's name, else ``<0xNN>``."""
        if 0 <= token < NUM_BYTES:
            ch = chr(token)
            return ch if ch.isprintable() and token < 128 else f"<0x{token:02X}>"
        if NUM_BYTES <= token < self.size:
            return self.specials[token - NUM_BYTES]
        return f"<unused {token}>"

    def encode_text(self, text: str) -> list[int]:
        """UTF-8 bytes of ``text`` as token ids."""
        return list(text.encode("utf-8"))

    def decode_text(self, tokens) -> str:
        """Bytes back to text; specials are written by name (so the result is readable, not lossless)."""
        out, buf = [], bytearray()
        for t in tokens:
            if 0 <= t < NUM_BYTES:
                buf.append(t)
                continue
            if buf:
                out.append(buf.decode("utf-8", errors="replace"))
                buf = bytearray()
            out.append(self.name(t))
        if buf:
            out.append(buf.decode("utf-8", errors="replace"))
        return "".join(out)

    # --- persistence -----------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "kind": "tapehead-bytes",
            "version": self.version,
            "heads": self.heads,
            "pad_multiple": self.pad_multiple,
            "num_bytes": NUM_BYTES,
            "specials": list(self.specials),
            "size": self.size,
            "padded_size": self.padded_size,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Vocab":
        if not isinstance(data, dict) or data.get("kind") != "tapehead-bytes":
            raise ValueError(f"foreign vocabulary: expected kind 'tapehead-bytes', got {data!r:.120}")
        vocab = cls(heads=int(data["heads"]), pad_multiple=int(data["pad_multiple"]), version=int(data["version"]))
        if list(vocab.specials) != list(data.get("specials", [])) or data.get("num_bytes") != NUM_BYTES:
            raise ValueError(
                "foreign vocabulary: its special tokens differ from this version's "
                f"({data.get('specials')} vs {list(vocab.specials)})"
            )
        return vocab

    def dumps(self) -> str:
        return json.dumps(self.to_json())


DEFAULT_VOCAB = Vocab()
