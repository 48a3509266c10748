"""Lazy access to mamba-ssm's Triton kernels: the CUDA fast path of ``Mamba2LM``.

Never imported at module import time (docs/dependencies.md: the import costs seconds, and once
mamba-ssm is importable HF transformers routes CPU tensors into GPU kernels). ``load()`` is called
the first time a Mamba-2 module sees CUDA tensors; it returns ``None`` (and the pure-PyTorch
reference path is used) when CUDA or mamba-ssm is missing, or when ``TAPEHEAD_KERNELS=0``.

mamba-ssm 2.3.2.post1 imports ``selective_scan_cuda`` (the Mamba-1 CUDA extension) unconditionally
in ``mamba_ssm/__init__.py``; the pure-Python wheel we use on the H200 has no such extension
(docs/gpu.md). We put an empty placeholder module under that name before the import, which lets the
Mamba-2 Triton kernels load; any Mamba-1 call would then fail, and we make none.
"""

from __future__ import annotations

import logging
import os
import sys
import types
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("tapehead.model")

_CACHE: dict[str, object] = {}
_OFF = [0]  # > 0 inside ``disabled()``


class disabled:
    """Context manager: run CUDA tensors through the pure-PyTorch reference (for parity tests)."""

    def __enter__(self):
        _OFF[0] += 1

    def __exit__(self, *exc):
        _OFF[0] -= 1


@dataclass(frozen=True)
class Kernels:
    mamba_chunk_scan_combined: Callable  # SSD chunk scan (x, dt, A, B, C, chunk_size, ...)
    rmsnorm_gated: Callable  # gated RMSNorm: rmsnorm_fn(x, weight, bias, z=, eps=, group_size=, norm_before_gate=)
    rms_norm_add: Callable  # fused residual add + RMSNorm: rms_norm_fn(x, weight, bias, residual=, prenorm=, ...)
    selective_state_update: Callable  # one decoding step of the SSM state
    version: str


def load() -> Kernels | None:
    """The kernels, or None if they cannot be used here. Cached; logs the path once."""
    if _OFF[0]:
        return None
    if "k" in _CACHE:
        return _CACHE["k"]  # type: ignore[return-value]
    k = None
    why = ""
    if os.environ.get("TAPEHEAD_KERNELS", "1") == "0":
        why = "TAPEHEAD_KERNELS=0"
    else:
        try:
            import torch

            if not torch.cuda.is_available():
                raise ImportError("no CUDA device")
            # Placeholder for the Mamba-1 extension the 2.3.2.post1 release imports unconditionally.
            sys.modules.setdefault("selective_scan_cuda", types.ModuleType("selective_scan_cuda"))
            import mamba_ssm
            from mamba_ssm.ops.triton.layer_norm import rms_norm_fn
            from mamba_ssm.ops.triton.layernorm_gated import rmsnorm_fn
            from mamba_ssm.ops.triton.selective_state_update import selective_state_update
            from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined

            k = Kernels(mamba_chunk_scan_combined, rmsnorm_fn, rms_norm_fn, selective_state_update,
                        getattr(mamba_ssm, "__version__", "?"))
        except Exception as e:  # ImportError, or a broken install: fall back, and say so
            why = f"{type(e).__name__}: {e}"
    _CACHE["k"] = k
    if k is not None:
        log.info("Mamba-2 CUDA path: mamba-ssm %s Triton kernels", k.version)
    else:
        log.info("Mamba-2 path: pure PyTorch reference (%s)", why)
    _CACHE["why"] = why
    return k


def describe() -> str:
    """One line for logs and benchmark output: which path CUDA tensors take."""
    k = load()
    return f"mamba-ssm {k.version} triton" if k else f"pytorch reference ({_CACHE.get('why', '')})"
