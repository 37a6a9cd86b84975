"""The likelihood of a powder curve: the curve model with its linear nuisances, and the
measurement sd. Shared by the least-squares fits (ligandml.fitting) and the exact grid posterior
(ligandml.grid_posterior).

The model of an observed curve (per magnetic ion, emu/mol) is

    chi_obs(T) = s_m * chi(T; theta) + chi_dia + e,   e_i ~ N(0, sigma_i^2),

theta the ligand-field parameters (D, E in kelvin by default), chi from
ligandml.powder_susceptibility. chi_dia [emu/mol] and s_m (dimensionless) enter linearly, so for
each theta their best values follow in closed form (variable projection, Golub & Pereyra 1973);
a Gaussian prior on them adds ridge rows, and the projected cost is then the exact Gaussian
marginal exponent. Residuals are weighted by 1/sigma_i.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field

import numpy as np

from . import checks
from .error_model import quantity_to_chi
from .parameters import parse_parameter_name
from .sweeps import powder_susceptibility

#: nuisances that enter the curve linearly: chi_dia (offset, emu/mol) and s_m (scale, 1)
NUISANCES = ("chi_dia", "s_m")
#: prior means of the nuisances (no diamagnetic residue, no mass error)
NUISANCE_MEAN = {"chi_dia": 0.0, "s_m": 1.0}


def check_names(params, nuisance) -> tuple[tuple, tuple]:
    """Validated (parameter names, free nuisance names); ValueError for unknown or repeated ones."""
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


def measurement_sd(chi: np.ndarray, T: np.ndarray, sigma=None, quantity: str = "chi",
                   ions_per_formula: float = 1.0, noise_rel: float | None = None) -> np.ndarray:
    """Per-point measurement sd [emu/mol per ion] of a per-ion curve chi(T) [emu/mol], T [K].

    sigma: absolute sd in the units of the measured curve (emu/mol or emu K/mol per formula
    unit, per `quantity`), converted here to chi per ion. Without sigma the sd is relative:
    noise_rel |chi| (noise_rel None: |chi|, i.e. relative residuals).
    """
    if sigma is None:
        if noise_rel is None:
            if np.any(chi == 0):
                raise ValueError("relative weights need chi != 0 everywhere; pass sigma= (absolute)")
            return np.abs(chi)
        if not (np.isfinite(noise_rel) and noise_rel > 0):
            raise ValueError(f"noise_rel must be > 0 (relative sd), got {noise_rel!r}; or give sigma=")
        sd = float(noise_rel) * np.abs(chi)
        if np.any(sd == 0):
            raise ValueError("relative noise needs chi != 0 everywhere; give sigma= (absolute)")
        return sd
    s = np.broadcast_to(checks.finite_array(sigma, "sigma"), T.shape).astype(float)
    if np.any(s <= 0):
        raise ValueError("sigma must be > 0 everywhere")
    return quantity_to_chi(s / float(ions_per_formula), T, quantity)


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
    scale: np.ndarray | float = 1.0  # per-parameter scale [K] of the finite-difference steps

    def __post_init__(self):
        self.w = 1.0 / self.sigma
        self.offset = self.offset_column()
        self.free_scale = "s_m" in self.nuisance
        self.free_offset = "chi_dia" in self.nuisance
        lam, mu = [], []
        for n in self.linear_names:
            sd = self.prior_sd.get(n)
            lam.append(0.0 if sd is None or not np.isfinite(sd) else 1.0 / sd**2)
            mu.append(NUISANCE_MEAN[n])
        self.prior_precision = np.array(lam)
        self.prior_mean = np.array(mu)

    def offset_column(self) -> np.ndarray:
        """How chi_dia = 1 emu/mol enters each point: 1 for chi(T) (emu/mol per emu/mol)."""
        return np.ones_like(np.asarray(self.y, float))

    @property
    def n_points(self) -> int:
        """Number of measured points (all observables together)."""
        return int(np.size(self.y))

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
            cols.append(np.broadcast_to(self.offset, F.shape))
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
        steps = rel_step * np.maximum(np.abs(X), self.scale)
        Xs = np.repeat(X[:, None, :], p, axis=1)
        idx = np.arange(p)
        Xs[:, idx, idx] += steps
        rs = self.residuals(Xs.reshape(S * p, p)).reshape(S, p, -1)
        return np.swapaxes((rs - r[:, None, :]) / steps[:, :, None], 1, 2)

    def full_jacobian(self, x: np.ndarray, coef: np.ndarray, rel_step: float = 1e-5) -> np.ndarray:
        """Jacobian (nT, p + k) of the unprojected weighted residuals at (theta, nuisances):
        central differences for theta, analytic columns for the linear nuisances."""
        p = x.size
        steps = rel_step * np.maximum(np.abs(x), self.scale)
        Xs = np.concatenate([x + np.diag(steps), x - np.diag(steps)])
        F = self.curves(Xs)
        scale = coef[self.linear_names.index("s_m")] if self.free_scale else 1.0
        dF = (F[:p] - F[p:]) / (2 * steps[:, None])  # (p, nT)
        cols = [self.w * scale * dF[j] for j in range(p)]
        F0 = self.curves(x[None])[0]
        for n in self.linear_names:
            cols.append(self.w * (F0 if n == "s_m" else self.offset))
        return np.stack(cols, axis=1)

    def log_marginal_from_curves(self, F: np.ndarray) -> np.ndarray:
        """log p(data | theta) up to a theta-independent constant, nuisances integrated out
        exactly (Gaussian linear model): -c(theta) - 1/2 log det G(theta), with c the projected
        ridge-augmented cost and G the nuisances' posterior precision. F: curves (S, n). A
        flat (infinite-width) free nuisance contributes its log det term only (an improper
        prior: constant factors dropped). Returns (S,)."""
        r, _ = self.residuals_from_curves(F, with_prior=True)
        out = -0.5 * np.sum(r**2, axis=1)
        if self.linear_names:
            _, G, _, _ = self.project(F)
            out = out - 0.5 * np.linalg.slogdet(G)[1]
        return np.where(np.isfinite(out), out, -np.inf)


#: the prior widths of the nuisances in the er-d3d task (DESIGN.md): chi_dia [emu/mol], s_m
ER_D3D_NUISANCE_SD = {"chi_dia": 0.002, "s_m": 0.02}


@dataclass
class ObservablesModel(CurveModel):
    """Weighted residuals of several observables of one sample (dataset.observables dicts)
    against s_m f(theta) + chi_dia d, with one chi_dia [emu/mol] and one s_m shared by all of
    them: d = 1 on chi(T) points and d = H / (N_A muB) = B 1e4 / 5585 on M(H) points (M in muB
    per ion). The data y, sd sigma and the column grid T are the observables' grids
    concatenated in order (T holds kelvin for chi columns and tesla for M columns).
    Build it with observables_model(). scale: per-parameter scale [K] of finite-difference
    steps (e.g. the prior box half-widths), needed when parameters differ by orders of magnitude.
    """

    observables: tuple = ()
    lebedev_order: int | None = None

    def offset_column(self) -> np.ndarray:
        from .dataset.observables import diamagnetic_moment

        cols = [np.ones(len(o["grid"])) if o["kind"] == "chi"
                else diamagnetic_moment(1.0, np.asarray(o["grid"], float)) for o in self.observables]
        return np.concatenate(cols)

    def curves(self, X: np.ndarray) -> np.ndarray:
        """The clean observables (S, n) for each row of X (S, p) [K]: chi [emu/mol] and M [muB
        per ion] concatenated in observable order, one batched sweep per observable."""
        from .dataset.observables import clean_curves

        X = np.atleast_2d(np.asarray(X, float))
        self.n_curve_evals += X.shape[0]
        params = {n: X[:, j] for j, n in enumerate(self.names)}
        return np.concatenate([clean_curves(o, self.ion, params, "K", self.backend,
                                            self.lebedev_order, None) for o in self.observables],
                              axis=1)

    def split(self, values: np.ndarray) -> dict:
        """{observable name: the columns of `values` (..., n) that belong to it}."""
        out, start = {}, 0
        for o in self.observables:
            stop = start + len(o["grid"])
            out[o["name"]] = values[..., start:stop]
            start = stop
        return out


def observed_vector(observables, observed) -> np.ndarray:
    """The measured values in observable order, concatenated: observed is a dict {name: array
    on that observable's grid} or an already concatenated 1-D array. ValueError on a missing
    name, a wrong length or a non-finite value."""
    n_total = sum(len(o["grid"]) for o in observables)
    if isinstance(observed, dict):
        parts = []
        for o in observables:
            if o["name"] not in observed:
                raise ValueError(f"no measured values for observable {o['name']!r}; "
                                 f"given: {sorted(observed)}")
            v = np.asarray(observed[o["name"]], float).ravel()
            if v.size != len(o["grid"]):
                raise ValueError(f"observable {o['name']!r} has {len(o['grid'])} grid points "
                                 f"but {v.size} measured values")
            parts.append(v)
        y = np.concatenate(parts)
    else:
        y = np.asarray(observed, float).ravel()
        if y.size != n_total:
            raise ValueError(f"observed has {y.size} values; the observables hold {n_total} points")
    if not np.all(np.isfinite(y)):
        raise ValueError("observed values must be finite (NaN or inf found)")
    return y


def observables_sd(observables, y: np.ndarray, noise_rel) -> np.ndarray:
    """Per-point sd of concatenated data y: noise_rel[name] |y| (relative noise per
    observable; a float applies to all). ValueError for a level <= 0 or a zero data point."""
    levels = []
    for o in observables:
        lv = noise_rel.get(o["name"]) if isinstance(noise_rel, dict) else noise_rel
        if lv is None or not (np.isfinite(float(lv)) and float(lv) > 0):
            raise ValueError(f"noise level of observable {o['name']!r} must be > 0 (relative sd), "
                             f"got {lv!r}")
        levels.append(np.full(len(o["grid"]), float(lv)))
    sd = np.concatenate(levels) * np.abs(y)
    if np.any(sd == 0):
        raise ValueError("relative noise needs every measured value != 0")
    return sd


def observables_model(ion, observables, observed, names, noise_rel=0.01,
                      nuisance=("chi_dia", "s_m"), prior_sd=None, scale=1.0,
                      backend: str | None = None) -> ObservablesModel:
    """The likelihood of measured observables for the ligand-field parameters `names` [K].

    ion: Ion or name. observables: list of observable dicts (dataset.observables). observed:
    {name: values} or the concatenated values (chi [emu/mol per ion], M [muB per ion]).
    noise_rel: relative measurement sd per observable (dict name -> level) or one level for
    all (0.01 = 1 %). nuisance: the free linear nuisances among ("chi_dia", "s_m"), shared by
    every observable. prior_sd: Gaussian prior widths {name: sd} of the nuisances (None: flat;
    ER_D3D_NUISANCE_SD gives the task's chi_dia 0.002 emu/mol, s_m 0.02). scale: per-parameter
    finite-difference scale [K] (a scalar or one per name). backend: as ligandml.sweeps.
    """
    from .dataset.observables import check_observables
    from .sweeps import as_ion

    observables = check_observables(observables)
    names, nuisance = check_names(names, nuisance)
    y = observed_vector(observables, observed)
    sd = observables_sd(observables, y, noise_rel)
    grid = np.concatenate([np.asarray(o["grid"], float) for o in observables])
    scale = np.broadcast_to(np.asarray(scale, float), (len(names),)).copy() if np.ndim(scale) else float(scale)
    return ObservablesModel(as_ion(ion), grid, y, sd, names, nuisance, dict(prior_sd or {}),
                            backend=backend, scale=scale, observables=observables)
