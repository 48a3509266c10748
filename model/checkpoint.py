"""Policy checkpoints: ``<path>.safetensors`` (weights) + ``<path>.json`` (everything else).

Convention (DESIGN.md, "The policy": safetensors + JSON, no pickle loading):

- ``<path>.safetensors`` holds the module's ``state_dict()`` exactly as PyTorch names it, so for the
  Mamba-2 policy the keys are mamba-ssm's ``MambaLMHeadModel`` keys (``backbone.embedding.weight``,
  ``backbone.layers.N.norm.weight``, ``backbone.layers.N.mixer.*``, ``backbone.norm_f.weight``,
  ``lm_head.weight``). Floating tensors may be cast for shipping (``dtype=torch.bfloat16``).
- **Tied embeddings: both keys are stored.** ``state_dict()`` lists ``lm_head.weight`` and
  ``backbone.embedding.weight`` as one shared tensor; safetensors refuses shared memory, so the
  second and later names of a shared tensor are written as clones. The file then loads with
  ``load_state_dict(strict=True)`` into our model *and* into mamba-ssm's ``MambaLMHeadModel`` with a
  plain ``safetensors.torch.load_file`` (no tapehead code needed), at the cost of one extra copy of
  the embedding (304 x 256 values for the shipped size: negligible). On load, tensors that are tied
  in the model must be equal in the file, else the file is refused.
  (``safetensors.torch.save_model`` would drop the duplicate instead, and a strict load into
  mamba-ssm's class would then fail on the missing key.)
- ``<path>.json``: ``format`` / ``format_version``, ``model_config`` (``ModelConfig.to_json()``),
  ``vocab`` (``Vocab.to_json()``), ``recipe`` (training recipe), ``metrics`` (free-form: eval
  summary, losses), ``num_parameters`` (unique, tied counted once), ``weights`` (file name, sha256,
  size in bytes, dtype of the stored floating tensors), ``tensors`` (count).

Files are written to a temporary name then renamed, weights first, so a crash never leaves a JSON
that points at half a safetensors file. Loading never unpickles: weights come from safetensors,
everything else from JSON. Both are untrusted input, checked before anything is allocated: the JSON's
size, every ``model_config`` field's type and range (``ModelConfig.from_json``), then the safetensors
header against the network the config describes (``model/weights_header.py``), before a tensor is
read or the network built. Every problem is a ``CheckpointError`` (a ``ValueError``) that names the
file and what is wrong with it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .config import ModelConfig
from .weights_header import check_fits, read_header

FORMAT = "tapehead-checkpoint"
FORMAT_VERSION = 1
SUFFIXES = (".safetensors", ".json")
MAX_JSON_BYTES = 16 << 20  # a checkpoint's JSON is a few KB (config, vocabulary, recipe, metrics)


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded (missing, corrupt, or not the one expected)."""


# --- paths -------------------------------------------------------------------------------------


def checkpoint_paths(path) -> tuple[Path, Path]:
    """``(weights, meta)`` paths for ``path`` given with or without a ``.safetensors``/``.json`` suffix.

    Suffixes are appended, not substituted, so ``runs/step.1000`` gives ``runs/step.1000.json``.
    """
    s = os.fspath(path)
    for suffix in SUFFIXES:
        if s.endswith(suffix):
            s = s[: -len(suffix)]
            break
    return Path(s + ".safetensors"), Path(s + ".json")


def sha256_file(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj: dict) -> None:
    """Atomically write ``obj`` as indented JSON (shared with the training-state files)."""
    _atomic_write_bytes(Path(path), (json.dumps(obj, indent=1) + "\n").encode("utf-8"))


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> str:
    """Atomically write ``tensors`` to a safetensors file; returns its sha256.

    Shared storage (tied weights, views) is broken by cloning every name after the first.
    """
    path = Path(path)
    seen: set[tuple[int, int]] = set()
    out: dict[str, torch.Tensor] = {}
    for name, t in tensors.items():
        t = t.detach().to("cpu").contiguous()
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if key in seen or t.data_ptr() != t.untyped_storage().data_ptr() or t.numel() * t.element_size() != key[1]:
            t = t.clone()  # shared with an earlier name, or a view into a larger storage
        seen.add((t.untyped_storage().data_ptr(), t.untyped_storage().nbytes()))
        out[name] = t
    tmp = path.with_name(path.name + ".tmp")
    save_file(out, os.fspath(tmp), metadata=metadata)
    os.replace(tmp, path)
    return sha256_file(path)


def _read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise CheckpointError(f"missing {what} file {path}")
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:  # parsed JSON takes several times its size: refuse before reading
        raise CheckpointError(f"{what} file {path} is {size:,} bytes, more than {MAX_JSON_BYTES:,}: not one of ours")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"corrupt JSON in {what} file {path}: {e}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"corrupt {what} file {path}: expected a JSON object, got {type(data).__name__}")
    return data


