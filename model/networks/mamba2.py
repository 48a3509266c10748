"""The Mamba-2 mixer in pure PyTorch, parameter-for-parameter the same as mamba-ssm's ``Mamba2``.

Follows mamba-ssm 2.3.2 ``mamba_ssm/modules/mamba2.py`` (the non-fused path, ``rmsnorm=True``,
``norm_before_gate=False``, ``D_has_hdim=False``, no bias, ``d_ssm = d_inner``): same parameter
names (``in_proj``, ``conv1d``, ``dt_bias``, ``A_log``, ``D``, ``norm.weight``, ``out_proj``), shapes
and initialisation, so state dicts move both ways with ``strict=True``.

Two differences of substance from mamba-ssm, both needed by a tool-using policy:
- ``forward`` continues from a given decoding state (conv history and SSM state) and leaves the
  new state in it, so a policy can go prefill -> steps -> prefill (an observation block) -> steps;
  mamba-ssm's prefill always starts from zero.
- On CPU everything runs here (``model/networks/ssd.py``); on CUDA with mamba-ssm importable the same
  weights go through mamba-ssm's Triton kernels (``model/kernels.py``). The reference path is the
  readable twin of the kernel path; tests/model/test_gpu_parity.py compares them on the H200.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from tapehead.model import kernels as _kernels
from .ssd import ssd_chunked


def f32(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float32 without a dispatch when it already is (the CPU decode step is op-overhead bound)."""
    return t if t.dtype == torch.float32 else t.float()


