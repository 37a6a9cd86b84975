"""The exact posterior of (D, E, chi_dia[, s_m]) for one powder curve, by likelihood on a grid.

Model: chi_obs(T_i) = s_m chi(T_i; D, E) + chi_dia + e_i, e_i ~ N(0, sigma_i^2) independent, with
sigma_i = noise_rel |chi_obs(T_i)| (or an absolute sigma). Prior: (D, E) uniform on a box (kelvin),
chi_dia ~ N(0, sigma_dia^2) [emu/mol], s_m ~ N(1, sigma_m^2) (a zero width fixes the nuisance at
its mean; an infinite one is flat). chi_dia and s_m enter linearly, so for every (D, E) they are
integrated out exactly (Gaussian linear model): with A the design columns, W = diag(1/sigma^2),
G = A^T W A + Lambda0 and the ridge-augmented least-squares cost c(D, E) at the best nuisances,

    log p(D, E | chi_obs) = -c(D, E) - 1/2 log det G(D, E) + const,

and the nuisances given (D, E) are Gaussian with mean G^-1 h and covariance G^-1.

Grid: a global cell-centred grid over the box (spacing ~0.2 K), the posterior modes found by
Levenberg-Marquardt from the grid's local maxima, and around each mode a finer local grid in the
eigenframe of its Laplace covariance (+-width_sd standard deviations, cells of sd_per_cell
standard deviations, so long thin ridges cost no more than round peaks). The plane is partitioned:
a local cell counts where its grid reaches least far among the local grids holding it, a global
cell where no local grid holds it. Mass per cell is exp(log p) x cell area (midpoint rule). Check: every grid has a multiple of 3 cells per
axis, so its 3x3 blocks have the block's centre cell as their own midpoint rule; the total
variation distance between the fine and the 3x-coarser posterior over those blocks measures the
discretisation error (the fine one's is about 1/9 of it for a smooth density). Above tv_tol the
local grids are widened and refined and the check repeated; a warning says when it still fails.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import checks
from .curves import per_ion_chi
from .plausibility import check_plausible
from .benchmark_task import DE_BOX, inside_box
from .clustering import distinct_minima
from .likelihood import CurveModel, measurement_sd
from .optimize import batched_levenberg_marquardt
from .parameters import canonical_DE, equivalent_DE
from .posterior import SampleSet
from .sweeps import as_ion

#: chunk of grid points per batched sweep (bounds memory)
GRID_CHUNK = 8192


@dataclass(frozen=True)
class GridPrior:
    """Prior of the grid posterior.

    box: {"D": (lo, hi), "E": (lo, hi)} [K], (D, E) uniform on it. sigma_dia: sd of chi_dia
    [emu/mol] around 0 (0 fixes chi_dia = 0, inf makes it flat). sigma_m: sd of s_m around 1
    (0, the default, fixes s_m = 1).
    """

    box: tuple = (("D", DE_BOX["D"]), ("E", DE_BOX["E"]))
    sigma_dia: float = 0.002
    sigma_m: float = 0.0

    @classmethod
    def make(cls, prior) -> "GridPrior":
        """Accept None, a GridPrior or a dict with keys box, sigma_dia, sigma_m."""
        if prior is None:
            return cls()
        if isinstance(prior, cls):
            return prior
        if not isinstance(prior, dict):
            raise ValueError(f"prior must be a GridPrior or dict, got {type(prior).__name__}")
        unknown = set(prior) - {"box", "sigma_dia", "sigma_m"}
        if unknown:
            raise ValueError(f"unknown prior keys {sorted(unknown)}; use box, sigma_dia, sigma_m")
        kw = dict(prior)
        if "box" in kw:
            box = dict(kw["box"])
            if set(box) != {"D", "E"}:
                raise ValueError("prior box must give exactly 'D' and 'E' ranges [K]")
            kw["box"] = (("D", tuple(map(float, box["D"]))), ("E", tuple(map(float, box["E"]))))
        for key in ("sigma_dia", "sigma_m"):
            if key in kw and (kw[key] is None or float(kw[key]) < 0 or np.isnan(float(kw[key]))):
                raise ValueError(f"{key} must be >= 0 (inf for flat), got {kw[key]!r}")
        return cls(**kw)

    @property
    def box_dict(self) -> dict:
        return {k: tuple(v) for k, v in self.box}

    @property
    def nuisance(self) -> tuple:
        return tuple(n for n, s in (("chi_dia", self.sigma_dia), ("s_m", self.sigma_m)) if s > 0)


@dataclass
class _Region:
    """A regular grid of n1 x n2 cells in a (possibly rotated and scaled) frame:
    x = x0 + V @ (s * u), u in [-w1, w1] x [-w2, w2], cells of width 2 w_i / n_i in u.
    The global grid has V = I, s = 1; a local grid the Laplace covariance's eigenframe."""

    x0: np.ndarray
    V: np.ndarray
    s: np.ndarray
    w: np.ndarray
    n: tuple
    logp: np.ndarray = None
    coef: np.ndarray = None   # (n1, n2, k) nuisance means given (D, E)
    cov: np.ndarray = None    # (n1, n2, k, k)
    active: np.ndarray = None  # (n1, n2) bool: cells that count (see _assign_cells)

    @property
    def edges(self) -> np.ndarray:
        """Cell edge vectors a1, a2 in (D, E) [K], shape (2, 2) (rows)."""
        return np.stack([self.V[:, i] * self.s[i] * 2 * self.w[i] / self.n[i] for i in range(2)])

    @property
    def area(self) -> float:
        return float(abs(np.linalg.det(self.edges)))

    def centres(self) -> np.ndarray:
        """Cell centres (n1, n2, 2) in (D, E) [K]."""
        u1 = -self.w[0] + 2 * self.w[0] * (np.arange(self.n[0]) + 0.5) / self.n[0]
        u2 = -self.w[1] + 2 * self.w[1] * (np.arange(self.n[1]) + 0.5) / self.n[1]
        U = np.stack(np.meshgrid(u1, u2, indexing="ij"), axis=-1) * self.s
        return self.x0 + U @ self.V.T

    def reach(self, x: np.ndarray) -> np.ndarray:
        """max_i |u_i| / w_i of points x (..., 2): <= 1 inside the region."""
        u = ((x - self.x0) @ self.V) / self.s
        return np.max(np.abs(u) / self.w, axis=-1)


