"""One curve, every method: least squares (with and without chi_dia), the exact grid posterior,
the VAE-INN models and the network-plus-fit hybrid, side by side with their time per curve.

Used by `ligandml compare curve.csv` and benchmarks/bench_compare.py. With a known truth the
table adds the nearest-equivalent error [K] and how many of the distinct equivalents were found.
Every method answers through point_estimate() and, for posteriors, the SampleSet interface
(ligandml.posterior); the files are written by ligandml.report.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .benchmark_task import inside_box
from .curves import per_ion_chi
from .fitting import fit_least_squares
from .grid_posterior import grid_posterior
from .metrics import distinct_equivalents, equivalents_found, nearest_equivalent_error
from .posterior import SampleSet

#: radius [K] around an equivalent within which a sample or solution counts as finding it
FOUND_RADIUS = 0.5
#: share of a posterior's samples an equivalent needs to count as found
FOUND_MIN_FRACTION = 0.01


@dataclass
class MethodResult:
    """What one method says about one curve.

    method: row label. D, E [K] (canonical), chi_dia [emu/mol]: the point estimate (NaN chi_dia
    when the method does not fit it). samples: DataFrame (D, E[, chi_dia]) for posteriors.
    solutions: DataFrame of distinct least-squares minima (D, E, cost, ...). seconds: wall time.
    posterior: the raw posterior object (network or grid), for follow-up metrics.
    """

    method: str
    D: float
    E: float
    chi_dia: float
    seconds: float
    samples: pd.DataFrame | None = None
    solutions: pd.DataFrame | None = None
    posterior: object = None
    note: str = ""
    params: dict | None = None     # the point estimate of every parameter [K] (any parameter list)


def find_models(studies=None) -> dict:
    """Trained model folders: {"default": the shipped model} plus, given a studies folder (e.g.
    studies/sigma_dia of a source checkout), {"sigma_dia=<name>": path} for each folder under it
    holding model.json (sigma_<value>[_<variant>]/ gives the name "sigma_dia=<value>[ <variant>]").
    Missing ones are simply absent."""
    from .model import CONFIG_FILE, DEFAULT_MODEL_DIR

    out = {}
    if (Path(DEFAULT_MODEL_DIR) / CONFIG_FILE).is_file():
        out["default"] = Path(DEFAULT_MODEL_DIR)
    study = Path(studies) if studies is not None else None
    if study is not None and study.is_dir():
        for cfg in sorted(study.rglob(CONFIG_FILE)):  # e.g. studies/sigma_dia/models/sigma_0.002/
            label = cfg.parent.name  # sigma_<value>[_<variant>]
            if label.startswith("sigma_"):
                value, _, variant = label[len("sigma_"):].partition("_")
                label = f"sigma_dia={value}" + (f" {variant}" if variant else "")
            out[label] = cfg.parent
    return {k: out[k] for k in sorted(out, key=lambda k: (k != "default", k))}


def _point_estimate(found_by) -> dict:
    """The point estimate of a SampleSet or FitResult over any parameters: {name [K]: value,
    "chi_dia": [emu/mol] or NaN}. A fit over other parameters than D, E gives its best minimum."""
    names = getattr(found_by, "names", None)
    if not isinstance(found_by, SampleSet) and names is not None and list(names) != ["D", "E"]:
        p = {n: float(found_by.best[n]) for n in names}
        p["chi_dia"] = float(found_by.best.get("chi_dia", np.nan))
        return p
    return found_by.point_estimate()


def _result(method: str, found_by, seconds: float, note: str = "") -> MethodResult:
    """A table row from a SampleSet (samples) or a FitResult (solutions): its point estimate."""
    p = _point_estimate(found_by)
    sampled = isinstance(found_by, SampleSet)
    return MethodResult(method, p.get("D", np.nan), p.get("E", np.nan), p["chi_dia"], seconds,
                        samples=found_by.samples if sampled else None,
                        solutions=None if sampled else found_by.solutions, posterior=found_by, note=note,
                        params={k: v for k, v in p.items() if k != "chi_dia"})


def _warning_text(message) -> str:
    """A warning as its one-line message (not its class name)."""
    text = " ".join(str(message).split())
    if text.startswith("Julia backend unavailable"):
        return "Julia unavailable, NumPy used"
    return text


def run_least_squares(T, chi, ion="Er3+", with_chi_dia: bool = True, starts: int = 64,
                      field=None, seed: int = 0, noise_rel: float = 0.01, params=("D", "E"),
                      box: dict | None = None) -> MethodResult:
    """Multi-start LM on a per-ion chi curve [emu/mol]; with or without a free chi_dia; over
    `params` (names [K]) in `box` ({name: (lo, hi)} [K]; None: the D, E box). The
    note names a poor best fit (reduced chi^2 at noise_rel far above 1: "the model does not
    describe this curve", with the worst temperatures)."""
    fit = fit_least_squares(T, chi, ion, params=tuple(params),
                            nuisance=("chi_dia",) if with_chi_dia else (),
                            starts=starts, field=field, seed=seed, force=True, box=box)
    note = ""
    bad = fit_misfit(fit, T, chi, ion, field, noise_rel)
    if not bad.describes:
        note = bad.message
    return _result("least squares" + ("" if with_chi_dia else " (no chi_dia)"), fit, fit.seconds, note)


def fit_misfit(fit, T, chi, ion="Er3+", field=None, noise_rel: float = 0.01):
    """ligandml.plausibility.misfit of a FitResult's best solution against the per-ion curve
    chi [emu/mol] on T [K] (same ion and field [T] as the fit), at relative noise noise_rel."""
    from .plausibility import misfit
    from .sweeps import powder_susceptibility

    pars = {n: np.array([fit.best[n]]) for n in fit.names}
    curve = powder_susceptibility(ion, pars, T, field=field)[0]
    fitted = fit.best.get("s_m", 1.0) * curve + fit.best.get("chi_dia", 0.0)
    return misfit(T, chi, fitted, noise_rel=noise_rel, n_params=len(fit.names) + len(fit.nuisance))


def run_grid_posterior(T, chi, ion="Er3+", noise_rel: float = 0.01, sigma_dia: float = 0.002,
                       field=None, n_samples: int = 2000, seed: int = 0) -> MethodResult:
    """Exact grid posterior; point estimate: the highest mode (canonical)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        post = grid_posterior(T, chi, ion, noise_rel=noise_rel, prior={"sigma_dia": sigma_dia},
                              field=field, n_samples=n_samples, seed=seed, force=True)
    note = "" if post.grid_check["passed"] else f"grid check failed (tv {post.grid_check['tv']:.3f})"
    if caught and not note:
        note = _warning_text(caught[0].message)
    return _result(f"exact posterior (noise {noise_rel:g})", post, post.seconds, note)


def run_network(model, name: str, T, chi, n_samples: int = 1000, seed: int = 0,
                field=None) -> MethodResult:
    """A VAE-INN model's posterior for a per-ion chi curve; point estimate: canonical median.
    A model trained at another field than `field` [T] is refused (ValueError naming both); the
    note says when most of the posterior mass lies outside the prior box."""
    t0 = time.perf_counter()
    if getattr(model, "observables", None):
        raise ValueError(f"model {name} takes several observables ({', '.join(model.observable_names)}); "
                         "compare runs on one chi(T) curve")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.check_field(0.0 if field is None else field)  # refused in this row, with the message
        post = model.predict(T, chi, n_samples=n_samples, seed=seed, force=True)  # checked by the caller
    sec = time.perf_counter() - t0
    notes = [_warning_text(w.message) for w in caught]
    box = post.prior_box_report()
    if box.failed:
        notes.insert(0, box.message)
    return _result(f"VAE-INN {name}", post, sec, "; ".join(dict.fromkeys(notes)))


def run_hybrid(net: MethodResult, **kwargs) -> MethodResult:
    """Network samples refined by least squares (Posterior.refine); the time includes the network's.

    chi_dia is always a free nuisance of the fit (plus s_m when the network samples it), also
    for a network trained without chi_dia: the network only supplies the starting points.
    """
    if "nuisance" not in kwargs:
        kwargs["nuisance"] = ("chi_dia",) + (("s_m",) if "s_m" in net.samples.columns else ())
    res = net.posterior.refine(**kwargs)
    return _result(net.method.replace("VAE-INN", "hybrid"), res, net.seconds + res.seconds)


def _failed(method: str, exc: BaseException, seconds: float) -> MethodResult:
    """A table row for a method that raised: NaN estimates, the message as its note."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return MethodResult(method, np.nan, np.nan, np.nan, seconds, note=f"failed: {text}")


def _run(method: str, fn, *args, **kwargs) -> MethodResult:
    t0 = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    except (ValueError, RuntimeError, ArithmeticError, KeyError, IndexError, TypeError) as exc:
        return _failed(method, exc, time.perf_counter() - t0)


def compare_curve(T, chi, ion="Er3+", noise_rel: float = 0.01, sigma_dia: float = 0.002,
                  models: dict | None = None, quantity: str = "chi", ions_per_formula: float = 1.0,
                  starts: int = 64, n_samples: int = 1000, field=None, seed: int = 0,
                  grid: bool = True, force: bool = False, params=None, box: dict | None = None) -> list:
    """Run every method on one curve (T [K]; chi [emu/mol] or chiT [emu K/mol] per formula unit).

    params: the parameter names [K] of the least-squares rows (None: those of the first model
    when it has other parameters than D, E, with its prior box, else D, E); box: their
    {name: (lo, hi)} [K]. The exact grid posterior covers D, E only (other parameters: a row
    that says so).

    models: {name: loaded VAE-INN model}, or None for none. noise_rel: the relative measurement
    sd assumed by the exact posterior; sigma_dia [emu/mol]: its chi_dia prior. The curve's
    plausibility for the ion is checked first (ImplausibleCurveError unless force). Each method
    runs on its own: one that fails becomes a row with NaN estimates and the message as its
    note. Returns a list of MethodResult in table order.
    """
    from .plausibility import check_plausible

    T_arr, chi_ion = per_ion_chi(T, chi, quantity, ions_per_formula)
    check_plausible(T_arr, chi_ion, ion, force=force)
    params, box = _fit_parameters(models, params, box)
    out = [_run("least squares", run_least_squares, T_arr, chi_ion, ion, True, starts, field, seed,
                noise_rel, params, box),
           _run("least squares (no chi_dia)", run_least_squares, T_arr, chi_ion, ion, False, starts,
                field, seed, noise_rel, params, box)]
    if grid and list(params) != ["D", "E"]:
        out.append(_failed(f"exact posterior (noise {noise_rel:g})",
                           ValueError(f"the grid posterior covers D, E only, not {list(params)}"), 0.0))
    elif grid:
        out.append(_run(f"exact posterior (noise {noise_rel:g})", run_grid_posterior, T_arr, chi_ion,
                        ion, noise_rel, sigma_dia, field, 2 * n_samples, seed))
    for name, model in (models or {}).items():
        net = _run(f"VAE-INN {name}", run_network, model, name, T_arr, chi_ion, n_samples, seed, field)
        out.append(net)
        if net.posterior is None:
            out.append(_failed(f"hybrid {name}", ValueError("no network samples to refine"), 0.0))
            continue
        out.append(_run(f"hybrid {name}", run_hybrid, net))
    return out


def _fit_parameters(models, params, box):
    """(parameter names, box) of the least-squares rows: as given, else the first model's when it
    has other parameters than D, E (its training box), else D, E with the default box."""
    if params is not None:
        return tuple(params), box
    for model in (models or {}).values():
        names = [n for n in model.param_names if n not in ("chi_dia", "s_m")]
        if names != ["D", "E"]:
            ranges = (model.dataset_config or {}).get("params") or {}
            return tuple(names), box or {n: tuple(ranges[n]) for n in names if n in ranges} or None
        break
    return ("D", "E"), box


def _found(result: MethodResult, D_true: float, E_true: float) -> np.ndarray:
    """Bool per distinct equivalent of the truth: found by the samples or the minima."""
    if result.samples is not None:
        return equivalents_found(result.samples["D"], result.samples["E"], D_true, E_true,
                                 FOUND_RADIUS, FOUND_MIN_FRACTION)
    s = result.solutions
    return equivalents_found(s["D"], s["E"], D_true, E_true, FOUND_RADIUS, min_fraction=0.0)


def results_table(results: list, truth: dict | None = None) -> pd.DataFrame:
    """One row per method: canonical D, E [K], chi_dia [emu/mol], seconds; with truth
    (keys D, E, chi_dia) also err_point [K] (point estimate), err_median [K] (median over samples
    or, for fits, over the distinct minima), found / n_equivalents, and found_in_box / n_in_box
    counting only the equivalents inside the default D, E box (the prior of the posteriors)."""
    if any(r.params and list(r.params) != ["D", "E"] for r in results):
        return _results_table_nd(results, truth)
    rows = []
    for r in results:
        row = {"method": r.method, "D": r.D, "E": r.E, "chi_dia": r.chi_dia, "seconds": r.seconds}
        if r.solutions is not None:
            row["n_minima"] = len(r.solutions)
        if truth is not None:
            Dt, Et = truth["D"], truth["E"]
            row["err_point"] = float(nearest_equivalent_error(r.D, r.E, Dt, Et))
            pts = r.samples if r.samples is not None else r.solutions
            row["err_median"] = float(np.median(nearest_equivalent_error(pts["D"], pts["E"], Dt, Et)))
            found = _found(r, Dt, Et)
            eq = distinct_equivalents(Dt, Et)
            inside = inside_box(eq[:, 0], eq[:, 1])
            row["found"] = int(found.sum())
            row["n_equivalents"] = len(found)
            row["found_in_box"] = int(found[inside].sum())
            row["n_in_box"] = int(inside.sum())
            if "chi_dia" in truth and np.isfinite(r.chi_dia):
                row["chi_dia_error"] = r.chi_dia - truth["chi_dia"]
        row["note"] = r.note
        rows.append(row)
    return pd.DataFrame(rows)


def _results_table_nd(results: list, truth: dict | None = None) -> pd.DataFrame:
    """results_table for other parameters than D, E: one column per parameter [K] (the point
    estimate), chi_dia [emu/mol], seconds, n_minima; with truth (a dict of the parameters [K])
    err_point: the distance of the point estimate to the truth's nearest equivalent
    (ligandml.folding, powder observables) in prior-box widths of the network posterior (or of
    the fit's spread when there is none)."""
    from .folding import equivalent_sets

    names = next(list(r.params) for r in results if r.params)
    box = next((r.posterior.box for r in results if isinstance(r.posterior, SampleSet)), {})
    widths = np.array([box[n][1] - box[n][0] if n in box else 1.0 for n in names])
    eq = None
    if truth is not None:
        eq = equivalent_sets([truth[n] for n in names], names) / widths
    rows = []
    for r in results:
        row = {"method": r.method}
        p = r.params or {}
        row.update({n: p.get(n, np.nan) for n in names})
        row.update(chi_dia=r.chi_dia, seconds=r.seconds)
        if r.solutions is not None:
            row["n_minima"] = len(r.solutions)
        if eq is not None:
            x = np.array([p.get(n, np.nan) for n in names]) / widths
            row["err_point_box_widths"] = float(np.sqrt(((eq - x) ** 2).sum(-1)).min())
        row["note"] = r.note
        rows.append(row)
    return pd.DataFrame(rows)