def load_tensors(path: Path, sha256: str | None, what: str = "weights") -> dict[str, torch.Tensor]:
    """Read a safetensors file after checking it exists, parses, and (if given) matches ``sha256``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"missing {what} file {path}")
    actual = sha256_file(path)
    try:
        tensors: dict[str, torch.Tensor] = {}
        with safe_open(os.fspath(path), framework="pt", device="cpu") as f:
            for k in f.keys():
                tensors[k] = f.get_tensor(k)
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        note = " (its sha256 also differs from the one recorded)" if sha256 and actual != sha256 else ""
        raise CheckpointError(
            f"corrupt {what} file {path}: not a readable safetensors file (truncated or overwritten?){note}: {e}"
        ) from None
    if sha256 is not None and actual != sha256:
        raise CheckpointError(
            f"sha256 mismatch for {what} file {path}: recorded {sha256[:16]}..., found {actual[:16]}... "
            "(the file was modified or replaced after the checkpoint was written)"
        )
    return tensors


# --- save ----------------------------------------------------------------------------------------


def _num_parameters(model: torch.nn.Module) -> int:
    if hasattr(model, "num_parameters"):
        return int(model.num_parameters())
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module behind DistributedDataParallel and/or torch.compile wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):  # torch.compile
            model = model._orig_mod
        elif isinstance(model, torch.nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


def save_checkpoint(
    path,
    model: torch.nn.Module,
    *,
    vocab_json: dict,
    recipe: dict | None = None,
    metrics: dict | None = None,
    dtype: torch.dtype | None = None,
) -> dict:
    """Write ``<path>.safetensors`` and ``<path>.json``; returns the JSON metadata written.

    ``dtype`` casts floating tensors (e.g. ``torch.bfloat16`` for shipped policies); integer and bool
    buffers keep theirs. ``model.config`` must have ``to_json()`` (``ModelConfig``).
    """
    model = _unwrap(model)
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "to_json"):
        raise ValueError("save_checkpoint needs a model with a .config that has to_json() (a ModelConfig)")
    if not isinstance(vocab_json, dict):
        raise TypeError(f"vocab_json must be a dict (Vocab.to_json()), got {type(vocab_json).__name__}")
    vsize = vocab_json.get("size")
    if isinstance(vsize, int) and isinstance(config, ModelConfig) and vsize > config.padded_vocab_size:
        raise ValueError(
            f"vocabulary has {vsize} tokens but the model's embedding has only {config.padded_vocab_size} rows"
        )
    weights_path, meta_path = checkpoint_paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)

    state = model.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for name, t in state.items():
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        tensors[name] = t
    float_dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in tensors.values() if t.is_floating_point()})
    sha = save_tensors(weights_path, tensors, metadata={"format": "pt", "tapehead": f"{FORMAT} v{FORMAT_VERSION}"})
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": config.to_json(),
        "vocab": vocab_json,
        "recipe": recipe,
        "metrics": metrics,
        "num_parameters": _num_parameters(model),
        "tensors": len(tensors),
        "weights": {
            "file": weights_path.name,
            "sha256": sha,
            "bytes": weights_path.stat().st_size,
            "dtype": ",".join(float_dtypes),
        },
    }
    try:
        write_json(meta_path, meta)
    except TypeError as e:  # recipe/metrics with values JSON cannot hold
        raise ValueError(f"checkpoint metadata is not JSON-serialisable: {e}") from None
    return meta


# --- load ----------------------------------------------------------------------------------------


def read_meta(path) -> dict:
    """The checkpoint's JSON metadata, validated for format (no weights are read)."""
    _, meta_path = checkpoint_paths(path)
    meta = _read_json(meta_path, "checkpoint metadata")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path} is not a tapehead checkpoint (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{meta_path} has format_version {version!r}; this tapehead reads up to {FORMAT_VERSION}"
        )
    for key in ("model_config", "vocab", "weights"):
        if not isinstance(meta.get(key), dict):
            raise CheckpointError(f"{meta_path} lacks the {key!r} object")
    if not isinstance(meta["weights"].get("sha256"), str):
        raise CheckpointError(f"{meta_path} lacks weights.sha256")
    return meta


def _diff_dicts(got: dict, want: dict) -> list[str]:
    out = []
    for k in sorted(set(got) | set(want), key=str):
        if k not in got:
            out.append(f"{k}: missing (expected {want[k]!r:.80})")
        elif k not in want:
            out.append(f"{k}: unexpected ({got[k]!r:.80})")
        elif got[k] != want[k]:
            a, b = got[k], want[k]
            if isinstance(a, list) and isinstance(b, list):
                i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                x = a[i] if i < len(a) else "<end>"
                y = b[i] if i < len(b) else "<end>"
                out.append(f"{k}: differs at index {i} ({x!r} vs expected {y!r}; lengths {len(a)} vs {len(b)})")
            else:
                out.append(f"{k}: {a!r:.80} vs expected {b!r:.80}")
    return out


