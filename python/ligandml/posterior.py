"""Posterior samples of the parameters for one measured curve, with the views a chemist needs:
canonical sets, distinct solutions (clusters), distances to a truth, posterior-predictive curves,
plots, refinement.

SampleSet is the one interface of every sampled posterior: the network's Posterior (here) and the
exact GridPosterior (ligandml.grid_posterior) both are one, so comparisons, reports and plots
take either without adapting it.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field

import numpy as np
import pandas as pd

from .benchmark_task import DE_BOX, inside_box
from .clustering import equivalence_clusters, nearest_centre
from .error_model import chi_to_quantity
from .parameters import canonical_DE, equivalent_DE, nearest_equivalent_distance

#: the nuisance columns of a sample table (everything else is a ligand-field parameter)
NUISANCES = ("chi_dia", "s_m")
#: the D, E form (its views keep the published numbers; every other set goes the general way)
DE_NAMES = ["D", "E"]


#: more than this share of the samples outside the prior box is a failure of the model
PRIOR_BOX_MAX_OUTSIDE = 0.2


@dataclass(frozen=True)
class PriorBoxReport:
    """fraction_outside: share of the samples outside the prior box; failed: above the limit;
    message: one line."""

    fraction_outside: float
    failed: bool
    message: str


class SampleSet:
    """Samples of the parameters given one curve (or several observables), and the views shared
    by every posterior.

    A subclass provides: samples (DataFrame: the parameters [K], D, E or any Stevens names
    "B20", "B43", ...; chi_dia [emu/mol] and s_m when sampled), ion (Ion), T (temperatures [K]),
    chi_input (the input curve per ion on T [emu/mol]), field (None for zero field, else tesla)
    and box (the prior box {name: (lo, hi)} [K]). A multi-observable posterior also has
    observables (the model's observable index, see ligandml.model_observables): then T holds
    every observable's grid concatenated (K for chi, T for M) and chi_input the measured curves
    on them (chi [emu/mol], M [muB/ion]).

    The D, E form has its own views (six equivalents, D-E plane); any other parameter list gets
    the N-dimensional ones: folding by ligandml.folding, clusters standardised by the prior box
    width, distances in box widths.
    """

    samples: pd.DataFrame
    box: dict = DE_BOX
    #: None, or the observable index {name: {kind, direction, grid, ..., start, stop}} (see
    #: ligandml.model_observables) of a multi-observable posterior
    observable_index = None

    @property
    def observables(self):
        """None (one powder chi(T)), or the observables as a tuple of observable dicts (name,
        kind, direction, grid, field | temperature; ligandml.dataset.observables), in column order."""
        if not self.observable_index:
            return None
        from .model_observables import observable_names
        keys = ("name", "kind", "direction", "grid", "field", "temperature")
        return tuple({k: self.observable_index[n][k] for k in keys if k in self.observable_index[n]}
                     for n in observable_names(self.observable_index))

    @property
    def observed(self):
        """None, or {observable name: the measured curve on its grid} in physical units (chi
        [emu/mol per ion], M [muB per ion])."""
        if not self.observable_index:
            return None
        from .model_observables import split_row
        return split_row(np.asarray(self.chi_input, float), self.observable_index)

    # -- what the samples are ------------------------------------------------------------------
    @property
    def parameter_names(self) -> list[str]:
        """The ligand-field parameter columns of samples (every column but chi_dia, s_m)."""
        return [c for c in self.samples.columns if c not in NUISANCES]

    @property
    def is_DE(self) -> bool:
        """True for the D, E form (the views of the D, E benchmark task)."""
        return self.parameter_names == DE_NAMES

    def box_widths(self) -> np.ndarray:
        """Width [K] of the prior box of each parameter (parameter_names order); the samples'
        5-95 % range where the box does not name a parameter."""
        box = self.box
        out = []
        for n in self.parameter_names:
            if n in box:
                out.append(float(box[n][1]) - float(box[n][0]))
            else:
                lo, hi = np.percentile(self.samples[n].to_numpy(float), [5, 95])
                out.append(max(hi - lo, 1e-300))
        return np.array(out)

    def equivalents(self, values) -> np.ndarray:
        """Every set equivalent to `values` (a dict or a sequence in parameter_names order) for
        this posterior's observables: (n_equivalents, P), the set first (ligandml.folding; the six
        of equivalent_DE for D, E)."""
        from .folding import equivalent_sets
        x = self._as_vector(values)
        if self.is_DE:
            return equivalent_DE(*x)
        return equivalent_sets(x, self.parameter_names, self.observable_index)

    def _as_vector(self, values) -> np.ndarray:
        names = self.parameter_names
        if isinstance(values, dict) or isinstance(values, pd.Series):
            missing = [n for n in names if n not in values]
            if missing:
                raise ValueError(f"the reference set lacks {missing} (the posterior has {names})")
            return np.array([float(values[n]) for n in names])
        x = np.asarray(values, float).ravel()
        if x.size < len(names):
            raise ValueError(f"the reference set has {x.size} values; the posterior has {names}")
        return x[:len(names)]

    @property
    def curve(self) -> np.ndarray:
        """The input curve per ion on T [emu/mol] (same as chi_input)."""
        return self.chi_input

    # -- views --------------------------------------------------------------------------------
    def canonical(self) -> pd.DataFrame:
        """Samples with every set mapped to its canonical equivalent; other columns kept.

        D, E: 0 <= E <= |D|/3. Stevens names: the canonical member under the rotations that keep
        this posterior's observables (ligandml.folding: B43 >= 0 for D3d, the D, E rule for
        B20, B22 powder data); samples with no other equivalent are unchanged. Idempotent, and
        every folded set gives the same observables as the sample it came from."""
        out = self.samples.copy()
        if self.is_DE:
            out["D"], out["E"] = canonical_DE(out["D"].to_numpy(), out["E"].to_numpy())
            return out
        from .folding import fold
        names = self.parameter_names
        out[names] = fold(out[names].to_numpy(float), names, self.observable_index)
        return out

    def folded(self, fold: bool = True) -> pd.DataFrame:
        """canonical() when fold, else the samples as drawn."""
        return self.canonical() if fold else self.samples

    def median(self) -> pd.Series:
        """Per-column median of the canonical samples (D, E [K], nuisances)."""
        return self.canonical().median()

    def point_estimate(self) -> dict:
        """One canonical parameter set: D, E [K] and chi_dia [emu/mol] (NaN when not sampled).
        Here the canonical median; a subclass may choose better (e.g. the highest mode)."""
        med = self.median()
        if not self.is_DE:
            out = {n: float(med[n]) for n in self.parameter_names}
            out["chi_dia"] = float(med["chi_dia"]) if "chi_dia" in med else np.nan
            return out
        return {"D": float(med["D"]), "E": float(med["E"]),
                "chi_dia": float(med["chi_dia"]) if "chi_dia" in med else np.nan}

    def clusters(self, merge_distance: float = 0.5, min_weight: float = 0.01) -> pd.DataFrame:
        """Distinct solutions in the D-E plane with their weights.

        Seeds six centres at the equivalents of the canonical median, assigns every sample to its
        nearest centre, moves centres to their members' medians (3 rounds), merges centres closer
        than merge_distance [K] and drops those holding < min_weight of the samples. Returns a
        DataFrame sorted by weight: D, E (cluster medians, K), weight, n, D_std, E_std [K] and the
        medians of the nuisance columns.
        """
        if not self.is_DE:
            return self.clusters_nd(min_weight=min_weight)
        DE = self.samples[["D", "E"]].to_numpy()
        med = self.median()
        centres, label = equivalence_clusters(DE, med["D"], med["E"], merge_distance)
        rows = []
        for k in range(len(centres)):
            members = self.samples[label == k]
            if len(members) == 0 or len(members) / len(DE) < min_weight:
                continue
            row = {"D": float(members["D"].median()), "E": float(members["E"].median()),
                   "weight": len(members) / len(DE), "n": len(members),
                   "D_std": float(members["D"].std(ddof=0)), "E_std": float(members["E"].std(ddof=0))}
            for c in self.samples.columns:
                if c not in ("D", "E"):
                    row[c] = float(members[c].median())
            rows.append(row)
        return pd.DataFrame(rows).sort_values("weight", ascending=False, ignore_index=True)

    def clusters_nd(self, radius: float = 0.1, min_weight: float = 0.01, fold: bool = False,
                    max_clusters: int = 50) -> pd.DataFrame:
        """Distinct solutions in N dimensions: leader clustering (ligandml.clustering) of the
        samples standardised by the prior box width of each parameter (radius in box widths),
        each sample then assigned to its nearest centre. fold: cluster the canonical samples
        (one cluster per class of equivalents) instead of the samples as drawn. Returns a
        DataFrame sorted by weight: the members' median of every column [K, emu/mol], weight, n
        and <name>_std [K] per parameter; clusters below min_weight are dropped."""
        from .clustering import cluster_samples
        names = self.parameter_names
        table = self.folded(fold)
        w = self.box_widths()
        Z = table[names].to_numpy(float) / w
        centres, _ = cluster_samples(Z, radius, max_clusters, min_weight, seed=0)
        if len(centres) == 0:
            centres = np.median(Z, axis=0, keepdims=True)
        label = nearest_centre(Z, centres)
        rows = []
        for k in range(len(centres)):
            members = table[label == k]
            if len(members) == 0 or len(members) / len(Z) < min_weight:
                continue
            row = {c: float(members[c].median()) for c in table.columns}
            row.update(weight=len(members) / len(Z), n=len(members))
            row.update({f"{n}_std": float(members[n].std(ddof=0)) for n in names})
            rows.append(row)
        return pd.DataFrame(rows).sort_values("weight", ascending=False, ignore_index=True)

    def nearest_distance(self, D_true, E_true: float | None = None) -> np.ndarray:
        """Per-sample distance to the nearest equivalent of the truth. D, E: (D_true, E_true),
        distance [K] in the D-E plane. Any other parameters: the truth as a dict (or a sequence
        in parameter_names order), distance in prior-box widths (each parameter divided by its
        box width), to the nearest equivalent (ligandml.folding)."""
        if self.is_DE and E_true is not None:
            return nearest_equivalent_distance(self.samples["D"].to_numpy(), self.samples["E"].to_numpy(),
                                               D_true, E_true)
        eq = self.equivalents(D_true if E_true is None else (D_true, E_true))
        if self.is_DE:
            return nearest_equivalent_distance(self.samples["D"].to_numpy(), self.samples["E"].to_numpy(),
                                               *eq[0])
        w = self.box_widths()
        X = self.samples[self.parameter_names].to_numpy(float) / w
        return np.sqrt((((X[:, None, :] - (eq / w)[None]) ** 2).sum(-1))).min(axis=1)

    def equivalent_fractions(self, D_true, E_true: float | None = None) -> np.ndarray:
        """Fraction of samples nearest to each equivalent of the truth: the six of (D_true,
        E_true) for D, E (shape (6,)); for other parameters, those of the truth dict (or
        sequence) under ligandml.folding, nearest in prior-box widths."""
        if self.is_DE and E_true is not None:
            DE = self.samples[["D", "E"]].to_numpy()
            label = nearest_centre(DE, equivalent_DE(D_true, E_true))
            return np.bincount(label, minlength=6) / len(DE)
        eq = self.equivalents(D_true if E_true is None else (D_true, E_true))
        w = self.box_widths() if not self.is_DE else np.ones(2)
        X = self.samples[self.parameter_names].to_numpy(float) / w
        label = nearest_centre(X, eq / w)
        return np.bincount(label, minlength=len(eq)) / len(X)

    def posterior_predictive(self, n: int = 100, seed=0, quantity: str = "chi",
                             backend: str | None = None) -> np.ndarray:
        """Curves (n, len(T)) [emu/mol per ion; emu K/mol if quantity="chiT"] computed with the physics
        (powder_susceptibility + apply_experimental_errors) for n random samples. backend: see
        julia_import.torch_safe_backend (torch is loaded here: NumPy unless Julia came first)."""
        from .error_model import apply_experimental_errors
        from .julia_import import torch_safe_backend
        from .sweeps import powder_susceptibility
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        rng = np.random.default_rng(seed)
        pick = self.samples.iloc[rng.choice(len(self.samples), size=min(n, len(self.samples)), replace=False)]
        pars = {c: pick[c].to_numpy() for c in pick.columns if c not in ("chi_dia", "s_m")}
        if self.observable_index:
            return self._simulate(pick, quantity, backend)
        backend = torch_safe_backend(backend)
        chi = chi_to_quantity(powder_susceptibility(self.ion, pars, self.T, field=self.field, backend=backend),
                              self.T, quantity)
        chi_dia = pick["chi_dia"].to_numpy() if "chi_dia" in pick else 0.0
        s_m = np.clip(pick["s_m"].to_numpy(), 1e-3, None) if "s_m" in pick else 1.0
        return apply_experimental_errors(chi, self.T, chi_dia=chi_dia, s_m=s_m, quantity=quantity)

    def _simulate(self, table: pd.DataFrame, quantity: str = "chi", backend: str | None = None) -> np.ndarray:
        """Every observable for the rows of `table` (parameters [K], chi_dia, s_m), concatenated
        on T: chi in `quantity` units (emu/mol or emu K/mol), M [muB/ion]."""
        from .model_observables import simulate_observables
        pars = {c: table[c].to_numpy(float) for c in self.parameter_names}
        chi_dia = table["chi_dia"].to_numpy(float) if "chi_dia" in table else 0.0
        s_m = np.clip(table["s_m"].to_numpy(float), 1e-3, None) if "s_m" in table else 1.0
        out = simulate_observables(self.ion, pars, self.observable_index, chi_dia, s_m,
                                   self.point_group, backend)
        if quantity != "chi":
            for o in self.observable_index.values():
                if o["kind"] == "chi":
                    sl = slice(o["start"], o["stop"])
                    out[:, sl] = chi_to_quantity(out[:, sl], np.asarray(o["grid"]), quantity)
        return out

    @property
    def point_group(self) -> str | None:
        """The point group of the sampled parameters, when recorded (finite-field sums use it)."""
        return None

    def prior_box_report(self, max_outside: float = PRIOR_BOX_MAX_OUTSIDE) -> "PriorBoxReport":
        """How much posterior mass lies outside the prior (training) box of D, E [K].

        A sample counts as outside when (D, E) is outside `box`. More than max_outside of the
        samples outside is a failure of the model for this curve (the curve is not one the model
        was trained on: another ion or site symmetry, a D beyond the box, wrong units)."""
        if not self.is_DE:
            return self._prior_box_report_nd(max_outside)
        D, E = self.samples["D"].to_numpy(float), self.samples["E"].to_numpy(float)
        box = self.box
        out = ~inside_box(D, E, box)
        frac = float(out.mean()) if out.size else 0.0
        failed = frac > max_outside
        med = self.median()
        where = (f"{frac:.0%} of the posterior mass lies outside the prior box D in "
                 f"[{box['D'][0]:g}, {box['D'][1]:g}] K, E in [{box['E'][0]:.4g}, {box['E'][1]:.4g}] K "
                 f"(canonical median D = {med['D']:.3g} K, E = {med['E']:.3g} K)")
        message = (f"the model fails for this curve: {where}; the curve is not one it was trained on "
                   "(another ion or site, |D| beyond the box, or wrong units)" if failed else where)
        return PriorBoxReport(fraction_outside=frac, failed=failed, message=message)

    def _prior_box_report_nd(self, max_outside: float) -> "PriorBoxReport":
        names, box = self.parameter_names, self.box
        X = self.samples[names].to_numpy(float)
        lo = np.array([box[n][0] if n in box else -np.inf for n in names])
        hi = np.array([box[n][1] if n in box else np.inf for n in names])
        outside = np.any((X < lo) | (X > hi), axis=1)
        frac = float(outside.mean()) if outside.size else 0.0
        failed = frac > max_outside
        worst = names[int(np.argmax(((X < lo) | (X > hi)).mean(axis=0)))] if outside.any() else None
        where = (f"{frac:.0%} of the posterior mass lies outside the prior box of {', '.join(names)}"
                 + (f" (most often {worst}: box [{box[worst][0]:.4g}, {box[worst][1]:.4g}] K)" if worst else ""))
        message = (f"the model fails for this curve: {where}; the data are not like those it was "
                   "trained on (another ion or site, parameters beyond the box, or wrong units)"
                   if failed else where)
        return PriorBoxReport(fraction_outside=frac, failed=failed, message=message)

    def misfit(self, noise_rel: float = 0.01, backend: str | None = None):
        """How well the point estimate describes the input curve: ligandml.plausibility.misfit of
        the curve computed at the canonical median (D, E [K], chi_dia [emu/mol], s_m) against
        chi_input [emu/mol per ion], at relative noise noise_rel. Its .describes is False and its
        message says "the model does not describe this curve" with the worst temperatures when
        the reduced chi^2 is far above 1."""
        from .error_model import apply_experimental_errors
        from .julia_import import torch_safe_backend
        from .plausibility import misfit
        from .sweeps import powder_susceptibility

        med = self.median()
        if self.observable_index:
            return self._misfit_observables(med, noise_rel, backend)
        pars = {c: np.array([float(med[c])]) for c in self.samples.columns if c not in ("chi_dia", "s_m")}
        chi = powder_susceptibility(self.ion, pars, self.T, field=self.field,
                                    backend=torch_safe_backend(backend))
        fitted = apply_experimental_errors(chi, self.T, chi_dia=float(med.get("chi_dia", 0.0)),
                                           s_m=float(med.get("s_m", 1.0)))[0]
        return misfit(self.T, self.chi_input, fitted, noise_rel=noise_rel,
                      n_params=len(self.samples.columns))

    def _misfit_observables(self, med: pd.Series, noise_rel: float, backend):
        """misfit over every observable at once: the reduced chi^2 of the canonical median's
        curves against chi_input at relative noise noise_rel, the worst points named with their
        observable."""
        from .model_observables import observable_names
        from .plausibility import Misfit
        fitted = self._simulate(med.to_frame().T, "chi", backend)[0]
        obs = np.asarray(self.chi_input, float)
        sd = noise_rel * np.abs(obs)
        sd = np.where(sd > 0, sd, noise_rel * np.abs(obs).max())
        r = (obs - fitted) / sd
        dof = max(r.size - len(self.samples.columns), 1)
        chi2_red = float(np.sum(r ** 2) / dof)
        describes = chi2_red <= 1.0 + 3.0 * np.sqrt(2.0 / dof)
        where = []
        for name in observable_names(self.observable_index):
            o = self.observable_index[name]
            where += [(name, o["grid"][i - o["start"]], o["grid_unit"]) for i in range(o["start"], o["stop"])]
        worst = np.argsort(-np.abs(r))[:3]
        named = ", ".join(f"{where[i][0]} at {where[i][1]:.3g} {where[i][2]} ({r[i]:+.1f} sigma)" for i in worst)
        head = "the model describes these curves" if describes else "the model does not describe these curves"
        return Misfit(chi2_red=chi2_red, dof=dof, worst_T=tuple(float(self.T[i]) for i in worst),
                      worst_residuals=tuple(float(r[i]) for i in worst), describes=describes,
                      message=f"{head}: reduced chi^2 = {chi2_red:.3g} over {dof} degrees of freedom; "
                              f"worst at {named}")

    def refine(self, **kwargs):
        """Least-squares refinement of the posterior's solutions (ligandml.fitting.refine_posterior):
        D, E on one powder curve as before; any parameter list over several observables (it reads
        .samples, .observables, .observed, .ion, .box). Returns a FitResult."""
        from .fitting import refine_posterior
        return refine_posterior(self, **kwargs)

    def laplace(self, **kwargs):
        """This multi-observable posterior sharpened to the exact likelihood: least squares from
        its clusters and a Gaussian (Laplace) mixture at the minima, weighted by evidence
        (ligandml.laplace.laplace_posterior; keywords as there). Returns a LaplacePosterior."""
        from .laplace import laplace_posterior
        return laplace_posterior(self, **kwargs)

    def reference_set(self) -> tuple[np.ndarray, pd.DataFrame]:
        """(latents, parameters) of training curves for the "VAE plot"; empty when there are none."""
        return np.zeros((0, 0)), pd.DataFrame(columns=["D", "E"])


@dataclass
class Posterior(SampleSet):
    """A network's samples of the parameters given one curve.

    samples: DataFrame (D, E [K]; chi_dia [emu/mol] and s_m when the model has them);
    latent: the curve's standardised latent point; T: the model grid [K]; chi_input: the input
    curve per ion on T [emu/mol] (quantity chi); ion: Ion; field: None (zero field) or tesla;
    model: the InverseModel that drew them; info: preprocessing notes (overlap, ood_excess, kind).
    """
    samples: pd.DataFrame
    latent: np.ndarray
    T: np.ndarray
    chi_input: np.ndarray
    ion: object
    field: float | None = None
    model: object = None
    info: dict = dc_field(default_factory=dict)
    observable_index: dict | None = None

    @property
    def box(self) -> dict:
        """The sampling box of the model's training data {name: (lo, hi)} [K] (D, E: DE_BOX when
        not recorded)."""
        rng = (getattr(self.model, "dataset_config", None) or {}).get("params", {})
        if not self.is_DE:
            return {n: tuple(rng[n]) for n in self.parameter_names if isinstance(rng, dict) and n in rng}
        return {n: tuple(rng.get(n, DE_BOX[n])) for n in ("D", "E")} if isinstance(rng, dict) else DE_BOX

    @property
    def point_group(self) -> str | None:
        """The point group of the model's training parameters (dataset configuration), or None."""
        return (getattr(self.model, "dataset_config", None) or {}).get("point_group")

    def reference_set(self) -> tuple[np.ndarray, pd.DataFrame]:
        """(latents, parameters) of the model's stored training-curve subsample (VAE plot)."""
        if self.model is None:
            return super().reference_set()
        return self.model.reference_set()

    def plot(self, truth=None, path=None, n_predictive: int = 200, title: str | None = None,
             fold: bool = False):
        """D, E: three panels: VAE plot, VAE-INN plot, input curve with posterior-predictive band;
        truth: optional (D, E) whose six equivalents are drawn as crosses. Other parameters: a
        corner plot (the `corner` package) of the samples (canonical ones with fold=True) with
        the truth or published set (a dict, or a sequence in parameter order) marked, and one
        posterior-predictive panel per observable (plots.corner_figure). Saves to path if given."""
        from .plots import corner_figure, posterior_figure
        if not self.is_DE:
            return corner_figure(self, truth=truth, path=path, n_predictive=n_predictive, title=title,
                                 fold=fold)
        return posterior_figure(self, truth=truth, path=path, n_predictive=n_predictive, title=title)
