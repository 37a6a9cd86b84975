"""Network + least squares + Laplace: a network posterior sharpened to the exact likelihood.

An amortised network over a six-parameter box is calibrated but wide (on the er-d3d test curves
its sd is 4-60x the exact posterior's). Its samples still point at the right basins, so a few
least-squares runs started from its clusters (Posterior.refine) reach the exact minima, and a
Gaussian at each minimum (the Laplace approximation, Gauss-Newton Hessian of the exact
likelihood) weighted by its evidence is the posterior the data give, in seconds instead of the
minutes of nested sampling.

What it cannot do: find a mode the network puts no samples near (then no start reaches it), or
describe a mode that is far from Gaussian (a banana, a mode cut by the prior box: the truncation
is applied, but the shape inside is still the Gaussian's). `LaplacePosterior.info` reports the
minima, their masses and the share of each Gaussian that the box cuts away.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field as dc_field

import numpy as np
import pandas as pd

from .clustering import distinct_minima as _grouped_minima
from .posterior import NUISANCES, SampleSet

#: a minimum whose log evidence is this far below the best one carries < 1e-10 of the mass
DELTA_LOG_EVIDENCE = 25.0
#: two minima closer than this (Euclidean, in box half-widths) are the same minimum
SAME_MINIMUM = 1e-3
#: below this chi^2 p-value of the best minimum the search widens to Sobol starts over the box
FIT_P_VALUE = 0.01


@dataclass
class LaplacePosterior(SampleSet):
    """Samples of a Gaussian mixture at the exact least-squares minima a network's samples lead
    to. samples: DataFrame (the parameters [K], chi_dia [emu/mol] and s_m when the source has
    them); modes: one row per Gaussian (its minimum [K], mass, log evidence, sd_<name> [K],
    inside: the share of it inside the prior box); the source posterior's ion, T, chi_input,
    field, box and observable index; info: timings and settings."""

    samples: pd.DataFrame
    modes: pd.DataFrame
    ion: object
    T: np.ndarray
    chi_input: np.ndarray
    field: float | None = None
    box: dict = dc_field(default_factory=dict)
    observable_index: dict | None = None
    info: dict = dc_field(default_factory=dict)

    def plot(self, truth=None, path=None, n_predictive: int = 200, title: str | None = None,
             fold: bool = False):
        """Corner plot of the samples (canonical ones with fold=True), the truth or published set
        marked, one posterior-predictive panel per observable (plots.corner_figure)."""
        from .plots import corner_figure
        return corner_figure(self, truth=truth, path=path, n_predictive=n_predictive, title=title,
                             fold=fold)


def _noise_of(posterior, noise_rel):
    """Relative noise per observable: the given value, else what the network was told
    (posterior.info["noise"], one per observable or one for all), else 1 %."""
    if noise_rel is not None:
        return noise_rel
    told = (getattr(posterior, "info", None) or {}).get("noise")
    if told is None:
        return 0.01
    told = list(np.atleast_1d(told))
    names = [o["name"] for o in posterior.observables]
    if len(told) == len(names):
        return dict(zip(names, map(float, told)))
    return float(told[0])


def _nuisance_sd_of(posterior, nuisance_sd) -> dict:
    """Gaussian prior sd of chi_dia [emu/mol] and s_m: the given dict, else the augmentation the
    network was trained with (dataset_config sigma_dia, sigma_m), for the nuisances it samples."""
    if nuisance_sd is not None:
        return dict(nuisance_sd)
    config = getattr(getattr(posterior, "model", None), "dataset_config", None) or {}
    sd = {"chi_dia": float(config.get("sigma_dia", 0.002)), "s_m": float(config.get("sigma_m", 0.02))}
    return {n: v for n, v in sd.items() if n in posterior.samples.columns and v > 0}


def distinct_minima(X: np.ndarray, scale: np.ndarray, tol: float = SAME_MINIMUM) -> np.ndarray:
    """Rows of X (m, p) [K] with duplicates (closer than tol in units of scale) dropped, the
    first of each kept (clustering.distinct_minima in scaled coordinates, in row order)."""
    reps, _ = _grouped_minima(X / scale, np.arange(len(X)), tol)
    return X[np.sort(reps)]


def with_equivalents(posterior, X: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The minima X (m, p) [K] and every set equivalent to each for the posterior's observables
    (the same likelihood exactly, e.g. the D3d twin B43, B63 -> -B43, -B63), duplicates dropped."""
    rows = [e for x in X for e in posterior.equivalents(x)]
    return distinct_minima(np.array(rows), scale)


