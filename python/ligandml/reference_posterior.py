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
    folded: np.ndarray | None = None


def nested_sample(log_likelihood_batch, lo, hi, nlive: int = 400, queue_size: int = 64,
                  dlogz: float = 0.5, sample: str = "auto", bound: str = "multi",
                  seed: int | None = 0, maxcall: int | None = None,
                  enlarge: float | None = None, bootstrap: int | None = None,
                  walks: int | None = None, slices: int | None = None,
                  reflect=None) -> NestedRun:
    """Nested sampling of a likelihood under a uniform prior on the box [lo, hi] (arrays (p,)).

    log_likelihood_batch: (S, p) -> (S,) natural-log likelihoods, -inf allowed. nlive: live
    points; queue_size: proposals evaluated together (batch size); dlogz: stopping criterion
    on the remaining evidence; sample, bound: dynesty's proposal and bounding methods; maxcall:
    optional cap on likelihood calls; enlarge, bootstrap, walks, slices: dynesty's (None: its
    defaults; for sample="unif" dynesty bootstraps the ellipsoids 5 times, which blows up in
    narrow curved posteriors, so pass enlarge=1.25 with bootstrap=0 there). reflect: None, or
    signs (p,) of +-1 of a reflection x -> reflect * x under which likelihood and box are
    invariant (the D3d twin: -1 on B43, B63): then only the half box where the first reflected
    coordinate is >= 0 is sampled (same evidence, half the volume) and each returned sample is
    reflected with probability 1/2, so that twin modes get exactly equal expected mass.
    Returns a NestedRun with equally weighted samples (dynesty's resample_equal of the
    importance weights; .folded holds them before the random reflection)."""
    try:
        import dynesty
        from dynesty.utils import resample_equal
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("the reference posterior needs dynesty: pip install 'ligandml[reference]'") from None
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if lo.shape != hi.shape or lo.ndim != 1 or np.any(~(hi > lo)):
        raise ValueError("the prior box needs lo < hi for every parameter")
    flip = None
    if reflect is not None:
        flip = np.asarray(reflect, float)
        if flip.shape != lo.shape or not np.all(np.abs(flip) == 1) or np.all(flip == 1):
            raise ValueError("reflect must hold +-1 per parameter with at least one -1")
        neg = flip < 0
        if not np.allclose(lo[neg], -hi[neg], rtol=1e-12, atol=0):
            raise ValueError("reflect needs a box symmetric about 0 in every reflected parameter")
        lo = lo.copy()
        lo[np.flatnonzero(neg)[0]] = 0.0  # the canonical half: first reflected coordinate >= 0
    width = hi - lo

    def prior_transform(u):
        return lo + width * np.asarray(u)

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with BatchingPool(log_likelihood_batch, queue_size) as pool:
        sampler = dynesty.NestedSampler(pool.log_likelihood, prior_transform, lo.size, nlive=nlive,
                                        bound=bound, sample=sample, pool=pool,
                                        queue_size=queue_size, rstate=rng, enlarge=enlarge,
                                        bootstrap=bootstrap, walks=walks, slices=slices)
        sampler.run_nested(dlogz=dlogz, print_progress=False, maxcall=maxcall)
        res = sampler.results
        n_calls, n_batches = pool.n_calls, pool.n_batches
    weights = np.exp(res.logwt - res.logz[-1])
    folded = resample_equal(res.samples, weights / weights.sum(), rstate=rng)
    samples = reflect_half(folded, flip, rng) if flip is not None else folded
    return NestedRun(samples=samples, logz=float(res.logz[-1]), logz_err=float(res.logzerr[-1]),
                     n_calls=int(n_calls), n_batches=int(n_batches),
                     seconds=time.perf_counter() - t0, n_iter=int(res.niter), folded=folded)


def reflect_half(samples: np.ndarray, signs: np.ndarray, rng) -> np.ndarray:
    """Samples (n, p) with each row multiplied by signs (p,) with probability 1/2 (the random
    twin of a posterior that is invariant under the reflection). Units unchanged."""
    samples = np.array(samples, float)
    flip = rng.random(len(samples)) < 0.5
    samples[flip] *= np.asarray(signs, float)
    return samples


