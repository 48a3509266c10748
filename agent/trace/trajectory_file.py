"""Writing a trajectory file after every step: the format of ``agent/trace/trajectory.py``, written fast.

Convention: the file is exactly ``Trajectory.to_json()`` (``format``/``version`` included), so
``Trajectory.load`` reads it; it is written atomically (a temporary file in the same directory,
then a rename), so a reader -- or a run killed with SIGKILL -- never sees half a file. This module
differs from ``Trajectory.save`` only in speed: ``dataclasses.asdict`` deep-copies every token and
``json.dump`` encodes in Python, about 70 ms for a 1,000-digit addition (38,000 tokens) on the dev
machine; building the dict by hand and encoding with ``json.dumps`` (the C encoder) takes a few
milliseconds, which matters when it happens after every step.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import fields

from .trajectory import FORMAT, VERSION, Trajectory

_FIELDS = [f.name for f in fields(Trajectory)]


def write_trajectory(path: str, traj: Trajectory) -> None:
    data = {name: getattr(traj, name) for name in _FIELDS}
    data["format"], data["version"] = FORMAT, VERSION
    write_json_atomic(path, data)


def write_json_atomic(path: str, data) -> None:
    write_text_atomic(path, json.dumps(data, ensure_ascii=False))


def write_text_atomic(path: str, text: str) -> None:
    """``text`` into ``path`` through a temporary file in the same directory and a rename."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".traj-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
