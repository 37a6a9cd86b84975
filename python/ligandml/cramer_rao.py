"""The Cramer-Rao floor: how well any unbiased estimator can recover the parameters of one curve.

For Gaussian measurement noise, y_i = f_i(theta) + e_i with e_i ~ N(0, sigma_i^2) independent,
the Fisher information is

    I(theta) = J^T diag(1 / sigma^2) J,     J_ij = d f_i / d theta_j,

and every unbiased estimator has covariance >= I^-1 (Cramer-Rao). The square roots of diag(I^-1)
are the floors of the per-parameter standard errors; for a Gaussian error of sd s the expected
|error| is sqrt(2/pi) s (0.798 s) and the median |error| 0.674 s. In two dimensions (the D-E
plane) gaussian_distance_median gives the median Euclidean distance of a Gaussian error with
covariance C, the floor of a median distance to the truth.

The bound is local: it linearises f at theta, ignores the prior box, and is infinite where the
curve does not change to first order along some direction (for the D, E task on the lines E = 0
and E = +-D, where two of the six equivalents merge): CramerRao.singular says so. Near those
lines the curve depends on the distance to the line to second order only, so the linear bound
there is loose and an error measured to the nearest equivalent can fall below it.

curve_cramer_rao applies this to a powder curve chi_obs(T) = s_m chi(T; theta) + chi_dia with
sigma_i = noise_rel |chi_obs(T_i)| (or absolute sigma), the Jacobian of chi by central finite
differences with ligandml's physics (ligandml.powder_susceptibility) and the analytic columns
of the linear nuisances chi_dia (ones) and s_m (chi).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks

#: eigenvalues of the correlation-scaled Fisher matrix below this (relative to the largest) count
#: as zero: the parameter combination is not identified to first order (the bound is infinite)
SINGULAR_RTOL = 1e-9


def jacobian_fd(f, theta, rel_step: float = 1e-5, abs_step: float = 1e-5) -> np.ndarray:
    """Central-difference Jacobian (m, p) of a vector function f: R^p -> R^m at theta (p,).

    The step for parameter j is max(rel_step |theta_j|, abs_step) in theta's units; the result is
    in units of f per unit of theta_j. f must return a 1-D array of the same length at every point.
    """
    theta = np.asarray(theta, dtype=float).ravel()
    if theta.size == 0 or not np.all(np.isfinite(theta)):
        raise ValueError("theta must be a non-empty finite vector")
    if not (rel_step > 0 and abs_step > 0):
        raise ValueError(f"finite-difference steps must be > 0, got rel_step={rel_step}, abs_step={abs_step}")
    steps = np.maximum(rel_step * np.abs(theta), abs_step)
    cols = []
    for j, h in enumerate(steps):
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        cols.append((np.asarray(f(up), float).ravel() - np.asarray(f(down), float).ravel()) / (2 * h))
    return np.stack(cols, axis=1)


def fisher_information(jacobian, sigma) -> np.ndarray:
    """Fisher information (p, p) = J^T diag(1/sigma^2) J of independent Gaussian observations.

    jacobian: (m, p), d mean_i / d theta_j; sigma: (m,) or a scalar, the noise sd of each
    observation in the units of the observations. Units of I_jk: 1 / (unit theta_j unit theta_k).
    """
    J = np.asarray(jacobian, dtype=float)
    if J.ndim != 2:
        raise ValueError(f"jacobian must be (m, p), got shape {J.shape}")
    s = np.broadcast_to(np.asarray(sigma, dtype=float), (J.shape[0],))
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError("sigma must be finite and > 0 for every observation")
    Jw = J / s[:, None]
    return Jw.T @ Jw


@dataclass(frozen=True)
class CramerRao:
    """The Cramer-Rao bound at one parameter point.

    names: parameter names; theta: the point; fisher: I (p, p); covariance: I^-1 (p, p), inf in
    the rows and columns of parameters that touch an unidentified direction; sd: sqrt(diag(I^-1))
    in the parameters' units (inf where not identified); singular: whether some direction is
    unidentified to first order.
    """

    names: tuple
    theta: np.ndarray
    fisher: np.ndarray
    covariance: np.ndarray
    sd: np.ndarray
    singular: bool

    def as_dict(self) -> dict:
        """{name: sd floor} in the parameters' units."""
        return {n: float(s) for n, s in zip(self.names, self.sd)}

    def expected_abs_error(self) -> dict:
        """{name: sqrt(2/pi) sd}: the mean |error| of a Gaussian error at the bound."""
        return {n: float(np.sqrt(2 / np.pi) * s) for n, s in zip(self.names, self.sd)}

    def sub_covariance(self, names) -> np.ndarray:
        """The block of the bound's covariance for the given parameter names (e.g. ("D", "E"))."""
        idx = [self.names.index(n) for n in names]
        return self.covariance[np.ix_(idx, idx)]

    def median_distance(self, names=("D", "E"), scale: float = 1.0) -> float:
        """Median Euclidean distance of a Gaussian error with covariance scale * C[names] (one or
        two parameters): the floor of the median distance between an efficient estimate and the
        truth (scale 1), or between a posterior sample and the truth when the posterior is the
        Gaussian of the bound centred on such an estimate (scale 2). inf when not identified."""
        C = scale * self.sub_covariance(names)
        if not np.all(np.isfinite(C)):
            return float("inf")
        return gaussian_distance_median(C)