def polish_within_modes(log_likelihood_batch, samples: np.ndarray, lo, hi, scale,
                        n_out: int = 2000, gap: float = 0.05, min_mass: float = 0.01,
                        chains: int = 100, burn: int = 20, thin: int = 8,
                        accept_target: float = 0.4,
                        seed: int | None = 0) -> tuple[np.ndarray, dict]:
    """Distinct, continuous samples within each mode of nested-sampling samples, mode masses kept.

    Nested sampling's equally weighted samples repeat points (resampled importance weights),
    which a classifier two-sample test can recognise; its mode masses, though, are the reliable
    part. So: modes by find_modes (gap, min_mass; units of `scale`), then per mode a
    random-walk Metropolis run of `chains` parallel chains (vectorised: one batched likelihood
    call per step), started at that mode's samples (already stationary), Gaussian steps with
    the mode's covariance, the step tuned towards accept_target during `burn` steps (0.4: a
    chain stays put 8 steps running with probability 0.6^8 = 1.7 %, so kept states rarely
    repeat), the uniform prior on [lo, hi]; every `thin`-th state after burn is kept, for
    round(n_out * mass) states per mode (steps = burn + thin * that / chains). Returns
    (samples (~n_out, p) in the samples' units, info: masses, acceptance rates, likelihood
    calls)."""
    rng = np.random.default_rng(seed)
    X = np.asarray(samples, float)
    lo, hi, scale = (np.asarray(a, float) for a in (lo, hi, scale))
    centres, masses = find_modes(X, scale, gap, min_mass=min_mass)
    labels = np.argmin((((X / scale)[:, None, :] - (centres / scale)[None]) ** 2).sum(-1), axis=1)
    p = X.shape[1]
    out, accept, calls = [], [], 0

    def log_target(Y):
        inside = np.all((Y >= lo) & (Y <= hi), axis=1)
        value = np.full(len(Y), -np.inf)
        if inside.any():
            value[inside] = log_likelihood_batch(Y[inside])
        return value

    for j in range(len(centres)):
        members = X[labels == j]
        n_keep = int(round(n_out * masses[j]))
        if n_keep == 0:
            continue
        cov = np.cov((members / scale).T) if len(members) > p else np.diag(
            np.full(p, 1e-6))
        L = np.linalg.cholesky(cov + 1e-12 * np.eye(p)) * scale[:, None]
        state = members[rng.integers(len(members), size=chains)]
        logp = log_target(state)
        calls += chains
        step, kept, n_acc, n_prop = 2.38 / np.sqrt(p), [], 0, 0
        steps = burn + thin * int(np.ceil(n_keep / chains))
        for t in range(1, steps + 1):
            prop = state + step * rng.standard_normal((chains, p)) @ L.T
            logq = log_target(prop)
            calls += chains
            ok = np.log(rng.random(chains)) < logq - logp
            state[ok], logp[ok] = prop[ok], logq[ok]
            if t <= burn:
                step *= np.exp(ok.mean() - accept_target)  # tuning towards the target rate
            else:
                n_acc, n_prop = n_acc + ok.sum(), n_prop + chains
                if (t - burn) % thin == 0:
                    kept.append(state.copy())
        pool = np.concatenate(kept)
        out.append(pool[rng.choice(len(pool), size=n_keep, replace=n_keep > len(pool))])
        accept.append(n_acc / max(n_prop, 1))
    info = {"masses": masses.tolist(), "acceptance": accept, "n_calls": calls,
            "centres": centres.tolist()}
    return np.concatenate(out), info


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
    specs: tuple
    observed_values: dict
    noise_rel: object
    run: NestedRun
    names: tuple
    box: dict = dc_field(default_factory=dict)
    info: dict = dc_field(default_factory=dict)

    # SampleSet defines observables / observed from a network's observable index; here they are
    # the inputs themselves (fields under other names: a dataclass field cannot shadow a property)
    @property
    def observables(self) -> tuple:
        """The observable dicts (ligandml.dataset.observables) of the data, in order."""
        return self.specs

    @property
    def observed(self) -> dict:
        """{observable name: measured values} (chi [emu/mol per ion], M [muB per ion])."""
        return self.observed_values

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


