"""Measured KErSe2 magnetometry (Scheie et al., PRB 101, 144432 (2020)) as er-d3d observables,
the published parameters in kelvin, and the synthetic er-d3d test curves of DESIGN.md.

The files live in ../shared/data/real beside the repository (a user's clone has none):
real_data_dir() finds the folder from $LIGANDML_REAL_DATA, else ../shared/data/real relative to
the repository root, and returns None when it is absent (callers skip or refuse, never guess).

Units of the loaded observables are the package's: chi = M/H [emu/mol per Er], M [muB per Er],
temperatures [K], fields [T]. No diamagnetic correction was applied to any file (that residue is
the chi_dia nuisance of the likelihood). The measured curves are put on the er-d3d grids of
dataset.config.er_d3d_observables:

- chi(T): powder, H in the ab plane, H along c. The measuring field is not recorded; the authors
  compared with a calculation at 1 T, which is the field of the er-d3d observables. Each grid
  temperature takes a local straight-line fit in log T of the measured points within half a grid
  step (+-4 %) of it (several runs are interleaved in the ab column), else linear interpolation.
- M(H) at 2 K, H in the ab plane and along c: linear interpolation from the measured fields
  (0.1-0.3 T apart). At the published parameters this interpolation misses the computed curve by
  2e-4 relative at most.
- No powder M(H) was measured. For the "powder" set the loader can stand in (2 M_ab + M_c) / 3,
  the average over three axes, which at the published parameters differs from the true powder
  average by up to 5.3 % (at 3.2 T): only with powder_magnetization="axes-average", stated.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .constants import kelvin_per

#: Scheie et al. (2020), Stevens parameters (Hutchings convention) of KErSe2 [meV]
KERSE2_MEV = {
    "B20": -2.772780224706159e-2, "B40": -3.986791337847824e-4, "B43": -1.4164750780259892e-2,
    "B60": 3.152118222727135e-6, "B63": -7.615963268822789e-6, "B66": 3.2752689577855864e-5,
}
#: the same in kelvin (1 meV = 11.604518 K)
KERSE2_K = {k: v * kelvin_per("meV") for k, v in KERSE2_MEV.items()}
#: published KErSe2 doublet energies [meV]
KERSE2_DOUBLETS_MEV = (0.0, 0.903, 3.491, 5.134, 5.538, 23.336, 25.223, 25.428)

#: the er-d3d test sets of DESIGN.md [K]
ER_D3D_TEST_SETS = {
    "kerse2": KERSE2_K,
    "d3d-a": {"B20": 0.8, "B40": 6e-3, "B43": -0.12, "B60": -6e-5, "B63": 1.2e-3, "B66": -9e-4},
    "d3d-b": {"B20": -1.2, "B40": -2e-3, "B43": 0.05, "B60": 8e-5, "B63": -5e-4, "B66": 1.0e-3},
}
#: errors of the er-d3d test curves: chi_dia [emu/mol], s_m, relative noise
ER_D3D_TEST_ERRORS = {"chi_dia": 0.001, "s_m": 1.0, "noise": 0.005}

REAL_DATA_ENV = "LIGANDML_REAL_DATA"
CHI_FILE, MH_FILE = "KErSe2_chi_T.dat", "KErSe2_M_H_2K.txt"
REAL_SETS = ("crystal", "powder", "powder-chi")


def d3d_twin(params: dict) -> dict:
    """The D3d equivalent of a parameter set: (B43, B63) -> (-B43, -B63), a 60 degree rotation
    about z (same physics for every observable). Units unchanged."""
    return {k: (-v if k in ("B43", "B63") else v) for k, v in params.items()}


def real_data_dir() -> Path | None:
    """The measured-data folder: $LIGANDML_REAL_DATA if set, else ../shared/data/real beside
    the repository root (found from this file's location), else beside the working directory;
    None when it is absent."""
    env = os.environ.get(REAL_DATA_ENV)
    if env:
        path = Path(env)
        return path if path.is_dir() else None
    repo = Path(__file__).resolve().parents[2]  # python/ligandml/real_data.py -> repo root
    # beside the source checkout (editable install), else beside the working directory (an
    # installed package run from the repository root, as `pip install . && ligandml demo`)
    for path in (repo.parent / "shared" / "data" / "real", Path.cwd().parent / "shared" / "data" / "real"):
        if path.is_dir():
            return path
    return None


def _folder(folder) -> Path:
    path = real_data_dir() if folder is None else Path(folder)
    if path is None or not path.is_dir():
        raise FileNotFoundError(f"measured KErSe2 data not found (set ${REAL_DATA_ENV} or place "
                                f"them in ../shared/data/real beside the repository)")
    return path


def read_kerse2_chi(folder=None) -> dict:
    """The measured chi(T) columns: {"powder" | "plane" | "z": (T [K], chi [emu/mol Er])},
    sorted by T, missing values ('--') dropped."""
    import pandas as pd

    table = pd.read_csv(_folder(folder) / CHI_FILE, sep="\t", skiprows=2, header=None,
                        na_values=["--"])
    out = {}
    for key, col in (("powder", 0), ("plane", 3), ("z", 6)):
        T, chi = table[col].to_numpy(float), table[col + 1].to_numpy(float)
        ok = np.isfinite(T) & np.isfinite(chi) & (T > 0)
        order = np.argsort(T[ok], kind="stable")
        out[key] = (T[ok][order], chi[ok][order])
    return out


def read_kerse2_magnetization(folder=None) -> dict:
    """The measured M(H) at 2 K: {"plane" | "z": (B [T], M [muB/Er])}, increasing B, B > 0."""
    rows = np.loadtxt(_folder(folder) / MH_FILE)
    if rows.shape[0] != 4:
        raise ValueError(f"{MH_FILE}: expected 4 rows (B_ab, M_ab, B_c, M_c), got {rows.shape[0]}")
    out = {}
    for key, (b, m) in (("plane", (0, 1)), ("z", (2, 3))):
        B, M = rows[b], rows[m]
        ok = B > 0
        order = np.argsort(B[ok])
        out[key] = (B[ok][order], M[ok][order])
    return out


def local_log_fit(T, y, grid, half_width: float = 0.04) -> np.ndarray:
    """y on `grid` from scattered (T, y): at each grid point a straight line in log T through
    the points within a factor (1 +- half_width) of it (at least 3 points), else linear
    interpolation. T, grid: same unit, > 0. Returns an array like grid."""
    T, y, grid = (np.asarray(a, float) for a in (T, y, grid))
    out = np.interp(grid, T, y)
    lt, lg = np.log(T), np.log(grid)
    for i, g in enumerate(lg):
        near = np.abs(lt - g) <= np.log1p(half_width)
        if near.sum() >= 3 and np.ptp(lt[near]) > 0:
            slope, icpt = np.polyfit(lt[near] - g, y[near], 1)
            out[i] = icpt
    return out


def _on_grid(name, x, y, grid):
    grid = np.asarray(grid, float)
    if grid.min() < x.min() * (1 - 1e-3) or grid.max() > x.max() * (1 + 1e-3):
        raise ValueError(f"measured {name} spans {x.min():g}-{x.max():g}; the grid needs "
                         f"{grid.min():g}-{grid.max():g}")
    return grid


def load_kerse2(observables: str = "crystal", folder=None,
                powder_magnetization: str | None = None) -> tuple[list, dict]:
    """The measured KErSe2 data as er-d3d observables: (observable dicts, {name: values}).

    observables: "crystal" (chi(T) at 1 T and M(H) at 2 K, H along c and in the ab plane: the
    four curves of er_d3d_observables("crystal")), "powder-chi" (the measured powder chi(T) alone,
    on the er-d3d grid at 1 T) or "powder" (powder chi(T) and powder M(H) at 2 K; no powder M(H)
    was measured, so this needs powder_magnetization="axes-average": (2 M_ab + M_c) / 3, which
    is up to 5.3 % off a true powder average at the published parameters). Values: chi
    [emu/mol Er], M [muB/Er]. folder: the data folder (default real_data_dir()).
    FileNotFoundError when the data are absent; ValueError for an unknown set.
    """
    from .dataset.config import er_d3d_observables

    if observables not in REAL_SETS:
        raise ValueError(f"KErSe2 observable set must be one of {REAL_SETS}, got {observables!r}")
    if observables == "powder" and powder_magnetization != "axes-average":
        raise ValueError("no powder M(H) of KErSe2 was measured; pass powder_magnetization="
                         "'axes-average' to use (2 M_ab + M_c)/3 (up to 5.3 % off a powder "
                         "average), or use 'powder-chi'")
    specs = er_d3d_observables("crystal" if observables == "crystal" else "powder")
    if observables == "powder-chi":
        specs = specs[:1]
    chi, mag = read_kerse2_chi(folder), None
    observed = {}
    for spec in specs:
        d = spec["direction"]
        if spec["kind"] == "chi":
            T, y = chi[d]
            observed[spec["name"]] = local_log_fit(T, y, _on_grid(f"chi {d}", T, y, spec["grid"]))
            continue
        mag = mag or read_kerse2_magnetization(folder)
        if d == "powder":
            (Ba, Ma), (Bc, Mc) = mag["plane"], mag["z"]
            grid = _on_grid("M(H)", Ba, Ma, spec["grid"])
            observed[spec["name"]] = (2 * np.interp(grid, Ba, Ma) + np.interp(grid, Bc, Mc)) / 3
        else:
            B, M = mag[d]
            observed[spec["name"]] = np.interp(_on_grid(f"M(H) {d}", B, M, spec["grid"]), B, M)
    return list(specs), observed


def er_d3d_test_data(name: str, observables: str = "crystal", noise: float | None = None,
                     seed: int = 0, backend: str | None = None) -> tuple[list, dict, dict]:
    """A synthetic er-d3d test curve of DESIGN.md: (observable dicts, {name: values}, truth [K]).

    name: "kerse2", "d3d-a" or "d3d-b". The clean observables of the truth get chi_dia = 0.001
    emu/mol (chi_dia H / 5585 on M), s_m = 1 and relative noise `noise` (default 0.5 %; 0 for
    none), one draw per point from seed."""
    from .dataset.config import er_d3d_observables
    from .dataset.observables import augment_observable, clean_curves

    if name not in ER_D3D_TEST_SETS:
        raise ValueError(f"unknown er-d3d test curve {name!r}; known: {sorted(ER_D3D_TEST_SETS)}")
    truth = ER_D3D_TEST_SETS[name]
    noise = ER_D3D_TEST_ERRORS["noise"] if noise is None else float(noise)
    rng = np.random.default_rng(seed)
    specs = er_d3d_observables(observables)
    params = {k: np.array([v]) for k, v in truth.items()}
    observed = {}
    for spec in specs:
        clean = clean_curves(spec, "Er3+", params, "K", backend, None, None)
        y = augment_observable(spec, clean, np.array([[ER_D3D_TEST_ERRORS["chi_dia"]]]),
                               np.array([[ER_D3D_TEST_ERRORS["s_m"]]]))[0, 0]
        observed[spec["name"]] = y * (1 + noise * rng.standard_normal(y.shape))
    return specs, observed, dict(truth)
