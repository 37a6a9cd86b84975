"""Folding posterior samples of any Stevens parameter set onto their canonical equivalent.

A rotation R of the axes turns a parameter set into another with the same physics; when R maps
the model's parameter names onto themselves (no weight leaks into a term the model does not
have) and keeps every observable (a powder average: any R; a crystal direction d: R^-1 d = +-d,
"z" and "plane" alike need R^-1 z = +-z), both sets give the same curves, so a posterior over
those names has one mode per image. Folding maps every sample to the canonical image, with the
rule of ligandml.symmetry.canonical_parameters: the lexicographically largest
(|B20|, B20, then the names in Stevens order), e.g. B43 >= 0 for D3d, 0 <= E <= |D|/3 for
(B20, B22) powder data. The rotations are searched among the candidates of ligandml.symmetry
(rotations about z by multiples of 15 degrees, those composed with a twofold about x, and the
24 rotations of the cube), which hold every finite equivalence of the 32 point groups.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .parameters import parse_parameter_name
from .rotations import stevens_rotation_matrix

#: tolerance for "no leak" and "same image" on the rotation matrices
ROTATION_TOL = 1e-9


def _is_stevens(names) -> bool:
    try:
        return all(isinstance(parse_parameter_name(n), tuple) for n in names)
    except ValueError:
        return False


def _keeps_direction(R: np.ndarray, direction) -> bool:
    """True when the active rotation R leaves measurements along `direction` unchanged."""
    if isinstance(direction, str):
        if direction == "powder":
            return True
        d = {"x": (1.0, 0, 0), "y": (0, 1.0, 0), "z": (0, 0, 1.0), "plane": (0, 0, 1.0)}[direction]
    else:
        d = direction
    d = np.asarray(d, float) / np.linalg.norm(d)
    back = R.T @ d
    return abs(abs(float(back @ d)) - 1.0) < 1e-9


def _matrix(names: tuple, R: np.ndarray):
    """(P, P) matrix M with images = X @ M.T over `names`, or None when R leaks weight into a
    term outside `names`."""
    P = len(names)
    M = np.zeros((P, P))
    kq = [parse_parameter_name(n) for n in names]
    for k in sorted({k for k, _ in kq}):
        Dk = stevens_rotation_matrix(k, R)  # B'_k = Dk B_k, q = -k..k
        idx = [i for i, (kk, _) in enumerate(kq) if kk == k]
        qs = [kq[i][1] + k for i in idx]
        others = [j for j in range(2 * k + 1) if j not in qs]
        if others and np.abs(Dk[np.ix_(others, qs)]).max() > ROTATION_TOL:
            return None
        M[np.ix_(idx, idx)] = Dk[np.ix_(qs, qs)]
    return M


@lru_cache(maxsize=64)
def _fold_matrices(names: tuple, directions: tuple) -> tuple:
    from .symmetry import _candidate_rotations

    out: list[np.ndarray] = []
    for R in _candidate_rotations():
        if not all(_keeps_direction(R, d) for d in directions):
            continue
        M = _matrix(names, R)
        if M is None or any(np.abs(M - m).max() < ROTATION_TOL for m in out):
            continue
        out.append(M)
    return tuple(out)


def _directions(observables) -> tuple:
    """The measurement directions of a model's observables (index or list); powder when None."""
    if not observables:
        return ("powder",)
    items = observables.values() if isinstance(observables, dict) else observables
    return tuple(o["direction"] if isinstance(o["direction"], str) else tuple(o["direction"]) for o in items)


def fold_matrices(names, observables=None) -> tuple:
    """The distinct linear maps (P, P) of the parameters `names` [any energy unit] onto
    equivalent sets that give the same observables (None: powder only). The identity is first.
    () for names that are not all Stevens names (e.g. D, E: see parameters.canonical_DE)."""
    names = tuple(names)
    if not names or not _is_stevens(names):
        return ()
    return _fold_matrices(names, _directions(observables))


def equivalent_sets(values, names, observables=None) -> np.ndarray:
    """Every distinct equivalent of one set `values` (P,) over `names`: (n_equivalents, P), the
    set itself first."""
    mats = fold_matrices(names, observables) or (np.eye(len(names)),)
    x = np.asarray(values, float)
    out: list[np.ndarray] = []
    scale = max(np.abs(x).max(), 1e-300)
    for M in mats:
        y = M @ x
        if not any(np.abs(y - o).max() <= 1e-9 * scale for o in out):
            out.append(y)
    return np.array(out)


def _canonical_order(names) -> list[int]:
    """Column order of the canonical rule: |B20| first (when present), then B20, B22, B40, ...
    (cosine terms before sine terms within a rank)."""
    kq = [parse_parameter_name(n) for n in names]
    return sorted(range(len(names)), key=lambda i: (kq[i][0], kq[i][1] < 0, abs(kq[i][1])))


def fold(X, names, observables=None) -> np.ndarray:
    """Samples X (n, P) over `names` mapped to their canonical equivalent (same units; the rule
    of ligandml.symmetry.canonical_parameters). Idempotent; a set with no other equivalent is
    returned unchanged."""
    X = np.asarray(X, float)
    mats = fold_matrices(names, observables)
    if len(mats) <= 1:
        return X.copy()
    images = np.stack([X @ M.T for M in mats], axis=1)  # (n, n_rot, P)
    order = _canonical_order(names)
    keys = [np.abs(images[..., order[0]])] if names[order[0]] == "B20" else []
    keys += [images[..., i] for i in order]
    tol = 1e-9 * np.maximum(np.abs(images).max(axis=(1, 2)), 1e-300)[:, None]
    alive = np.ones(images.shape[:2], dtype=bool)
    for key in keys:
        best = np.where(alive, key, -np.inf).max(axis=1, keepdims=True)
        alive &= key >= best - tol
    pick = np.argmax(alive, axis=1)
    return images[np.arange(len(X)), pick]
