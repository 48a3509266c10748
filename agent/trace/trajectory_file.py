"""Writing a trajectory file after every step: ``Trajectory.to_json()``, written atomically and fast.

Convention: the file is exactly ``Trajectory.to_json()`` (``format``/``version`` included), so
``Trajectory.load`` reads it; it is written atomically (a temporary file in the same directory,
then a rename), so a reader -- or a run killed with SIGKILL -- never sees half a file. It is
rewritten after every graph step, so its cost matters: the tokens go in their compact encoding
(``agent/trace/tokens.py``: for a 1,000-digit addition's ~38,000 tokens, ~1 ms and 17 KB, where a
JSON list took ~15 ms and 180 KB) and the rest through ``json.dumps`` (the C encoder).
"""

from __future__ import annotations

import json
import os
import tempfile

from .trajectory import Trajectory


def write_trajectory(path: str, traj: Trajectory) -> None:
    write_json_atomic(path, traj.to_json())


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
