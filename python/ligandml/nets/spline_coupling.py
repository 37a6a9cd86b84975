"""Rational-quadratic spline coupling blocks (Durkan, Bekasov, Murray and Papamakarios, NeurIPS
2019, "Neural Spline Flows"), the flow that sbi's NPE uses, as FrEIA InvertibleModules.

Each active coordinate u is mapped by a monotone rational-quadratic spline of K bins on
[-B, B] whose bin widths, bin heights and K - 1 interior knot derivatives are computed by a
subnet from the passive half (and the condition). Outside [-B, B] the map is the identity
(linear tails, derivative 1 at both ends of the spline, so the map is C1 everywhere).

- rational_quadratic_spline: the elementwise spline, forward and inverse, with log|dy/dx|.
- RationalQuadraticSplineCoupling: a two-sided coupling block (first half conditioned on the
  second, then second on the new first), conditional through dims_c like FrEIA's blocks.
- FixedPermutation: a fixed random permutation from its own numpy Generator (FrEIA's
  PermuteRandom reseeds the global numpy RNG).
- spline_inn: a FrEIA SequenceINN of N spline blocks with permutations between them.

All operations are out of place (FrEIA 0.2's GIN blocks update tensors in place, which breaks
backward passes on PyTorch 2). Every block starts as the identity: the last subnet layer is
expected to be zero-initialised (the default subnet does that), uniform widths and heights and
derivatives 1 then give y = x.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from FrEIA.modules import InvertibleModule
from torch import nn

DEFAULT_BINS = 8
DEFAULT_TAIL_BOUND = 3.0
DEFAULT_MIN_BIN_WIDTH = 1e-3
DEFAULT_MIN_BIN_HEIGHT = 1e-3
DEFAULT_MIN_DERIVATIVE = 1e-3


def _check_spline_settings(bins: int, tail_bound: float, min_bin_width: float,
                           min_bin_height: float, min_derivative: float) -> None:
    if int(bins) != bins or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    if not (np.isfinite(tail_bound) and tail_bound > 0):
        raise ValueError(f"tail_bound must be finite and > 0, got {tail_bound!r}")
    for name, value in (("min_bin_width", min_bin_width), ("min_bin_height", min_bin_height)):
        if not (0 <= value and value * bins < 1):
            raise ValueError(f"{name} must be >= 0 with {name} * bins < 1, got {value!r} for {bins} bins")
    if not (0 <= min_derivative < 1):
        raise ValueError(f"min_derivative must be in [0, 1), got {min_derivative!r}")


def _knots(unnormalized: torch.Tensor, min_size: float, tail_bound: float):
    """Knot positions (..., K + 1) from -B to B and bin sizes (..., K), each bin >= min_size * 2B."""
    bins = unnormalized.shape[-1]
    fractions = min_size + (1.0 - min_size * bins) * torch.softmax(unnormalized, dim=-1)
    inner = torch.cumsum(fractions, dim=-1)[..., :-1]
    edges = torch.full_like(inner[..., :1], -tail_bound), torch.full_like(inner[..., :1], tail_bound)
    knots = torch.cat([edges[0], 2.0 * tail_bound * inner - tail_bound, edges[1]], dim=-1)
    return knots, knots[..., 1:] - knots[..., :-1]


def _derivatives(unnormalized: torch.Tensor, min_derivative: float) -> torch.Tensor:
    """Knot derivatives (..., K + 1): 1 at both ends (matching the identity tails), interior
    min_derivative + softplus(u + offset) with the offset chosen so that u = 0 gives 1."""
    offset = math.log(math.expm1(1.0 - min_derivative))
    interior = min_derivative + F.softplus(unnormalized + offset)
    ones = torch.ones_like(interior[..., :1])
    return torch.cat([ones, interior, ones], dim=-1)


def _gather(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return torch.gather(values, -1, index[..., None])[..., 0]


def rational_quadratic_spline(inputs: torch.Tensor, unnormalized_widths: torch.Tensor,
                              unnormalized_heights: torch.Tensor,
                              unnormalized_derivatives: torch.Tensor, inverse: bool = False,
                              tail_bound: float = DEFAULT_TAIL_BOUND,
                              min_bin_width: float = DEFAULT_MIN_BIN_WIDTH,
                              min_bin_height: float = DEFAULT_MIN_BIN_HEIGHT,
                              min_derivative: float = DEFAULT_MIN_DERIVATIVE):
    """Monotone rational-quadratic spline on [-B, B] with identity tails, elementwise.

    inputs: (...,) values (dimensionless; the flow's coordinates). unnormalized_widths and
    unnormalized_heights: (..., K); unnormalized_derivatives: (..., K - 1), all unconstrained
    (e.g. a subnet's output). inverse=False maps x -> y, True maps y -> x.
    Returns (outputs (...,), log|d outputs / d inputs| (...,)), 0 outside [-B, B].
    """
    _check_spline_settings(unnormalized_widths.shape[-1], tail_bound, min_bin_width,
                           min_bin_height, min_derivative)
    if unnormalized_derivatives.shape[-1] != unnormalized_widths.shape[-1] - 1:
        raise ValueError("need K - 1 unnormalized derivatives for K bins, got "
                         f"{unnormalized_derivatives.shape[-1]} for {unnormalized_widths.shape[-1]}")
    for name, value in (("widths", unnormalized_widths), ("heights", unnormalized_heights),
                        ("derivatives", unnormalized_derivatives)):
        if value.shape[:-1] != inputs.shape:
            raise ValueError(f"unnormalized {name} must have shape inputs.shape + (n,), got "
                             f"{tuple(value.shape)} for inputs {tuple(inputs.shape)}")
    inside = (inputs >= -tail_bound) & (inputs <= tail_bound)
    u = torch.clamp(inputs, -tail_bound, tail_bound)  # out-of-bound points: computed, then discarded
    xk, widths = _knots(unnormalized_widths, min_bin_width, tail_bound)
    yk, heights = _knots(unnormalized_heights, min_bin_height, tail_bound)
    deriv = _derivatives(unnormalized_derivatives, min_derivative)

    search = yk if inverse else xk
    index = torch.searchsorted(search[..., 1:-1].contiguous(), u[..., None].contiguous(), right=True)[..., 0]
    x0, w, y0, h = _gather(xk, index), _gather(widths, index), _gather(yk, index), _gather(heights, index)
    d0, d1 = _gather(deriv, index), _gather(deriv[..., 1:], index)
    slope = h / w
    curvature = d1 + d0 - 2.0 * slope

    if inverse:
        dy = u - y0
        a = h * (slope - d0) + dy * curvature
        b = h * d0 - dy * curvature
        c = -slope * dy
        disc = torch.clamp(b * b - 4.0 * a * c, min=0.0)
        theta = (2.0 * c) / (-b - torch.sqrt(disc))
        out = theta * w + x0
    else:
        theta = (u - x0) / w
    one_minus = 1.0 - theta
    t1mt = theta * one_minus
    denominator = slope + curvature * t1mt
    numerator_d = slope ** 2 * (d1 * theta ** 2 + 2.0 * slope * t1mt + d0 * one_minus ** 2)
    logdet = torch.log(numerator_d) - 2.0 * torch.log(denominator)
    if not inverse:
        out = y0 + h * (slope * theta ** 2 + d0 * t1mt) / denominator
    else:
        logdet = -logdet
    outputs = torch.where(inside, out, inputs)
    return outputs, torch.where(inside, logdet, torch.zeros_like(logdet))


def spline_subnet(hidden: int = 128, layers: int = 2) -> Callable[[int, int], nn.Module]:
    """Default subnet constructor (FrEIA style, make(c_in, c_out)): an MLP with `layers` hidden
    ReLU layers of width `hidden`, last layer zero-initialised so the block starts as the identity."""
    def make(c_in: int, c_out: int) -> nn.Module:
        mods: list[nn.Module] = []
        width = c_in
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        last = nn.Linear(width, c_out)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        return nn.Sequential(*mods, last)
    return make


class RationalQuadraticSplineCoupling(InvertibleModule):
    """Two-sided rational-quadratic spline coupling block (Durkan et al. 2019).

    Input (batch, d), d >= 2, is split into x1 (first split_len coordinates) and x2. Forward:
    y1 = s(x1; theta1(x2, c)), then y2 = s(x2; theta2(y1, c)), each s a monotone spline of
    `bins` bins on [-tail_bound, tail_bound], identity outside. Conditions (dims_c, each of
    shape (n,)) are concatenated to the subnet inputs. subnet_constructor(c_in, c_out) builds
    each subnet (default spline_subnet()).
    """

    def __init__(self, dims_in, dims_c=None, subnet_constructor: Callable | None = None,
                 bins: int = DEFAULT_BINS, tail_bound: float = DEFAULT_TAIL_BOUND,
                 min_bin_width: float = DEFAULT_MIN_BIN_WIDTH,
                 min_bin_height: float = DEFAULT_MIN_BIN_HEIGHT,
                 min_derivative: float = DEFAULT_MIN_DERIVATIVE, split_len: int | None = None):
        dims_c = [] if dims_c is None else list(dims_c)
        super().__init__(dims_in, dims_c)
        if len(dims_in) != 1 or len(dims_in[0]) != 1:
            raise ValueError(f"RationalQuadraticSplineCoupling takes one flat input (d,), got {dims_in}")
        if any(len(shape) != 1 for shape in dims_c):
            raise ValueError(f"conditions must be flat vectors (n,), got {dims_c}")
        channels = int(dims_in[0][0])
        if channels < 2:
            raise ValueError(f"a coupling block needs at least 2 dimensions, got {channels}")
        split_len = channels // 2 if split_len is None else int(split_len)
        if not 1 <= split_len < channels:
            raise ValueError(f"split_len must be in [1, {channels - 1}], got {split_len}")
        _check_spline_settings(bins, tail_bound, min_bin_width, min_bin_height, min_derivative)
        self.split = (split_len, channels - split_len)
        self.n_cond = sum(int(shape[0]) for shape in dims_c)
        self.bins = int(bins)
        self.spline_kwargs = dict(tail_bound=float(tail_bound), min_bin_width=float(min_bin_width),
                                  min_bin_height=float(min_bin_height),
                                  min_derivative=float(min_derivative))
        make = subnet_constructor or spline_subnet()
        per_dim = 3 * self.bins - 1
        self.subnet1 = make(self.split[1] + self.n_cond, self.split[0] * per_dim)
        self.subnet2 = make(self.split[0] + self.n_cond, self.split[1] * per_dim)

    def _transform(self, active: torch.Tensor, passive: torch.Tensor, subnet: nn.Module,
                   c: Sequence[torch.Tensor], rev: bool):
        net_in = torch.cat([passive, *c], dim=1) if self.n_cond else passive
        params = subnet(net_in).reshape(active.shape[0], active.shape[1], 3 * self.bins - 1)
        w, h, d = torch.split(params, [self.bins, self.bins, self.bins - 1], dim=-1)
        out, logdet = rational_quadratic_spline(active, w, h, d, inverse=rev, **self.spline_kwargs)
        return out, logdet.sum(dim=1)

    def forward(self, x, c=None, rev: bool = False, jac: bool = True):
        """((y,), log|det dy/dx|) forward; ((x,), -log|det|) with rev=True. See the class docstring."""
        c = [] if c is None else list(c)
        if len(c) != len(self.dims_c):
            raise ValueError(f"block expects {len(self.dims_c)} condition tensors, got {len(c)}")
        x1, x2 = torch.split(x[0], list(self.split), dim=1)
        if not rev:
            y1, j1 = self._transform(x1, x2, self.subnet1, c, rev=False)
            y2, j2 = self._transform(x2, y1, self.subnet2, c, rev=False)
        else:
            y2, j2 = self._transform(x2, x1, self.subnet2, c, rev=True)
            y1, j1 = self._transform(x1, y2, self.subnet1, c, rev=True)
        return (torch.cat([y1, y2], dim=1),), j1 + j2

    def output_dims(self, input_dims):
        if len(input_dims) != 1:
            raise ValueError(f"{type(self).__name__} takes exactly one input")
        return input_dims


class FixedPermutation(InvertibleModule):
    """A fixed random permutation of the (flat) coordinates, drawn from numpy's
    default_rng(seed) without touching the global RNG; log|det| = 0."""

    def __init__(self, dims_in, dims_c=None, seed: int | None = None):
        super().__init__(dims_in, dims_c)
        channels = int(dims_in[0][0])
        perm = np.random.default_rng(seed).permutation(channels)
        self.register_buffer("perm", torch.as_tensor(perm, dtype=torch.long))
        self.register_buffer("perm_inv", torch.as_tensor(np.argsort(perm), dtype=torch.long))

    def forward(self, x, c=None, rev: bool = False, jac: bool = True):
        """((x[:, perm],), 0) forward; the inverse permutation with rev=True."""
        index = self.perm_inv if rev else self.perm
        zero = torch.zeros(x[0].shape[0], dtype=x[0].dtype, device=x[0].device)
        return (x[0][:, index],), zero

    def output_dims(self, input_dims):
        if len(input_dims) != 1:
            raise ValueError(f"{type(self).__name__} takes exactly one input")
        return input_dims


def spline_inn(n_dims: int, n_blocks: int = 6, n_cond: int = 0, hidden: int = 128, layers: int = 2,
               bins: int = DEFAULT_BINS, tail_bound: float = DEFAULT_TAIL_BOUND,
               permute: bool = True, seed: int = 0, **spline_kwargs):
    """A FrEIA SequenceINN of n_blocks spline coupling blocks on (batch, n_dims), each
    conditioned on condition 0 of shape (n_cond,) when n_cond > 0 (call it as inn(x, c=[cond])),
    with a FixedPermutation(seed + k) after every block but the last when permute is True.
    Subnets: spline_subnet(hidden, layers). Returns the SequenceINN."""
    import FrEIA.framework as Ff

    if n_dims < 2 or n_blocks < 1 or n_cond < 0:
        raise ValueError(f"need n_dims >= 2, n_blocks >= 1, n_cond >= 0; got {n_dims}, {n_blocks}, {n_cond}")
    inn = Ff.SequenceINN(n_dims)
    cond = dict(cond=0, cond_shape=(n_cond,)) if n_cond else {}
    for k in range(n_blocks):
        inn.append(RationalQuadraticSplineCoupling, subnet_constructor=spline_subnet(hidden, layers),
                   bins=bins, tail_bound=tail_bound, **cond, **spline_kwargs)
        if permute and k < n_blocks - 1:
            inn.append(FixedPermutation, seed=seed + k)
    return inn