def laplace_cov(model, X: np.ndarray, scale: np.ndarray, rel_step: float = 1e-6) -> np.ndarray:
    """Posterior covariance (m, p, p) at each minimum X (m, p) [K] from the Gauss-Newton
    Hessian J^T J of the projected residuals (Laplace approximation), in the units of X
    (K^2). Directions the data do not fix get at most the box half-width (scale)."""
    from .optimize import ScaledModel

    search = ScaledModel(model, scale)
    U = search.to_u(X)
    r = search.residuals(U)
    J = search.jacobian(U, r, rel_step)
    out = np.empty((len(U), U.shape[1], U.shape[1]))
    for i in range(len(U)):
        H = J[i].T @ J[i] + np.eye(U.shape[1])  # + a unit-width Gaussian: caps sd at ~1 box half-width
        out[i] = np.linalg.inv(H) * np.outer(scale, scale)
    return out


def local_regions(X: np.ndarray, cov: np.ndarray, width: float = 8.0) -> list:
    """Regions around minima X (m, p) [K] with Laplace covariances cov (m, p, p): the
    parallelepiped x = x_min + L u, u in [-width, width]^p (L the Cholesky factor; +-width sd
    along every principal direction, so a correlated mode fills it). Regions whose bounding
    boxes overlap are merged into the axis-aligned bounding box of both (no posterior mass
    counted twice). Returns [{"centre", "L", "width", "minima"}]: x = centre + L u."""
    regions = []
    for i, (x, c) in enumerate(zip(X, cov)):
        L = np.linalg.cholesky(c + 1e-30 * np.eye(len(x)))
        regions.append({"centre": np.array(x, float), "L": L, "width": float(width), "minima": [i]})

    def bounds(r):
        half = r["width"] * np.abs(r["L"]).sum(axis=1)
        return r["centre"] - half, r["centre"] + half

    merged = True
    while merged:
        merged = False
        for a in range(len(regions)):
            for b in range(a + 1, len(regions)):
                (la, ha), (lb, hb) = bounds(regions[a]), bounds(regions[b])
                if np.all(np.maximum(la, lb) < np.minimum(ha, hb)):
                    lo, hi = np.minimum(la, lb), np.maximum(ha, hb)
                    regions[a] = {"centre": (lo + hi) / 2, "L": np.diag((hi - lo) / 2), "width": 1.0,
                                  "minima": regions[a]["minima"] + regions[b]["minima"]}
                    del regions[b]
                    merged = True
                    break
            if merged:
                break
    return regions


