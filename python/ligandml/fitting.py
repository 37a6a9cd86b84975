"""Least-squares fitting of powder chi(T): the classical baseline, and the refinement of network samples.

The model of an observed curve (per magnetic ion, emu/mol) is

    chi_obs(T) = s_m * chi(T; theta) + chi_dia,

theta the ligand-field parameters (D, E in kelvin by default), chi from
ligandml.powder_susceptibility. chi_dia [emu/mol] and s_m (dimensionless) enter linearly, so for
each theta their best values follow in closed form (variable projection, Golub & Pereyra 1973):
the nonlinear search runs over theta only. Residuals are weighted by 1/sigma_i; by default
sigma_i = |chi_obs(T_i)| (relative residuals), so every temperature counts alike.

Search: a Levenberg-Marquardt iteration vectorised over all starts (one batched sweep per
iteration for the whole set of starts), starts spread over the parameter box by a scrambled Sobol
sequence; the distinct minima are then polished one by one with
scipy.optimize.least_squares(method="lm") and given standard errors from the Jacobian,
(J^T J)^-1 scaled by the residual variance.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field as dataclass_field

import numpy as np
import pandas as pd

from . import checks
from .curves import per_ion_chi
from .parameters import canonical_DE, parse_parameter_name
from .sweeps import as_ion, powder_susceptibility

#: default search box [K] for the D, E form: holds all six equivalents of every |D| <= 10 K set
DEFAULT_BOX = {"D": (-10.0, 10.0), "E": (-20.0 / 3.0, 20.0 / 3.0)}
#: nuisances that enter the curve linearly: chi_dia (offset, emu/mol) and s_m (scale, 1)
NUISANCES = ("chi_dia", "s_m")
#: prior means of the nuisances (no diamagnetic residue, no mass error)
NUISANCE_MEAN = {"chi_dia": 0.0, "s_m": 1.0}


# --------------------------------------------------------------------------------------------
# input curves
# --------------------------------------------------------------------------------------------
def _check_names(params, nuisance):
    params = tuple(str(p) for p in params)
    if not params:
        raise ValueError("params is empty: give the parameters to fit, e.g. ('D', 'E')")
    for p in params:
        parse_parameter_name(p)  # raises ValueError for unknown names
    if len(set(params)) != len(params):
        raise ValueError(f"params has duplicates: {params}")
    nuisance = tuple(str(n) for n in nuisance)
    bad = [n for n in nuisance if n not in NUISANCES]
    if bad:
        raise ValueError(f"unknown nuisance(s) {bad}; choose from {NUISANCES}")
    return params, nuisance


# --------------------------------------------------------------------------------------------
# the curve model with linear nuisances projected out
# --------------------------------------------------------------------------------------------
@dataclass
class CurveModel:
    """Weighted residuals of one observed curve against s_m chi(T; theta) + chi_dia.

    names: the nonlinear parameters theta (kelvin). nuisance: the free linear ones among
    ("chi_dia", "s_m"); a fixed one takes its NUISANCE_MEAN value. prior_sd: optional Gaussian
    prior widths of the free nuisances (same units); each finite width adds a ridge residual
    (value - mean)/sd, which turns the projected cost into the exact Gaussian marginal exponent.
    """

    ion: object
    T: np.ndarray
    y: np.ndarray            # observed chi per ion [emu/mol]
    sigma: np.ndarray        # measurement sd per point [emu/mol]
    names: tuple
    nuisance: tuple = ()
    prior_sd: dict = dataclass_field(default_factory=dict)
    field: float | None = None
    backend: str | None = None
    n_curve_evals: int = 0

    def __post_init__(self):
        self.w = 1.0 / self.sigma
        self.free_scale = "s_m" in self.nuisance
        self.free_offset = "chi_dia" in self.nuisance
        lam, mu = [], []
        for n in self.linear_names:
            sd = self.prior_sd.get(n)
            lam.append(0.0 if sd is None or not np.isfinite(sd) else 1.0 / sd**2)
            mu.append(NUISANCE_MEAN[n])
        self.prior_precision = np.array(lam)
        self.prior_mean = np.array(mu)

    @property
    def linear_names(self) -> tuple:
        """Free linear nuisances in the order of the coefficient vector: s_m first, then chi_dia."""
        return tuple(n for n in ("s_m", "chi_dia") if n in self.nuisance)

    def curves(self, X: np.ndarray) -> np.ndarray:
        """chi(T; theta) [emu/mol] for each row of X (S, p), shape (S, nT)."""
        self.n_curve_evals += X.shape[0]
        params = {n: X[:, j] for j, n in enumerate(self.names)}
        return powder_susceptibility(self.ion, params, self.T, field=self.field, backend=self.backend)

    def _design(self, F: np.ndarray):
        """Target t (S, nT) after the fixed parts and design columns A (S, nT, k)."""
        cols = []
        if self.free_scale:
            cols.append(F)
            t = np.broadcast_to(self.y, F.shape).copy()
        else:
            t = self.y - F
        if self.free_offset:
            cols.append(np.ones_like(F))
        A = np.stack(cols, axis=2) if cols else np.zeros(F.shape + (0,))
        return t, A

    def project(self, F: np.ndarray):
        """Best nuisances for curves F (S, nT): returns (coefficients (S, k), G (S, k, k), t, A).

        G = A^T W A + Lambda0 is the posterior precision of the nuisances given theta.
        """
        t, A = self._design(F)
        k = A.shape[2]
        S = F.shape[0]
        if k == 0:
            return np.zeros((S, 0)), np.zeros((S, 0, 0)), t, A
        Aw = A * (self.w**2)[None, :, None]
        G = np.einsum("sik,sil->skl", Aw, A) + np.diag(self.prior_precision)[None]
        h = np.einsum("sik,si->sk", Aw, t) + (self.prior_precision * self.prior_mean)[None]
        coef = np.linalg.solve(G, h[..., None])[..., 0]
        return coef, G, t, A

    def residuals_from_curves(self, F: np.ndarray, with_prior: bool = True):
        """Weighted residuals (S, nT [+ ridge rows]) at the projected nuisances, and the nuisances."""
        coef, G, t, A = self.project(F)
        r = self.w * (np.einsum("sik,sk->si", A, coef) - t)
        if with_prior and np.any(self.prior_precision > 0):
            ridge = np.sqrt(self.prior_precision) * (coef - self.prior_mean)
            r = np.concatenate([r, ridge[:, self.prior_precision > 0]], axis=1)
        return r, coef

    def residuals(self, X: np.ndarray, with_prior: bool = True) -> np.ndarray:
        """Projected weighted residuals for each row of X (S, p)."""
        return self.residuals_from_curves(self.curves(X), with_prior)[0]

    def nuisance_dict(self, coef: np.ndarray) -> dict:
        """Nuisance values, free (from coef) and fixed, as a dict of floats."""
        out = {n: float(coef[i]) for i, n in enumerate(self.linear_names)}
        return out

    def jacobian(self, X: np.ndarray, r: np.ndarray, rel_step: float = 1e-6) -> np.ndarray:
        """Forward-difference Jacobian of the projected residuals, shape (S, m, p)."""
        S, p = X.shape
        steps = rel_step * np.maximum(np.abs(X), 1.0)
        Xs = np.repeat(X[:, None, :], p, axis=1)
        idx = np.arange(p)
        Xs[:, idx, idx] += steps
        rs = self.residuals(Xs.reshape(S * p, p)).reshape(S, p, -1)
        return np.swapaxes((rs - r[:, None, :]) / steps[:, :, None], 1, 2)

    def full_jacobian(self, x: np.ndarray, coef: np.ndarray, rel_step: float = 1e-5) -> np.ndarray:
        """Jacobian (nT, p + k) of the unprojected weighted residuals at (theta, nuisances):
        central differences for theta, analytic columns for the linear nuisances."""
        p = x.size
        steps = rel_step * np.maximum(np.abs(x), 1.0)
        Xs = np.concatenate([x + np.diag(steps), x - np.diag(steps)])
        F = self.curves(Xs)
        scale = coef[self.linear_names.index("s_m")] if self.free_scale else 1.0
        dF = (F[:p] - F[p:]) / (2 * steps[:, None])  # (p, nT)
        cols = [self.w * scale * dF[j] for j in range(p)]
        F0 = self.curves(x[None])[0]
        for n in self.linear_names:
            cols.append(self.w * (F0 if n == "s_m" else np.ones_like(F0)))
        return np.stack(cols, axis=1)


# --------------------------------------------------------------------------------------------
# Levenberg-Marquardt, vectorised over starts
# --------------------------------------------------------------------------------------------
def batched_levenberg_marquardt(model: CurveModel, X0: np.ndarray, max_iter: int = 200,
                                ftol: float = 1e-12, xtol: float = 1e-10,
                                escape: float = 1e3):
    """Minimise 0.5 |r(x)|^2 from every row of X0 (S, p) at once.

    One batched curve evaluation for the trial steps and one for the Jacobian per iteration.
    Returns (X (S, p), cost (S,), converged (S,) bool). A start that leaves the region
    |x| < escape [K] is stopped and marked not converged.
    """
    X = np.array(X0, dtype=float, copy=True)
    S, p = X.shape
    r = model.residuals(X)
    cost = 0.5 * np.sum(r**2, axis=1)
    lam = np.full(S, 1e-3)
    active = np.ones(S, bool)
    converged = np.zeros(S, bool)
    J = model.jacobian(X, r)
    eye = np.eye(p)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Ja, ra = J[idx], r[idx]
        A = np.einsum("smi,smj->sij", Ja, Ja)
        g = np.einsum("smi,sm->si", Ja, ra)
        damp = lam[idx, None, None] * (A * eye + 1e-30 * eye)
        try:
            dx = -np.linalg.solve(A + damp, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            dx = -np.linalg.lstsq(A[0] + damp[0], g[0], rcond=None)[0][None]
        Xt = X[idx] + dx
        rt = model.residuals(Xt)
        ct = 0.5 * np.sum(rt**2, axis=1)
        better = ct < cost[idx]
        small_step = np.linalg.norm(dx, axis=1) <= xtol * (np.linalg.norm(X[idx], axis=1) + xtol)
        small_gain = better & ((cost[idx] - ct) <= ftol * cost[idx])
        exact = ct < 1e-28
        acc = idx[better]
        X[acc], r[acc], cost[acc] = Xt[better], rt[better], ct[better]
        lam[acc] = np.maximum(lam[acc] / 3.0, 1e-12)
        rej = idx[~better]
        lam[rej] *= 4.0
        done = small_step | small_gain | exact | (~better & (lam[idx] > 1e12))
        converged[idx[done]] = True
        escaped = np.abs(X[idx]).max(axis=1) > escape
        converged[idx[escaped]] = False
        active[idx[done | escaped]] = False
        refresh = acc[active[acc]]
        if refresh.size:
            J[refresh] = model.jacobian(X[refresh], r[refresh])
    return X, cost, converged


def distinct_minima(X: np.ndarray, cost: np.ndarray, tol: float):
    """Group rows of X (S, p) within `tol` of each other (greedy, cheapest first).

    Returns (representative row index per group, group label per row)."""
    order = np.argsort(cost)
    reps: list[int] = []
    labels = np.full(len(X), -1)
    for i in order:
        if reps:
            d = np.linalg.norm(X[reps] - X[i], axis=1)
            j = int(np.argmin(d))
            if d[j] <= tol:
                labels[i] = j
                continue
        labels[i] = len(reps)
        reps.append(int(i))
    return np.array(reps, dtype=int), labels


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass
class FitResult:
    """Outcome of a multi-start least-squares fit.

    best: dict of the fitted parameters [K] and nuisances (chi_dia [emu/mol], s_m) at the lowest
    cost, plus "cost". solutions: DataFrame of the distinct minima, cheapest first, with columns
    for each parameter and nuisance, se_<name> (standard errors), cost (0.5 sum of squared
    weighted residuals), chi2_red (2 cost / (n - n_free)), n_starts (starts that ended there),
    and D_canonical, E_canonical for the D, E form. seconds: wall time [s].
    """

    best: dict
    solutions: pd.DataFrame
    n_starts: int
    n_converged: int
    seconds: float
    nuisance: tuple
    names: tuple
    n_curve_evals: int = 0

    def __repr__(self) -> str:
        return (f"FitResult(best={self.best}, {len(self.solutions)} distinct minima from "
                f"{self.n_starts} starts, {self.seconds:.3f} s)")


def _polish(model: CurveModel, x0: np.ndarray) -> np.ndarray:
    """One start refined with scipy.optimize.least_squares (Levenberg-Marquardt)."""
    from scipy.optimize import least_squares

    res = least_squares(lambda x: model.residuals(x[None])[0], x0, method="lm",
                        xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=200 * (x0.size + 1))
    return res.x


def _solutions_table(model: CurveModel, X: np.ndarray, counts: np.ndarray, extra: dict | None = None):
    """DataFrame of solutions at rows X (m, p) with nuisances, costs and standard errors."""
    r_fit, coef = model.residuals_from_curves(model.curves(X), with_prior=False)
    rows = []
    n_free = X.shape[1] + len(model.linear_names)
    dof = max(model.T.size - n_free, 1)
    for i, x in enumerate(X):
        row = {n: float(x[j]) for j, n in enumerate(model.names)}
        row.update(model.nuisance_dict(coef[i]))
        ss = float(np.sum(r_fit[i] ** 2))
        row["cost"] = 0.5 * ss
        row["chi2_red"] = ss / dof
        Jf = model.full_jacobian(x, coef[i])
        cov = np.linalg.pinv(Jf.T @ Jf) * (ss / dof)
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        for j, n in enumerate(model.names + model.linear_names):
            row[f"se_{n}"] = float(se[j])
        row["n_starts"] = int(counts[i])
        rows.append(row)
    df = pd.DataFrame(rows)
    if extra:
        for key, values in extra.items():
            df[key] = values
    if {"D", "E"} <= set(model.names) and len(df):
        Dc, Ec = canonical_DE(df["D"].to_numpy(), df["E"].to_numpy())
        df["D_canonical"], df["E_canonical"] = Dc, Ec
    return df.sort_values("cost", kind="stable").reset_index(drop=True)


def solve_from_starts(model: CurveModel, X0: np.ndarray, distinct_tol: float = 1e-3,
                      polish: bool = True, max_iter: int = 200, start_weights=None):
    """Run the batched LM from every row of X0, merge equal minima, polish and tabulate them.

    start_weights: optional weight per start (e.g. the fraction of network samples it stands
    for); their sums per minimum go to a "mass" column. Returns (solutions DataFrame, number of
    converged starts).
    """
    X, cost, ok = batched_levenberg_marquardt(model, X0, max_iter=max_iter)
    if not ok.any():
        raise RuntimeError("no least-squares start converged; check the curve, its units and the box")
    Xc, cc = X[ok], cost[ok]
    reps, labels = distinct_minima(Xc, cc, distinct_tol)
    counts = np.bincount(labels, minlength=len(reps))
    Xr = Xc[reps]
    if polish:
        Xr = np.array([_polish(model, x) for x in Xr])
        # polishing can bring two groups onto the same minimum: merge again
        r2 = model.residuals(Xr, with_prior=True)
        c2 = 0.5 * np.sum(r2**2, axis=1)
        reps2, labels2 = distinct_minima(Xr, c2, distinct_tol)
        counts = np.bincount(labels2, weights=counts, minlength=len(reps2)).astype(int)
        mass = None
        if start_weights is not None:
            w = np.asarray(start_weights, float)[ok]
            mass = np.bincount(labels2, weights=np.bincount(labels, weights=w, minlength=len(reps)),
                               minlength=len(reps2))
        Xr = Xr[reps2]
    else:
        mass = (np.bincount(labels, weights=np.asarray(start_weights, float)[ok], minlength=len(reps))
                if start_weights is not None else None)
    extra = {"mass": mass} if mass is not None else None
    return _solutions_table(model, Xr, counts, extra), int(ok.sum())


def _best_dict(solutions: pd.DataFrame, names, nuisance) -> dict:
    top = solutions.iloc[0]
    best = {n: float(top[n]) for n in names}
    for n in nuisance:
        best[n] = float(top[n])
    best["cost"] = float(top["cost"])
    return best


def sobol_starts(box: dict, names, n: int, seed: int | None = 0) -> np.ndarray:
    """n starting points (n, len(names)) spread over the box by a scrambled Sobol sequence."""
    from scipy.stats import qmc

    lo = np.array([box[nm][0] for nm in names], float)
    hi = np.array([box[nm][1] for nm in names], float)
    sampler = qmc.Sobol(d=len(names), scramble=True, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # balance warning when n is not a power of two
        u = sampler.random(n)
    return lo + u * (hi - lo)


def _resolve_box(box, names) -> dict:
    box = dict(DEFAULT_BOX if box is None else box)
    for n in names:
        if n not in box:
            raise ValueError(f"no search range for parameter {n!r}: pass box={{'{n}': (lo, hi)}} in kelvin")
        lo, hi = (float(v) for v in box[n])
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise ValueError(f"box for {n!r} must be finite with hi > lo, got {box[n]!r}")
        box[n] = (lo, hi)
    return box


def _sigma(chi: np.ndarray, T: np.ndarray, sigma, quantity: str, ions_per_formula: float) -> np.ndarray:
    """Per-point measurement sd [emu/mol per ion]: relative (|chi|) when sigma is None."""
    if sigma is None:
        if np.any(chi == 0):
            raise ValueError("relative weights need chi != 0 everywhere; pass sigma= (absolute)")
        return np.abs(chi)
    s = np.broadcast_to(checks.finite_array(sigma, "sigma"), T.shape).astype(float)
    if np.any(s <= 0):
        raise ValueError("sigma must be > 0 everywhere")
    s = s / float(ions_per_formula)
    return s / T if quantity == "chiT" else s


def fit_least_squares(T, chi, ion, params=("D", "E"), nuisance=("chi_dia",), starts: int = 64,
                      field=None, box: dict | None = None, sigma=None, quantity: str = "chi",
                      ions_per_formula: float = 1.0, seed: int | None = 0, polish: bool = True,
                      distinct_tol: float = 1e-3, backend: str | None = None) -> FitResult:
    """Multi-start Levenberg-Marquardt fit of a powder curve.

    T: temperatures [K]. chi: the curve, chi [emu/mol] or chiT [emu K/mol] (quantity), per
    formula unit with ions_per_formula magnetic ions. ion: Ion or name ("Er3+"). params:
    ligand-field parameters to fit, in kelvin ("D", "E", "B20", "B43", ...). nuisance: free
    linear nuisances among ("chi_dia", "s_m"); a fixed one is chi_dia = 0 or s_m = 1. starts:
    number of starting points, spread over `box` (dict name -> (lo, hi) [K]; default D in
    [-10, 10], E in [-20/3, 20/3]) by a scrambled Sobol sequence (seed). field: None (zero-field
    Van Vleck) or the measuring field [T]. sigma: None for relative residuals
    (chi_model - chi)/chi, else the absolute measurement sd in the units of the curve.
    distinct_tol: minima closer than this [K] count as one.

    Returns a FitResult: .best (dict), .solutions (DataFrame of the distinct minima). Raises
    ValueError for bad input, RuntimeError when no start converges.
    """
    t0 = time.perf_counter()
    names, nuisance = _check_names(params, nuisance)
    if int(starts) < 1:
        raise ValueError(f"starts must be >= 1, got {starts!r}")
    T_arr, y = per_ion_chi(T, chi, quantity, ions_per_formula)
    sd = _sigma(y, T_arr, sigma, quantity, ions_per_formula)
    box = _resolve_box(box, names)
    model = CurveModel(as_ion(ion), T_arr, y, sd, names, nuisance,
                       field=checks.field(field), backend=backend)
    X0 = sobol_starts(box, names, int(starts), seed)
    solutions, n_ok = solve_from_starts(model, X0, distinct_tol, polish)
    return FitResult(best=_best_dict(solutions, names, model.linear_names), solutions=solutions,
                     n_starts=int(starts), n_converged=n_ok, seconds=time.perf_counter() - t0,
                     nuisance=model.linear_names, names=names, n_curve_evals=model.n_curve_evals)


# --------------------------------------------------------------------------------------------
# refinement of a posterior's samples (the network-plus-fit hybrid)
# --------------------------------------------------------------------------------------------
def cluster_samples(X: np.ndarray, radius: float, max_clusters: int, min_fraction: float = 0.0,
                    seed: int | None = 0):
    """Leader clustering of samples X (n, p): returns (centres (m, p), mass fractions (m,)).

    Each sample joins the first centre within `radius` (same units as X) or opens a new one;
    centres are the means of their members, sorted by size; clusters below min_fraction of the
    samples are dropped, at most max_clusters kept, and each sample's weight then goes to its
    nearest kept centre (the masses sum to 1).
    """
    X = np.asarray(X, float)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    leaders = np.empty((0, X.shape[1]))
    labels = np.empty(len(X), int)
    for i in order:
        if len(leaders):
            d = np.linalg.norm(leaders - X[i], axis=1)
            j = int(np.argmin(d))
            if d[j] <= radius:
                labels[i] = j
                continue
        labels[i] = len(leaders)
        leaders = np.vstack([leaders, X[i]])
    counts = np.bincount(labels, minlength=len(leaders))
    centres = np.array([X[labels == j].mean(axis=0) for j in range(len(leaders))])
    mass = counts / len(X)
    keep = np.argsort(-mass)
    keep = keep[mass[keep] >= min_fraction][:max_clusters]
    centres = centres[keep]
    if len(centres) == 0:
        return centres, np.zeros(0)
    # every sample, kept cluster or not, counts for its nearest kept centre
    nearest = np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    return centres, np.bincount(nearest, minlength=len(centres)) / len(X)


def refine_posterior(posterior, max_starts: int = 24, radius: float = 0.3, min_fraction: float = 0.002,
                     sigma=None, polish: bool = True, distinct_tol: float = 1e-3, nuisance=None,
                     backend: str | None = None) -> FitResult:
    """Local least squares from a posterior's samples: the exact minima the samples point to.

    posterior: an object with .samples (DataFrame: parameter columns such as D, E [K], and
    optional nuisance columns chi_dia [emu/mol], s_m), .T [K], .chi_input (the curve per ion on
    .T, emu/mol), .ion and .field ([T] or None), e.g. a VAE-INN Posterior. The samples are
    grouped by leader clustering (radius [K]); each cluster with at least min_fraction of the
    samples (at most max_starts, heaviest first) starts one Levenberg-Marquardt run on the
    curve with the nuisances that are sampled columns left free (or those named in `nuisance`).
    sigma: None for relative residuals, else the absolute sd [emu/mol]. Returns a FitResult whose
    .solutions carry a "mass" column: the fraction of samples whose cluster ended there.
    """
    t0 = time.perf_counter()
    samples = posterior.samples
    if nuisance is None:
        nuisance = tuple(n for n in NUISANCES if n in samples.columns)
    names = tuple(c for c in samples.columns if c not in NUISANCES)
    names, nuisance = _check_names(names, nuisance)
    T_arr, y = per_ion_chi(np.asarray(posterior.T, float), np.asarray(posterior.chi_input, float))
    sd = _sigma(y, T_arr, sigma, "chi", 1.0)
    model = CurveModel(as_ion(posterior.ion), T_arr, y, sd, names, nuisance,
                       field=checks.field(getattr(posterior, "field", None)), backend=backend)
    X = samples[list(names)].to_numpy(float)
    X = X[np.all(np.isfinite(X), axis=1)]
    if len(X) == 0:
        raise ValueError("the posterior has no finite samples to refine")
    centres, mass = cluster_samples(X, radius, int(max_starts), min_fraction)
    if len(centres) == 0:
        raise ValueError("no cluster of samples holds min_fraction of the samples; lower min_fraction")
    solutions, n_ok = solve_from_starts(model, centres, distinct_tol, polish, start_weights=mass)
    return FitResult(best=_best_dict(solutions, names, model.linear_names), solutions=solutions,
                     n_starts=len(centres), n_converged=n_ok, seconds=time.perf_counter() - t0,
                     nuisance=model.linear_names, names=names, n_curve_evals=model.n_curve_evals)
