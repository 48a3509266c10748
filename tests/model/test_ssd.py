"""The chunked SSD scan equals the naive sequential recurrence, in values and gradients."""

import pytest

torch = pytest.importorskip("torch")

from tapehead.model.networks.ssd import ssd_chunked, ssd_naive  # noqa: E402


def inputs(b, l, h, p, g, n, seed, grad=False):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(b, l, h, p, generator=gen)
    dt = torch.rand(b, l, h, generator=gen) * 0.5
    A = -torch.rand(h, generator=gen) * 3 - 0.1
    B, C = torch.randn(b, l, g, n, generator=gen), torch.randn(b, l, g, n, generator=gen)
    D = torch.randn(h, generator=gen)
    s0 = torch.randn(b, h, p, n, generator=gen)
    ts = [x, dt, A, B, C, D, s0]
    if grad:
        for t in ts:
            t.requires_grad_(True)
    return ts


def rel(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("l,chunk", [(1, 8), (7, 8), (8, 8), (37, 8), (64, 16), (100, 32)])
@pytest.mark.parametrize("g", [1, 2])
def test_values_match_naive(l, chunk, g):
    x, dt, A, B, C, D, s0 = inputs(2, l, 4, 8, g, 16, seed=l + g)
    y1, f1 = ssd_chunked(x, dt, A, B, C, chunk, D, s0)
    y2, f2 = ssd_naive(x, dt, A, B, C, D, s0)
    assert rel(y1, y2) < 1e-5 and rel(f1, f2) < 1e-5
    y3, f3 = ssd_chunked(x, dt, A, B, C, chunk)  # no D, no initial state
    y4, f4 = ssd_naive(x, dt, A, B, C)
    assert rel(y3, y4) < 1e-5 and rel(f3, f4) < 1e-5


def test_gradients_match_naive():
    a = inputs(2, 29, 4, 8, 2, 16, seed=3, grad=True)
    b = [t.detach().clone().requires_grad_(True) for t in a]
    y1, f1 = ssd_chunked(a[0], a[1], a[2], a[3], a[4], 8, a[5], a[6])
    y2, f2 = ssd_naive(*b[:5], b[5], b[6])
    w_y, w_f = torch.randn_like(y1), torch.randn_like(f1)
    ((y1 * w_y).sum() + (f1 * w_f).sum()).backward()
    ((y2 * w_y).sum() + (f2 * w_f).sum()).backward()
    for name, ta, tb in zip("x dt A B C D s0".split(), a, b):
        assert rel(ta.grad, tb.grad) < 1e-4, name


def test_chunk_size_does_not_change_result():
    x, dt, A, B, C, D, s0 = inputs(1, 50, 2, 4, 1, 8, seed=9)
    ys = [ssd_chunked(x, dt, A, B, C, c, D, s0)[0] for c in (4, 16, 64)]
    assert rel(ys[0], ys[2]) < 1e-5 and rel(ys[1], ys[2]) < 1e-5


def test_split_sequence_with_carried_state_equals_whole():
    x, dt, A, B, C, D, s0 = inputs(2, 40, 2, 4, 1, 8, seed=4)
    y, f = ssd_chunked(x, dt, A, B, C, 16, D, s0)
    ya, fa = ssd_chunked(x[:, :13], dt[:, :13], A, B[:, :13], C[:, :13], 16, D, s0)
    yb, fb = ssd_chunked(x[:, 13:], dt[:, 13:], A, B[:, 13:], C[:, 13:], 16, D, fa)
    assert rel(torch.cat([ya, yb], 1), y) < 1e-5 and rel(fb, f) < 1e-5