def covariance_bound(fisher) -> tuple[np.ndarray, bool]:
    """(I^-1, singular) for a symmetric Fisher matrix; parameters touching a direction whose
    eigenvalue (of the correlation-scaled matrix) is below SINGULAR_RTOL of the largest get inf
    rows and columns."""
    F = np.asarray(fisher, dtype=float)
    d = np.sqrt(np.clip(np.diag(F), 0, None))
    if np.any(d == 0):
        cov = np.full(F.shape, np.inf)
        return cov, True
    R = F / np.outer(d, d)
    lam, V = np.linalg.eigh(0.5 * (R + R.T))
    null = lam <= SINGULAR_RTOL * lam.max()
    cov = np.linalg.inv(R) / np.outer(d, d) if not null.any() else None
    if cov is None:
        keep = ~null
        cov = (V[:, keep] / lam[keep]) @ V[:, keep].T / np.outer(d, d)
        touched = np.any(np.abs(V[:, null]) > 1e-6, axis=1)
        cov[touched, :] = np.inf
        cov[:, touched] = np.inf
    return cov, bool(null.any())


def cramer_rao(f, theta, sigma, names=None, prior_sd=None, rel_step: float = 1e-5,
               abs_step: float = 1e-5) -> CramerRao:
    """Cramer-Rao bound of the parameters theta (p,) of a model with mean f(theta) (m,) and
    independent Gaussian noise of sd sigma ((m,) or scalar, in f's units).

    prior_sd: optional {name: sd} of Gaussian priors, added as 1/sd^2 to the Fisher diagonal
    (the Bayesian, Van Trees, bound); None gives the frequentist bound. The Jacobian is taken by
    central differences (jacobian_fd)."""
    theta = np.asarray(theta, dtype=float).ravel()
    names = tuple(f"theta{j}" for j in range(theta.size)) if names is None else tuple(names)
    if len(names) != theta.size:
        raise ValueError(f"{len(names)} names for {theta.size} parameters")
    J = jacobian_fd(f, theta, rel_step, abs_step)
    return _bound(fisher_information(J, sigma), theta, names, prior_sd)


def _bound(F, theta, names, prior_sd) -> CramerRao:
    F = F.copy()
    for n, s in (prior_sd or {}).items():
        if n not in names:
            raise ValueError(f"prior_sd names unknown parameter {n!r}; parameters: {names}")
        if not (np.isfinite(s) and s > 0):
            raise ValueError(f"prior sd of {n} must be finite and > 0, got {s!r}")
        F[names.index(n), names.index(n)] += 1.0 / s**2
    cov, singular = covariance_bound(F)
    sd = np.sqrt(np.where(np.isfinite(np.diag(cov)), np.clip(np.diag(cov), 0, None), np.inf))
    return CramerRao(names, theta, F, cov, sd, singular)


