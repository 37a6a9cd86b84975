"""A reference posterior in N dimensions by nested sampling (dynesty), where a grid is hopeless.

Model: the observables of one sample (ligandml.likelihood.ObservablesModel), Gaussian relative
noise per observable, the ligand-field parameters theta [K] uniform on a box (the uniform box
given, or the scale-aware box of DESIGN.md), and the nuisances treated as the baselines treat
them: chi_dia ~ N(0, sigma_dia) [emu/mol] and s_m ~ N(1, sigma_m), shared by every observable,
enter linearly and are integrated out exactly for every theta (likelihood.CurveModel.
log_marginal_from_curves); the table of samples draws them from their Gaussian given theta.

Nested sampling (Skilling 2006; dynesty, Speagle 2020) handles many separated modes and gives
their relative masses without starting points. It is made cheap by evaluating the likelihood in
batches: BatchingPool is a pool whose map runs each proposal in its own thread, and every
thread's likelihood call waits at a barrier until all running proposals have asked, then one
vectorised physics call (one batched sweep per observable) answers them all. With queue_size
proposals in flight, the physics sees batches of up to queue_size parameter sets.

dynesty is an optional dependency (pip install "ligandml[reference]").
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field as dc_field

import numpy as np
import pandas as pd

from .posterior import SampleSet


class BatchingPool:
    """A dynesty pool whose map evaluates the likelihood of all proposals in flight at once.

    log_likelihood_batch: function (S, p) -> (S,) log-likelihoods. size: worker threads, i.e.
    the largest batch (pass the same number as dynesty's queue_size). map(func, items) runs
    func on every item in a thread; the function handed to dynesty as its likelihood is
    self.log_likelihood, which blocks until every running item has called it (or finished) and
    then evaluates the pending points in one vectorised call. Counts: n_calls (points),
    n_batches (vectorised calls)."""

    def __init__(self, log_likelihood_batch, size: int = 64):
        if int(size) < 1:
            raise ValueError(f"pool size must be >= 1, got {size!r}")
        self.batch_fn = log_likelihood_batch
        self.size = int(size)
        self._cond = threading.Condition()
        self._active = 0           # items handed to map and not finished
        self._pending: list = []   # [(x, slot)] waiting for an answer
        self._generation = 0
        self.n_calls = 0
        self.n_batches = 0
        self._executor = ThreadPoolExecutor(max_workers=self.size)

    def _evaluate_pending(self) -> None:
        """Answer every pending point with one batched call (lock held)."""
        points = np.array([x for x, _ in self._pending], float)
        try:
            values = np.asarray(self.batch_fn(points), float).reshape(-1)
            if values.size != len(points):
                raise ValueError(f"the batched likelihood returned {values.size} values for "
                                 f"{len(points)} points")
            error = None
        except Exception as exc:  # handed to every waiting thread
            values, error = None, exc
        for i, (_, slot) in enumerate(self._pending):
            slot["value"] = None if values is None else float(values[i])
            slot["error"] = error
        self.n_calls += len(points)
        self.n_batches += 1
        self._pending = []
        self._cond.notify_all()

    def _maybe_evaluate(self) -> None:
        # every unfinished item runs (or is about to) once fewer than `size` remain
        if self._pending and len(self._pending) >= min(self._active, self.size):
            self._evaluate_pending()

    def log_likelihood(self, x) -> float:
        """Log-likelihood of one point (p,), answered in a batch with the other threads'."""
        slot: dict = {}
        with self._cond:
            self._pending.append((np.array(x, float), slot))
            self._maybe_evaluate()
            while "value" not in slot:
                self._cond.wait()
        if slot["error"] is not None:
            raise slot["error"]
        return slot["value"]

    def _run(self, func, item):
        try:
            return func(item)
        finally:
            with self._cond:
                self._active -= 1
                self._maybe_evaluate()

    def map(self, func, iterable):
        """[func(item) for item in iterable], items run concurrently, likelihoods batched."""
        items = list(iterable)
        with self._cond:
            self._active += len(items)  # items not yet finished (running or queued)
        return list(self._executor.map(lambda it: self._run(func, it), items))

    def close(self) -> None:
        """Stop the worker threads."""
        self._executor.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass
class NestedRun:
    """Equally weighted samples (n, p) of a nested-sampling run and its bookkeeping: logz and
    its error (log evidence, natural log, relative to the prior's normalisation), n_calls
    (likelihood evaluations), n_batches (vectorised calls), seconds (wall time), n_iter."""

    samples: np.ndarray
    logz: float
    logz_err: float
    n_calls: int
    n_batches: int
    seconds: float
    n_iter: int


def nested_sample(log_likelihood_batch, lo, hi, nlive: int = 400, queue_size: int = 64,
                  dlogz: float = 0.5, sample: str = "auto", bound: str = "multi",
                  seed: int | None = 0, maxcall: int | None = None) -> NestedRun:
    """Nested sampling of a likelihood under a uniform prior on the box [lo, hi] (arrays (p,)).

    log_likelihood_batch: (S, p) -> (S,) natural-log likelihoods, -inf allowed. nlive: live
    points; queue_size: proposals evaluated together (batch size); dlogz: stopping criterion
    on the remaining evidence; sample, bound: dynesty's proposal and bounding methods; maxcall:
    optional cap on likelihood calls. Returns a NestedRun with equally weighted samples
    (dynesty's resample_equal of the importance weights)."""
    try:
        import dynesty
        from dynesty.utils import resample_equal
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("the reference posterior needs dynesty: pip install 'ligandml[reference]'") from None
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if lo.shape != hi.shape or lo.ndim != 1 or np.any(~(hi > lo)):
        raise ValueError("the prior box needs lo < hi for every parameter")
    width = hi - lo

    def prior_transform(u):
        return lo + width * np.asarray(u)

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with BatchingPool(log_likelihood_batch, queue_size) as pool:
        sampler = dynesty.NestedSampler(pool.log_likelihood, prior_transform, lo.size, nlive=nlive,
                                        bound=bound, sample=sample, pool=pool,
                                        queue_size=queue_size, rstate=rng)
        sampler.run_nested(dlogz=dlogz, print_progress=False, maxcall=maxcall)
        res = sampler.results
        n_calls, n_batches = pool.n_calls, pool.n_batches
    weights = np.exp(res.logwt - res.logz[-1])
    samples = resample_equal(res.samples, weights / weights.sum(), rstate=rng)
    return NestedRun(samples=samples, logz=float(res.logz[-1]), logz_err=float(res.logzerr[-1]),
                     n_calls=int(n_calls), n_batches=int(n_batches),
                     seconds=time.perf_counter() - t0, n_iter=int(res.niter))


@dataclass
class ReferencePosterior(SampleSet):
    """The nested-sampling reference posterior of one sample's observables.

    samples: DataFrame of equally weighted samples: the parameters [K], chi_dia [emu/mol] and
    s_m (drawn from their Gaussian given each parameter set). modes: DataFrame of the modes,
    heaviest first: the parameters' means [K] within each mode, mass (share of the samples),
    n, and the refined minimum when refine_modes ran (<name>_min columns, cost). observables,
    observed, noise_rel, ion, box ({name: (lo, hi)} [K]): the inputs (so that .refine() runs
    the N-parameter refinement). run: the NestedRun (logz, n_calls, seconds). cost_per_curve:
    seconds of this curve's sampling.
    """

    samples: pd.DataFrame
    modes: pd.DataFrame
    ion: object
    observables: tuple
    observed: dict
    noise_rel: object
    run: NestedRun
    names: tuple
    box: dict = dc_field(default_factory=dict)
    info: dict = dc_field(default_factory=dict)

    @property
    def cost_per_curve(self) -> float:
        """Wall time of the sampling [s]."""
        return self.run.seconds

    def credible_level(self, point: dict, gap: float = 0.05) -> float:
        """Credible level at which `point` ({name: value} [K]) enters the highest-density
        region (module function credible_level: a Gaussian per mode, distances in units of the
        box half-widths). Below 0.95: inside the 95 % credible region."""
        return credible_level(self.samples[list(self.names)].to_numpy(float),
                              np.array([point[n] for n in self.names], float),
                              _half_widths(self.box, self.names), gap)


def _half_widths(box, names) -> np.ndarray:
    return np.array([(box[n][1] - box[n][0]) / 2 for n in names], float)


def credible_level(samples: np.ndarray, point: np.ndarray, scale: np.ndarray,
                   gap: float = 0.05) -> float:
    """HPD level of `point` among equally weighted `samples` (n, p): the share of samples where
    the posterior density is higher than at the point. The density is a Gaussian mixture, one
    component per mode (find_modes with `gap`, in units of `scale`), with each mode's mass, mean
    and covariance; exact for Gaussian modes. 0 at the peak, near 1 far outside every mode;
    below 0.95: inside the 95 % highest-density region."""
    from scipy.stats import multivariate_normal

    U, x = np.asarray(samples, float) / scale, np.asarray(point, float) / scale
    centres, mass = find_modes(samples, scale, gap, min_mass=0.01)
    labels = np.argmin(((U[:, None, :] - (centres / scale)[None]) ** 2).sum(-1), axis=1)
    comps = []
    for j in range(len(centres)):
        members = U[labels == j]
        if len(members) < U.shape[1] + 2:
            continue
        cov = np.cov(members.T) + 1e-12 * np.eye(U.shape[1])
        comps.append((len(members) / len(U), members.mean(axis=0), cov))

    def density(Y):
        return sum(w * multivariate_normal(m, c, allow_singular=True).pdf(Y) for w, m, c in comps)
    return float(np.mean(density(U) > density(x[None])))


def find_modes(samples: np.ndarray, scale: np.ndarray, gap: float = 0.05,
               min_mass: float = 0.005, max_points: int = 2000,
               seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Modes of equally weighted samples (n, p): single-linkage groups of samples (distances in
    units of `scale`) that no gap wider than `gap` separates, found on at most max_points
    samples, the rest joining the group of their nearest neighbour. Groups below min_mass are
    dropped and their samples given to the nearest kept group's centre. Returns (centres (m, p)
    in the samples' units: group means, heaviest first; masses (m,), summing to 1)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial import cKDTree

    U = np.asarray(samples, float) / scale
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(U), size=min(len(U), max_points), replace=False)
    if len(pick) > 1:
        labels_sub = fcluster(linkage(U[pick], method="single"), t=gap, criterion="distance") - 1
    else:
        labels_sub = np.zeros(len(pick), int)
    labels = labels_sub[cKDTree(U[pick]).query(U)[1]]
    mass = np.bincount(labels) / len(U)
    keep = np.argsort(-mass)
    keep = keep[mass[keep] >= min_mass]
    if keep.size == 0:
        keep = np.argsort(-mass)[:1]
    centres = np.array([U[labels == j].mean(axis=0) for j in keep])
    nearest = np.argmin(((U[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    masses = np.bincount(nearest, minlength=len(centres)) / len(U)
    order = np.argsort(-masses)
    return centres[order] * scale, masses[order]


def reference_posterior(ion, observables, observed, params=None, point_group: str | None = "D3d",
                        box: dict | None = None, noise_rel=0.01,
                        nuisance_sd: dict | None = None, nlive: int = 400, queue_size: int = 64,
                        dlogz: float = 0.5, sample: str = "auto", seed: int | None = 0,
                        maxcall: int | None = None, mode_gap: float = 0.05,
                        refine_modes: bool = True, backend: str | None = None) -> ReferencePosterior:
    """Nested-sampling posterior of the ligand-field parameters for measured observables.

    ion: Ion or name. observables: observable dicts (ligandml.dataset.observables). observed:
    {name: values} (chi [emu/mol per ion], M [muB per ion]). params: Stevens names (None: the
    free parameters of point_group). box: the uniform prior {name: (lo, hi)} [K] (None: the
    scale-aware box of DESIGN.md, W = 200 K). noise_rel: relative measurement sd per
    observable (dict) or for all (0.005 = 0.5 %; on measured data add the model error).
    nuisance_sd: Gaussian prior sd of chi_dia [emu/mol] and s_m (default the er-d3d task's
    0.002 and 0.02; a nuisance absent from the dict is fixed at chi_dia = 0 or s_m = 1).
    nlive, queue_size, dlogz, sample, maxcall: as nested_sample. mode_gap: the widest gap
    inside one mode (single linkage) in units of the box half-widths; refine_modes: polish each mode with
    least squares (fitting.solve_from_starts) and give its exact minimum.

    Returns a ReferencePosterior (.samples, .modes, .run.seconds, .run.n_calls).
    """
    from .dataset.priors import scale_aware_box
    from .likelihood import ER_D3D_NUISANCE_SD, observables_model
    from .optimize import box_scale, resolve_box
    from .sweeps import as_ion
    from .symmetry import allowed_parameters

    ion = as_ion(ion)
    if params is None:
        if point_group is None:
            raise ValueError("give params (Stevens names) or a point_group")
        params = tuple(allowed_parameters(point_group).names)
    names = tuple(params)
    box = scale_aware_box(ion.name, names) if box is None else resolve_box(box, names)
    nuisance_sd = dict(ER_D3D_NUISANCE_SD if nuisance_sd is None else nuisance_sd)
    nuisance = tuple(n for n in ("chi_dia", "s_m") if nuisance_sd.get(n, 0) > 0)
    scale = box_scale(box, names)
    model = observables_model(ion, observables, observed, names, noise_rel, nuisance,
                              {n: nuisance_sd[n] for n in nuisance}, scale=scale, backend=backend)

    def log_likelihood_batch(X):
        return model.log_marginal_from_curves(model.curves(X))

    lo = np.array([box[n][0] for n in names])
    hi = np.array([box[n][1] for n in names])
    run = nested_sample(log_likelihood_batch, lo, hi, nlive, queue_size, dlogz, sample,
                        seed=seed, maxcall=maxcall)
    table = pd.DataFrame(run.samples, columns=list(names))
    rng = np.random.default_rng(None if seed is None else seed + 1)
    for col, values in _draw_nuisances(model, run.samples, rng).items():
        table[col] = values
    centres, mass = find_modes(run.samples, scale, mode_gap)
    modes = _mode_table(model, names, run.samples, centres, mass, scale, refine_modes)
    return ReferencePosterior(samples=table, modes=modes, ion=ion, observables=tuple(model.observables),
                              observed=model.split(model.y), noise_rel=noise_rel, box=box, run=run,
                              names=names, info={"nuisance_sd": nuisance_sd, "nlive": nlive,
                                                 "queue_size": queue_size, "dlogz": dlogz})


def _draw_nuisances(model, X: np.ndarray, rng, chunk: int = 512) -> dict:
    """chi_dia, s_m for each row of X from their Gaussian given theta (mean G^-1 h, cov G^-1)."""
    k = len(model.linear_names)
    out = np.empty((len(X), k))
    for s in range(0, len(X), chunk):
        coef, G, _, _ = model.project(model.curves(X[s:s + chunk]))
        L = np.linalg.cholesky(np.linalg.inv(G))
        z = rng.standard_normal(coef.shape)
        out[s:s + chunk] = coef + np.einsum("skl,sl->sk", L, z)
    return {n: out[:, i] for i, n in enumerate(model.linear_names)}


def _mode_table(model, names, X, centres, mass, scale, refine: bool) -> pd.DataFrame:
    """One row per mode: the members' mean parameters, mass, n; with refine, the least-squares
    minimum started from the mean (<name>_min) and its cost."""
    labels = np.argmin((((X / scale)[:, None, :] - (centres / scale)[None]) ** 2).sum(-1), axis=1)
    rows = []
    for j, c in enumerate(centres):
        members = X[labels == j]
        row = {n: float(members[:, i].mean()) if len(members) else float(c[i])
               for i, n in enumerate(names)}
        row.update({"mass": float(mass[j]), "n": int(len(members))})
        rows.append(row)
    table = pd.DataFrame(rows)
    if refine and len(table):
        from .fitting import solve_from_starts

        starts = table[list(names)].to_numpy(float)
        sols, _ = solve_from_starts(model, starts, distinct_tol=1e-9, polish=True, scale=scale)
        Xs = sols[list(names)].to_numpy(float)
        nearest = np.argmin((((starts / scale)[:, None, :] - (Xs / scale)[None]) ** 2).sum(-1), axis=1)
        for i, n in enumerate(names):
            table[f"{n}_min"] = Xs[nearest, i]
        table["cost"] = sols["cost"].to_numpy()[nearest]
    return table.sort_values("mass", ascending=False, ignore_index=True)
