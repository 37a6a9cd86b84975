"""Observables of a multi-observable dataset: what is measured, its clean simulation, its errors.

An observable is a plain dict (so that it round-trips through JSON, TOML and the store):

    {"name": "chi_powder_1T", "kind": "chi", "direction": "powder", "grid": [T1, T2, ...],
     "field": 1.0}                    chi(T) = M/H [emu/mol] on temperatures `grid` [K] at
                                      `field` [T] (absent for powder: exact zero-field chi)
    {"name": "M_plane_2K", "kind": "M", "direction": "plane", "grid": [B1, B2, ...],
     "temperature": 2.0}              M(H) [muB per ion] on fields `grid` [T] at `temperature` [K]

direction: "powder" (orientation average), "x", "y", "z", "plane" (average over the in-plane
angle perpendicular to z) or a 3-vector in the Stevens frame.

Errors (DESIGN.md, er-d3d): every augmented sample has one chi_dia [emu/mol] and one s_m shared by
all its observables, and one relative noise level per curve:

    chi_obs = s_m chi + chi_dia                                 [emu/mol]
    M_obs   = s_m M + chi_dia H / (N_A muB)                     [muB per ion]

with H = B * 1e4 Oe and N_A muB = 5585 emu/mol (constants.MU_B_PER_ION_IN_EMU_PER_MOL): a
molar moment chi_dia H [emu/mol = erg/(G mol)] divided by the molar moment of one muB per ion.
Then each point is multiplied by (1 + level z), z ~ N(0, 1).
"""
from __future__ import annotations

import numpy as np

from ..checks import positive
from ..constants import MU_B_PER_ION_IN_EMU_PER_MOL, OERSTED_PER_TESLA

KINDS = ("chi", "M")
DIRECTIONS = ("powder", "x", "y", "z", "plane")
#: units of the stored curves of each kind (chi may be stored as chiT, see DatasetConfig.quantity)
UNITS = {"chi": "emu/mol", "chiT": "emu K/mol", "M": "muB/ion"}
GRID_UNITS = {"chi": "K", "M": "T"}


def chi_observable(T, field=None, direction="powder", name: str | None = None) -> dict:
    """A chi(T) observable: temperatures T [K], measuring field [T] (None: exact zero field,
    powder only), direction as in the module docstring. Returns the checked dict."""
    spec = {"kind": "chi", "direction": direction, "grid": list(np.asarray(T, dtype=float))}
    if field is not None:
        spec["field"] = field
    if name is not None:
        spec["name"] = name
    return check_observable(spec)


def magnetization_observable(B, temperature, direction="powder", name: str | None = None) -> dict:
    """An M(H) observable: fields B [T] at `temperature` [K] along `direction`. Returns the
    checked dict."""
    spec = {"kind": "M", "direction": direction, "grid": list(np.asarray(B, dtype=float)),
            "temperature": temperature}
    if name is not None:
        spec["name"] = name
    return check_observable(spec)


def _direction(value):
    if isinstance(value, str):
        if value not in DIRECTIONS:
            raise ValueError(f"observable direction must be one of {DIRECTIONS} or a 3-vector, "
                             f"got {value!r}")
        return value
    try:
        vec = [float(v) for v in value]
    except (TypeError, ValueError):
        raise ValueError(f"observable direction must be one of {DIRECTIONS} or a 3-vector, "
                         f"got {value!r}") from None
    if len(vec) != 3 or not np.all(np.isfinite(vec)) or not np.any(vec):
        raise ValueError(f"observable direction vector must be 3 finite numbers, not all zero; "
                         f"got {value!r}")
    return vec


def default_name(spec: dict) -> str:
    """"chi_powder_1T", "chi_powder_0T", "M_plane_2K", ... (a vector direction as "dir(a,b,c)")."""
    d = spec["direction"]
    d = d if isinstance(d, str) else "dir(" + ",".join(f"{v:g}" for v in d) + ")"
    if spec["kind"] == "chi":
        return f"chi_{d}_{spec.get('field', 0.0):g}T"
    return f"M_{d}_{spec['temperature']:g}K"


