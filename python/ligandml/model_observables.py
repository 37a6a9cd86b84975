"""The observables of a multi-observable model: measured curves put on the model's grids, and
the same observables simulated for parameter sets (posterior-predictive curves, fit checks,
folding checks).

A multi-observable model (trained on a store with DatasetConfig.observables) sees one row that
holds every observable concatenated in the store's order. Its "observables" record (model.json)
is the store's index: {name: {kind, direction, grid, field | temperature, start, stop, unit,
grid_unit}} with

    kind "chi": chi(T) [emu/mol per ion] (stored as chi, or chi*T [emu K/mol] when the model's
                quantity is "chiT") on temperatures `grid` [K] at `field` [T] (absent: zero field)
    kind "M":   M(H) [muB per ion] on fields `grid` [T] at `temperature` [K]
"""
from __future__ import annotations

import warnings

import numpy as np

from .error_model import chi_to_quantity, quantity_to_chi

#: keys of an observable's description that say what it is (the rest is bookkeeping)
DESCRIBING_KEYS = ("name", "kind", "direction", "grid", "field", "temperature", "unit", "grid_unit")


def observable_names(index: dict) -> list[str]:
    """The observable names of a model's index, in column order."""
    return sorted(index, key=lambda n: index[n]["start"])


def describe(index: dict) -> str:
    """One line naming each observable with its x range, e.g. "chi_z_1T (chi(T) along z at 1 T,
    2-300 K), M_z_2K (M(H) along z at 2 K, 0.2-5.4 T)"."""
    parts = []
    for name in observable_names(index):
        o = index[name]
        d = o["direction"] if isinstance(o["direction"], str) else f"along {o['direction']}"
        d = {"powder": "powder", "plane": "in the ab plane"}.get(d, d if d.startswith("along") else f"along {d}")
        g = o["grid"]
        if o["kind"] == "chi":
            at = f"at {o['field']:g} T" if o.get("field") else "at zero field"
            parts.append(f"{name} (chi(T), {d}, {at}, {g[0]:g}-{g[-1]:g} K)")
        else:
            parts.append(f"{name} (M(H), {d}, at {o['temperature']:g} K, {g[0]:g}-{g[-1]:g} T)")
    return ", ".join(parts)


def split_row(row, index: dict) -> dict:
    """{name: values} of one concatenated row (or (n, L) rows: (n, len(grid)) each)."""
    row = np.asarray(row)
    return {n: row[..., index[n]["start"]:index[n]["stop"]] for n in observable_names(index)}


def check_names(measured: dict, index: dict) -> None:
    """ValueError (one line) when `measured` misses an observable of the model or names one it
    does not know."""
    if not isinstance(measured, dict):
        raise ValueError("observables must be a dict {name: (x, y)}; the model takes "
                         f"{observable_names(index)}")
    known = observable_names(index)
    unknown = [n for n in measured if n not in index]
    missing = [n for n in known if n not in measured]
    if unknown:
        raise ValueError(f"unknown observable(s) {unknown}; the model takes {known}")
    if missing:
        raise ValueError(f"missing observable(s) {missing}; the model needs all of {known}")


