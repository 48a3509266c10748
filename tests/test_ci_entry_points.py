""".ci/entry_points.py: the GPU machine's tapehead entry points, written from pyproject.toml, are
the installed package's (so the device never runs with a stale task list)."""

import importlib.metadata as md
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_written_entry_points_match_the_installed_ones(tmp_path):
    subprocess.run([sys.executable, ".ci/entry_points.py", str(tmp_path)], cwd=ROOT, check=True,
                   capture_output=True)
    (dist,) = md.distributions(path=[str(tmp_path)])
    assert dist.metadata["Name"] == "tapehead"
    written = {(e.group, e.name, e.value) for e in dist.entry_points}
    installed = {(e.group, e.name, e.value) for e in md.distribution("tapehead").entry_points
                 if e.group.startswith("tapehead.")}
    assert {w for w in written if w[0].startswith("tapehead.")} == installed
    assert ("tapehead.tasks", "mult1-reread", "tapehead.evals.tasks.multiplication:TASK_N1_REREAD") in written
