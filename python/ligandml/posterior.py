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
    """Samples of the parameters given one curve, and the views shared by every posterior.

    A subclass provides: samples (DataFrame: D, E [K]; chi_dia [emu/mol] and s_m when sampled),
    ion (Ion), T (temperatures [K]), chi_input (the input curve per ion on T [emu/mol]), field
    (None for zero field, else tesla) and box (the D, E prior box {name: (lo, hi)} [K]).
    """

    samples: pd.DataFrame
    box: dict = DE_BOX

    @property
    def curve(self) -> np.ndarray:
        """The input curve per ion on T [emu/mol] (same as chi_input)."""
        return self.chi_input

    # -- views --------------------------------------------------------------------------------
    def canonical(self) -> pd.DataFrame:
        """Samples with (D, E) mapped to the canonical equivalent (0 <= E <= |D|/3); other columns kept."""
        out = self.samples.copy()
        out["D"], out["E"] = canonical_DE(out["D"].to_numpy(), out["E"].to_numpy())
        return out

    def median(self) -> pd.Series:
        """Per-column median of the canonical samples (D, E [K], nuisances)."""
        return self.canonical().median()

    def point_estimate(self) -> dict:
        """One canonical parameter set: D, E [K] and chi_dia [emu/mol] (NaN when not sampled).
        Here the canonical median; a subclass may choose better (e.g. the highest mode)."""
        med = self.median()
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

    def nearest_distance(self, D_true: float, E_true: float) -> np.ndarray:
        """Per-sample distance [K] in the D-E plane to the nearest equivalent of (D_true, E_true)."""
        return nearest_equivalent_distance(self.samples["D"].to_numpy(), self.samples["E"].to_numpy(),
                                           D_true, E_true)

    def equivalent_fractions(self, D_true: float, E_true: float) -> np.ndarray:
        """Fraction of samples nearest to each of the six equivalents of (D_true, E_true), shape (6,)."""
        DE = self.samples[["D", "E"]].to_numpy()
        label = nearest_centre(DE, equivalent_DE(D_true, E_true))
        return np.bincount(label, minlength=6) / len(DE)

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
        backend = torch_safe_backend(backend)
        chi = chi_to_quantity(powder_susceptibility(self.ion, pars, self.T, field=self.field, backend=backend),
                              self.T, quantity)
        chi_dia = pick["chi_dia"].to_numpy() if "chi_dia" in pick else 0.0
        s_m = np.clip(pick["s_m"].to_numpy(), 1e-3, None) if "s_m" in pick else 1.0
        return apply_experimental_errors(chi, self.T, chi_dia=chi_dia, s_m=s_m, quantity=quantity)

    def prior_box_report(self, max_outside: float = PRIOR_BOX_MAX_OUTSIDE) -> "PriorBoxReport":
        """How much posterior mass lies outside the prior (training) box of D, E [K].

        A sample counts as outside when (D, E) is outside `box`. More than max_outside of the
        samples outside is a failure of the model for this curve (the curve is not one the model
        was trained on: another ion or site symmetry, a D beyond the box, wrong units)."""
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
        pars = {c: np.array([float(med[c])]) for c in self.samples.columns if c not in ("chi_dia", "s_m")}
        chi = powder_susceptibility(self.ion, pars, self.T, field=self.field,
                                    backend=torch_safe_backend(backend))
        fitted = apply_experimental_errors(chi, self.T, chi_dia=float(med.get("chi_dia", 0.0)),
                                           s_m=float(med.get("s_m", 1.0)))[0]
        return misfit(self.T, self.chi_input, fitted, noise_rel=noise_rel,
                      n_params=len(self.samples.columns))

    def refine(self, **kwargs):
        """Least-squares refinement of the posterior's solutions (ligandml.fitting.refine_posterior)."""
        from .fitting import refine_posterior
        return refine_posterior(self, **kwargs)

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
    observables: dict | None = None

    @property
    def box(self) -> dict:
        """The D, E sampling box of the model's training data [K] (DE_BOX when not recorded)."""
        rng = (getattr(self.model, "dataset_config", None) or {}).get("params", {})
        return {n: tuple(rng.get(n, DE_BOX[n])) for n in ("D", "E")} if isinstance(rng, dict) else DE_BOX

    def reference_set(self) -> tuple[np.ndarray, pd.DataFrame]:
        """(latents, parameters) of the model's stored training-curve subsample (VAE plot)."""
        if self.model is None:
            return super().reference_set()
        return self.model.reference_set()

    def plot(self, truth=None, path=None, n_predictive: int = 200, title: str | None = None):
        """Three panels: VAE plot, VAE-INN plot, input curve with posterior-predictive band.
        truth: optional (D, E) whose six equivalents are drawn as crosses. Saves to path if given."""
        from .plots import posterior_figure
        return posterior_figure(self, truth=truth, path=path, n_predictive=n_predictive, title=title)
