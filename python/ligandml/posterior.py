"""Posterior samples of the parameters for one measured curve, with the views a chemist needs:
canonical sets, distinct solutions (clusters), posterior-predictive curves, plots, refinement."""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field

import numpy as np
import pandas as pd

from .parameters import canonical_DE, equivalent_DE


@dataclass
class Posterior:
    """Samples of the parameters given one curve.

    samples: DataFrame (D, E [K]; chi_dia [emu/mol] and s_m when the model has them);
    latent: the curve's standardised latent point; T: the model grid [K]; chi_input: the input
    curve per ion on T [emu/mol] (quantity chi); ion: Ion; field: None (zero field) or tesla.
    """
    samples: pd.DataFrame
    latent: np.ndarray
    T: np.ndarray
    chi_input: np.ndarray
    ion: object
    field: float | None = None
    model: object = None
    info: dict = dc_field(default_factory=dict)

    # -- views --------------------------------------------------------------------------------
    def canonical(self) -> pd.DataFrame:
        """Samples with (D, E) mapped to the canonical equivalent (0 <= E <= |D|/3); other columns kept."""
        out = self.samples.copy()
        out["D"], out["E"] = canonical_DE(out["D"].to_numpy(), out["E"].to_numpy())
        return out

    def median(self) -> pd.Series:
        """Per-column median of the canonical samples (D, E [K], nuisances)."""
        return self.canonical().median()

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
        centres = equivalent_DE(med["D"], med["E"])
        for _ in range(3):
            label = np.argmin(((DE[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
            centres = np.array([np.median(DE[label == k], axis=0) if np.any(label == k) else centres[k]
                                for k in range(len(centres))])
            centres = _merge_close(centres, merge_distance)
        label = np.argmin(((DE[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
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
        chi = powder_susceptibility(self.ion, pars, self.T, field=self.field, backend=backend)
        if quantity == "chiT":
            chi = chi * self.T
        chi_dia = pick["chi_dia"].to_numpy() if "chi_dia" in pick else 0.0
        s_m = np.clip(pick["s_m"].to_numpy(), 1e-3, None) if "s_m" in pick else 1.0
        return apply_experimental_errors(chi, self.T, chi_dia=chi_dia, s_m=s_m, quantity=quantity)

    def nearest_distance(self, D_true: float, E_true: float) -> np.ndarray:
        """Per-sample distance [K] in the D-E plane to the nearest equivalent of (D_true, E_true)."""
        from .parameters import nearest_equivalent_distance
        return nearest_equivalent_distance(self.samples["D"].to_numpy(), self.samples["E"].to_numpy(),
                                           D_true, E_true)

    def equivalent_fractions(self, D_true: float, E_true: float) -> np.ndarray:
        """Fraction of samples nearest to each of the six equivalents of (D_true, E_true), shape (6,)."""
        eq = equivalent_DE(D_true, E_true)
        DE = self.samples[["D", "E"]].to_numpy()
        label = np.argmin(((DE[:, None, :] - eq[None]) ** 2).sum(-1), axis=1)
        return np.bincount(label, minlength=6) / len(DE)

    def plot(self, truth=None, path=None, n_predictive: int = 200, title: str | None = None):
        """Three panels: VAE plot, VAE-INN plot, input curve with posterior-predictive band.
        truth: optional (D, E) whose six equivalents are drawn as crosses. Saves to path if given."""
        from .plots import posterior_figure
        return posterior_figure(self, truth=truth, path=path, n_predictive=n_predictive, title=title)

    def refine(self, **kwargs):
        """Least-squares refinement of the posterior's solutions (ligandml.fitting.refine_posterior)."""
        try:
            from .fitting import refine_posterior
        except ImportError as exc:
            raise RuntimeError("refinement needs ligandml.fitting.refine_posterior, which is not "
                               f"available in this installation ({exc})") from exc
        return refine_posterior(self, **kwargs)


def _merge_close(centres: np.ndarray, distance: float) -> np.ndarray:
    """Greedily merge centres closer than distance (their mean replaces them)."""
    kept: list[np.ndarray] = []
    for c in centres:
        for i, k in enumerate(kept):
            if np.hypot(*(c - k)) < distance:
                kept[i] = (k + c) / 2
                break
        else:
            kept.append(c)
    return np.array(kept)