def _round3(x: float) -> int:
    return max(3, int(3 * np.ceil(x / 3.0)))


def log_posterior(model: CurveModel, D: np.ndarray, E: np.ndarray):
    """Unnormalised log p(D, E | curve) with the nuisances integrated out, for flat arrays D, E [K].

    Returns (logp (S,), nuisance means (S, k), nuisance covariances (S, k, k)).
    """
    X = np.stack([np.ravel(D), np.ravel(E)], axis=1)
    logp = np.empty(len(X))
    k = len(model.linear_names)
    coef = np.empty((len(X), k))
    cov = np.empty((len(X), k, k))
    for s in range(0, len(X), GRID_CHUNK):
        F = model.curves(X[s:s + GRID_CHUNK])
        r, c = model.residuals_from_curves(F, with_prior=True)
        _, G, _, _ = model.project(F)
        logdet = np.linalg.slogdet(G)[1] if k else 0.0
        logp[s:s + GRID_CHUNK] = -0.5 * np.sum(r**2, axis=1) - 0.5 * logdet
        coef[s:s + GRID_CHUNK] = c
        cov[s:s + GRID_CHUNK] = np.linalg.inv(G) if k else np.zeros((len(c), 0, 0))
    return logp, coef, cov


def _evaluate(model, region: _Region, box: dict) -> _Region:
    """Fill region.logp, coef, cov at its cell centres; -inf outside the prior box."""
    x = region.centres()
    shape = x.shape[:2]
    k = len(model.linear_names)
    inside = inside_box(x[..., 0], x[..., 1], box)
    region.logp = np.full(shape, -np.inf)
    region.coef = np.zeros(shape + (k,))
    region.cov = np.tile(np.eye(k), shape + (1, 1))
    if inside.any():
        lp, c, cv = log_posterior(model, x[inside, 0], x[inside, 1])
        region.logp[inside], region.coef[inside], region.cov[inside] = lp, c, cv
    region.active = np.ones(shape, bool)
    return region


