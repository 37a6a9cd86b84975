"""Experimental-error augmentation of clean curves: cheap transforms, never a new diagonalisation.

Each augmented copy of a clean curve gets its own draw of the error model of DESIGN.md,

    chi_obs(T)  = s_m chi(T)  + chi_dia            (quantity "chi",  emu/mol)
    chiT_obs(T) = s_m chiT(T) + chi_dia T          (quantity "chiT", emu K/mol)

with chi_dia ~ N(0, sigma_dia) [emu/mol] (error left in the diamagnetic correction) and
s_m ~ N(1, sigma_m) (molar-mass / sample-mass error), plus, optionally, relative Gaussian
measurement noise on every point: x -> x (1 + noise_rel z), z ~ N(0, 1).

Draws come from a numpy Generator passed in, so a caller that derives the Generator from
(seed, chunk index) gets the same numbers in any process and any order.
"""
from __future__ import annotations

import numpy as np

from .error_model import apply_experimental_errors

#: largest sigma_m accepted: s_m = 1 + sigma_m z must stay positive; the rare draw with
#: s_m <= 0 is redrawn (a truncated normal), which is negligible below this bound
SIGMA_M_MAX = 0.5


def _check_sigma(name: str, value: float, upper: float | None = None) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    if upper is not None and value >= upper:
        raise ValueError(f"{name} must be < {upper} (got {value!r})")
    return value


def draw_errors(rng: np.random.Generator, shape, sigma_dia: float, sigma_m: float = 0.0):
    """Draw (chi_dia [emu/mol], s_m [1]) arrays of `shape`, one pair per augmented curve.

    chi_dia = sigma_dia z1 and s_m = 1 + sigma_m z2 with z1, z2 standard normal, drawn in that
    order from `rng` (so datasets differing only in sigma share the same z: common random
    numbers). Draws with s_m <= 0 are redrawn. sigma_dia >= 0 [emu/mol]; 0 <= sigma_m < 0.5.
    """
    sigma_dia = _check_sigma("sigma_dia", sigma_dia)
    sigma_m = _check_sigma("sigma_m", sigma_m, SIGMA_M_MAX)
    z_dia = rng.standard_normal(shape)
    z_m = rng.standard_normal(shape)
    s_m = 1.0 + sigma_m * z_m
    bad = s_m <= 0
    while np.any(bad):  # truncated normal: redraw the (rare) non-positive molar-mass factors
        s_m[bad] = 1.0 + sigma_m * rng.standard_normal(int(np.count_nonzero(bad)))
        bad = s_m <= 0
    return sigma_dia * z_dia, s_m


def draw_noise_factors(rng: np.random.Generator, shape, noise_rel: float) -> np.ndarray | None:
    """Relative noise factors 1 + noise_rel z of `shape` (z standard normal), or None when
    noise_rel == 0 (no draw at all). noise_rel is dimensionless (0.01 = 1 % per point)."""
    noise_rel = _check_sigma("noise_rel", noise_rel)
    if noise_rel == 0.0:
        return None
    return 1.0 + noise_rel * rng.standard_normal(shape)


def augment(clean, T, chi_dia, s_m, quantity: str = "chi", noise_factors=None) -> np.ndarray:
    """Augmented copies of clean curves.

    clean: (N, len(T)) clean curves in `quantity` units (chi [emu/mol] or chiT [emu K/mol]);
    T: temperatures [K]; chi_dia [emu/mol], s_m: arrays (N, copies); noise_factors: None or
    (N, copies, len(T)). Returns (N, copies, len(T)) = s_m clean + chi_dia (times T for chiT),
    then times the noise factors: ligandml.apply_experimental_errors, broadcast over copies.
    """
    clean = np.asarray(clean, dtype=float)
    out = apply_experimental_errors(clean[:, None, :], T, chi_dia=chi_dia, s_m=s_m,
                                    quantity=quantity)
    if noise_factors is not None:
        out *= noise_factors
    return out


# ----------------------------------------------------------------------------- noise levels per curve
#: default range of the per-curve relative measurement-noise level (0.1 % to 3 % of |chi| per point)
NOISE_LEVEL_RANGE = (1e-3, 3e-2)


def draw_noise_levels(rng: np.random.Generator, shape, lo: float = NOISE_LEVEL_RANGE[0],
                      hi: float = NOISE_LEVEL_RANGE[1]) -> np.ndarray:
    """Relative noise levels (dimensionless, 0.01 = 1 % per point), one per curve, drawn
    log-uniformly in [lo, hi]: log10(level) ~ U(log10 lo, log10 hi). 0 < lo <= hi."""
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo <= hi):
        raise ValueError(f"noise level bounds must satisfy 0 < lo <= hi, got lo={lo!r}, hi={hi!r}")
    return np.exp(rng.uniform(np.log(lo), np.log(hi), shape))


def apply_relative_noise(rng: np.random.Generator, curves, levels) -> np.ndarray:
    """Curves with Gaussian noise of sd level * |value| on every point: x -> x + level |x| z.

    curves: (..., n_T) in any unit; levels: dimensionless, shape curves.shape[:-1] (one per
    curve) or broadcastable to it. Returns a new array of the curves' shape (same unit)."""
    curves = np.asarray(curves, dtype=float)
    levels = np.asarray(levels, dtype=float)
    if not np.all(np.isfinite(levels)) or np.any(levels < 0):
        raise ValueError("noise levels must be finite and >= 0")
    if curves.ndim < 1:
        raise ValueError("curves must have a temperature axis (last axis)")
    sigma = np.broadcast_to(levels, curves.shape[:-1])[..., None] * np.abs(curves)
    return curves + sigma * rng.standard_normal(curves.shape)


def add_noise_with_levels(rng: np.random.Generator, curves, lo: float = NOISE_LEVEL_RANGE[0],
                          hi: float = NOISE_LEVEL_RANGE[1]) -> tuple[np.ndarray, np.ndarray]:
    """Draw one log-uniform level in [lo, hi] per curve and apply it (apply_relative_noise).

    curves: (..., n_T). Returns (noisy curves (..., n_T), levels (...,)); give a network
    noise_level_feature(levels) as an extra conditioning input so it knows each curve's noise."""
    curves = np.asarray(curves, dtype=float)
    levels = draw_noise_levels(rng, curves.shape[:-1], lo, hi)
    return apply_relative_noise(rng, curves, levels), levels


def noise_level_feature(levels) -> np.ndarray:
    """log10 of the relative noise levels (> 0): the conditioning input of a noise-aware network."""
    levels = np.asarray(levels, dtype=float)
    if np.any(~np.isfinite(levels)) or np.any(levels <= 0):
        raise ValueError("noise levels must be finite and > 0 to take log10")
    return np.log10(levels)


def draw_mass_errors(rng: np.random.Generator, shape, sigma_m: float) -> np.ndarray:
    """Molar-mass factors s_m = 1 + sigma_m z (dimensionless), z standard normal, redrawn where
    s_m <= 0 (a truncated normal); 0 <= sigma_m < 0.5. Same rule as draw_errors, alone."""
    sigma_m = _check_sigma("sigma_m", sigma_m, SIGMA_M_MAX)
    s_m = 1.0 + sigma_m * rng.standard_normal(shape)
    bad = s_m <= 0
    while np.any(bad):
        s_m[bad] = 1.0 + sigma_m * rng.standard_normal(int(np.count_nonzero(bad)))
        bad = s_m <= 0
    return s_m