def _xy(name: str, pair) -> tuple[np.ndarray, np.ndarray]:
    try:
        x, y = pair
        x = np.asarray(x, dtype=float).ravel()
        y = np.asarray(y, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"observable {name!r}: give (x, y) as two equal-length arrays") from None
    if x.size != y.size:
        raise ValueError(f"observable {name!r}: x has {x.size} points but y has {y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"observable {name!r}: NaN or inf values")
    return x, y


def magnetization_on_grid(B, M, grid, name: str = "M", min_overlap: float = 0.9,
                          min_points: int = 4) -> tuple[np.ndarray, dict]:
    """M(H) [muB per ion] measured at fields B [T] put on the model's fields `grid` [T]: linear
    interpolation inside the measured range, linear extrapolation of the end segments outside it
    (at most 1 - min_overlap of the grid, with a warning). B must be strictly monotonic.
    Returns (M on grid, info dict). ValueError for too few points or too little overlap."""
    B, M = np.asarray(B, float), np.asarray(M, float)
    if B.size < min_points:
        raise ValueError(f"observable {name!r}: {B.size} points; at least {min_points} are needed")
    dB = np.diff(B)
    if np.all(dB < 0):
        B, M = B[::-1], M[::-1]
    elif not np.all(dB > 0):
        raise ValueError(f"observable {name!r}: fields must be strictly monotonic (sorted, without repeats)")
    if B[0] < 0:
        raise ValueError(f"observable {name!r}: fields must be >= 0 T (give the positive branch)")
    grid = np.asarray(grid, float)
    inside = (grid >= B[0] * (1 - 1e-9)) & (grid <= B[-1] * (1 + 1e-9))
    overlap = float(inside.mean())
    if overlap < min_overlap:
        raise ValueError(f"observable {name!r}: the measured range {B[0]:.3g}-{B[-1]:.3g} T covers only "
                         f"{overlap:.0%} of the model grid ({grid[0]:.3g}-{grid[-1]:.3g} T); at least "
                         f"{min_overlap:.0%} is needed")
    out = np.interp(grid, B, M)
    lo, hi = grid < B[0], grid > B[-1]
    if lo.any():
        out[lo] = M[0] + (grid[lo] - B[0]) * (M[1] - M[0]) / (B[1] - B[0])
    if hi.any():
        out[hi] = M[-1] + (grid[hi] - B[-1]) * (M[-1] - M[-2]) / (B[-1] - B[-2])
    if not inside.all():
        warnings.warn(f"observable {name!r}: {(~inside).sum()} of {grid.size} model fields lie outside "
                      f"the measured range {B[0]:.3g}-{B[-1]:.3g} T and were extrapolated linearly",
                      UserWarning, stacklevel=3)
    return out, {"overlap": overlap, "n_extrapolated": int((~inside).sum())}


def prepare_observables(measured: dict, index: dict, quantity: str = "chi",
                        ions_per_formula: float = 1.0, chi_quantity: str = "chi") -> tuple[np.ndarray, np.ndarray, dict]:
    """Put measured curves on a model's grids.

    measured: {name: (x, y)}, one entry per observable of the model (index): chi observables
    (T [K], chi [emu/mol per formula unit], or chi*T [emu K/mol] with chi_quantity="chiT"), M
    observables (B [T], M [muB per formula unit]). ions_per_formula divides both to per-ion
    values. quantity: the model's stored chi quantity ("chi" or "chiT").
    Returns (row in the model's stored units (L,), the same curves in physical units (chi
    [emu/mol per ion], M [muB per ion]) (L,), info {name: {overlap, n_extrapolated}}).
    """
    from .model import prepare_curve

    check_names(measured, index)
    if not ions_per_formula > 0:
        raise ValueError(f"ions_per_formula must be > 0, got {ions_per_formula!r}")
    L = max(o["stop"] for o in index.values())
    stored, physical, info = np.empty(L), np.empty(L), {}
    for name in observable_names(index):
        o = index[name]
        x, y = _xy(name, measured[name])
        grid = np.asarray(o["grid"], float)
        if o["kind"] == "chi":
            try:
                values, info[name] = prepare_curve(x, y, grid, chi_quantity, ions_per_formula)
            except ValueError as exc:
                raise ValueError(f"observable {name!r}: {exc}") from None
            physical[o["start"]:o["stop"]] = values
            stored[o["start"]:o["stop"]] = chi_to_quantity(values, grid, quantity)
        else:
            values, info[name] = magnetization_on_grid(x, y / float(ions_per_formula), grid, name)
            physical[o["start"]:o["stop"]] = values
            stored[o["start"]:o["stop"]] = values
    return stored, physical, info


def to_physical(rows, index: dict, quantity: str) -> np.ndarray:
    """Stored-unit rows (..., L) -> physical units (chi [emu/mol], M [muB/ion])."""
    out = np.array(rows, dtype=float, copy=True)
    for o in index.values():
        if o["kind"] == "chi":
            sl = slice(o["start"], o["stop"])
            out[..., sl] = quantity_to_chi(out[..., sl], np.asarray(o["grid"]), quantity)
    return out


def simulate_observables(ion, params: dict, index: dict, chi_dia=0.0, s_m=1.0,
                         point_group: str | None = None, backend: str | None = None) -> np.ndarray:
    """Every observable of `index` for N parameter sets, in physical units, concatenated: (N, L).

    params: {name: (N,) array} [K]. chi_dia [emu/mol] and s_m: scalars or (N,) arrays (one per
    set, shared by all observables: chi_obs = s_m chi + chi_dia, M_obs = s_m M + chi_dia H /
    5585). point_group: the symmetry the sets have (faster finite-field sums), or None.
    backend: as for ligandml.sweeps (NumPy when torch is loaded, see julia_import)."""
    from .dataset.observables import augment_observable, clean_curves
    from .julia_import import torch_safe_backend

    backend = torch_safe_backend(backend)
    n = len(next(iter(params.values())))
    L = max(o["stop"] for o in index.values())
    chi_dia = np.broadcast_to(np.asarray(chi_dia, float), (n,)).reshape(n, 1)
    s_m = np.broadcast_to(np.asarray(s_m, float), (n,)).reshape(n, 1)
    out = np.empty((n, L))
    for name in observable_names(index):
        o = index[name]
        spec = {k: o[k] for k in ("kind", "direction", "grid", "field", "temperature") if k in o}
        clean = clean_curves(spec, ion, params, "K", backend, None, point_group)
        out[:, o["start"]:o["stop"]] = augment_observable(spec, clean, chi_dia, s_m)[:, 0]
    return out
