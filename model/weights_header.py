"""A safetensors file's header, read and checked without reading a tensor, and held against a model.

Follows the safetensors format (huggingface/safetensors, "Format"): 8 bytes, a little-endian
unsigned header length ``N``; ``N`` bytes of JSON, ``{name: {"dtype", "shape", "data_offsets":
[begin, end]}, "__metadata__": {str: str}}``; then the data, the offsets relative to its start.

A checkpoint's weights are untrusted (DESIGN.md, "Trust"), and its JSON config says how big a
network to build. ``read_header`` checks the header against the file (its length, every tensor's
dtype, shape and byte range inside the data); ``check_fits`` holds it against the shapes of the
network the config describes, computed from the config alone (``factory.state_shapes``: no memory),
so the network is built only once the file is known to hold exactly its tensors: what is allocated
is then bounded by the file's own size. Every problem is one ``ValueError`` line.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

MAX_HEADER_BYTES = 1 << 24  # 16 MiB; a checkpoint of ours has a ~10 KB header (safetensors' own cap: 100 MB)
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
               "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}
FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")  # what floating parameters may be stored as


@dataclass(frozen=True)
class TensorInfo:
    dtype: str  # safetensors' name: F32, BF16, ...
    shape: tuple[int, ...]
    nbytes: int

    def is_floating_point(self) -> bool:  # as torch.Tensor's, so check_fits takes either
        return self.dtype in FLOAT_DTYPES


def read_header(path) -> dict[str, TensorInfo]:
    """The tensors a safetensors file holds, from its header alone; ``ValueError`` if the header is
    truncated, garbled, or does not describe the data that follows it."""
    path = os.fspath(path)
    what = f"corrupt weights file {path}: not a readable safetensors file (truncated or overwritten?)"
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise ValueError(f"{what}: {size} bytes")
        n = int.from_bytes(prefix, "little")
        if n > MAX_HEADER_BYTES or n > size - 8:
            raise ValueError(f"{what}: header length {n:,} does not fit the file ({size:,} bytes; "
                             f"at most {MAX_HEADER_BYTES:,})")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{what}: garbled header ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{what}: the header is not a JSON object")
    data_bytes = size - 8 - n
    out: dict[str, TensorInfo] = {}
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not (isinstance(entry, dict) and entry.get("dtype") in DTYPE_BYTES and isinstance(entry.get("shape"), list)
                and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in entry["shape"])
                and isinstance(entry.get("data_offsets"), list) and len(entry["data_offsets"]) == 2
                and all(isinstance(o, int) and not isinstance(o, bool) for o in entry["data_offsets"])):
            raise ValueError(f"{what}: bad header entry for {name!r:.80}: {json.dumps(entry)[:120]}")
        begin, end = entry["data_offsets"]
        nbytes = math.prod(entry["shape"]) * DTYPE_BYTES[entry["dtype"]]
        if not 0 <= begin <= end <= data_bytes or end - begin != nbytes:
            raise ValueError(f"{what}: {name} {entry['dtype']}{entry['shape']} needs {nbytes:,} bytes but its "
                             f"offsets are [{begin}, {end}) in {data_bytes:,} bytes of data")
        spans.append((begin, end))
        out[name] = TensorInfo(entry["dtype"], tuple(entry["shape"]), nbytes)
    spans.sort()
    if any(b < a_end for (_, a_end), (b, _) in zip(spans, spans[1:])):
        raise ValueError(f"{what}: tensors overlap in the data")
    return out


def check_fits(tensors: dict, shapes: dict[str, tuple], source) -> None:
    """``tensors``: a file's ``TensorInfo``s (or the tensors read from it); ``shapes``: the names and
    shapes of the network's ``state_dict()``, every one a floating parameter (true of all our
    networks). Refuses missing or unexpected names, other shapes and non-floating dtypes, in one
    ``ValueError``."""
    missing = [k for k in shapes if k not in tensors]
    unexpected = [k for k in tensors if k not in shapes]
    problems = []
    if missing:
        problems.append(f"missing keys {missing[:8]}" + (f" (+{len(missing) - 8} more)" if len(missing) > 8 else ""))
    if unexpected:
        problems.append(f"unexpected keys {unexpected[:8]}"
                        + (f" (+{len(unexpected) - 8} more)" if len(unexpected) > 8 else ""))
    bad = []
    for k, shape in shapes.items():
        got = tensors.get(k)
        if got is None:
            continue
        if tuple(got.shape) != tuple(shape):
            bad.append(f"shape mismatch for {k}: checkpoint {list(got.shape)} vs model {list(shape)}")
        elif not got.is_floating_point():
            bad.append(f"{k} is stored as {got.dtype}, not as floating point")
    problems += bad[:8] + ([f"... {len(bad) - 8} more mismatches"] if len(bad) > 8 else [])
    if problems:
        raise ValueError(f"{source} does not fit the model: " + "; ".join(problems))
