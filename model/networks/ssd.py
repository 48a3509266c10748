"""The Mamba-2 SSD scan in pure PyTorch: a chunked form for training/prefill and its naive twin.

Follows "Transformers are SSMs" (Dao & Gu 2024), §6 and mamba-ssm's ``ssd_minimal_discrete``:
the sequence is cut into chunks; within a chunk the output is a masked (semiseparable) matmul,
across chunks a small recurrence passes the ``[h, p, n]`` state. Unlike ``ssd_minimal`` this
version takes an initial state, returns the final state, handles ``ngroups`` and any length (the
tail is padded with ``dt = 0``, which leaves the state untouched: ``exp(0 * A) = 1`` and
``0 * x * B = 0``), and does the math in float32.

``ssd_naive`` is the token-by-token recurrence the chunked form must equal (values and gradients,
tests/model/test_ssd.py); it is also exactly what ``Mamba2Mixer.step`` computes.

Shapes: x [b, l, h, p], dt [b, l, h] (after softplus, >= 0), A [h] (negative), B and C
[b, l, g, n] with h % g == 0, D [h], state [b, h, p, n].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _segsum(x: torch.Tensor) -> torch.Tensor:
    """x [..., T] -> [..., T, T] with out[..., i, j] = sum(x[..., j+1 : i+1]) for j <= i, else -inf.

    The stable form (cumsum of a masked matrix, not a difference of cumsums)."""
    T = x.size(-1)
    x = x[..., None].expand(*x.shape, T)  # [..., T(i), T(j)] holding x[i]
    below = torch.ones(T, T, dtype=torch.bool, device=x.device).tril(-1)
    x = x.masked_fill(~below, 0)
    out = torch.cumsum(x, dim=-2)
    keep = torch.ones(T, T, dtype=torch.bool, device=x.device).tril(0)
    return out.masked_fill(~keep, float("-inf"))


def _heads(t: torch.Tensor, nheads: int) -> torch.Tensor:
    """[b, l, g, n] -> [b, l, h, n] (each group serves h / g consecutive heads, as in mamba-ssm)."""
    g = t.shape[2]
    return t if g == nheads else t.repeat_interleave(nheads // g, dim=2)


def ssd_chunked(x, dt, A, B, C, chunk_size: int, D=None, initial_state=None):
    """Returns (y [b, l, h, p] in x's dtype, final_state [b, h, p, n] float32)."""
    b, l, h, p = x.shape
    n = B.shape[-1]
    out_dtype = x.dtype
    x, dt, A, B, C = x.float(), dt.float(), A.float(), B.float(), C.float()
    Bh, Ch = _heads(B, h), _heads(C, h)  # [b, l, h, n]
    pad = (-l) % chunk_size
    if pad:
        x_, dt_, Bh, Ch = (F.pad(t, (0, 0) * (t.dim() - 2) + (0, pad)) for t in (x, dt, Bh, Ch))
    else:
        x_, dt_ = x, dt
    nc, L = (l + pad) // chunk_size, chunk_size
    X = (x_ * dt_[..., None]).view(b, nc, L, h, p)  # discretised input dt * x
    Bc, Cc = Bh.view(b, nc, L, h, n), Ch.view(b, nc, L, h, n)
    Adt = (dt_ * A).view(b, nc, L, h).permute(0, 3, 1, 2)  # [b, h, c, L]
    A_cum = torch.cumsum(Adt, dim=-1)  # [b, h, c, L]

    # 1. within each chunk: y_i = sum_{j<=i} C_i.B_j * exp(A_cum_i - A_cum_j) * X_j
    decay = torch.exp(_segsum(Adt))  # [b, h, c, L(i), L(j)]
    CB = torch.einsum("bclhn,bcshn->bhcls", Cc, Bc)
    y_diag = torch.einsum("bhcls,bcshp->bclhp", CB * decay, X)

    # 2. state contributed by each chunk, decayed to the chunk's end
    decay_to_end = torch.exp(A_cum[..., -1:] - A_cum)  # [b, h, c, L]
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", Bc, decay_to_end, X)  # [b, c, h, p, n]

    # 3. pass states across chunks (a short recurrence written as one masked matmul)
    if initial_state is None:
        initial_state = torch.zeros(b, h, p, n, device=x.device, dtype=torch.float32)
    states = torch.cat([initial_state.float()[:, None], states], dim=1)  # [b, c+1, h, p, n]
    chunk_decay = torch.exp(_segsum(F.pad(A_cum[..., -1], (1, 0))))  # [b, h, c+1, c+1]
    states = torch.einsum("bhzc,bchpn->bzhpn", chunk_decay, states)
    prev_states, final_state = states[:, :-1], states[:, -1]

    # 4. contribution of the state entering each chunk
    decay_in = torch.exp(A_cum)  # [b, h, c, L]
    y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", Cc, prev_states, decay_in)

    y = (y_diag + y_off).reshape(b, nc * L, h, p)[:, :l]
    if D is not None:
        y = y + x * D.float()[:, None]
    return y.to(out_dtype), final_state


def ssd_naive(x, dt, A, B, C, D=None, initial_state=None):
    """The recurrence, one token at a time: s_t = exp(dt_t A) s_{t-1} + dt_t x_t B_t^T; y_t = s_t C_t + D x_t."""
    b, l, h, p = x.shape
    n = B.shape[-1]
    Bh, Ch = _heads(B.float(), h), _heads(C.float(), h)
    s = torch.zeros(b, h, p, n, device=x.device) if initial_state is None else initial_state.float()
    ys = []
    for t in range(l):
        dA = torch.exp(dt[:, t].float() * A.float())  # [b, h]
        dBx = (dt[:, t].float()[..., None] * x[:, t].float())[..., None] * Bh[:, t, :, None, :]  # [b, h, p, n]
        s = s * dA[..., None, None] + dBx
        y = torch.einsum("bhpn,bhn->bhp", s, Ch[:, t])
        if D is not None:
            y = y + x[:, t].float() * D.float()[:, None]
        ys.append(y)
    return torch.stack(ys, dim=1).to(x.dtype), s
