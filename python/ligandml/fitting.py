"""Least-squares fitting of powder chi(T): the classical baseline, and the refinement of network samples.

The curve model and its nuisances live in ligandml.likelihood; the search (batched
Levenberg-Marquardt from Sobol starts, polishing) in ligandml.optimize; the grouping of minima and
samples in ligandml.clustering. This module strings them together into the two public fits:

- fit_least_squares: multi-start fit over a parameter box; by default residuals are relative
  (sigma_i = |chi_obs(T_i)|), so every temperature counts alike;
- refine_posterior: local fits started from the clusters of a posterior's samples.

Both return a FitResult: the distinct minima, polished, with standard errors from the Jacobian,
(J^T J)^-1 scaled by the residual variance.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import checks
from .clustering import cluster_samples, distinct_minima
from .curves import per_ion_chi
from .plausibility import check_plausible
from .likelihood import NUISANCES, CurveModel, check_names, measurement_sd
from .optimize import (ScaledModel, batched_levenberg_marquardt, box_scale, parameters_and_box,
                       polish as polish_minimum, resolve_box, sobol_starts)
from .parameters import canonical_DE
from .sweeps import as_ion


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

    def point_estimate(self) -> dict:
        """The best minimum, canonical: D, E [K] and chi_dia [emu/mol] (NaN when not fitted).
        For other parameters (B20, B43, ...): the best minimum's parameters [K] and nuisances."""
        if not {"D", "E"} <= set(self.names):
            return {k: v for k, v in self.best.items() if k != "cost"}
        D, E = canonical_DE(self.best["D"], self.best["E"])
        return {"D": D, "E": E, "chi_dia": self.best.get("chi_dia", np.nan)}

    def __repr__(self) -> str:
        return (f"FitResult(best={self.best}, {len(self.solutions)} distinct minima from "
                f"{self.n_starts} starts, {self.seconds:.3f} s)")


def _solutions_table(model: CurveModel, X: np.ndarray, counts: np.ndarray, extra: dict | None = None):
    """DataFrame of solutions at rows X (m, p) with nuisances, costs and standard errors."""
    r_fit, coef = model.residuals_from_curves(model.curves(X), with_prior=False)
    rows = []
    n_free = X.shape[1] + len(model.linear_names)
    dof = max(model.n_points - n_free, 1)
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
                      polish: bool = True, max_iter: int = 200, start_weights=None,
                      scale=None, ftol: float = 1e-12, xtol: float = 1e-10):
    """Run the batched LM from every row of X0, merge equal minima, polish and tabulate them.

    start_weights: optional weight per start (e.g. the fraction of network samples it stands
    for); their sums per minimum go to a "mass" column. scale: None (search in the
    parameters' own units, the D, E path) or a per-parameter scale [K]: the search, and
    distinct_tol, then work in x / scale (optimize.ScaledModel). Returns (solutions DataFrame,
    number of converged starts). ftol, xtol: the batched search's stopping tolerances
    (optimize.batched_levenberg_marquardt); polishing is always tight.
    """
    search = model if scale is None else ScaledModel(model, scale)
    U0 = X0 if scale is None else search.to_u(X0)
    X, cost, ok = batched_levenberg_marquardt(search, U0, max_iter=max_iter, ftol=ftol, xtol=xtol)
    if not ok.any():
        raise RuntimeError("no least-squares start converged; check the curve, its units and the box")
    Xc, cc = X[ok], cost[ok]
    reps, labels = distinct_minima(Xc, cc, distinct_tol)
    counts = np.bincount(labels, minlength=len(reps))
    Xr = Xc[reps]
    if polish:
        Xr = np.array([polish_minimum(search, x) for x in Xr])
        # polishing can bring two groups onto the same minimum: merge again
        r2 = search.residuals(Xr, with_prior=True)
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
    if scale is not None:
        Xr = search.to_x(Xr)
    return _solutions_table(model, Xr, counts, extra), int(ok.sum())


def _best_dict(solutions: pd.DataFrame, names, nuisance) -> dict:
    top = solutions.iloc[0]
    best = {n: float(top[n]) for n in names}
    for n in nuisance:
        best[n] = float(top[n])
    best["cost"] = float(top["cost"])
    return best


