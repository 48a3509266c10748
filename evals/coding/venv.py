"""The interpreter a repository's checks run with: its own virtual environment when it has one.

Convention (PEP 405 virtual environments: a ``pyvenv.cfg`` beside ``bin/``, ``home = `` naming the
base interpreter's directory): a directory's ``.venv/`` or ``venv/`` (the first that is a venv) is
exposed read-only inside the sandbox at its own path, with its ``bin/`` first on PATH, and so is
the base installation it was made from; otherwise the checks run with the current Python (the
sandbox's default). Returned as ``tapehead.tools.sandbox.sandbox.Limits`` fields, so the same
limits reach every sandboxed tool of the workspace (``run``, ``run_python``, ``check``).
"""

from __future__ import annotations

import os
from dataclasses import replace

from tapehead.tools.sandbox.sandbox import Limits

CANDIDATES = (".venv", "venv")


def find_venv(directory: str) -> str | None:
    """The real path of the repository's virtual environment, or None."""
    for name in CANDIDATES:
        path = os.path.join(directory, name)
        if os.path.isfile(os.path.join(path, "pyvenv.cfg")) and os.path.exists(os.path.join(path, "bin", "python")):
            return os.path.realpath(path)
    return None


def _home(venv: str) -> str | None:
    with open(os.path.join(venv, "pyvenv.cfg"), encoding="utf-8", errors="replace") as f:
        for line in f:
            key, sep, value = line.partition("=")
            if sep and key.strip().lower() == "home":
                return value.strip()
    return None


def sandbox_limits(directory: str, base: Limits | None = None) -> tuple[Limits, str]:
    """(limits for the workspace's sandbox, one line saying which interpreter the checks use)."""
    base = base or Limits()
    venv = find_venv(directory)
    if venv is None:
        return base, "checks run with the current Python (no .venv/ or venv/ in the repository)"
    expose = [venv]
    home = _home(venv)
    if home and os.path.isdir(home):  # the base installation: its bin/ and the prefix above it
        expose.append(os.path.dirname(os.path.realpath(home)))
    target = os.path.realpath(os.path.join(venv, "bin", "python"))
    expose.append(os.path.dirname(os.path.dirname(target)))
    extra = tuple(dict.fromkeys(p for p in expose if p not in ("/", "")))
    limits = replace(base, extra_ro=base.extra_ro + extra, path_first=(os.path.join(venv, "bin"), *base.path_first))
    return limits, f"checks run with the repository's own interpreter {os.path.join(venv, 'bin', 'python')}"
