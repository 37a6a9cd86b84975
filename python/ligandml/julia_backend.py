"""The Julia kernel calls: the Julia twins of the NumPy sweeps, with arrays converted at the boundary.

The kernels (julia/LigandML.jl) implement the functions of susceptibility.py and operators.py
under the same names. Loading them is julia_setup's (find, install, remember) and julia_import's
(the one import of juliacall); every function here asks julia_setup.require() for the loaded
module, so a call without Julia raises RuntimeError with install advice.
"""
from __future__ import annotations

import numpy as np

from .julia_import import load  # noqa: F401  (kept here: the README's ligandml.julia_backend.load())
from .julia_setup import require
from .orientations import DEFAULT_LEBEDEV_ORDER, lebedev_hemisphere


def _julia_inputs(kernels, ion, batch):
    jl_ion = kernels.Ion(str(ion.name), float(ion.J), float(ion.gJ))
    ks = np.array([k for k, _ in batch.terms], dtype=np.int64)
    qs = np.array([q for _, q in batch.terms], dtype=np.int64)
    coeffs = np.ascontiguousarray(batch.coeffs, dtype=float).reshape(batch.n_sets, len(batch.terms))
    return jl_ion, kernels.StevensBatch(ks, qs, coeffs)


def _to_numpy(result, shape: tuple[int, ...]) -> np.ndarray:
    arr = result.to_numpy() if hasattr(result, "to_numpy") else np.asarray(result)
    arr = np.ascontiguousarray(arr, dtype=float)
    if arr.shape != shape:
        raise RuntimeError(f"the Julia kernels returned shape {arr.shape}, expected {shape}")
    return arr


def powder_susceptibility(ion, batch, T, field=None, lebedev_order: int = DEFAULT_LEBEDEV_ORDER) -> np.ndarray:
    """Julia twin of the NumPy sweep: chi(T) [emu/mol per ion], shape (N, len(T)).

    ion: Ion; batch: StevensBatch [K]; T: temperatures [K] (validated by the caller); field: None
    for the exact zero-field Van Vleck chi, else the field [T] for the orientation-averaged M/B
    over the Lebedev hemisphere of `lebedev_order` (the same directions NumPy uses).
    """
    kernels = require()
    jl_ion, jl_batch = _julia_inputs(kernels, ion, batch)
    temps = np.ascontiguousarray(T, dtype=float)
    if field is None:
        result = kernels.zero_field_chi(jl_ion, jl_batch, temps)
    else:
        directions, weights = lebedev_hemisphere(lebedev_order)
        result = kernels.finite_field_chi(jl_ion, jl_batch, float(field), temps,
                                          np.ascontiguousarray(directions), np.ascontiguousarray(weights))
    return _to_numpy(result, (batch.n_sets, temps.size))


def powder_moment(ion, batch, field_T: float, T, lebedev_order: int = DEFAULT_LEBEDEV_ORDER) -> np.ndarray:
    """Julia twin of susceptibility.powder_moment: M [muB per ion] along the field, (N, len(T)),
    at `field_T` tesla, averaged over the Lebedev hemisphere of `lebedev_order`."""
    kernels = require()
    jl_ion, jl_batch = _julia_inputs(kernels, ion, batch)
    temps = np.ascontiguousarray(T, dtype=float)
    directions, weights = lebedev_hemisphere(lebedev_order)
    result = kernels.powder_moment(jl_ion, jl_batch, float(field_T), temps,
                                   np.ascontiguousarray(directions), np.ascontiguousarray(weights))
    return _to_numpy(result, (batch.n_sets, temps.size))


def stevens_operator(J: float, k: int, q: int) -> np.ndarray:
    """Julia twin of operators.stevens_operator: O_k^q as a complex (2J+1)x(2J+1) array."""
    kernels = require()
    result = kernels.stevens_operator(float(J), int(k), int(q))
    arr = result.to_numpy() if hasattr(result, "to_numpy") else np.asarray(result)
    return np.ascontiguousarray(arr, dtype=complex)


def grid_moments(ion, batch, fields, T, directions, weights) -> np.ndarray:
    """Julia twin of finite_field.grid_moments: the moment along the field [muB per ion] summed
    over the given directions (P, 3) and weights (P,), shape (N, len(fields), len(T)); fields [T],
    T [K]. Every direction is solved in complex arithmetic (the same numbers to rounding)."""
    kernels = require()
    jl_ion, jl_batch = _julia_inputs(kernels, ion, batch)
    fields = np.ascontiguousarray(fields, dtype=float)
    temps = np.ascontiguousarray(T, dtype=float)
    result = kernels.grid_moments(jl_ion, jl_batch, fields, temps, np.ascontiguousarray(directions, dtype=float),
                                  np.ascontiguousarray(weights, dtype=float))
    return _to_numpy(result, (batch.n_sets, fields.size, temps.size))