def _global_region(box: dict, spacing: float) -> _Region:
    lo = np.array([box["D"][0], box["E"][0]])
    hi = np.array([box["D"][1], box["E"][1]])
    n = tuple(_round3((h - l) / spacing) for l, h in zip(lo, hi))
    return _Region((lo + hi) / 2, np.eye(2), np.ones(2), (hi - lo) / 2, n)


def _find_modes(model, glob: _Region, box: dict, max_modes: int, keep_within: float):
    """Posterior modes from the global grid's local maxima: (modes (m, 2), covariances (m, 2, 2))."""
    from scipy.ndimage import maximum_filter

    lp = glob.logp
    peaks = np.argwhere(lp >= maximum_filter(lp, size=3, mode="nearest"))
    order = np.argsort(-lp[peaks[:, 0], peaks[:, 1]])[:max_modes]
    starts = glob.centres()[peaks[order, 0], peaks[order, 1]]
    X, cost, ok = batched_levenberg_marquardt(model, starts, max_iter=100)
    X = np.where(ok[:, None], X, starts)  # an unconverged start keeps its grid point
    lo = np.array([box["D"][0], box["E"][0]])
    hi = np.array([box["D"][1], box["E"][1]])
    X = np.clip(X, lo, hi)
    reps, _ = distinct_minima(X, cost, 1e-3)
    X = X[reps]
    lpm, _, _ = log_posterior(model, X[:, 0], X[:, 1])
    keep = lpm >= max(lpm.max(), lp.max()) - keep_within
    X = X[keep]
    r = model.residuals(X)
    J = model.jacobian(X, r)
    H = np.einsum("smi,smj->sij", J, J)
    return X, np.linalg.pinv(H)


def _local_regions(modes, covs, spacing: float, width_sd: float, sd_per_cell: float,
                   max_local: int) -> list:
    """A grid in each mode's Laplace eigenframe, +-width_sd sd wide, cells of sd_per_cell sd but
    never wider than spacing/3 [K]."""
    regions = []
    for x0, C in zip(modes, covs):
        lam, V = np.linalg.eigh(0.5 * (C + C.T))
        # a flat direction gets at most max_local cells of spacing/3: the global grid covers the rest
        s_max = max_local * spacing / 3.0 / (2 * width_sd)
        s = np.minimum(np.sqrt(np.clip(lam, 1e-24, None)), s_max)
        cell = np.minimum(sd_per_cell * s, spacing / 3.0)  # cell width [K] along each axis
        # at least 9 cells (3 blocks) per axis, so the fine-vs-coarse check sees the shape
        n = tuple(max(min(_round3(2 * width_sd * s[i] / cell[i]), _round3(max_local)), 9)
                  for i in range(2))
        regions.append(_Region(np.asarray(x0, float), V, s, np.full(2, width_sd), n))
    return regions


def _assign_cells(glob: _Region, local: list) -> None:
    """Partition the plane: a local cell counts where its grid reaches least far among the local
    grids that hold it; a global cell where no local grid holds it."""
    for a, reg in enumerate(local):
        x = reg.centres()
        own = reg.reach(x)
        for b, other in enumerate(local):
            if b != a:
                rb = other.reach(x)
                reg.active &= ~((rb < own) | ((rb == own) & (b < a)))
        reg.active &= np.isfinite(reg.logp)
    xg = glob.centres()
    for reg in local:
        glob.active &= reg.reach(xg) > 1.0


