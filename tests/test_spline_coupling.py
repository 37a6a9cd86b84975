"""Rational-quadratic spline coupling blocks: inversion, log-determinant against autograd,
identity tails, training forward and backward through a conditional spline INN."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ligandml.nets.spline_coupling import (FixedPermutation, RationalQuadraticSplineCoupling,
                                           rational_quadratic_spline, spline_inn)

TAIL = 3.0


def _randomise(module: torch.nn.Module, scale: float = 0.2, seed: int = 0) -> None:
    """Non-zero weights everywhere, so that the blocks are far from the identity (log|det| spread
    about +-3 at scale 0.2; much larger scales make maps so steep that no float inverts them)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.requires_grad:
                p.copy_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))


def _random_flow(n_dims=3, n_cond=2, n_blocks=3, dtype=torch.float64, permute=True):
    torch.manual_seed(0)
    inn = spline_inn(n_dims, n_blocks=n_blocks, n_cond=n_cond, hidden=16, bins=5, tail_bound=TAIL,
                     permute=permute)
    inn = inn.to(dtype)
    _randomise(inn)
    return inn


def test_spline_starts_as_identity_and_random_one_does_not():
    x = torch.linspace(-2.9, 2.9, 7, dtype=torch.float64)[:, None].repeat(1, 3)
    inn = spline_inn(3, n_blocks=2, hidden=8, permute=False)
    z, logdet = inn(x.float())
    assert torch.allclose(z, x.float(), atol=1e-6) and torch.allclose(logdet, torch.zeros(7), atol=1e-6)
    z2, logdet2 = _random_flow(n_cond=0, permute=False)(x)
    assert (z2 - x).abs().max() > 0.05 and logdet2.abs().max() > 0.05


def test_inverse_recovers_inputs():
    inn = _random_flow()
    gen = torch.Generator().manual_seed(1)
    x = 2.0 * torch.randn(256, 3, generator=gen, dtype=torch.float64)  # some beyond the tail bound
    c = torch.randn(256, 2, generator=gen, dtype=torch.float64)
    z, logdet = inn(x, c=[c])
    x_back, logdet_rev = inn(z, c=[c], rev=True)
    assert torch.max(torch.abs(x_back - x)) < 1e-5
    assert torch.max(torch.abs(logdet + logdet_rev)) < 1e-5
    assert float((logdet.max() - logdet.min()).detach()) > 1.0  # the map is far from volume-preserving


def test_log_det_matches_autograd_jacobian():
    inn = _random_flow()
    gen = torch.Generator().manual_seed(2)
    x = 1.5 * torch.randn(6, 3, generator=gen, dtype=torch.float64)
    c = torch.randn(6, 2, generator=gen, dtype=torch.float64)
    _, logdet = inn(x, c=[c])
    for i in range(len(x)):
        J = torch.autograd.functional.jacobian(lambda v: inn(v[None], c=[c[i:i + 1]])[0][0], x[i])
        sign, brute = torch.linalg.slogdet(J)
        assert sign > 0  # each coupling is monotone in its active coordinates
        assert abs(float((brute - logdet[i]).detach())) < 1e-5
    # the inverse log-det against the Jacobian of the inverse map
    z = inn(x, c=[c])[0]
    J_inv = torch.autograd.functional.jacobian(lambda v: inn(v[None], c=[c[:1]], rev=True)[0][0], z[0])
    assert abs(float((torch.linalg.slogdet(J_inv)[1] + logdet[0]).detach())) < 1e-5


def test_identity_outside_tail_bound():
    inn = _random_flow(n_cond=2, permute=False)
    gen = torch.Generator().manual_seed(3)
    sign = torch.where(torch.rand(64, 3, generator=gen) < 0.5, -1.0, 1.0).double()
    x = sign * (TAIL + 0.01 + 5.0 * torch.rand(64, 3, generator=gen, dtype=torch.float64))
    c = torch.randn(64, 2, generator=gen, dtype=torch.float64)
    z, logdet = inn(x, c=[c])
    assert torch.equal(z, x) and torch.equal(logdet, torch.zeros(64, dtype=torch.float64))


