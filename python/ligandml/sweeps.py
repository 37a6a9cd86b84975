"""Batched sweeps over many parameter sets: the functions the dataset generator and fits call.

Each dispatches to a backend ("numpy", "julia" or "auto"; see backends.py). The NumPy
implementations live in susceptibility.py (zero field) and finite_field.py (finite field, powder
and single crystal); julia/ mirrors them under the same names.
"""
from __future__ import annotations

import numpy as np

from . import finite_field as _ff
from . import susceptibility as _np_impl
from . import checks
from .backends import resolve_backend
from .ions import Ion, ion as _make_ion
from .parameters import StevensBatch, to_stevens_batch
from .symmetry import check_symmetry


def as_ion(ion_or_name) -> Ion:
    """Accept an Ion or a name such as "Er3+"."""
    if isinstance(ion_or_name, Ion):
        return ion_or_name
    if isinstance(ion_or_name, str):
        return _make_ion(ion_or_name)
    raise ValueError(f"ion must be an Ion or a name like 'Er3+', got {ion_or_name!r}")


def _batch(params, unit, symmetry=None) -> StevensBatch:
    batch = params if isinstance(params, StevensBatch) else to_stevens_batch(params, unit)
    if symmetry is not None:  # site symmetry: refuse what the point group forbids
        check_symmetry(batch, symmetry)
    return batch


def powder_susceptibility(ion, params, T, field=None, unit: str = "K", backend: str | None = None,
                          lebedev_order: int | None = None,
                          symmetry: str | None = None) -> np.ndarray:
    """Powder molar susceptibility chi(T) [emu/mol per magnetic ion] for N parameter sets.

    ion: an Ion or name ("Er3+"). params: mapping of names ("D", "E", "B20", "B4-3", ...) to
    scalars or equal-length arrays, or a DataFrame of such columns; values in `unit` ("K",
    "meV", "cm-1"). T: temperatures [K], > 0. field: None for the exact zero-field Van Vleck
    susceptibility, or the measuring field [T] for the orientation-averaged M/B. Orientation grid:
    lebedev_order None picks it from the parameters' symmetry (finite_field.powder_grid: a
    product rule folded onto the symmetric wedge when every q shares a rotation axis, else the
    Lebedev hemisphere of order 23); an integer forces that Lebedev rule. backend: "numpy", "julia" or "auto" (default: $LIGANDML_BACKEND,
    else "auto"). symmetry: optional point group ("D3d", ...): parameters it forbids are refused
    by name (ligandml.symmetry.check_symmetry). Returns an array of shape (N, len(T)).
    """
    ion = as_ion(ion)
    batch = _batch(params, unit, symmetry)
    T = checks.temperatures(T)
    field = checks.field(field)
    if field is not None:
        moment = _powder_sum(ion, batch, np.array([field]), T, lebedev_order, backend)
        return _ff.moment_to_chi(moment[:, 0, :], field)
    if resolve_backend(backend) == "julia":
        from . import julia_backend

        return julia_backend.powder_susceptibility(ion, batch, T, field, lebedev_order)
    return _np_impl.zero_field_chi(ion, batch, T)


def _grid_sum(ion, batch, fields, T, grid, backend) -> np.ndarray:
    """Moment along the field [muB per ion] summed over `grid`: (N, len(fields), len(T))."""
    if resolve_backend(backend) == "julia":
        from . import julia_backend

        return julia_backend.grid_moments(ion, batch, fields, T, grid.directions, grid.weights)
    return _ff.grid_moments(ion, batch, fields, T, grid)


def _powder_sum(ion, batch, fields, T, lebedev_order, backend) -> np.ndarray:
    """Powder moment [muB per ion], (N, len(fields), len(T)), on finite_field.powder_grids."""
    out = np.empty((batch.n_sets, fields.size, T.size))
    for idx, grid in _ff.powder_grids(ion, batch, fields, T, lebedev_order):
        out[:, idx, :] = _grid_sum(ion, batch, fields[idx], T, grid, backend)
    return out


def powder_magnetization(ion, params, B, T, unit: str = "K", backend: str | None = None,
                         lebedev_order: int | None = None,
                         symmetry: str | None = None) -> np.ndarray:
    """Powder-averaged magnetisation M [muB per ion] along the field, shape (N, len(B), len(T)).

    B: fields [T], each > 0; T: temperatures [K]. All fields, directions and sets are solved in
    one batched call (an M(H) curve costs one call). Other arguments (symmetry included) as powder_susceptibility.
    """
    ion = as_ion(ion)
    batch = _batch(params, unit, symmetry)
    T = checks.temperatures(T)
    B = checks.fields(B)
    return _powder_sum(ion, batch, B, T, lebedev_order, backend)


def crystal_magnetization(ion, params, B, T, direction="z", unit: str = "K",
                          backend: str | None = None) -> np.ndarray:
    """Single-crystal magnetisation M [muB per ion] along the field, shape (N, len(B), len(T)).

    direction: "x", "y", "z", a 3-vector in the Stevens frame (z the quantisation axis), or
    "plane": the average over the in-plane angle perpendicular to z (H in the ab plane of a
    uniaxial crystal). B: fields [T] > 0; T: temperatures [K]; other arguments as
    powder_susceptibility.
    """
    ion = as_ion(ion)
    batch = _batch(params, unit)
    T = checks.temperatures(T)
    B = checks.fields(B)
    return _grid_sum(ion, batch, B, T, _ff.crystal_grid(batch, direction), backend)


def crystal_susceptibility(ion, params, T, field, direction="z", unit: str = "K",
                           backend: str | None = None) -> np.ndarray:
    """Single-crystal M/B [emu/mol per magnetic ion] at `field` tesla (> 0) along `direction`
    (as crystal_magnetization), shape (N, len(T)); T [K]."""
    field = checks.field(field)
    if field is None:
        raise ValueError("crystal_susceptibility needs a field in tesla (> 0); for zero field use "
                         "CrystalField.susceptibility_tensor")
    M = crystal_magnetization(ion, params, [field], T, direction, unit, backend)
    return _ff.moment_to_chi(M[:, 0, :], field)