def _block_tv(regions) -> float:
    """Total variation between the posterior on the grids and on their 3x-coarser subgrids,
    compared over the 3x3 blocks of cells that count in full."""
    top = max(r.logp[r.active].max() for r in regions if r.active.any())
    fine, coarse = [], []
    for r in regions:
        n1, n2 = r.n
        m = np.where(r.active, np.exp(r.logp - top), 0.0) * r.area
        bf = m.reshape(n1 // 3, 3, n2 // 3, 3).sum(axis=(1, 3))
        bc = 9.0 * r.area * np.exp(r.logp[1::3, 1::3] - top)
        act = r.active.reshape(n1 // 3, 3, n2 // 3, 3).all(axis=(1, 3))
        fine.append(bf[act])
        coarse.append(bc[act])
    f, c = np.concatenate(fine), np.concatenate(coarse)
    return 0.5 * float(np.abs(f / f.sum() - c / c.sum()).sum())


@dataclass
class GridPosterior(SampleSet):
    """The exact grid posterior of one curve (a SampleSet: the shared posterior views apply).

    samples: DataFrame D, E [K], chi_dia [emu/mol] (and s_m when free) drawn from the posterior.
    points: DataFrame of the grid cells (D, E centres and edge vectors a1, a2 [K], area [K^2],
    logp, mass (sums to 1), and the conditional nuisance means and sds). marginals: {"D", "E", "chi_dia"}: DataFrames (value,
    density). modes: DataFrame of the posterior modes (D, E, logp). grid_check: dict with tv
    (fine vs 3x coarser), estimated_error (tv/9), passed, refinements. seconds: wall time [s].
    """

    samples: pd.DataFrame
    points: pd.DataFrame
    marginals: dict
    modes: pd.DataFrame
    grid_check: dict
    seconds: float
    model: CurveModel
    prior: GridPrior

    # -- the SampleSet interface: the curve and prior the posterior belongs to ----------------------
    @property
    def T(self) -> np.ndarray:
        """Temperatures of the curve [K]."""
        return self.model.T

    @property
    def chi_input(self) -> np.ndarray:
        """The curve per ion [emu/mol]."""
        return self.model.y

    @property
    def ion(self):
        return self.model.ion

    @property
    def field(self):
        """Measuring field [T], None for zero field."""
        return self.model.field

    @property
    def box(self) -> dict:
        """The prior box of (D, E) [K]."""
        return self.prior.box_dict

    def point_estimate(self) -> dict:
        """The highest mode, canonical (D, E [K]), with the posterior median of chi_dia [emu/mol]."""
        top = self.modes.iloc[0]
        D, E = canonical_DE(float(top["D"]), float(top["E"]))
        return {"D": D, "E": E, "chi_dia": float(self.samples["chi_dia"].median())}

    def log_density(self, D, E) -> np.ndarray:
        """Unnormalised log posterior at (D, E) [K] on the grid's scale; -inf outside the box."""
        D, E = np.atleast_1d(np.asarray(D, float)), np.atleast_1d(np.asarray(E, float))
        inside = inside_box(D, E, self.prior.box_dict)
        out = np.full(D.shape, -np.inf)
        if inside.any():
            out[inside] = log_posterior(self.model, D[inside], E[inside])[0]
        return out

    def hpd_level(self, D, E) -> np.ndarray:
        """Posterior mass of the region denser than the point(s) (D, E) [K]: the smallest
        highest-density credible level that contains them (1 outside the box)."""
        lp = self.log_density(D, E)
        grid_lp = self.points["logp"].to_numpy()
        order = np.argsort(grid_lp)
        cum_above = np.cumsum(self.points["mass"].to_numpy()[order][::-1])[::-1]  # mass with logp >= each
        idx = np.searchsorted(grid_lp[order], lp, side="right")
        out = np.where(idx < len(order), cum_above[np.minimum(idx, len(order) - 1)], 0.0)
        return np.where(np.isfinite(lp), out, 1.0)

    def class_hpd_level(self, D_true: float, E_true: float) -> float:
        """hpd_level of the best-placed of the six equivalents of (D_true, E_true)."""
        eq = equivalent_DE(D_true, E_true)
        return float(self.hpd_level(eq[:, 0], eq[:, 1]).min())


def _marginals(points: pd.DataFrame, box: dict, bins: int, nuisance_grid) -> dict:
    out = {}
    for name in ("D", "E"):
        edges = np.linspace(box[name][0], box[name][1], bins + 1)
        dens, _ = np.histogram(points[name], bins=edges, weights=points["mass"], density=True)
        out[name] = pd.DataFrame({"value": 0.5 * (edges[1:] + edges[:-1]), "density": dens})
    for name, grid in nuisance_grid.items():
        mean = points[f"{name}_mean"].to_numpy()
        sd = np.maximum(points[f"{name}_sd"].to_numpy(), 1e-300)
        w = points["mass"].to_numpy()
        keep = w > 1e-12
        z = (grid[:, None] - mean[None, keep]) / sd[None, keep]
        dens = (np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * sd[None, keep])) @ w[keep]
        out[name] = pd.DataFrame({"value": grid, "density": dens})
    return out


def grid_posterior(T, chi, ion, noise_rel: float | None = 0.01, prior=None, sigma=None,
                   quantity: str = "chi", ions_per_formula: float = 1.0, field=None,
                   spacing: float = 0.2, width_sd: float = 8.0, sd_per_cell: float = 0.35,
                   max_local: int = 150, max_modes: int = 24, tv_tol: float = 0.05,
                   max_refine: int = 2, n_samples: int = 4000, seed: int | None = 0,
                   marginal_bins: int = 400, backend: str | None = None,
                   force: bool = False) -> GridPosterior:
    """Exact posterior of (D, E [K], chi_dia [emu/mol][, s_m]) for one curve, on a grid.

    T [K]; chi: chi [emu/mol] or chiT [emu K/mol] (quantity) per formula unit with
    ions_per_formula ions; ion: Ion or name. noise_rel: relative measurement sd
    (sigma_i = noise_rel |chi_i|), or give sigma (absolute sd in the curve's units) instead.
    prior: GridPrior or dict (box [K], sigma_dia [emu/mol], sigma_m). field: None or [T].
    spacing: global grid spacing [K]; width_sd: half-width of the local grids in Laplace standard
    deviations; sd_per_cell: local cell width in standard deviations; tv_tol: largest accepted
    fine-vs-coarse total variation (see module docstring). The curve is first checked against
    what the ion can give (ligandml.plausibility.check_plausible); an implausible one raises
    ImplausibleCurveError (a ValueError naming the likely cause) unless force=True. Returns a
    GridPosterior.
    """
    t0 = time.perf_counter()
    pri = GridPrior.make(prior)
    box = pri.box_dict
    T_arr, y = per_ion_chi(T, chi, quantity, ions_per_formula)
    if sigma is None and noise_rel is None:
        raise ValueError("give the measurement noise: noise_rel (relative sd > 0) or sigma (absolute)")
    check_plausible(T_arr, y, as_ion(ion), force=force)
    sd = measurement_sd(y, T_arr, sigma, quantity, ions_per_formula, noise_rel)
    if spacing <= 0:
        raise ValueError(f"spacing must be > 0 K, got {spacing!r}")
    model = CurveModel(as_ion(ion), T_arr, y, sd, ("D", "E"), pri.nuisance,
                       prior_sd={"chi_dia": pri.sigma_dia, "s_m": pri.sigma_m},
                       field=checks.field(field), backend=backend)
    glob = _evaluate(model, _global_region(box, spacing), box)
    modes, covs = _find_modes(model, glob, box, max_modes, keep_within=40.0)
    refinements = 0
    while True:
        local = [_evaluate(model, r, box)
                 for r in _local_regions(modes, covs, spacing, width_sd, sd_per_cell, max_local)]
        glob.active = np.ones(glob.n, bool)
        _assign_cells(glob, local)
        regions = [glob] + local
        tv = _block_tv(regions)
        if tv <= tv_tol or refinements >= max_refine:
            break
        refinements += 1
        width_sd *= 1.5
        sd_per_cell /= 1.5
        max_local = int(max_local * 1.5)
    passed = tv <= tv_tol
    if not passed:
        warnings.warn(f"grid posterior: fine and 3x-coarser grids differ by total variation "
                      f"{tv:.3f} > {tv_tol} after {refinements} refinements; the grid may be too "
                      f"coarse (decrease spacing or sd_per_cell)", RuntimeWarning, stacklevel=2)
    points = _points_table(regions, model)
    rng = np.random.default_rng(seed)
    samples = _draw(points, model, n_samples, rng)
    nuis_grid = {}
    if "chi_dia" in model.linear_names:
        s = max(pri.sigma_dia if np.isfinite(pri.sigma_dia) else 0.01, 1e-6)
        nuis_grid["chi_dia"] = np.linspace(-5 * s, 5 * s, 401)
    if "s_m" in model.linear_names:
        s = max(pri.sigma_m if np.isfinite(pri.sigma_m) else 0.2, 1e-6)
        nuis_grid["s_m"] = np.linspace(1 - 5 * s, 1 + 5 * s, 401)
    marginals = _marginals(points, box, marginal_bins, nuis_grid)
    lpm, _, _ = log_posterior(model, modes[:, 0], modes[:, 1])
    modes_df = pd.DataFrame({"D": modes[:, 0], "E": modes[:, 1], "logp": lpm}).sort_values(
        "logp", ascending=False, ignore_index=True)
    check = {"tv": tv, "estimated_error": tv / 9.0, "tv_tol": tv_tol, "passed": passed,
             "refinements": refinements, "n_points": len(points), "n_local_grids": len(regions) - 1}
    return GridPosterior(samples, points, marginals, modes_df, check, time.perf_counter() - t0, model, pri)


def _points_table(regions, model) -> pd.DataFrame:
    """One row per counted cell: centre, edge vectors, area, logp, mass, nuisance moments."""
    parts, covs = [], []
    for r in regions:
        a = r.active
        x = r.centres()[a]
        ed = r.edges
        part = {"D": x[:, 0], "E": x[:, 1], "a1_D": ed[0, 0], "a1_E": ed[0, 1],
                "a2_D": ed[1, 0], "a2_E": ed[1, 1], "area": r.area, "logp": r.logp[a]}
        for i, n in enumerate(model.linear_names):
            part[f"{n}_mean"] = r.coef[..., i][a]
            part[f"{n}_sd"] = np.sqrt(r.cov[..., i, i][a])
        parts.append(pd.DataFrame(part))
        covs.append(r.cov[a])
    pts = pd.concat(parts, ignore_index=True)
    logm = pts["logp"] + np.log(pts["area"])
    m = np.exp(logm - logm.max())
    pts["mass"] = m / m.sum()
    pts.attrs["cov"] = np.concatenate(covs)
    return pts


def _draw(points: pd.DataFrame, model: CurveModel, n: int, rng) -> pd.DataFrame:
    """Samples: a cell by mass, uniform inside it, nuisances from their conditional Gaussian."""
    n = int(n)
    idx = rng.choice(len(points), size=n, p=points["mass"].to_numpy())
    cell = points.iloc[idx]
    r1, r2 = rng.random(n) - 0.5, rng.random(n) - 0.5
    out = {"D": cell["D"].to_numpy() + r1 * cell["a1_D"].to_numpy() + r2 * cell["a2_D"].to_numpy(),
           "E": cell["E"].to_numpy() + r1 * cell["a1_E"].to_numpy() + r2 * cell["a2_E"].to_numpy()}
    names = model.linear_names
    if names:
        cov = points.attrs["cov"][idx]
        mean = np.stack([cell[f"{nm}_mean"].to_numpy() for nm in names], axis=1)
        L = np.linalg.cholesky(cov)
        draw = mean + np.einsum("sij,sj->si", L, rng.standard_normal((n, len(names))))
        for i, nm in enumerate(names):
            out[nm] = draw[:, i]
    if "chi_dia" not in names:
        out["chi_dia"] = np.zeros(n)
    return pd.DataFrame(out)
