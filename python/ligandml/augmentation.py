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
