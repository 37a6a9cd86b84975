"""The experimental error model: diamagnetic-correction residue and molar-mass (sample-mass) error.

chi_obs(T) = s_m chi(T) + chi_dia, i.e. chiT_obs = s_m chiT + chi_dia T, with chi_dia [emu/mol]
the error left in the diamagnetic correction and s_m = 1 + delta_m the molar-mass error.
"""
from __future__ import annotations

import numpy as np

from . import checks

#: the two forms a powder curve comes in: chi [emu/mol] and chi*T [emu K/mol]
QUANTITIES = ("chi", "chiT")


def check_quantity(quantity: str) -> str:
    """Return quantity if it is "chi" or "chiT"; raise ValueError otherwise."""
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be 'chi' or 'chiT', got {quantity!r}")
    return quantity


def chi_to_quantity(chi, T, quantity: str):
    """chi [emu/mol] -> the curve in `quantity`: chi itself, or chi*T [emu K/mol] (T [K] on the
    last axis). Works on NumPy arrays and anything that multiplies like them."""
    return chi * T if check_quantity(quantity) == "chiT" else chi


def quantity_to_chi(values, T, quantity: str):
    """The inverse of chi_to_quantity: chi [emu/mol] from chi [emu/mol] or chi*T [emu K/mol]."""
    return values / T if check_quantity(quantity) == "chiT" else values


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
    offset = chi_to_quantity(chi_dia[..., None], T, quantity)
    return s_m[..., None] * chi + offset
