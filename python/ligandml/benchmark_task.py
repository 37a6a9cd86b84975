"""The Er3+ D, E benchmark task of DESIGN.md: its temperature grid and its three test curves.

The test curves are computed here from the physics (never stored numbers):
chi_obs(T) = s_m chi(T; D, E) + chi_dia on 128 geometric temperatures from 2 to 300 K, zero field.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .error_model import apply_experimental_errors
from .sweeps import powder_susceptibility

ION = "Er3+"
T_MIN, T_MAX, N_T = 2.0, 300.0, 128
#: the D, E prior and search box [K]: holds all six equivalents of every canonical set with
#: |D| <= 10 K (DESIGN.md). The one definition every fit, posterior and plot uses.
DE_BOX = {"D": (-10.0, 10.0), "E": (-20.0 / 3.0, 20.0 / 3.0)}


def inside_box(D, E, box: dict = DE_BOX) -> np.ndarray:
    """True where (D, E) [K] lies inside the box {"D": (lo, hi), "E": (lo, hi)} (edges included)."""
    D, E = np.asarray(D, float), np.asarray(E, float)
    return (D >= box["D"][0]) & (D <= box["D"][1]) & (E >= box["E"][0]) & (E <= box["E"][1])


@dataclass(frozen=True)
class TestCurve:
    """A benchmark curve: true D, E [K], chi_dia [emu/mol per ion], s_m, and what it probes."""

    name: str
    D: float
    E: float
    chi_dia: float
    s_m: float
    note: str


BENCHMARK_CURVES = {
    "axial": TestCurve("axial", -6.0, 0.5, 0.0020, 1.0, "strong curvature, large error"),
    "rhombic": TestCurve("rhombic", 3.0, 1.0, 0.0010, 1.0, "E/D = 1/3: flat, feature-poor"),
    "er2-like": TestCurve("er2-like", -4.0, 0.3, 0.00125, 1.0, "small E/D, like the butterfly Er2 complex"),
}


def temperature_grid(n: int = N_T, t_min: float = T_MIN, t_max: float = T_MAX) -> np.ndarray:
    """The benchmark grid: n geometrically spaced temperatures [K] from t_min to t_max."""
    return np.geomspace(t_min, t_max, n)


def benchmark_curve(name: str, T=None, backend: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(T [K], chi_obs [emu/mol per ion]) of the named test curve ("axial", "rhombic", "er2-like")."""
    if name not in BENCHMARK_CURVES:
        raise ValueError(f"unknown benchmark curve {name!r}; use one of {', '.join(BENCHMARK_CURVES)}")
    curve = BENCHMARK_CURVES[name]
    T = temperature_grid() if T is None else np.asarray(T, dtype=float)
    clean = powder_susceptibility(ION, {"D": curve.D, "E": curve.E}, T, backend=backend)[0]
    return T, apply_experimental_errors(clean, T, chi_dia=curve.chi_dia, s_m=curve.s_m)