def nested_around_minima(log_likelihood_batch, minima: np.ndarray, lo, hi, cov: np.ndarray,
                         width: float = 8.0, nlive: int = 200, queue_size: int = 64,
                         dlogz: float = 0.1, seed: int | None = 0, max_edge: float = 0.01,
                         **sampler) -> tuple[np.ndarray, list]:
    """Posterior samples and mode masses from nested sampling in local regions around minima.

    minima (m, p) [K] and cov (m, p, p) [K^2]: every least-squares minimum worth a look and its
    Laplace covariance; lo, hi: the prior box (uniform prior) [K]. Each minimum gets the region
    x_min + L u, u in [-width, width]^p (local_regions; overlapping ones merged); nested sampling
    in u gives the region's evidence Z_j (mean likelihood over it, zero outside the prior box)
    and samples, and the region's posterior mass is Z_j V_j / sum_k Z_k V_k (V_j its volume,
    (2 width)^p |det L|): nested-sampling masses, not a Laplace guess. A region whose samples
    reach the outer 10 % of its width (share > max_edge) is redone twice as wide, once.
    Returns (equally weighted samples (n, p) pooled by mass, one dict per region: centre,
    minima, logz, logz_err, log_volume, mass, n_calls, seconds, edge_share, width)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    rng = np.random.default_rng(seed)
    runs = []
    for region in local_regions(minima, cov, width):
        c, L = region["centre"], region["L"]
        half = region["width"] * np.abs(L).sum(axis=1)
        if np.any(c - half < lo) or np.any(c + half > hi):
            # a region reaching out of the prior box (a flat direction, a mode at the edge):
            # its bounding box clipped to the prior box instead, so that no live point starts
            # where the prior is zero
            blo, bhi = np.maximum(lo, c - half), np.minimum(hi, c + half)
            c, L = (blo + bhi) / 2, np.diag((bhi - blo) / 2)
            region = {**region, "centre": c, "L": L, "width": 1.0}

        def loglike_u(U, c=c, L=L):
            X = c + np.asarray(U, float) @ L.T
            inside = np.all((X >= lo) & (X <= hi), axis=1)
            out = np.full(len(X), -1e300)  # outside the prior: zero likelihood (finite for dynesty)
            if inside.any():
                out[inside] = log_likelihood_batch(X[inside])
            return out

        w = region["width"]
        for attempt in range(2):
            ones = np.full(len(c), w)
            run = nested_sample(loglike_u, -ones, ones, nlive, queue_size, dlogz, seed=seed,
                                **sampler)
            edge = float(np.mean(np.any(np.abs(run.samples) > 0.9 * w, axis=1)))
            if edge <= max_edge or attempt == 1:
                break
            w *= 2
        log_volume = len(c) * np.log(2 * w) + np.sum(np.log(np.abs(np.diag(L))))
        runs.append({"region": region, "run": run, "edge_share": edge, "width": w,
                     "samples": c + run.samples @ L.T, "log_volume": float(log_volume)})
    logm = np.array([r["run"].logz + r["log_volume"] for r in runs])
    mass = np.exp(logm - logm.max())
    mass /= mass.sum()
    n_total = max(len(r["samples"]) for r in runs)
    pooled = []
    for r, m in zip(runs, mass):
        k = int(round(m * n_total))
        if k:
            pooled.append(r["samples"][rng.choice(len(r["samples"]), size=k)])
    info = [{"centre": r["region"]["centre"].tolist(), "minima": r["region"]["minima"],
             "logz": r["run"].logz, "logz_err": r["run"].logz_err, "log_volume": r["log_volume"],
             "mass": float(m), "n_calls": r["run"].n_calls, "seconds": r["run"].seconds,
             "edge_share": r["edge_share"], "width": r["width"]} for r, m in zip(runs, mass)]
    return np.concatenate(pooled), info


def reference_posterior(ion, observables, observed, params=None, point_group: str | None = "D3d",
                        box: dict | None = None, noise_rel=0.01,
                        nuisance_sd: dict | None = None, nlive: int = 100, queue_size: int = 64,
                        dlogz: float = 0.1, sample: str = "unif", seed: int | None = 0,
                        maxcall: int | None = None, mode_gap: float = 0.05,
                        refine_modes: bool = True, backend: str | None = None,
                        enlarge: float | None = 1.25, bootstrap: int | None = 0,
                        fold: bool = True, polish: int | None = 1500, method: str = "minima",
                        minima=None, ls_starts: int = 64, delta_logl: float = 25.0,
                        width: float = 6.0) -> ReferencePosterior:
    """Nested-sampling posterior of the ligand-field parameters for measured observables.

    ion: Ion or name. observables: observable dicts (ligandml.dataset.observables). observed:
    {name: values} (chi [emu/mol per ion], M [muB per ion]). params: Stevens names (None: the
    free parameters of point_group). box: the uniform prior {name: (lo, hi)} [K] (None: the
    scale-aware box of DESIGN.md, W = 200 K). noise_rel: relative measurement sd per
    observable (dict) or for all (0.005 = 0.5 %; on measured data add the model error).
    nuisance_sd: Gaussian prior sd of chi_dia [emu/mol] and s_m (default the er-d3d task's
    0.002 and 0.02; a nuisance absent from the dict is fixed at chi_dia = 0 or s_m = 1).
    nlive, queue_size, dlogz, sample, maxcall, enlarge, bootstrap: as nested_sample (defaults:
    uniform proposals inside multiple ellipsoids enlarged 1.25x in volume, no bootstrap; dynesty's
    bootstrapped enlargement blows up in the narrow curved 6-d posteriors of the er-d3d curves).
    fold: sample only the canonical half of the D3d twin (B43 >= 0) and give every sample's twin
    (B43, B63) -> (-B43, -B63) equal weight, when the names have B43 (and B63), the box is
    symmetric in them and the likelihood is checked invariant at 8 random points (else no
    folding; info["fold"] says which). polish: None, or the number of samples drawn within the
    modes by polish_within_modes (random-walk Metropolis chains started at each mode's nested
    samples, the nested-sampling mode masses kept): distinct points for C2ST instead of the
    resampled duplicates. mode_gap: the widest gap inside one mode (single linkage) in units
    of the box half-widths; refine_modes: polish each mode with least squares
    (fitting.solve_from_starts) and give its exact minimum.

    method: "global" runs nested sampling over the whole box (safe with unknown modes, but at
    0.5 % noise the 6-d posterior is so small that it needs far more than 1e5 likelihood
    calls); "minima" (default) runs nested sampling in local boxes around every least-squares
    minimum whose log marginal likelihood is within delta_logl of the best
    (nested_around_minima, boxes minimum +- width Laplace sd): masses from the local
    evidences. minima: the minima to use ((m, p) [K] or a DataFrame with the parameter
    columns, e.g. FitResult.solutions); None runs multi-start least squares from ls_starts
    Sobol starts first (its seconds count in the cost). A mode that no least-squares start
    reached is missed by "minima".

    Returns a ReferencePosterior (.samples, .modes, .run.seconds, .run.n_calls; info: the
    settings, the fold, the local boxes, the polish's calls and acceptance, seconds_total).
    """
    from .likelihood import ER_D3D_NUISANCE_SD, observables_model
    from .optimize import box_scale, parameters_and_box
    from .sweeps import as_ion

    ion = as_ion(ion)
    names, box = parameters_and_box(ion.name, params, point_group, box)
    nuisance_sd = dict(ER_D3D_NUISANCE_SD if nuisance_sd is None else nuisance_sd)
    nuisance = tuple(n for n in ("chi_dia", "s_m") if nuisance_sd.get(n, 0) > 0)
    scale = box_scale(box, names)
    model = observables_model(ion, observables, observed, names, noise_rel, nuisance,
                              {n: nuisance_sd[n] for n in nuisance}, scale=scale, backend=backend)

    def log_likelihood_batch(X):
        return model.log_marginal_from_curves(model.curves(X))

    lo = np.array([box[n][0] for n in names])
    hi = np.array([box[n][1] for n in names])
    t0 = time.perf_counter()
    reflect = _twin_reflection(names, lo, hi, log_likelihood_batch, seed) if fold else None
    rng = np.random.default_rng(None if seed is None else seed + 1)
    info = {"nuisance_sd": nuisance_sd, "nlive": nlive, "queue_size": queue_size, "dlogz": dlogz,
            "sample": sample, "enlarge": enlarge, "bootstrap": bootstrap,
            "fold": reflect is not None, "polish": polish, "method": method}
    sampler = {"sample": sample, "enlarge": enlarge, "bootstrap": bootstrap}
    if method == "global":
        run = nested_sample(log_likelihood_batch, lo, hi, nlive, queue_size, dlogz, seed=seed,
                            maxcall=maxcall, reflect=reflect, **sampler)
        folded = run.folded if reflect is not None else run.samples
    elif method == "minima":
        run, folded, boxes = _run_around_minima(model, log_likelihood_batch, names, lo, hi, scale,
                                                reflect, minima, ls_starts, delta_logl, width,
                                                nlive, queue_size, dlogz, seed, sampler, info)
        info["boxes"] = boxes
    else:
        raise ValueError(f"method must be 'minima' or 'global', got {method!r}")
    X = reflect_half(folded, reflect, rng) if reflect is not None else folded
    if polish:
        X, pinfo = polish_within_modes(log_likelihood_batch, folded, lo, hi, scale,
                                       n_out=int(polish), gap=mode_gap,
                                       seed=None if seed is None else seed + 2)
        if reflect is not None:
            X = reflect_half(X, reflect, rng)
        info.update({"polish_calls": pinfo["n_calls"], "polish_acceptance": pinfo["acceptance"],
                     "polish_masses": pinfo["masses"]})
    table = pd.DataFrame(X, columns=list(names))
    for col, values in _draw_nuisances(model, X, rng).items():
        table[col] = values
    centres, mass = find_modes(X, scale, mode_gap)
    modes = _mode_table(model, names, X, centres, mass, scale, refine_modes)
    info["seconds_total"] = time.perf_counter() - t0
    return ReferencePosterior(samples=table, modes=modes, ion=ion, specs=tuple(model.observables),
                              observed_values=model.split(model.y), noise_rel=noise_rel, box=box, run=run,
                              names=names, info=info)


def _run_around_minima(model, log_likelihood_batch, names, lo, hi, scale, reflect, minima,
                       ls_starts, delta_logl, width, nlive, queue_size, dlogz, seed, sampler,
                       info) -> tuple:
    """method="minima" of reference_posterior: (NestedRun summary, folded samples, box info)."""
    from .fitting import solve_from_starts
    from .optimize import sobol_starts

    t0 = time.perf_counter()
    n_ls = 0
    if minima is None:
        box = {n: (l, h) for n, l, h in zip(names, lo, hi)}
        evals0 = model.n_curve_evals
        sols, _ = solve_from_starts(model, sobol_starts(box, names, int(ls_starts), seed),
                                    distinct_tol=1e-3, polish=True, scale=scale, ftol=1e-8,
                                    xtol=1e-8)
        minima, n_ls = sols[list(names)].to_numpy(float), model.n_curve_evals - evals0
    elif hasattr(minima, "columns"):
        minima = minima[list(names)].to_numpy(float)
    minima = np.atleast_2d(np.asarray(minima, float))
    ls_seconds = time.perf_counter() - t0
    half_lo = lo.copy()
    if reflect is not None:  # canonical members (first reflected coordinate >= 0)
        k = np.flatnonzero(reflect < 0)[0]
        minima = np.where(minima[:, [k]] < 0, minima * reflect, minima)
        half_lo[k] = 0.0
    minima = np.clip(minima, half_lo, hi)
    logl = log_likelihood_batch(minima)
    keep = logl >= logl.max() - delta_logl
    minima, logl = minima[keep], logl[keep]
    evals0 = model.n_curve_evals
    cov = laplace_cov(model, minima, scale)
    folded, boxes = nested_around_minima(log_likelihood_batch, minima, half_lo, hi, cov, width,
                                         nlive, queue_size, dlogz, seed, **sampler)
    n_calls = sum(b["n_calls"] for b in boxes)
    seconds = time.perf_counter() - t0
    logz = float(np.log(sum(np.exp(b["logz"] + b["log_volume"] - logl.max()) for b in boxes))
                 + logl.max() - np.sum(np.log(hi - half_lo)))
    info.update({"ls_seconds": ls_seconds, "ls_curve_evals": int(n_ls),
                 "minima_used": minima.tolist(), "minima_logl": logl.tolist(),
                 "laplace_sd": np.sqrt(np.diagonal(cov, axis1=1, axis2=2)).tolist(), "laplace_evals": int(model.n_curve_evals - evals0 - n_calls)})
    run = NestedRun(samples=folded, logz=logz, logz_err=float(np.sqrt(sum(b["logz_err"] ** 2 for b in boxes))),
                    n_calls=int(n_calls), n_batches=0, seconds=seconds, n_iter=0, folded=folded)
    return run, folded, boxes


#: the D3d twin: a 60 degree rotation about z flips the sign of these (DESIGN.md, er-d3d)
TWIN_FLIPS = ("B43", "B63")


def _twin_reflection(names, lo, hi, log_likelihood_batch, seed) -> np.ndarray | None:
    """Signs (p,) of the D3d twin when it applies to this box and likelihood, else None: the
    names hold B43, the box is symmetric in every flipped name, and the likelihood is the same
    (1e-9 relative) at 8 random points of the box and at their twins."""
    signs = np.array([-1.0 if n in TWIN_FLIPS else 1.0 for n in names])
    neg = signs < 0
    if "B43" not in names or not np.allclose(lo[neg], -hi[neg], rtol=1e-12, atol=0):
        return None
    rng = np.random.default_rng(seed)
    X = lo + (hi - lo) * rng.random((8, len(names)))
    a, b = log_likelihood_batch(X), log_likelihood_batch(X * signs)
    same = np.abs(a - b) <= 1e-9 * np.maximum(1.0, np.abs(a))
    return signs if bool(np.all(same)) else None


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
