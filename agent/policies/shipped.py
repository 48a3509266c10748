"""Policies by name: the checkpoints a distribution ships as package data, found from any directory.

Convention (like the task registry, ``agent/tasks.py``): a package whose folder holds checkpoints
(``NAME.json`` + ``NAME.safetensors``) is registered under the entry-point group
``tapehead.policies`` in ``pyproject.toml`` -- ours is ``tapehead.evals.policies`` -- and its folder
is found with ``importlib.resources``, so the agent never imports the layer above it by name and an
installed wheel finds its policies wherever the command runs.

A policy spec is a *name* when it is a bare word (no ``/``, no ``.json``/``.safetensors``, not
``~``-prefixed): it must be one of the shipped names, else the error lists them. Anything else is
a checkpoint path, as before (``./addition`` reaches a local checkpoint that shares a shipped name).

``describe`` reads what ``tapehead policies`` shows from each checkpoint's JSON alone (no torch):
the task or mixture, the parameter count, the training recipe and the measured range
(``metrics.eval``: per task, sizes and whole-trajectory accuracy, copied from the results files
that ``docs/benchmarks.md`` cites).
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from importlib.metadata import entry_points
from pathlib import Path

GROUP = "tapehead.policies"
SUFFIXES = (".json", ".safetensors")


@cache
def shipped() -> dict[str, str]:
    """Shipped policy name -> checkpoint path without suffix, sorted by name. The first package
    (by entry-point name) that ships a name wins."""
    found: dict[str, str] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            folder = resources.files(ep.value)
        except (ImportError, TypeError):  # a registered package that is not installed
            continue
        if not isinstance(folder, Path):  # a zipped install: checkpoints need real files
            continue
        for meta in sorted(folder.glob("*.json")):
            if meta.with_suffix(".safetensors").is_file():
                found.setdefault(meta.stem, str(meta.with_suffix("")))
    return dict(sorted(found.items()))


def is_name(spec: str) -> bool:
    return bool(spec) and os.sep not in spec and "/" not in spec and not spec.startswith("~") \
        and not spec.endswith(SUFFIXES) and spec not in (".", "..")


def resolve(spec: str) -> str:
    """The checkpoint path (without suffix) of a shipped name, or of a path as given."""
    if not is_name(spec):
        return os.path.abspath(os.path.expanduser(spec))
    names = shipped()
    if spec in names:
        return names[spec]
    raise FileNotFoundError(f"no shipped policy {spec!r}: the names are {', '.join(names) or 'none'} "
                            "(`tapehead policies` lists them); for a checkpoint of your own give its path, "
                            f"e.g. ./{spec}")


def label(spec: str) -> str:
    """What a run records as its policy: the name for a shipped one (it survives a reinstall), else
    the absolute path."""
    return spec if is_name(spec) else resolve(spec)


# --- what `tapehead policies` shows ---------------------------------------------------------------
def describe(name: str, path: str | None = None) -> dict:
    """One row of ``tapehead policies`` from ``PATH.json``; a JSON that cannot be read gives a row
    with ``error`` (the listing goes on)."""
    path = path or resolve(name)
    row: dict = {"name": name, "path": path}
    try:
        meta = json.loads(Path(path + ".json").read_text(encoding="utf-8"))
        recipe = _dict(meta.get("recipe"))
        metrics = _dict(meta.get("metrics"))
        mixture = recipe.get("mixture")
        tasks = [str(p[0]) for p in mixture if isinstance(p, list) and p] if isinstance(mixture, list) \
            else [str(recipe.get("task", "?"))]
        sizes = {str(p[0]): p[1] for p in mixture if isinstance(p, list) and len(p) > 1} \
            if isinstance(mixture, list) else {tasks[0]: recipe.get("max_size")}
        row.update(tasks=tasks, parameters=meta.get("num_parameters"),
                   arch=_dict(meta.get("model_config")).get("arch"),
                   dtype=_dict(meta.get("weights")).get("dtype"),
                   recipe={"steps": recipe.get("steps"), "batch": recipe.get("batch"), "lr": recipe.get("lr"),
                           "seed": recipe.get("seed"), "train_size": sizes},
                   measured=[_measured(e) for e in metrics.get("eval") or [] if isinstance(e, dict)])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError, TypeError) as e:
        row["error"] = f"unreadable {path}.json: {e}"
    return row


def _dict(v) -> dict:
    return v if isinstance(v, dict) else {}


def _measured(e: dict) -> dict:
    """Per task: the sizes measured, the largest size up to which every whole trajectory was exact,
    and the first size where that stopped (with its accuracy)."""
    pairs = list(zip(e.get("sizes") or [], e.get("trajectory_acc") or []))
    exact_to, first_miss = None, None
    for size, acc in pairs:
        if acc == 1.0 and first_miss is None:
            exact_to = size
        elif first_miss is None:
            first_miss = (size, acc)
    return {"task": e.get("task"), "sizes": [s for s, _ in pairs], "trajectory_acc": [a for _, a in pairs],
            "exact_to": exact_to, "first_below": list(first_miss) if first_miss else None,
            "largest": pairs[-1][0] if pairs else None, "source": e.get("results")}


def range_text(m: dict) -> str:
    """``exact to 100000`` / ``exact to 20, 48% at 50`` / ``38% at 10``: trajectory accuracy."""
    parts = []
    if m["exact_to"] is not None:
        parts.append(f"exact to {m['exact_to']:,}")
    if m["first_below"]:
        size, acc = m["first_below"]
        parts.append(f"{acc:.0%} at {size:,}")
    return ", ".join(parts) or "not measured"
