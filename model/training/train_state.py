"""The resumable training state: optimizer tensors, RNG states and counters, without pickle.

``out_dir/last.train.{safetensors,json}`` beside the policy checkpoint ``out_dir/last.*``: AdamW
tensors and per-rank torch RNG states in safetensors, the rest (step, tokens seen, optimizer
hyper-parameters, rank 0's Python ``random`` state) in JSON, tied to the weights by their sha256.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from tapehead.model.checkpoint import (
    CheckpointError,
    _read_json,
    checkpoint_paths,
    load_into,
    load_tensors,
    read_meta,
    save_tensors,
    write_json,
)
from .distributed import Dist
from .metrics import METRICS

STATE_FORMAT = "tapehead-train-state"
STATE_FORMAT_VERSION = 1
LAST = "last"  # checkpoint name inside out_dir
RUN_FILES = (f"{LAST}.safetensors", f"{LAST}.json", f"{LAST}.train.safetensors", f"{LAST}.train.json", METRICS)


class RunExists(ValueError):
    """A new run asked for in a directory that holds one (one line for the user; exit status 2)."""


def claim_run_dir(out_dir, *, resume: bool, overwrite: bool, rank: int = 0) -> None:
    """A new run never silently replaces an old one: an ``out_dir`` holding a run is refused unless
    the run is resumed or ``overwrite`` (then rank 0 deletes the run's files, and only those)."""
    out = Path(out_dir)
    present = [f for f in RUN_FILES if (out / f).exists()]
    if not present or resume:
        return
    if not overwrite:
        try:
            step = f" at step {int(_read_json(train_state_paths(out)[1], 'training state')['step'])}"
        except (CheckpointError, KeyError, TypeError, ValueError):
            step = ""
        raise RunExists(f"{out} already holds a training run{step}: --resume continues it, --overwrite starts over "
                        "(deleting it), or give another --out")
    if rank == 0:
        for f in present:
            (out / f).unlink(missing_ok=True)


def train_state_paths(out_dir) -> tuple[Path, Path]:
    base = Path(out_dir) / f"{LAST}.train"
    return Path(f"{base}.safetensors"), Path(f"{base}.json")


def gather_rng(dctx: Dist, device: torch.device) -> dict[str, torch.Tensor]:
    """Per-rank torch RNG states (CPU, and CUDA when used), gathered to every rank as tensors."""
    states = {"rng.cpu": torch.get_rng_state()}  # uint8 [5056]
    if device.type == "cuda":
        states["rng.cuda"] = torch.cuda.get_rng_state(device)  # uint8 [16]
    out = {}
    for name, s in states.items():
        if dctx.enabled:
            comm_dev = device if dist.get_backend() == "nccl" else torch.device("cpu")
            parts = [torch.empty_like(s, device=comm_dev) for _ in range(dctx.world)]
            dist.all_gather(parts, s.to(comm_dev))
        else:
            parts = [s]
        for r, p in enumerate(parts):
            out[f"{name}.{r}"] = p.cpu()
    return out


def save_train_state(out_dir, opt: torch.optim.Optimizer, rng: dict, info: dict, weights_sha: str) -> None:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = dict(rng)
    scalars: dict[str, dict] = {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim.{pid}.{k}"] = v  # exp_avg / exp_avg_sq like the param; step 0-d
            else:
                scalars.setdefault(str(pid), {})[k] = v
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items() if not torch.is_tensor(v)}
        for g in sd["param_groups"]
    ]
    wpath, jpath = train_state_paths(out_dir)
    sha = save_tensors(wpath, tensors, metadata={"format": "pt", "tapehead": f"{STATE_FORMAT} v{STATE_FORMAT_VERSION}"})
    meta = {
        "format": STATE_FORMAT,
        "format_version": STATE_FORMAT_VERSION,
        **info,
        "weights_sha256": weights_sha,
        "optimizer": {"class": type(opt).__name__, "param_groups": groups, "state_scalars": scalars},
        "python_random": _py_random_to_json(random.getstate()),
        "state": {"file": wpath.name, "sha256": sha},
    }
    write_json(jpath, meta)


def _py_random_to_json(state) -> list:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _py_random_from_json(data) -> tuple:
    version, internal, gauss = data
    return (version, tuple(internal), gauss)


def load_train_state(out_dir, model, opt, dctx: Dist, device: torch.device, vocab_json: dict) -> dict:
    """Load weights, optimizer state and this rank's RNG from ``out_dir/last*``; returns the state JSON."""
    wpath, jpath = train_state_paths(out_dir)
    meta = _read_json(jpath, "training state")
    if meta.get("format") != STATE_FORMAT or meta.get("format_version", 0) > STATE_FORMAT_VERSION:
        raise CheckpointError(f"{jpath} is not a tapehead training state this version reads")
    model_base = Path(out_dir) / LAST
    model_meta = read_meta(model_base)
    if model_meta["weights"]["sha256"] != meta.get("weights_sha256"):
        raise CheckpointError(
            f"{jpath} belongs to other weights than {checkpoint_paths(model_base)[0]} "
            "(a save was interrupted?): cannot resume exactly"
        )
    load_into(model, model_base, expected_vocab=vocab_json)
    tensors = load_tensors(wpath, meta["state"]["sha256"], what="training state")

    saved_groups = meta["optimizer"]["param_groups"]
    cur = opt.state_dict()
    if [len(g["params"]) for g in saved_groups] != [len(g["params"]) for g in cur["param_groups"]]:
        raise CheckpointError(
            f"{jpath}: optimizer parameter groups of sizes {[len(g['params']) for g in saved_groups]} "
            f"do not match the model's {[len(g['params']) for g in cur['param_groups']]}"
        )
    state: dict[int, dict] = {}
    for key, t in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = t
    for pid, d in meta["optimizer"].get("state_scalars", {}).items():
        state.setdefault(int(pid), {}).update(d)
    # hyper-parameters come from the current config (lr is set by the schedule every step)
    opt.load_state_dict({"state": state, "param_groups": cur["param_groups"]})

    saved_world = int(meta.get("world_size", 1))
    if saved_world == dctx.world and f"rng.cpu.{dctx.rank}" in tensors:
        torch.set_rng_state(tensors[f"rng.cpu.{dctx.rank}"])
        if device.type == "cuda" and f"rng.cuda.{dctx.rank}" in tensors:
            torch.cuda.set_rng_state(tensors[f"rng.cuda.{dctx.rank}"], device)
    else:  # another world size: per-rank streams cannot be matched; reseed deterministically
        torch.manual_seed(int(meta["train_config"]["seed"]) + dctx.rank + 1_000_003 * int(meta["step"]))
        if dctx.rank == 0:
            print(
                f"warning: resuming a {saved_world}-process run on {dctx.world}: data shards and RNG streams "
                "differ from the original run",
                file=sys.stderr,
            )
    if "python_random" in meta and dctx.rank == 0:  # rank 0's stream (other ranks keep their seed)
        random.setstate(_py_random_from_json(meta["python_random"]))
    return meta


# --- evaluation ----------------------------------------------------------------------------------
