"""Grouping points in parameter space: distinct minima of a multi-start search, leader clustering
of posterior samples (the starts of a refinement), the clusters of a D, E posterior seeded at
the six equivalents, and the merging of close centres. Distances are Euclidean in the units of
the points (kelvin for D, E).
"""
from __future__ import annotations

import numpy as np

from .parameters import equivalent_DE


def distinct_minima(X: np.ndarray, cost: np.ndarray, tol: float):
    """Group rows of X (S, p) within `tol` of each other (greedy, cheapest first).

    Returns (representative row index per group, group label per row)."""
    order = np.argsort(cost)
    reps: list[int] = []
    labels = np.full(len(X), -1)
    for i in order:
        if reps:
            d = np.linalg.norm(X[reps] - X[i], axis=1)
            j = int(np.argmin(d))
            if d[j] <= tol:
                labels[i] = j
                continue
        labels[i] = len(reps)
        reps.append(int(i))
    return np.array(reps, dtype=int), labels


def cluster_samples(X: np.ndarray, radius: float, max_clusters: int, min_fraction: float = 0.0,
                    seed: int | None = 0):
    """Leader clustering of samples X (n, p): returns (centres (m, p), mass fractions (m,)).

    Each sample joins the first centre within `radius` (same units as X) or opens a new one;
    centres are the means of their members, sorted by size; clusters below min_fraction of the
    samples are dropped, at most max_clusters kept, and each sample's weight then goes to its
    nearest kept centre (the masses sum to 1).
    """
    X = np.asarray(X, float)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    leaders = np.empty((0, X.shape[1]))
    labels = np.empty(len(X), int)
    for i in order:
        if len(leaders):
            d = np.linalg.norm(leaders - X[i], axis=1)
            j = int(np.argmin(d))
            if d[j] <= radius:
                labels[i] = j
                continue
        labels[i] = len(leaders)
        leaders = np.vstack([leaders, X[i]])
    counts = np.bincount(labels, minlength=len(leaders))
    centres = np.array([X[labels == j].mean(axis=0) for j in range(len(leaders))])
    mass = counts / len(X)
    keep = np.argsort(-mass)
    keep = keep[mass[keep] >= min_fraction][:max_clusters]
    centres = centres[keep]
    if len(centres) == 0:
        return centres, np.zeros(0)
    # every sample, kept cluster or not, counts for its nearest kept centre
    nearest = np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    return centres, np.bincount(nearest, minlength=len(centres)) / len(X)


def merge_close(centres: np.ndarray, distance: float) -> np.ndarray:
    """Greedily merge centres (m, p) closer than distance (their mean replaces them)."""
    kept: list[np.ndarray] = []
    for c in centres:
        for i, k in enumerate(kept):
            if np.hypot(*(c - k)) < distance:
                kept[i] = (k + c) / 2
                break
        else:
            kept.append(c)
    return np.array(kept)


def nearest_centre(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre (m, p) for every row of X (n, p)."""
    return np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)


def equivalence_clusters(DE: np.ndarray, D_seed: float, E_seed: float, merge_distance: float = 0.5,
                         rounds: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Cluster D, E samples (n, 2) [K] around the six equivalents of a seed (D_seed, E_seed) [K].

    Every sample joins its nearest centre, centres move to their members' medians, and centres
    closer than merge_distance [K] merge; `rounds` times. Returns (centres (m, 2), label per
    sample)."""
    centres = equivalent_DE(D_seed, E_seed)
    for _ in range(rounds):
        label = nearest_centre(DE, centres)
        centres = np.array([np.median(DE[label == k], axis=0) if np.any(label == k) else centres[k]
                            for k in range(len(centres))])
        centres = merge_close(centres, merge_distance)
    return centres, nearest_centre(DE, centres)