def fit_least_squares(T, chi, ion, params=("D", "E"), nuisance=("chi_dia",), starts: int = 64,
                      field=None, box: dict | None = None, sigma=None, quantity: str = "chi",
                      ions_per_formula: float = 1.0, seed: int | None = 0, polish: bool = True,
                      distinct_tol: float = 1e-3, backend: str | None = None,
                      force: bool = False) -> FitResult:
    """Multi-start Levenberg-Marquardt fit of a powder curve.

    T: temperatures [K]. chi: the curve, chi [emu/mol] or chiT [emu K/mol] (quantity), per
    formula unit with ions_per_formula magnetic ions. ion: Ion or name ("Er3+"). params:
    ligand-field parameters to fit, in kelvin ("D", "E", "B20", "B43", ...). nuisance: free
    linear nuisances among ("chi_dia", "s_m"); a fixed one is chi_dia = 0 or s_m = 1. starts:
    number of starting points, spread over `box` (dict name -> (lo, hi) [K]; default
    ligandml.benchmark_task.DE_BOX) by a scrambled Sobol sequence (seed). field: None (zero-field
    Van Vleck) or the measuring field [T]. sigma: None for relative residuals
    (chi_model - chi)/chi, else the absolute measurement sd in the units of the curve.
    distinct_tol: minima closer than this [K] count as one. The curve is first checked against
    what the ion can give (ligandml.plausibility.check_plausible: units, chi vs chiT, ions per
    formula, sign, another ion); an implausible curve raises ImplausibleCurveError (a
    ValueError naming the likely cause) unless force=True.

    Returns a FitResult: .best (dict), .solutions (DataFrame of the distinct minima). Raises
    ValueError for bad input, RuntimeError when no start converges.
    """
    t0 = time.perf_counter()
    names, nuisance = check_names(params, nuisance)
    if int(starts) < 1:
        raise ValueError(f"starts must be >= 1, got {starts!r}")
    T_arr, y = per_ion_chi(T, chi, quantity, ions_per_formula)
    check_plausible(T_arr, y, as_ion(ion), force=force)
    sd = measurement_sd(y, T_arr, sigma, quantity, ions_per_formula)
    box = resolve_box(box, names)
    model = CurveModel(as_ion(ion), T_arr, y, sd, names, nuisance,
                       field=checks.field(field), backend=backend)
    X0 = sobol_starts(box, names, int(starts), seed)
    solutions, n_ok = solve_from_starts(model, X0, distinct_tol, polish)
    return FitResult(best=_best_dict(solutions, names, model.linear_names), solutions=solutions,
                     n_starts=int(starts), n_converged=n_ok, seconds=time.perf_counter() - t0,
                     nuisance=model.linear_names, names=names, n_curve_evals=model.n_curve_evals)


def fit_observables(ion, observables, observed, params=None, point_group: str | None = "D3d",
                    noise_rel=0.01, nuisance=("chi_dia", "s_m"), prior_sd=None, starts: int = 64,
                    box: dict | None = None, seed: int | None = 0, polish: bool = True,
                    distinct_tol: float = 1e-3, max_iter: int = 100, ftol: float = 1e-8,
                    xtol: float = 1e-8, backend: str | None = None) -> FitResult:
    """Multi-start Levenberg-Marquardt fit of several observables of one sample, any parameters.

    ion: Ion or name. observables: list of observable dicts (ligandml.dataset.observables;
    e.g. dataset.config.er_d3d_observables("crystal")). observed: {name: values} or the
    concatenated values (chi [emu/mol per ion], M [muB per ion]). params: Stevens names [K]
    (None: the free parameters of point_group, ligandml.allowed_parameters). noise_rel:
    relative sd per observable (dict) or for all; with flat nuisances it only weighs the
    observables against each other. nuisance: free linear nuisances, one chi_dia [emu/mol] and
    one s_m shared by all observables, projected out in closed form; prior_sd: their Gaussian
    prior widths (None: flat; likelihood.ER_D3D_NUISANCE_SD for the er-d3d task). starts:
    Sobol starts over box ({name: (lo, hi)} [K]; default the scale-aware box of DESIGN.md,
    W = 200 K). The search runs in units of each parameter's box half-width, and
    distinct_tol (minima closer than this count as one) is in those units too. max_iter,
    ftol, xtol: the batched search stops there (scipy's default tolerances); each distinct
    minimum is then polished tightly (scipy least_squares).

    Returns a FitResult (.best, .solutions with n_starts per minimum, .seconds). Raises
    ValueError for bad input, RuntimeError when no start converges.
    """
    from .likelihood import observables_model

    t0 = time.perf_counter()
    if int(starts) < 1:
        raise ValueError(f"starts must be >= 1, got {starts!r}")
    ion = as_ion(ion)
    names, box = parameters_and_box(ion.name, params, point_group, box)
    scale = box_scale(box, names)
    model = observables_model(ion, observables, observed, names, noise_rel, nuisance, prior_sd,
                              scale=scale, backend=backend)
    X0 = sobol_starts(box, names, int(starts), seed)
    solutions, n_ok = solve_from_starts(model, X0, distinct_tol, polish, max_iter=max_iter,
                                        scale=scale, ftol=ftol, xtol=xtol)
    return FitResult(best=_best_dict(solutions, names, model.linear_names), solutions=solutions,
                     n_starts=int(starts), n_converged=n_ok, seconds=time.perf_counter() - t0,
                     nuisance=model.linear_names, names=names, n_curve_evals=model.n_curve_evals)


def _observables_of(posterior, observables, observed):
    """(observables, observed) from the keywords or the posterior's attributes (None, None when
    neither has them: the D, E path)."""
    observables = observables if observables is not None else getattr(posterior, "observables", None)
    if observables is None:
        return None, None
    observed = observed if observed is not None else getattr(posterior, "observed", None)
    if observed is None:
        raise ValueError("refine_posterior: observables given but no measured values; pass "
                         "observed={name: values} or give the posterior an .observed attribute")
    return observables, observed


