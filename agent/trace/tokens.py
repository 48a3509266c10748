"""Token streams stored compactly: 2 bytes a token in memory, less than half a byte in files.

Follows the standard library's ``array`` (typecode ``"H"``: unsigned 16-bit, every id of our
vocabulary fits) for the streams that grow with an episode: ``Episode.tokens``,
``Trajectory.tokens``, the graph's stored chunks. A Python list of ints costs 8 bytes a token for
the pointer alone, and ids above 256 are separate int objects (28 bytes more each): a 1 MiB input
makes a ~19M-token addition episode, 0.4 GB as a list and 38 MB as an array. An array compares
equal to another array of the same ids (not to a list: ``list(tokens)`` for that) and numpy and
torch read it without a copy through the buffer protocol.

In files (``encode``/``decode``): the little-endian bytes, zlib-compressed (level 1) and base64'd,
with the token count, ``{"encoding": ENCODING, "length": n, "data": "..."}``: ~0.45 bytes a token on
an addition trace, against ~4.6 for a JSON list, and ten times faster to write. ``decode`` is for
untrusted input: it inflates at most ``2 * length`` bytes (no zlib bomb) and checks every id
against the vocabulary before anything else is built on it.
"""

from __future__ import annotations

import base64
import binascii
import sys
import zlib
from array import array
from typing import Iterable

TYPECODE = "H"
ENCODING = "uint16le-zlib-base64"


def token_array(ids: Iterable[int] = ()) -> array:
    """A compact copy of ``ids`` (``OverflowError`` for an id outside 0..65535)."""
    return array(TYPECODE, ids)


def to_bytes(tokens: array) -> bytes:
    """Little-endian uint16 bytes of ``tokens`` (an ``array('H')``), whatever this machine's order."""
    if sys.byteorder == "big":
        tokens = array(TYPECODE, tokens)
        tokens.byteswap()
    return tokens.tobytes()


def from_bytes(data: bytes) -> array:
    out = array(TYPECODE)
    out.frombytes(data[: len(data) // 2 * 2])
    if sys.byteorder == "big":
        out.byteswap()
    return out


def encode(tokens) -> dict:
    """The file form of a token stream (JSON-able)."""
    if not isinstance(tokens, array) or tokens.typecode != TYPECODE:
        tokens = token_array(tokens)
    data = base64.b64encode(zlib.compress(to_bytes(tokens), 1)).decode("ascii")
    return {"encoding": ENCODING, "length": len(tokens), "data": data}


def decode(obj, *, vocab_size: int, max_tokens: int, where: str = "tokens") -> array:
    """``encode``'s output back to an array, checked: ``ValueError`` naming what is wrong."""
    if not isinstance(obj, dict) or obj.get("encoding") != ENCODING:
        raise ValueError(f"{where}: expected {{'encoding': {ENCODING!r}, 'length', 'data'}}")
    n, data = obj.get("length"), obj.get("data")
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= max_tokens:
        raise ValueError(f"{where}: length must be an integer in 0..{max_tokens:,}, got {n!r:.40}")
    if not isinstance(data, str):
        raise ValueError(f"{where}: data must be a base64 string")
    try:
        z = zlib.decompressobj()
        raw = z.decompress(base64.b64decode(data, validate=True), 2 * n + 1)  # +1: to see a longer stream
    except (binascii.Error, zlib.error, ValueError) as e:
        raise ValueError(f"{where}: garbled data ({e})") from None
    if len(raw) != 2 * n or not z.eof:
        raise ValueError(f"{where}: data does not hold exactly {n:,} tokens")
    return check_ids(from_bytes(raw), vocab_size, where)


def check_ids(tokens: array, vocab_size: int, where: str = "tokens") -> array:
    """``tokens`` if every id is below ``vocab_size``; else ``ValueError`` naming the first that is not."""
    if tokens and max(tokens) >= vocab_size:
        i = next(i for i, t in enumerate(tokens) if t >= vocab_size)
        raise ValueError(f"{where}[{i}] = {tokens[i]} is not a token id (the vocabulary has {vocab_size})")
    return tokens
