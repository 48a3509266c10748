"""Registers tapehead's entry points (tasks, commands) from pyproject.toml, without building a wheel.

The GPU machine imports the code from the working tree (``/tmp/site/tapehead``, a symlink to it on
PYTHONPATH: .ci/gpu); only the entry points need an installed distribution. This writes the
smallest one importlib.metadata finds: a ``tapehead-VERSION.dist-info`` with METADATA and
entry_points.txt, into the folder given.

    python3 .ci/entry_points.py /tmp/site
"""

import sys
import tomllib
from pathlib import Path

project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
info = Path(sys.argv[1]) / f"{project['name']}-{project['version']}.dist-info"
info.mkdir(parents=True, exist_ok=True)
(info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
groups = project.get("entry-points", {})
(info / "entry_points.txt").write_text("".join(
    f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in eps.items()) + "\n"
    for group, eps in groups.items()))
print(f"entry points of {sum(len(e) for e in groups.values())} names in {info}")