def check_vocab(meta: dict, expected_vocab: dict, where: str = "checkpoint") -> None:
    got = meta.get("vocab")
    if got != expected_vocab:
        diffs = _diff_dicts(got if isinstance(got, dict) else {}, expected_vocab)
        raise CheckpointError(
            f"the {where}'s vocabulary differs from the expected one: " + "; ".join(diffs[:6])
            + (f"; ... ({len(diffs)} differences)" if len(diffs) > 6 else "")
        )


def _check_and_load_state(model: torch.nn.Module, tensors: dict[str, torch.Tensor], source) -> None:
    """Strict load with readable errors: missing/unexpected keys, shapes, tied tensors that differ."""
    state = model.state_dict()
    try:  # as the header was; again, for the tensors really read
        check_fits(tensors, {k: tuple(t.shape) for k, t in state.items()}, source)
    except ValueError as e:
        raise CheckpointError(str(e)) from None
    # tensors tied in the model (same storage) must be equal in the file
    by_storage: dict[tuple, str] = {}
    for k, t in state.items():
        key = (t.untyped_storage().data_ptr(), t.data_ptr(), tuple(t.shape), t.stride())
        if key in by_storage:
            first = by_storage[key]
            if not torch.equal(tensors[first], tensors[k]):
                raise CheckpointError(f"{source}: {first} and {k} are tied in the model but differ in the file")
        else:
            by_storage[key] = k
    with torch.no_grad():
        model.load_state_dict(tensors, strict=True)


def load_into(model: torch.nn.Module, path, *, expected_vocab: dict | None = None, check_config: bool = True) -> dict:
    """Load a checkpoint's weights into an existing ``model`` (after all checks); returns its metadata.

    With ``check_config`` the checkpoint's model config must equal ``model.config.to_json()``.
    """
    model = _unwrap(model)
    weights_path, meta_path = checkpoint_paths(path)
    meta = read_meta(path)
    if expected_vocab is not None:
        check_vocab(meta, expected_vocab)
    if check_config and hasattr(getattr(model, "config", None), "to_json"):
        want = model.config.to_json()
        if meta["model_config"] != want:
            diffs = _diff_dicts(meta["model_config"], want)
            raise CheckpointError(f"{meta_path}: model config differs from the model's: " + "; ".join(diffs[:8]))
    _check_header(weights_path, {k: tuple(t.shape) for k, t in model.state_dict().items()})
    tensors = load_tensors(weights_path, meta["weights"]["sha256"])
    _check_and_load_state(model, tensors, weights_path)
    return meta


def _check_header(weights_path: Path, shapes: dict) -> None:
    """The weights file's header (no tensor read) holds exactly tensors of these names and ``shapes``."""
    if not weights_path.is_file():
        raise CheckpointError(f"missing weights file {weights_path}")
    try:
        check_fits(read_header(weights_path), shapes, weights_path)
    except ValueError as e:
        raise CheckpointError(str(e)) from None


def load_checkpoint(
    path,
    *,
    expected_vocab: dict | None = None,
    device="cpu",
    dtype: torch.dtype | None = torch.float32,
):
    """Build the model a checkpoint describes and load its weights: returns ``(model, meta)``.

    ``path`` may carry ``.safetensors`` or ``.json`` or no suffix. The model is in eval mode, on
    ``device``, floating parameters cast to ``dtype`` (``None`` keeps the model's own dtypes).
    """
    from .factory import build_model, state_shapes

    weights_path, meta_path = checkpoint_paths(path)
    meta = read_meta(path)
    if expected_vocab is not None:
        check_vocab(meta, expected_vocab)
    try:
        config = ModelConfig.from_json(meta["model_config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{meta_path}: {e}") from None  # e names the model config's field
    vsize = meta["vocab"].get("size")
    if isinstance(vsize, int) and vsize > config.padded_vocab_size:
        raise CheckpointError(
            f"{meta_path}: vocabulary has {vsize} tokens but the model's embedding only {config.padded_vocab_size}"
        )
    # Untrusted sizes are checked before anything is allocated: the config's fields (above), then the
    # weights file's header against the network it describes; only then are tensors read and built.
    _check_header(weights_path, state_shapes(config))
    tensors = load_tensors(weights_path, meta["weights"]["sha256"])
    model = build_model(config)
    _check_and_load_state(model, tensors, weights_path)
    model.to(device=device)
    if dtype is not None:
        model.to(dtype=dtype)
    model.eval()
    return model, meta
