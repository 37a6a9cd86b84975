"""Batched sweeps over many parameter sets: the functions the dataset generator and fits call.

Each dispatches to a backend ("numpy", "julia" or "auto"; see backends.py). The NumPy
implementations live in susceptibility.py; julia/ mirrors them under the same names.
"""
from __future__ import annotations

import numpy as np

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
                          lebedev_order: int = _np_impl.DEFAULT_LEBEDEV_ORDER,
                          symmetry: str | None = None) -> np.ndarray:
    """Powder molar susceptibility chi(T) [emu/mol per magnetic ion] for N parameter sets.

    ion: an Ion or name ("Er3+"). params: mapping of names ("D", "E", "B20", "B4-3", ...) to
    scalars or equal-length arrays, or a DataFrame of such columns; values in `unit` ("K",
    "meV", "cm-1"). T: temperatures [K], > 0. field: None for the exact zero-field Van Vleck
    susceptibility, or the measuring field [T] for the orientation-averaged M/B (Lebedev rule of
    order `lebedev_order`). backend: "numpy", "julia" or "auto" (default: $LIGANDML_BACKEND,
    else "auto"). symmetry: optional point group ("D3d", ...): parameters it forbids are refused
    by name (ligandml.symmetry.check_symmetry). Returns an array of shape (N, len(T)).
    """
    ion = as_ion(ion)
    batch = _batch(params, unit, symmetry)
    T = checks.temperatures(T)
    field = checks.field(field)
    if resolve_backend(backend) == "julia":
        from . import julia_backend

        return julia_backend.powder_susceptibility(ion, batch, T, field, lebedev_order)
    if field is None:
        return _np_impl.zero_field_chi(ion, batch, T)
    return _np_impl.finite_field_chi(ion, batch, field, T, lebedev_order)


def powder_magnetization(ion, params, B, T, unit: str = "K", backend: str | None = None,
                         lebedev_order: int = _np_impl.DEFAULT_LEBEDEV_ORDER,
                         symmetry: str | None = None) -> np.ndarray:
    """Powder-averaged magnetisation M [muB per ion] along the field, shape (N, len(B), len(T)).

    B: fields [T], each > 0; T: temperatures [K]; other arguments (symmetry included) as
    powder_susceptibility.
    """
    ion = as_ion(ion)
    batch = _batch(params, unit, symmetry)
    T = checks.temperatures(T)
    B = checks.fields(B)
    use_julia = resolve_backend(backend) == "julia"
    out = np.empty((batch.n_sets, B.size, T.size))
    for i, b in enumerate(B):
        if use_julia:
            from . import julia_backend

            out[:, i, :] = julia_backend.powder_moment(ion, batch, float(b), T, lebedev_order)
        else:
            out[:, i, :] = _np_impl.powder_moment(ion, batch, float(b), T, lebedev_order)
    return out
