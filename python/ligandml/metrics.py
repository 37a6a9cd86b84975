"""Honest evaluation of posteriors and fits: errors modulo the six D, E equivalents, which
equivalents were found, classifier two-sample tests and calibration.

- nearest_equivalent_error: distance [K] in the D-E plane to the nearest of the six equivalent
  true sets (ligandml.nearest_equivalent_distance).
- equivalents_found: which of the distinct equivalents of the truth hold a share of the samples.
- c2st: classifier two-sample test accuracy (5-fold cross-validated); 0.5 means the two sample
  sets cannot be told apart, 1 means disjoint.
- invariant_features: test functions that do not depend on which equivalent a sample sits at
  (canonical D, E; chi_dia), for calibration. Coverage, SBC ranks and TARP live in
  ligandml.calibration.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .parameters import canonical_DE, equivalent_DE, nearest_equivalent_distance


def nearest_equivalent_error(D, E, D_true: float, E_true: float) -> np.ndarray:
    """Distance [K] of each (D, E) [K] to the nearest of the six equivalents of the truth."""
    return nearest_equivalent_distance(D, E, D_true, E_true)


def distinct_equivalents(D_true: float, E_true: float, tol: float = 1e-9) -> np.ndarray:
    """The distinct members of the truth's equivalence class, shape (k, 2), k <= 6 [K]
    (E = 0 or E = |D|/3 make pairs coincide)."""
    eq = equivalent_DE(D_true, E_true)
    keep = []
    for row in eq:
        if not any(np.hypot(*(row - eq[j])) <= tol for j in keep):
            keep.append(int(np.flatnonzero((eq == row).all(axis=1))[0]))
    return eq[sorted(set(keep))]


def equivalents_found(D, E, D_true: float, E_true: float, radius: float = 0.25,
                      min_fraction: float = 0.01, weights=None) -> np.ndarray:
    """For each distinct equivalent of the truth, whether the points (D, E) [K] put at least
    min_fraction of their weight within `radius` [K] of it. Returns a bool array (k,).

    Points are assigned to their nearest equivalent first, so one cluster counts once.
    weights: optional weight per point (default equal; a fit's solutions can pass weights=None
    and min_fraction=0 to count any solution within radius).
    """
    D = np.atleast_1d(np.asarray(D, float))
    E = np.atleast_1d(np.asarray(E, float))
    if D.shape != E.shape or D.size == 0:
        raise ValueError("D and E must be non-empty arrays of the same shape")
    w = np.ones(D.size) if weights is None else np.asarray(weights, float).ravel()
    w = w / w.sum()
    eq = distinct_equivalents(D_true, E_true)
    dist = np.hypot(D.ravel()[:, None] - eq[:, 0], E.ravel()[:, None] - eq[:, 1])
    nearest = dist.argmin(axis=1)
    near = dist[np.arange(D.size), nearest] <= radius
    share = np.bincount(nearest[near], weights=w[near], minlength=len(eq))
    return (share >= min_fraction) & (share > 0)


def c2st(X, Y, folds: int = 5, seed: int | None = 0, classifier: str = "rf",
         max_samples: int | None = 4000) -> float:
    """Classifier two-sample test: mean 5-fold cross-validated accuracy of telling X from Y.

    X, Y: arrays (n, d) or DataFrames of the same columns (e.g. D, E [K], chi_dia [emu/mol]).
    Features are standardised with X's mean and sd. classifier: "rf" (random forest, 100 trees)
    or "mlp" (two hidden layers of 10 d units). Each set is subsampled to max_samples rows.
    Returns the accuracy: about 0.5 when X and Y come from one distribution, 1 for disjoint sets.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X = np.asarray(X, float)
    Y = np.asarray(Y, float)
    X = X[:, None] if X.ndim == 1 else X
    Y = Y[:, None] if Y.ndim == 1 else Y
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must be (n, d) with the same d, got {X.shape} and {Y.shape}")
    if min(len(X), len(Y)) < 2 * folds:
        raise ValueError(f"need at least {2 * folds} samples in each set for {folds}-fold C2ST")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise ValueError("C2ST samples contain NaN or inf")
    rng = np.random.default_rng(seed)
    if max_samples is not None:
        X = X[rng.permutation(len(X))[:max_samples]]
        Y = Y[rng.permutation(len(Y))[:max_samples]]
    mean, sd = X.mean(axis=0), X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    data = (np.concatenate([X, Y]) - mean) / sd
    labels = np.concatenate([np.zeros(len(X)), np.ones(len(Y))])
    clf = _classifier(classifier, X.shape[1], seed)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(clf, data, labels, cv=cv, scoring="accuracy")))


def _classifier(name: str, dim: int, seed):
    if name == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)
    if name == "mlp":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(hidden_layer_sizes=(10 * dim, 10 * dim), max_iter=1000,
                             early_stopping=True, random_state=seed)
    raise ValueError(f"classifier must be 'rf' or 'mlp', got {name!r}")


def invariant_features(samples: pd.DataFrame) -> pd.DataFrame:
    """Test functions that do not depend on which equivalent a sample sits at: canonical D, E
    [K] and, when present, chi_dia [emu/mol] and s_m."""
    Dc, Ec = canonical_DE(samples["D"].to_numpy(float), samples["E"].to_numpy(float))
    out = {"D_canonical": np.atleast_1d(Dc), "E_canonical": np.atleast_1d(Ec)}
    for n in ("chi_dia", "s_m"):
        if n in samples.columns:
            out[n] = samples[n].to_numpy(float)
    return pd.DataFrame(out)