def mixture_weights(log_likelihood: np.ndarray, cov: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Mass of each Gaussian (m,): its Laplace evidence L(x_min) sqrt(det 2 pi cov) times the
    share of it inside the uniform prior box, normalised."""
    _, logdet = np.linalg.slogdet(cov)
    log_z = log_likelihood + 0.5 * logdet + np.log(np.maximum(inside, 1e-300))
    w = np.exp(log_z - log_z.max())
    return w / w.sum()


def inside_share(rng, mean: np.ndarray, cov: np.ndarray, lo, hi, n: int = 4096) -> float:
    """The share of N(mean, cov) inside the box [lo, hi], from n draws."""
    Z = mean + rng.standard_normal((n, len(mean))) @ np.linalg.cholesky(cov).T
    return float(np.mean(np.all((Z >= lo) & (Z <= hi), axis=1)))


def sample_truncated(rng, mean: np.ndarray, cov: np.ndarray, lo, hi, n: int,
                     batch: int = 4096) -> np.ndarray:
    """n draws (n, p) of N(mean, cov) inside the box [lo, hi], by rejection. RuntimeError when
    200 batches do not give n (a Gaussian almost entirely outside the box)."""
    L = np.linalg.cholesky(cov)
    out, kept = [], 0
    for _ in range(200):
        if kept >= n:
            break
        Z = mean + rng.standard_normal((batch, len(mean))) @ L.T
        Z = Z[np.all((Z >= lo) & (Z <= hi), axis=1)]
        out.append(Z)
        kept += len(Z)
    if kept < n:
        raise RuntimeError("a Laplace mode lies almost entirely outside the prior box "
                           f"({kept} of {200 * batch} draws inside); drop it or widen the box")
    return np.concatenate(out)[:n]


def _finite_samples(posterior, names) -> np.ndarray:
    """The posterior's samples of `names` (n, p) [K], rows with a non-finite value dropped."""
    X = posterior.samples[list(names)].to_numpy(float)
    return X[np.all(np.isfinite(X), axis=1)]


def _minima_from_samples(model, posterior, names, scale, n: int, rng) -> np.ndarray:
    """Least-squares minima (m, p) [K] from n random samples of the posterior (a wide network
    posterior's heaviest clusters can all sit in one basin while the truth's basin holds fewer
    samples; random starts reach it in proportion to its share). Empty when none converges."""
    X = _finite_samples(posterior, names)
    starts = X[rng.choice(len(X), size=min(int(n), len(X)), replace=False)]
    return _minima_from(model, starts, scale, len(names))


def fit_p_value(model, X: np.ndarray) -> float:
    """P(chi^2 >= the best fit's) for the minima X (m, p) [K] under the model's stated noise:
    twice the ridge-augmented projected cost of the best minimum against chi^2 with
    n_points - p degrees of freedom (the nuisances' ridge rows and their parameters cancel).
    A tiny value means the noise is understated, the model misses the data, or the search
    has not reached the basin that fits."""
    from scipy.stats import chi2

    r = model.residuals(np.atleast_2d(X))
    best = float(np.min(np.sum(r**2, axis=1)))
    return float(chi2.sf(best, max(model.n_points - X.shape[1], 1)))


def ranked_starts(model, posterior, names, scale, n: int, min_distance: float = 0.05) -> np.ndarray:
    """n network samples (n, p) [K] with the highest exact marginal likelihood, each at least
    min_distance (Euclidean, in units of `scale`, e.g. box half-widths) from those
    already chosen: starts that sit in well-fitting basins, whatever their share of the
    network's mass. Costs one curve evaluation per sample."""
    X = _finite_samples(posterior, names)
    logl = model.log_marginal_from_curves(model.curves(X))
    ok = np.isfinite(logl)
    X, logl = X[ok], logl[ok]
    reps, _ = _grouped_minima(X / scale, -logl, min_distance)  # representatives, best first
    return X[reps[:int(n)]]


def _minima_from(model, starts: np.ndarray, scale, p: int) -> np.ndarray:
    """Least-squares minima (m, p) [K] from the starts (k, p); empty when none converges."""
    from .fitting import solve_from_starts

    if len(starts) == 0:
        return np.zeros((0, p))
    try:
        sols, _ = solve_from_starts(model, starts, polish=True, scale=scale, ftol=1e-8, xtol=1e-8,
                                    max_iter=400)
    except RuntimeError:
        return np.zeros((0, p))
    return sols[list(model.names)].to_numpy(float)


def laplace_posterior(posterior, n_samples: int | None = None, noise_rel=None,
                      nuisance_sd: dict | None = None, fit=None, max_starts: int = 8,
                      extra_starts: int = 24, seed: int | None = 0, backend: str | None = None,
                      delta_log_evidence: float = DELTA_LOG_EVIDENCE,
                      likelihood_starts: int = 0, box_starts: int = 32) -> LaplacePosterior:
    """The network posterior `posterior` (several observables, any Stevens parameters) sharpened
    to the exact likelihood: least squares from its heaviest clusters (Posterior.refine, at most
    max_starts runs; or a given FitResult `fit`), from extra_starts random samples of it and
    from its likelihood_starts samples of highest exact likelihood (ranked_starts), and, when
    the best minimum then fits worse than the stated noise allows (fit_p_value < FIT_P_VALUE:
    the network led least squares to a wrong basin), from box_starts Sobol starts over the prior
    box (warns if the fit stays poor),
    every distinct minimum and its equivalents,
    and a Gaussian at each with the Laplace covariance of the exact marginal likelihood
    (reference_posterior.laplace_cov), weighted by its evidence and truncated to the prior box.

    noise_rel: relative measurement sd per observable (dict) or for all (None: what the network
    was told, else 1 %); on measured data add the model error. nuisance_sd: Gaussian prior sd
    of chi_dia [emu/mol] and s_m (None: the augmentation the network was trained with).
    n_samples: draws (None: as many as the posterior has). Returns a LaplacePosterior; its
    info["seconds"] is the cost on top of predict [s].
    """
    from .likelihood import observables_model
    from .optimize import box_scale
    from .reference_posterior import _draw_nuisances, laplace_cov

    if posterior.observables is None:
        raise ValueError("laplace_posterior needs a multi-observable posterior (model trained on "
                         "observables); for one powder curve use Posterior.refine()")
    t0 = time.perf_counter()
    names = posterior.parameter_names
    box = posterior.box
    missing = [n for n in names if n not in box]
    if missing:
        raise ValueError(f"laplace_posterior needs the prior box of every parameter; {missing} have none")
    lo = np.array([box[n][0] for n in names], float)
    hi = np.array([box[n][1] for n in names], float)
    scale = box_scale(box, names)
    noise = _noise_of(posterior, noise_rel)
    sd = _nuisance_sd_of(posterior, nuisance_sd)
    nuisance = tuple(n for n in NUISANCES if n in sd)
    model = observables_model(posterior.ion, posterior.observables, posterior.observed, names,
                              noise, nuisance, sd, scale=scale, backend=backend)
    if fit is None:
        # a search stopped at 1e-8 (noisy curves rarely meet 1e-12 in 200 steps from a far
        # start); each minimum is polished tight afterwards
        try:
            fit = posterior.refine(max_starts=max_starts, noise_rel=noise, prior_sd=sd or None,
                                   nuisance=nuisance, backend=backend, ftol=1e-8, xtol=1e-8,
                                   max_iter=400)
        except RuntimeError:  # no cluster start converged: the random starts may
            fit = None
    rng = np.random.default_rng(seed)
    X = (fit.solutions[list(names)].to_numpy(float) if fit is not None
         else np.zeros((0, len(names))))
    if extra_starts:
        X = np.concatenate([X, _minima_from_samples(model, posterior, names, scale, extra_starts, rng)])
    if likelihood_starts:
        starts = ranked_starts(model, posterior, names, scale, likelihood_starts)
        X = np.concatenate([X, _minima_from(model, starts, scale, len(names))])
    if len(X) == 0:
        raise RuntimeError("laplace_posterior: no least-squares start converged; check the curves, "
                           "their units and the noise levels")
    X = np.clip(X, lo, hi)
    p_fit, widened = fit_p_value(model, X), False
    if box_starts and p_fit < FIT_P_VALUE:
        from .optimize import sobol_starts

        starts = sobol_starts({n: box[n] for n in names}, names, int(box_starts), seed)
        X = np.concatenate([X, np.clip(_minima_from(model, starts, scale, len(names)), lo, hi)])
        p_fit, widened = fit_p_value(model, X), True
    if p_fit < FIT_P_VALUE:
        warnings.warn(f"laplace_posterior: the best minimum fits worse than the stated noise allows "
                      f"(chi^2 p-value {p_fit:.1e}): the noise or model error is understated, the "
                      "model misses the data, or no start reached the basin that fits; the "
                      "posterior is conditional on the minima found", stacklevel=2)
    t_fit = time.perf_counter() - t0
    X = with_equivalents(posterior, distinct_minima(X, scale), scale)
    logl = model.log_marginal_from_curves(model.curves(X))
    keep = logl >= logl.max() - delta_log_evidence
    X, logl = X[keep], logl[keep]
    cov = laplace_cov(model, X, scale)
    n_samples = int(n_samples or len(posterior.samples))
    inside = np.array([inside_share(rng, x, c, lo, hi) for x, c in zip(X, cov)])
    weights = mixture_weights(logl, cov, inside)
    counts = rng.multinomial(n_samples, weights)
    draws = [sample_truncated(rng, x, c, lo, hi, k) for x, c, k in zip(X, cov, counts) if k]
    S = rng.permutation(np.concatenate(draws))
    table = pd.DataFrame(S, columns=names)
    for col, values in _draw_nuisances(model, S, rng).items():
        table[col] = values
    modes = pd.DataFrame(X, columns=names)
    modes["mass"] = weights
    modes["log_evidence"] = logl + 0.5 * np.linalg.slogdet(cov)[1]
    modes["inside"] = inside
    for i, n in enumerate(names):
        modes[f"sd_{n}"] = np.sqrt(cov[:, i, i])
    modes = modes.sort_values("mass", ascending=False, ignore_index=True)
    kind = (getattr(posterior, "info", None) or {}).get("kind", "network")
    info = {"kind": f"{kind} + least squares + Laplace", "seconds": time.perf_counter() - t0,
            "refine_seconds": t_fit,
            "n_starts": (fit.n_starts if fit is not None else 0) + int(extra_starts)
            + int(likelihood_starts) + (int(box_starts) if widened else 0),
            "fit_p_value": p_fit, "widened_to_box": widened,
            "n_minima": int(len(X)), "noise_rel": noise, "nuisance_sd": sd,
            "curve_evals": int(model.n_curve_evals)}
    return LaplacePosterior(samples=table, modes=modes, ion=posterior.ion, T=posterior.T,
                            chi_input=posterior.chi_input, field=getattr(posterior, "field", None),
                            box=dict(box), observable_index=posterior.observable_index, info=info)


def observable_widths(ion, groups: dict, values: dict, noise_rel: float = 0.005,
                      nuisance_sd: dict | None = None, box: dict | None = None,
                      backend: str | None = None) -> pd.DataFrame:
    """How much each observable narrows the posterior, locally: the Laplace sd of every
    parameter at the set `values` {name: value} [K] (the parameters of the posterior), from the
    clean observables of that set with relative noise noise_rel per point.

    groups: {label: list of observable dicts (ligandml.dataset.observables)}, e.g. "powder chi(T)"
    -> [chi powder at 1 T]. nuisance_sd: Gaussian prior sd of chi_dia [emu/mol] and s_m (default
    the er-d3d task's 0.002, 0.02), profiled out with the parameters. box: the uniform prior
    {name: (lo, hi)} [K] (default the scale-aware box); a parameter the data do not fix gets
    about the box half-width (laplace_cov's cap). Returns a DataFrame, one row per group: sd_<name>
    [K] and rel_<name> (sd / box half-width). Local: one mode's curvature, blind to other modes.
    """
    from .dataset.observables import clean_curves
    from .likelihood import ER_D3D_NUISANCE_SD, observables_model
    from .optimize import box_scale, parameters_and_box
    from .reference_posterior import laplace_cov

    names = list(values)
    names, box = parameters_and_box(getattr(ion, "name", ion), names, None, box)
    names = list(names)
    scale = box_scale(box, names)
    sd = dict(ER_D3D_NUISANCE_SD if nuisance_sd is None else nuisance_sd)
    params = {n: np.array([float(values[n])]) for n in names}
    x = np.array([[float(values[n]) for n in names]])
    rows = []
    for label, specs in groups.items():
        observed = {s["name"]: clean_curves(s, getattr(ion, "name", ion), params, "K", backend, None, None)[0]
                    for s in specs}
        model = observables_model(ion, specs, observed, names, noise_rel, tuple(sd), sd, scale=scale,
                                  backend=backend)
        cov = laplace_cov(model, x, scale)[0]
        width = np.sqrt(np.diag(cov))
        row = {"observables": label, "n_points": int(model.n_points)}
        row.update({f"sd_{n}": float(w) for n, w in zip(names, width)})
        row.update({f"rel_{n}": float(w / s) for n, w, s in zip(names, width, scale)})
        rows.append(row)
    return pd.DataFrame(rows)


def relative_misfit(posterior, values: dict, nuisance_sd: dict | None = None,
                    backend: str | None = None) -> dict:
    """{observable name: rms of (measured - model) / measured} for the set `values` {name: [K]}
    against the posterior's observed curves, chi_dia and s_m at their best values given the set
    (with their priors: nuisance_sd as laplace_posterior). The model error a measured data set
    shows at its best mode: a relative noise level at which that mode fits with reduced chi^2
    about 1 (laplace_posterior(noise_rel=...) takes it)."""
    from .likelihood import observables_model

    names = posterior.parameter_names
    sd = _nuisance_sd_of(posterior, nuisance_sd)
    nuisance = tuple(n for n in NUISANCES if n in sd)
    # noise 1 on every point: the weighted residuals are the relative ones
    model = observables_model(posterior.ion, posterior.observables, posterior.observed, names, 1.0,
                              nuisance, {n: sd[n] for n in nuisance}, backend=backend)
    r, _ = model.residuals_from_curves(model.curves(np.array([[float(values[n]) for n in names]])),
                                       with_prior=False)
    return {k: float(np.sqrt(np.mean(v ** 2))) for k, v in model.split(r[0]).items()}
