"""The experimental error model: diamagnetic-correction residue and molar-mass (sample-mass) error.

chi_obs(T) = s_m chi(T) + chi_dia, i.e. chiT_obs = s_m chiT + chi_dia T, with chi_dia [emu/mol]
the error left in the diamagnetic correction and s_m = 1 + delta_m the molar-mass error.
"""
from __future__ import annotations

import numpy as np

from . import checks


def apply_experimental_errors(chi, T, chi_dia=0.0, s_m=1.0, quantity: str = "chi") -> np.ndarray:
    """Return s_m * chi + chi_dia (quantity="chi", emu/mol) or s_m * chiT + chi_dia * T
    (quantity="chiT", emu K/mol).

    chi: (..., len(T)) curves; T: temperatures [K]; chi_dia [emu/mol] and s_m (dimensionless)
    are scalars or arrays broadcasting against the leading (batch) axes, e.g. shape (N,) for N
    curves. Raises ValueError for NaN/inf or a non-positive s_m.
    """
    chi = checks.finite_array(chi, "chi")
    T = checks.temperatures(T)
    if chi.shape[-1] != T.size:
        raise ValueError(f"chi has {chi.shape[-1]} temperatures on its last axis, T has {T.size}")
    chi_dia = checks.finite_array(chi_dia, "chi_dia")
    s_m = checks.finite_array(s_m, "s_m")
    if np.any(s_m <= 0):
        raise ValueError("s_m (1 + molar-mass error) must be > 0")
    if quantity not in ("chi", "chiT"):
        raise ValueError(f"quantity must be 'chi' or 'chiT', got {quantity!r}")
    offset = chi_dia[..., None] * (T if quantity == "chiT" else 1.0)
    return s_m[..., None] * chi + offset
