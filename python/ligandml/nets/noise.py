"""Noise conditioning of the conditional flows: the network is told the measurement-noise level.

A noise-aware model (ModelConfig.n_noise > 0) takes, beside the curve, one relative noise level
per observable (dimensionless: 0.01 = 1 % of |chi| per point, Gaussian). Each level enters the
network as the feature

    u = (log10(level) - centre) / half_width,   centre, half_width from the trained range,

so the trained range [lo, hi] maps to [-1, 1]. The range is stored with the weights (buffers
noise_log_lo, noise_log_hi of the model), so prediction refuses a level outside it.

Training (NoisyCurveBatches) takes the curves in physical units and, for every batch, either
  - draws a level per curve and observable log-uniformly in [lo, hi] and applies it on the fly:
    x -> x + level |x| z per point (ligandml.augmentation.apply_relative_noise, in torch), after an
    optional molar-mass factor s_m ~ N(1, sigma_m) per curve (marginalised, not inferred), or
  - uses levels stored with the dataset (one per curve and observable) and adds no noise.
"""
from __future__ import annotations

import math

import numpy as np
import torch

#: the default trained range of relative noise levels of a noise-aware model (0.1 % to 3 %)
DEFAULT_NOISE_RANGE = (1e-3, 3e-2)


def check_noise_range(noise_range) -> tuple[float, float]:
    """(lo, hi) relative noise levels with 0 < lo < hi, as floats; ValueError otherwise."""
    try:
        lo, hi = (float(v) for v in noise_range)
    except (TypeError, ValueError):
        raise ValueError(f"noise_range must be a (low, high) pair of relative levels, got "
                         f"{noise_range!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"noise_range needs 0 < low < high (relative levels, 0.01 = 1 %), "
                         f"got ({lo!r}, {hi!r})")
    return lo, hi


def noise_features(levels: torch.Tensor, log_lo: torch.Tensor, log_hi: torch.Tensor) -> torch.Tensor:
    """Network inputs (batch, n_noise) from relative levels (batch, n_noise), > 0: log10(level)
    mapped so that [log_lo, log_hi] (log10 of the trained range, per input) becomes [-1, 1]."""
    centre, half = 0.5 * (log_lo + log_hi), 0.5 * (log_hi - log_lo)
    return (torch.log10(levels) - centre) / half


def column_groups(n_columns: int, n_noise: int, columns=None) -> list[tuple[int, int]]:
    """The curve columns each noise input covers: `columns` as given ((start, stop) per input),
    or, for n_noise = 1, the whole curve. ValueError when they do not fit."""
    if columns is None:
        if n_noise != 1:
            raise ValueError(f"a model with n_noise = {n_noise} noise inputs needs the curve columns of "
                             "each observable (noise_columns=[(start, stop), ...]) or stored levels")
        return [(0, n_columns)]
    groups = [(int(a), int(b)) for a, b in columns]
    if len(groups) != n_noise or any(not 0 <= a < b <= n_columns for a, b in groups):
        raise ValueError(f"noise_columns must give {n_noise} (start, stop) ranges inside "
                         f"0..{n_columns}, got {columns!r}")
    return groups


class NoisyCurveBatches:
    """Indexable source of network inputs (features, noise features) for training a noise-aware
    model: batch[idx] -> (features (b, n_T), noise features (b, n_noise)).

    curves: (N, n_T) tensor in the model's quantity (physical units); to_features: the model's
    preprocessing (curves -> features); log_lo, log_hi: log10 of the trained range, per input.
    levels: (N, n_noise) stored levels (then no noise is added; zeros, i.e. clean curves, count as
    the range's low end) or None (drawn log-uniformly in noise_range for every batch and applied
    to the columns of each input). sigma_m: sd of an on-the-fly molar-mass factor (0: none).
    fixed=True draws once (a validation set: the same noise every call).
    """

    def __init__(self, curves: torch.Tensor, to_features, log_lo: torch.Tensor, log_hi: torch.Tensor,
                 *, levels=None, noise_range=DEFAULT_NOISE_RANGE, columns=None, sigma_m: float = 0.0,
                 seed: int = 0, fixed: bool = False):
        self.curves, self.to_features = curves, to_features
        self.log_lo, self.log_hi = log_lo, log_hi
        self.n_noise = int(log_lo.numel())
        self.sigma_m = float(sigma_m)
        if not (np.isfinite(self.sigma_m) and 0 <= self.sigma_m < 0.5):
            raise ValueError(f"sigma_m must be in [0, 0.5), got {sigma_m!r}")
        self.gen = torch.Generator(device=curves.device).manual_seed(int(seed))
        if levels is not None:
            levels = torch.as_tensor(np.asarray(levels, dtype=float), dtype=curves.dtype, device=curves.device)
            if levels.ndim == 1:
                levels = levels[:, None]
            if levels.shape != (len(curves), self.n_noise):
                raise ValueError(f"stored noise levels must be (N, n_noise) = ({len(curves)}, {self.n_noise}), "
                                 f"got {tuple(levels.shape)}")
            if not bool(torch.isfinite(levels).all()) or bool((levels < 0).any()):
                raise ValueError("stored noise levels must be finite and >= 0")
            levels = levels.clamp(min=float(10 ** log_lo.min()))  # clean curves: the low end
        self.levels = levels
        self.lo, self.hi = check_noise_range(noise_range)
        self.groups = None if levels is not None else column_groups(curves.shape[1], self.n_noise, columns)
        self._fixed = self._draw(torch.arange(len(curves), device=curves.device)) if fixed else None

    def __len__(self) -> int:
        return len(self.curves)

    def _draw(self, idx: torch.Tensor):
        x = self.curves[idx]
        if self.levels is not None:
            lev = self.levels[idx]
        else:
            u = torch.rand(len(idx), self.n_noise, generator=self.gen, device=x.device, dtype=x.dtype)
            lev = torch.exp(math.log(self.lo) + (math.log(self.hi) - math.log(self.lo)) * u)
            if self.sigma_m:
                s_m = 1.0 + self.sigma_m * torch.randn(len(idx), 1, generator=self.gen, device=x.device,
                                                       dtype=x.dtype)
                x = x * s_m.clamp_min(1e-3)
            sd = torch.empty_like(x)
            for k, (a, b) in enumerate(self.groups):
                sd[:, a:b] = lev[:, k:k + 1]
            z = torch.randn(x.shape, generator=self.gen, device=x.device, dtype=x.dtype)
            x = x + sd * x.abs() * z
        return self.to_features(x), noise_features(lev, self.log_lo, self.log_hi)

    def __getitem__(self, idx):
        idx = torch.as_tensor(np.asarray(idx) if not isinstance(idx, slice) else
                              np.arange(len(self))[idx], device=self.curves.device)
        if self._fixed is not None:
            return self._fixed[0][idx], self._fixed[1][idx]
        return self._draw(idx)
