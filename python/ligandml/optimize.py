"""Local optimisation of the curve likelihood: a Levenberg-Marquardt iteration vectorised over many
starts (one batched sweep per iteration for the whole set), starts spread over a box by a
scrambled Sobol sequence, and the polishing of single minima with scipy's least_squares.

Every function minimises 0.5 |r(x)|^2 for a model with .residuals(X) and .jacobian(X, r), such as
ligandml.likelihood.CurveModel.
"""
from __future__ import annotations

import warnings

import numpy as np

from .benchmark_task import DE_BOX


def batched_levenberg_marquardt(model, X0: np.ndarray, max_iter: int = 200,
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
        except np.linalg.LinAlgError:  # a parameter without effect on the curve: minimum-norm step
            dx = -np.einsum("sij,sj->si", np.linalg.pinv(A + damp), g)
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


def polish(model, x0: np.ndarray) -> np.ndarray:
    """One start refined with scipy.optimize.least_squares (Levenberg-Marquardt)."""
    from scipy.optimize import least_squares

    res = least_squares(lambda x: model.residuals(x[None])[0], x0, method="lm",
                        xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=200 * (x0.size + 1))
    return res.x


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


def resolve_box(box, names) -> dict:
    """The search box {name: (lo, hi)} [K] for `names` (default: DE_BOX), checked finite with hi > lo."""
    box = dict(DE_BOX if box is None else box)
    for n in names:
        if n not in box:
            raise ValueError(f"no search range for parameter {n!r}: pass box={{'{n}': (lo, hi)}} in kelvin")
        lo, hi = (float(v) for v in box[n])
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise ValueError(f"box for {n!r} must be finite with hi > lo, got {box[n]!r}")
        box[n] = (lo, hi)
    return box


def parameters_and_box(ion_name: str, params=None, point_group: str | None = None,
                       box=None) -> tuple[tuple, dict]:
    """(Stevens names, box {name: (lo, hi)} [K]) of an N-parameter search: params, else the
    allowed set of point_group; box checked by resolve_box, else the scale-aware box of DESIGN.md
    for ion_name. ValueError when neither params nor point_group is given."""
    from .dataset.priors import scale_aware_box
    from .symmetry import allowed_parameters

    if params is None:
        if point_group is None:
            raise ValueError("give params (Stevens names) or a point_group")
        params = allowed_parameters(point_group).names
    names = tuple(params)
    return names, (scale_aware_box(ion_name, names) if box is None else resolve_box(box, names))


class ScaledModel:
    """A residual model seen in scaled coordinates u = x / scale (scale [K] per parameter, e.g.
    a prior box's half-widths), so that parameters of very different size (B20 ~ 1 K, B60 ~
    1e-4 K) are stepped, damped and compared alike. Provides .residuals(U) and .jacobian(U, r)
    for batched_levenberg_marquardt and polish; .to_x / .to_u convert rows."""

    def __init__(self, model, scale):
        self.model = model
        self.scale = np.asarray(scale, float)
        if np.any(~np.isfinite(self.scale)) or np.any(self.scale <= 0):
            raise ValueError(f"scale must be finite and > 0 per parameter, got {scale!r}")

    def to_x(self, U: np.ndarray) -> np.ndarray:
        """Parameters [K] from scaled rows U (..., p)."""
        return np.asarray(U, float) * self.scale

    def to_u(self, X: np.ndarray) -> np.ndarray:
        """Scaled rows from parameters X [K] (..., p)."""
        return np.asarray(X, float) / self.scale

    def residuals(self, U: np.ndarray, with_prior: bool = True) -> np.ndarray:
        """The model's residuals at x = U * scale, (S, m)."""
        return self.model.residuals(self.to_x(U), with_prior)

    def jacobian(self, U: np.ndarray, r: np.ndarray, rel_step: float = 1e-6) -> np.ndarray:
        """Forward-difference Jacobian in u, shape (S, m, p) (steps rel_step max(|u|, 1))."""
        S, p = U.shape
        steps = rel_step * np.maximum(np.abs(U), 1.0)
        Us = np.repeat(U[:, None, :], p, axis=1)
        idx = np.arange(p)
        Us[:, idx, idx] += steps
        rs = self.residuals(Us.reshape(S * p, p)).reshape(S, p, -1)
        return np.swapaxes((rs - r[:, None, :]) / steps[:, :, None], 1, 2)


def box_scale(box: dict, names) -> np.ndarray:
    """Per-parameter scale [K] of a box {name: (lo, hi)}: max(|lo|, |hi|) (the half-width of a
    symmetric box)."""
    return np.array([max(abs(float(box[n][0])), abs(float(box[n][1]))) for n in names])