def test_elementwise_spline_is_monotone_bijection_of_the_box():
    gen = torch.Generator().manual_seed(4)
    K = 6
    w = torch.randn(1, K, generator=gen, dtype=torch.float64)
    h = torch.randn(1, K, generator=gen, dtype=torch.float64)
    d = torch.randn(1, K - 1, generator=gen, dtype=torch.float64)
    n = 20001

    def spline(v):
        return rational_quadratic_spline(v[:, None], w.expand(len(v), 1, K), h.expand(len(v), 1, K),
                                         d.expand(len(v), 1, K - 1), tail_bound=TAIL)

    x = torch.linspace(-TAIL, TAIL, n, dtype=torch.float64)
    y = spline(x)[0][:, 0]
    assert abs(float(y[0]) + TAIL) < 1e-12 and abs(float(y[-1]) - TAIL) < 1e-12
    assert torch.all(torch.diff(y) > 0)
    # secant slopes against exp(log-det) at the midpoints (C1 spline: O(h) error across a knot)
    slope_fd = torch.diff(y) / torch.diff(x)
    slope = spline(0.5 * (x[1:] + x[:-1]))[1][:, 0].exp()
    assert torch.max(torch.abs(slope_fd - slope) / slope) < 1e-2
    assert torch.median(torch.abs(slope_fd - slope) / slope) < 1e-6


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="min_bin_width"):
        RationalQuadraticSplineCoupling([(3,)], bins=10, min_bin_width=0.2)
    with pytest.raises(ValueError, match="at least 2"):
        RationalQuadraticSplineCoupling([(1,)])
    with pytest.raises(ValueError, match="condition"):
        RationalQuadraticSplineCoupling([(2,)], dims_c=[(3,)])(
            [torch.zeros(4, 2)], c=[])


def test_fixed_permutation_does_not_touch_global_rng():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    perm = FixedPermutation([(5,)], seed=7)
    assert np.random.rand() == expected
    x = torch.arange(10.0).reshape(2, 5)
    y = perm([x])[0][0]
    assert torch.equal(perm([y], rev=True)[0][0], x) and not torch.equal(y, x)


def _toy_batch(n: int, gen: torch.Generator):
    """Conditional 2-D density: c ~ U(-1, 1); x1 = 2c + 0.1 e1, x2 = c^2 - 0.5 + 0.1 e2."""
    c = 2.0 * torch.rand(n, 1, generator=gen) - 1.0
    e = 0.1 * torch.randn(n, 2, generator=gen)
    return torch.cat([2.0 * c, c ** 2 - 0.5], dim=1) + e, c


@pytest.fixture
def one_thread():
    """Small nets run fastest on one thread (and the test machine is shared)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_conditional_spline_flow_trains_and_inverts(one_thread):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(5)
    inn = spline_inn(2, n_blocks=3, n_cond=1, hidden=32, bins=8, tail_bound=TAIL)
    opt = torch.optim.Adam(inn.parameters(), lr=3e-3)

    def nll(x, c):
        z, logdet = inn(x, c=[c])
        return (0.5 * (z ** 2).sum(dim=1) - logdet).mean()

    x_val, c_val = _toy_batch(2048, gen)
    with torch.no_grad():
        start = float(nll(x_val, c_val))
    for _ in range(150):
        x, c = _toy_batch(256, gen)
        loss = nll(x, c)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        end = float(nll(x_val, c_val))
        z = inn(x_val, c=[c_val])[0]
        x_back = inn(z, c=[c_val], rev=True)[0]
    # start: the identity map, NLL = E|x|^2 / 2 = (4/3 + 0.01 + 2/15 + 0.01) / 2 = 0.743 (E c^2 = 1/3,
    # E c^4 = 1/5); the best possible (the true conditional) is 1 + 2 log(0.1) = -3.6
    print(f"NLL start {start:.3f}, after 150 steps {end:.3f}")
    assert abs(start - 0.743) < 0.05
    assert end < -1.0
    assert torch.max(torch.abs(x_back - x_val)) < 1e-5
    for p in inn.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()