def check_observable(spec) -> dict:
    """The normalised dict of one observable; ValueError naming the bad entry."""
    if not isinstance(spec, dict):
        raise ValueError(f"an observable must be a dict with kind, direction, grid; got {spec!r}")
    known = {"name", "kind", "direction", "grid", "field", "temperature"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"observable: unknown key(s) {unknown}; known: {sorted(known)}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"observable kind must be one of {KINDS}, got {kind!r}")
    out = {"kind": kind, "direction": _direction(spec.get("direction", "powder"))}
    what = "temperatures [K]" if kind == "chi" else "fields [T]"
    try:
        grid = np.asarray(spec.get("grid"), dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"observable grid must be a list of {what}, got {spec.get('grid')!r}") from None
    if grid.size < 1 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise ValueError(f"observable grid must hold at least one finite {what} > 0")
    if np.any(np.diff(grid) <= 0):
        raise ValueError(f"observable grid of {what} must be strictly increasing")
    out["grid"] = [float(v) for v in grid]
    if kind == "chi":
        if "temperature" in spec:
            raise ValueError("a chi observable takes 'field' [T], not 'temperature'")
        if spec.get("field") is not None:
            out["field"] = positive(spec["field"], "observable field [T]")
        elif out["direction"] != "powder":
            raise ValueError("a single-crystal chi observable needs a measuring field [T] (> 0)")
    else:
        if "field" in spec:
            raise ValueError("an M observable takes 'temperature' [K], not 'field'")
        out["temperature"] = positive(spec.get("temperature"), "observable temperature [K]")
    name = spec.get("name")
    out = {"name": str(name) if name is not None else default_name(out), **out}
    return out


def check_observables(specs) -> tuple:
    """Normalised tuple of observable dicts; names must be unique."""
    if isinstance(specs, dict) or not hasattr(specs, "__iter__"):
        raise ValueError("DatasetConfig.observables must be a list of observable dicts")
    out = []
    for spec in specs:
        try:
            out.append(check_observable(spec))
        except ValueError as exc:
            raise ValueError(f"DatasetConfig.observables: {exc}") from None
    if not out:
        raise ValueError("DatasetConfig.observables must hold at least one observable")
    names = [o["name"] for o in out]
    if len(set(names)) != len(names):
        raise ValueError(f"DatasetConfig.observables: names must be unique, got {names}")
    return tuple(out)


def observable_index(observables) -> dict:
    """{name: {"start", "stop", "kind", "unit", "grid_unit", ...}}: where each observable sits in
    the concatenated columns of `curves`, in order."""
    out, start = {}, 0
    for spec in observables:
        stop = start + len(spec["grid"])
        out[spec["name"]] = {**spec, "start": start, "stop": stop,
                             "grid_unit": GRID_UNITS[spec["kind"]]}
        start = stop
    return out


def clean_curves(spec: dict, ion: str, params: dict, unit: str, backend: str,
                 lebedev_order, symmetry) -> np.ndarray:
    """The clean curves (N, len(grid)) of one observable for N parameter sets: chi [emu/mol] or
    M [muB per ion], from the batched physics of ligandml.sweeps."""
    from .. import sweeps

    grid, direction = np.asarray(spec["grid"]), spec["direction"]
    if spec["kind"] == "chi":
        if direction == "powder":
            return sweeps.powder_susceptibility(ion, params, grid, field=spec.get("field"),
                                                unit=unit, backend=backend,
                                                lebedev_order=lebedev_order, symmetry=symmetry)
        return sweeps.crystal_susceptibility(ion, params, grid, spec["field"], direction,
                                             unit=unit, backend=backend)
    T = [spec["temperature"]]
    if direction == "powder":
        M = sweeps.powder_magnetization(ion, params, grid, T, unit=unit, backend=backend,
                                        lebedev_order=lebedev_order, symmetry=symmetry)
    else:
        M = sweeps.crystal_magnetization(ion, params, grid, T, direction, unit=unit,
                                         backend=backend)
    return M[:, :, 0]


def diamagnetic_moment(chi_dia, field_T) -> np.ndarray:
    """The moment chi_dia H of a diamagnetic-correction residue, in muB per ion: chi_dia
    [emu/mol] times H = field_T * 1e4 Oe, divided by N_A muB = 5585 emu/mol (broadcasts)."""
    H_Oe = np.asarray(field_T, dtype=float) * OERSTED_PER_TESLA
    return np.asarray(chi_dia, dtype=float) * H_Oe / MU_B_PER_ION_IN_EMU_PER_MOL


def augment_observable(spec: dict, clean, chi_dia, s_m) -> np.ndarray:
    """Noise-free augmented copies of one observable: clean (N, G) chi [emu/mol] or M [muB/ion];
    chi_dia [emu/mol], s_m: (N, copies). Returns (N, copies, G): s_m chi + chi_dia, or
    s_m M + chi_dia H / 5585 (module docstring)."""
    clean = np.asarray(clean, dtype=float)[:, None, :]
    s_m, chi_dia = np.asarray(s_m)[..., None], np.asarray(chi_dia)[..., None]
    if spec["kind"] == "chi":
        return s_m * clean + chi_dia
    return s_m * clean + diamagnetic_moment(chi_dia, np.asarray(spec["grid"]))


def draw_noise_levels(rng: np.random.Generator, shape, low: float, high: float) -> np.ndarray:
    """Relative noise levels of `shape`, log-uniform in [low, high] (dimensionless, 0.01 = 1 %):
    exp(U(log low, log high)); low == high gives that level everywhere."""
    if not 0 < low <= high:
        raise ValueError(f"noise levels need 0 < low <= high, got ({low!r}, {high!r})")
    return np.exp(rng.uniform(np.log(low), np.log(high), shape))