def curve_cramer_rao(T, params: dict, ion="Er3+", noise_rel: float | None = 0.01, sigma=None,
                     chi_dia: float = 0.0, s_m: float = 1.0, nuisance=("chi_dia",), field=None,
                     prior_sd=None, rel_step: float = 1e-5, abs_step: float = 1e-5,
                     backend: str | None = "numpy") -> CramerRao:
    """Cramer-Rao bound of a powder curve's parameters (and its free nuisances).

    T: temperatures [K]; params: {name: value} of the ligand-field parameters (e.g. {"D": -6,
    "E": 0.5} in kelvin); the curve is chi_obs = s_m chi(T; params) + chi_dia [emu/mol per ion]
    at `field` [T] (None: zero field). Noise: sd sigma_i = noise_rel |chi_obs(T_i)| (relative,
    0.01 = 1 %) or, when sigma is given, that absolute sd [emu/mol, scalar or per point].
    nuisance: the free linear nuisances among ("chi_dia", "s_m"), estimated jointly (their
    columns are analytic). prior_sd: optional {name: sd} (Van Trees bound). Returns a CramerRao
    with names = parameters then nuisances; sd in K (parameters), emu/mol (chi_dia), 1 (s_m).
    """
    from .sweeps import powder_susceptibility

    T = checks.finite_array(T, "T").astype(float).ravel()
    if T.size < 2 or np.any(T <= 0):
        raise ValueError("T must hold at least two positive temperatures [K]")
    if not params:
        raise ValueError("params is empty: give the parameters, e.g. {'D': -6.0, 'E': 0.5}")
    nuisance = tuple(nuisance)
    bad = [n for n in nuisance if n not in ("chi_dia", "s_m")]
    if bad:
        raise ValueError(f"unknown nuisance(s) {bad}; choose from ('chi_dia', 's_m')")
    names = tuple(params)
    x0 = np.array([float(params[n]) for n in names])

    def chi_of(x):
        return powder_susceptibility(ion, {n: np.array([v]) for n, v in zip(names, x)}, T,
                                     field=field, backend=backend)[0]

    chi0 = chi_of(x0)
    chi_obs = s_m * chi0 + chi_dia
    if sigma is None:
        if noise_rel is None or not (np.isfinite(noise_rel) and noise_rel > 0):
            raise ValueError(f"noise_rel must be > 0 (relative sd), got {noise_rel!r}; or give sigma=")
        sd = noise_rel * np.abs(chi_obs)
    else:
        sd = np.broadcast_to(checks.finite_array(sigma, "sigma").astype(float), T.shape)
    J_theta = s_m * jacobian_fd(chi_of, x0, rel_step, abs_step)
    cols = [J_theta]
    values = list(x0)
    for n in nuisance:
        cols.append((chi0 if n == "s_m" else np.ones_like(chi0))[:, None])
        values.append(s_m if n == "s_m" else chi_dia)
    J = np.concatenate(cols, axis=1)
    return _bound(fisher_information(J, sd), np.array(values), names + nuisance, prior_sd)


def gaussian_distance_median(cov) -> float:
    """Median of |e| for e ~ N(0, cov), cov a variance (scalar or 1x1) or a 2x2 covariance, in
    the units of e. 1-D: 0.6745 sd. 2-D isotropic: sd sqrt(2 ln 2) (the Rayleigh median);
    otherwise by one-dimensional quadrature of P(|e| <= r) in the eigenframe and bisection."""
    from scipy.integrate import quad
    from scipy.optimize import brentq
    from scipy.special import erf
    from scipy.stats import norm

    C = np.atleast_2d(np.asarray(cov, dtype=float))
    if C.shape not in ((1, 1), (2, 2)) or not np.all(np.isfinite(C)):
        raise ValueError(f"cov must be a finite variance or 2x2 covariance, got {np.shape(cov)}")
    lam = np.linalg.eigvalsh(0.5 * (C + C.T))
    if np.any(lam < -1e-12 * max(abs(lam).max(), 1e-300)):
        raise ValueError("cov must be positive semi-definite")
    lam = np.clip(lam, 0, None)
    if lam.max() == 0:
        return 0.0
    if C.shape == (1, 1) or lam[0] <= 1e-14 * lam[1]:
        return float(norm.ppf(0.75) * np.sqrt(lam.max()))
    l1, l2 = lam[1], lam[0]  # l1 >= l2 > 0

    def cdf(r):
        a = r / np.sqrt(l1)  # |z1| <= a
        g = lambda z: erf(np.sqrt(max(r * r - l1 * z * z, 0.0) / (2 * l2))) * norm.pdf(z)  # noqa: E731
        return 2 * quad(g, 0, a, limit=200)[0]

    hi = 3 * np.sqrt(l1 + l2)
    return float(brentq(lambda r: cdf(r) - 0.5, 0.0, hi, xtol=1e-12 * hi))