def _parameter_scale(posterior, names, X) -> np.ndarray:
    """Per-parameter scale [K]: the posterior's box half-width where it has one for every name,
    else the largest |sample| of each column (never zero)."""
    box = getattr(posterior, "box", None)
    if isinstance(box, dict) and all(n in box for n in names):
        return box_scale(box, names)
    return np.maximum(np.abs(X).max(axis=0), 1e-12)


def _cluster_starts(U, radius, default_radius, max_starts, min_fraction):
    """Leader-cluster centres and masses of samples U. A given radius is used as it is; with
    radius None the default is tried first and doubled (at most 4 times) while no cluster holds
    min_fraction of the samples: a posterior wide against the default radius (e.g. six
    parameters constrained to a third of their box) then still gets its starts."""
    if radius is not None:
        return cluster_samples(U, radius, max_starts, min_fraction)
    radius = default_radius
    for _ in range(5):
        centres, mass = cluster_samples(U, radius, max_starts, min_fraction)
        if len(centres):
            break
        radius *= 2
    return centres, mass


def refine_posterior(posterior, max_starts: int = 24, radius: float | None = None,
                     min_fraction: float = 0.002, sigma=None, polish: bool = True,
                     distinct_tol: float = 1e-3, nuisance=None, backend: str | None = None,
                     observables=None, observed=None, noise_rel=0.01,
                     prior_sd=None, ftol: float = 1e-12, xtol: float = 1e-10,
                     max_iter: int = 200) -> FitResult:
    """Local least squares from a posterior's samples: the exact minima the samples point to.

    posterior: an object with .samples (DataFrame: parameter columns such as D, E or B20, B43
    [K], and optional nuisance columns chi_dia [emu/mol], s_m) and .ion. The samples are
    grouped by leader clustering; each cluster with at least min_fraction of the samples (at
    most max_starts, heaviest first) starts one Levenberg-Marquardt run, with the nuisances
    that are sampled columns left free (or those named in `nuisance`). Returns a FitResult whose
    .solutions carry a "mass" column: the fraction of samples whose cluster ended there.

    Two kinds of data:
    - one powder curve (the D, E path): .T [K], .chi_input (per ion on .T, emu/mol), .field
      ([T] or None); sigma: None for relative residuals, else the absolute sd [emu/mol];
      radius [K] (default 0.3);
    - several observables (any parameters): `observables` (observable dicts) and `observed`
      ({name: values}, chi [emu/mol per ion], M [muB per ion]), given here or as attributes
      of the posterior; noise_rel: relative sd per observable (dict) or for all; prior_sd:
      Gaussian widths of the nuisances (None: flat). Distances (radius, default 0.05, and
      distinct_tol) are in units of each parameter's scale: the half-width of posterior.box
      when it covers every parameter, else the largest |sample| of the column.
    ftol, xtol, max_iter: the batched search's stopping rule (fitting.solve_from_starts; each
    minimum is polished tight afterwards).
    """
    t0 = time.perf_counter()
    samples = posterior.samples
    if nuisance is None:
        nuisance = tuple(n for n in NUISANCES if n in samples.columns)
    names = tuple(c for c in samples.columns if c not in NUISANCES)
    names, nuisance = check_names(names, nuisance)
    X = samples[list(names)].to_numpy(float)
    X = X[np.all(np.isfinite(X), axis=1)]
    if len(X) == 0:
        raise ValueError("the posterior has no finite samples to refine")
    observables, observed = _observables_of(posterior, observables, observed)
    if observables is None:
        T_arr, y = per_ion_chi(np.asarray(posterior.T, float), np.asarray(posterior.chi_input, float))
        sd = measurement_sd(y, T_arr, sigma)
        model = CurveModel(as_ion(posterior.ion), T_arr, y, sd, names, nuisance,
                           field=checks.field(getattr(posterior, "field", None)), backend=backend)
        scale, U = None, X
    else:
        from .likelihood import observables_model

        scale = _parameter_scale(posterior, names, X)
        model = observables_model(posterior.ion, observables, observed, names, noise_rel, nuisance,
                                  prior_sd, scale=scale, backend=backend)
        U = X / scale
    centres, mass = _cluster_starts(U, radius, 0.05 if scale is not None else 0.3,
                                    int(max_starts), min_fraction)
    if len(centres) == 0:
        raise ValueError("no cluster of samples holds min_fraction of the samples; lower min_fraction")
    if scale is not None:
        centres = centres * scale
    solutions, n_ok = solve_from_starts(model, centres, distinct_tol, polish, start_weights=mass,
                                        scale=scale, ftol=ftol, xtol=xtol, max_iter=max_iter)
    return FitResult(best=_best_dict(solutions, names, model.linear_names), solutions=solutions,
                     n_starts=len(centres), n_converged=n_ok, seconds=time.perf_counter() - t0,
                     nuisance=model.linear_names, names=names, n_curve_evals=model.n_curve_evals)