def rms_norm(x: torch.Tensor, weight: torch.Tensor | None, eps: float) -> torch.Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the last dim (faster than F.rms_norm on CPU for one row)."""
    y = x * torch.rsqrt(x.square().mean(-1, keepdim=True).add_(eps))
    return y if weight is None else y * weight


class GatedRMSNorm(nn.Module):
    """mamba-ssm ``layernorm_gated.RMSNorm`` with ``norm_before_gate=False``:
    ``rmsnorm(x * silu(z)) * weight``, normalised over groups of ``group_size`` channels."""

    def __init__(self, d: int, eps: float = 1e-5, group_size: int | None = None, device=None, dtype=None):
        super().__init__()
        self.eps = eps
        self.group_size = group_size or d
        self.weight = nn.Parameter(torch.ones(d, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = f32(x) * F.silu(f32(z))
        if self.group_size == x.shape[-1]:  # one group (ngroups = 1)
            out = rms_norm(x, f32(self.weight), self.eps)
        else:
            g = rms_norm(x.view(*x.shape[:-1], -1, self.group_size), None, self.eps)  # [..., groups, size]
            out = g.view_as(x) * f32(self.weight)
        return out if out.dtype == dtype else out.to(dtype)


class Mamba2Mixer(nn.Module):
    def __init__(self, d_model: int, d_state: int = 64, d_conv: int = 4, expand: int = 2, headdim: int = 64,
                 ngroups: int = 1, A_init_range=(1.0, 16.0), dt_min=0.001, dt_max=0.1, dt_init_floor=1e-4,
                 chunk_size: int = 256, eps: float = 1e-5, device=None, dtype=None):
        super().__init__()
        fk = {"device": device, "dtype": dtype}
        self.d_model, self.d_state, self.d_conv, self.headdim, self.ngroups = d_model, d_state, d_conv, headdim, ngroups
        self.d_inner = self.d_ssm = expand * d_model
        assert self.d_ssm % headdim == 0, "d_inner must be a multiple of headdim"
        self.nheads = self.d_ssm // headdim
        self.chunk_size = chunk_size
        self.conv_dim = self.d_ssm + 2 * ngroups * d_state
        # in_proj output order, as mamba-ssm: [z (d_ssm), x (d_ssm), B (g n), C (g n), dt (h)]
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner + 2 * ngroups * d_state + self.nheads, bias=False, **fk)
        self.conv1d = nn.Conv1d(self.conv_dim, self.conv_dim, kernel_size=d_conv, groups=self.conv_dim,
                                padding=d_conv - 1, bias=True, **fk)
        # dt_bias = softplus^-1(dt), dt log-uniform in [dt_min, dt_max] (mamba-ssm's init)
        dt = torch.exp(torch.rand(self.nheads, **fk) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = torch.clamp(dt, min=dt_init_floor)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        A = torch.empty(self.nheads, dtype=torch.float32, device=device).uniform_(*A_init_range)
        self.A_log = nn.Parameter(torch.log(A).to(dtype=dtype))
        self.D = nn.Parameter(torch.ones(self.nheads, device=device))
        for p in (self.dt_bias, self.A_log, self.D):
            p._no_weight_decay = True
        self.norm = GatedRMSNorm(self.d_ssm, eps=eps, group_size=self.d_ssm // ngroups, **fk)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False, **fk)

    # --- state ----------------------------------------------------------------------------------
    def allocate_state(self, batch_size: int, device=None, dtype=None):
        """(conv_state [b, conv_dim, d_conv]: the last d_conv conv inputs; ssm_state [b, h, p, n] fp32)."""
        device = device or self.in_proj.weight.device
        conv = torch.zeros(batch_size, self.conv_dim, self.d_conv, device=device, dtype=dtype or self.conv1d.weight.dtype)
        ssm = torch.zeros(batch_size, self.nheads, self.headdim, self.d_state, device=device, dtype=torch.float32)
        return conv, ssm

    # --- parallel form: training and prefill ------------------------------------------------------
    def forward(self, u: torch.Tensor, conv_state: torch.Tensor | None = None,
                ssm_state: torch.Tensor | None = None) -> torch.Tensor:
        """u [b, l, d_model] -> [b, l, d_model]. With states given, starts from them and updates them."""
        b, l, _ = u.shape
        h, p, g, n = self.nheads, self.headdim, self.ngroups, self.d_state
        z, xBC, dt = torch.split(self.in_proj(u), [self.d_ssm, self.conv_dim, h], dim=-1)
        # Causal depthwise conv over [history (d_conv - 1 inputs), new inputs]; zeros = empty history.
        xBC_t = xBC.transpose(1, 2)  # [b, conv_dim, l]
        if conv_state is None:
            hist = xBC_t.new_zeros(b, self.conv_dim, self.d_conv - 1)
        else:
            hist = conv_state[:, :, 1:].to(xBC_t.dtype)
        full = torch.cat([hist, xBC_t], dim=-1)  # [b, conv_dim, d_conv - 1 + l]
        if conv_state is not None:
            conv_state.copy_(full[:, :, -self.d_conv:])  # l >= 1, so full has >= d_conv columns
        xBC = F.silu(F.conv1d(full, self.conv1d.weight, self.conv1d.bias, groups=self.conv_dim)).transpose(1, 2)
        x, B, C = torch.split(xBC, [self.d_ssm, g * n, g * n], dim=-1)
        A = -torch.exp(self.A_log.float())  # [h]
        k = _kernels.load() if u.is_cuda else None
        if k is not None:
            out = k.mamba_chunk_scan_combined(
                x.reshape(b, l, h, p), dt, A, B.reshape(b, l, g, n), C.reshape(b, l, g, n), self.chunk_size,
                D=self.D, z=None, dt_bias=self.dt_bias, dt_softplus=True, initial_states=ssm_state,
                return_final_states=ssm_state is not None)
            y, final = out if ssm_state is not None else (out, None)
            y = k.rmsnorm_gated(y.reshape(b, l, self.d_ssm), self.norm.weight, None, z=z, eps=self.norm.eps,
                                group_size=self.norm.group_size, norm_before_gate=False)
        else:
            dt = F.softplus(dt.float() + self.dt_bias.float())  # [b, l, h]
            y, final = ssd_chunked(x.reshape(b, l, h, p), dt, A, B.reshape(b, l, g, n), C.reshape(b, l, g, n),
                                   self.chunk_size, D=self.D, initial_state=ssm_state)
            y = self.norm(y.reshape(b, l, self.d_ssm), z)
        if ssm_state is not None:
            ssm_state.copy_(final)
        return self.out_proj(y)

    # --- recurrent form: one token ------------------------------------------------------------------
    def step(self, u: torch.Tensor, conv_state: torch.Tensor, ssm_state: torch.Tensor) -> torch.Tensor:
        """u [b, d_model] -> [b, d_model]; updates both states in place (fixed size, any episode length)."""
        b = u.shape[0]
        h, p, g, n = self.nheads, self.headdim, self.ngroups, self.d_state
        z, xBC, dt = torch.split(self.in_proj(u), [self.d_ssm, self.conv_dim, h], dim=-1)
        cd = conv_state.dtype
        conv_state.copy_(torch.cat([conv_state[:, :, 1:], xBC.unsqueeze(-1).to(cd)], dim=-1))
        # depthwise conv over the last d_conv inputs; a plain multiply-sum (an einsum here becomes a
        # batched matmul with K = d_conv, slow at large batch)
        w, bias = self.conv1d.weight[:, 0, :], self.conv1d.bias
        if w.dtype != cd:
            w, bias = w.to(cd), bias.to(cd)
        xBC = F.silu((conv_state * w).sum(-1) + bias)  # [b, conv_dim], in the conv state's dtype
        x, B, C = torch.split(xBC, [self.d_ssm, g * n, g * n], dim=-1)
        A = -torch.exp(f32(self.A_log))
        k = _kernels.load() if u.is_cuda else None
        if k is not None:
            y = k.selective_state_update(
                ssm_state, x.reshape(b, h, p), dt[:, :, None].expand(b, h, p), A[:, None, None].expand(h, p, n),
                B.reshape(b, g, n), C.reshape(b, g, n), self.D[:, None].expand(h, p), z=None,
                dt_bias=self.dt_bias[:, None].expand(h, p), dt_softplus=True)
            y = k.rmsnorm_gated(y.reshape(b, self.d_ssm), self.norm.weight, None, z=z, eps=self.norm.eps,
                                group_size=self.norm.group_size, norm_before_gate=False)
        else:
            # s <- exp(dt A) s + (dt x) B^T ;  y = s C + D x   (ssd.ssd_naive, one token; few ops: the CPU
            # step is dominated by per-op overhead, not flops)
            dt = F.softplus(f32(dt) + f32(self.dt_bias))  # [b, h]
            xh = f32(x).reshape(b, h, p)
            if g == 1:  # B, C shared by all heads: broadcast instead of copying
                Bh, Ch = f32(B).reshape(b, 1, 1, n), f32(C).reshape(b, 1, 1, n)
            else:
                Bh = f32(B).reshape(b, g, 1, 1, n).expand(b, g, h // g, 1, n).reshape(b, h, 1, n)
                Ch = f32(C).reshape(b, g, 1, 1, n).expand(b, g, h // g, 1, n).reshape(b, h, 1, n)
            ssm_state.mul_(torch.exp(dt * A).view(b, h, 1, 1)).addcmul_((dt.unsqueeze(-1) * xh).unsqueeze(-1), Bh)
            y = torch.addcmul((ssm_state * Ch).sum(-1), xh, f32(self.D).view(h, 1))  # [b, h, p]
            y = self.norm(y.reshape(b, self.d_ssm), z)
        return self.out_proj(y)
