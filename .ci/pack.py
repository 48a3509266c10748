"""Packs a GPU round's keepings into $OUT within the device tool's return limits, most needed first.

The device tool brings back at most 8 files of at most 16 MiB each, 64 MiB together; what does not
fit is lost. So the round's files go in groups, each its own gzip'd tar (split into 15 MiB parts),
added in this order while the limits allow:

1. ``results``: every results/train/suite JSON, plot and log (small; never worth losing);
2. ``policies``: the seed-0 per-task (also ``mamba2-nN``) and every multi-task Mamba-2 policy
   (bf16, ~3.6 MB each); then ``add100k``, a suspended long evaluation's results and snapshot;
3. ``state-*``: the training state of each unfinished cell (weights + AdamW, ~20 MB), Mamba-2
   cells before baselines, each the furthest along first, so a later round resumes it (a lost one
   costs a whole restart);
4. ``triton``: the Triton kernel cache (7-25 MB; saves the next machine some compiling);
5. ``policies-more``: the other Mamba-2 policies (other seeds, the ablations).

Baseline policies and finished cells' training state are never kept (the study needs their results).

    python3 .ci/pack.py OUT_DIR              # on the device machine, after the round
    python3 .ci/pack.py --unpack FILES_DIR   # here: unpack every group into the working tree
                                             # (the Triton cache into .carry/ for the next round)
"""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
from pathlib import Path

PART = 15 * 2**20
MAX_FILES, MAX_TOTAL = 8, 60 * 2**20
BASELINES = ("transformer-s", "swa-s", "lstm-s", "gru-s")
ABLATIONS = ("addition-nocot", "addition-reversed", "addition-calc", "addition-predicted")


def classify(path: Path) -> str | None:
    """The group of one file under runs/, or None (not kept)."""
    parts = path.parts
    if "suite-code" in parts:  # the coding study: every cell's policy comes back (evaluation goes on here)
        if "train" in parts:
            cell_dir = Path(*parts[: parts.index("train")])
            return None if (cell_dir / "policy.json").exists() else f"state-code-{cell_dir.name}"
        if path.name.startswith("policy."):
            return "policies-code"
        return "trajectories-code" if path.name.endswith(".gz") else "results"
    if "add100k" in parts:  # a suspended long evaluation: its snapshot can be large, never with the results
        return "add100k"
    cell = next((p for p in parts if p.startswith(BASELINES + ("mamba2-",))), None)
    if "train" in parts:  # a training directory: kept only while its cell is unfinished
        cell_dir = Path(*parts[: parts.index("train")])
        if (cell_dir / "policy.json").exists():
            return None
        return f"state-{'-'.join(cell_dir.parts[-2:])}"
    if path.name.startswith("policy."):
        if cell and cell.startswith(BASELINES):
            return None
        seed0 = cell is not None and cell.endswith("-s0") and (cell == "mamba2-s0" or cell.startswith("mamba2-n"))
        main = "multitask" in parts or (seed0 and not any(a in parts for a in ABLATIONS))
        return "policies" if main else "policies-more"
    return "results"


def state_progress(group: str, files: list[Path]) -> int:
    """Steps reached by an unfinished cell (its last.train.json), for ordering the states."""
    for f in files:
        if f.name == "last.train.json":
            try:
                return int(json.loads(f.read_text()).get("step", 0))
            except (OSError, ValueError):
                return 0
    return 0


def tar_bytes(files: list[Path], root: Path | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for f in files:
            tar.add(f, arcname=str(f.relative_to(root)) if root else str(f))
    return buf.getvalue()


def pack(out: Path, roots: list[Path], triton: Path) -> list[str]:
    groups: dict[str, list[Path]] = {}
    for root in roots:
        for f in sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []:
            g = classify(f)
            if g:
                groups.setdefault(g, []).append(f)
    # Mamba-2 cells' state first, then the baselines' (an LSTM cut twice at 250 and 1,050 steps started
    # over each time), each the furthest along first
    baseline = lambda g: any(f"-{b}" in g for b in BASELINES)  # noqa: E731
    states = sorted((g for g in groups if g.startswith("state-")),
                    key=lambda g: (baseline(g), -state_progress(g, groups[g])))
    order = ["results", "policies", "policies-code", "add100k", *states, "triton", "policies-more",
             "trajectories-code"]
    out.mkdir(parents=True, exist_ok=True)
    n_files, total, report = 0, 0, []
    for g in order:
        if g == "triton":
            files = sorted(p for p in triton.rglob("*") if p.is_file()) if triton.exists() else []
            data = tar_bytes(files, triton.parent) if files else b""
        else:
            data = tar_bytes(groups.get(g, [])) if groups.get(g) else b""
        if not data:
            continue
        chunks = [data[i: i + PART] for i in range(0, len(data), PART)]
        if n_files + len(chunks) > MAX_FILES or total + len(data) > MAX_TOTAL:
            report.append(f"LEFT OUT {g}: {len(data) / 2**20:.1f} MiB (would pass the return limits)")
            continue
        for k, c in enumerate(chunks):
            (out / f"{g}.tgz.part-{k:02d}").write_bytes(c)
        n_files, total = n_files + len(chunks), total + len(data)
        report.append(f"packed {g}: {len(data) / 2**20:.1f} MiB in {len(chunks)} part(s)")
    return report


def unpack(files_dir: Path, dest: Path) -> None:
    parts: dict[str, list[Path]] = {}
    for f in sorted(files_dir.iterdir()):
        if ".tgz.part-" in f.name:
            parts.setdefault(f.name.split(".tgz.part-")[0], []).append(f)
    for g, fs in parts.items():
        data = b"".join(f.read_bytes() for f in sorted(fs))
        if g == "triton":  # not used here: kept for the next round's carry (.ci/round restores it)
            (dest / ".carry").mkdir(exist_ok=True)
            (dest / ".carry" / "triton-cache.tgz").write_bytes(data)
            print("kept the Triton cache in .carry/triton-cache.tgz")
            continue
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(dest, filter="data")
        print(f"unpacked {g} ({len(fs)} part(s))")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--unpack"]:
        unpack(Path(sys.argv[2]), Path("."))
    else:
        for line in pack(Path(sys.argv[1]), [Path("runs/suite"), Path("runs/suite-code"), Path("runs/add100k"),
                                          Path("runs/logs"), Path("runs/eff")],
                         Path(os.path.expanduser("~/.triton/cache"))):
            print(line)
