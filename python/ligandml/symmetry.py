"""Site symmetry: which Stevens parameters a point group allows, and equivalent parameter sets.

The 32 crystallographic point groups, Schoenflies names spelled as Mantid spells them. Each is
built from generators in one stated standard setting (SETTINGS); z is the main axis:

    C1, Ci                   any axes
    C2, Cs, C2h              z along the twofold axis (Cs: z normal to the mirror)
    D2, C2v, D2h             x, y, z along the three twofold axes (C2v: z along C2, mirrors xz, yz)
    C4, S4, C4h              z along the fourfold (S4: fourfold rotoinversion) axis
    D4, C4v, D2d, D4h        z along the fourfold axis, x along a twofold axis (C4v: x in a mirror;
                             D2d: z along S4, x along a twofold axis)
    C3, C3i                  z along the threefold axis
    D3, C3v, D3d             z along the threefold axis, x in a mirror plane, i.e. perpendicular to
                             a twofold axis (D3: x perpendicular to a twofold axis, which lies
                             along y): the setting of the published KErSe2 set, cosine B43, B63
    C6, C3h, C6h             z along the sixfold (C3h: threefold, mirror normal to z) axis
    D6, C6v, D3h, D6h        z along the main axis, x along a twofold axis (C6v, D3h: x in a mirror)
    T, Th                    x, y, z along the three twofold axes
    O, Td, Oh                x, y, z along the fourfold (Td: fourfold rotoinversion) axes

Method. Only even k (2, 4, 6) enters a ligand field, and inversion acts on even-k tensors as +1,
so every element acts through its proper part (det R) R. For each k the projector onto the
invariant coefficients is the group average of the rotation matrices of rotations.py,
P_k = (1/|G|) sum_g M_k(g); the allowed names are those P_k does not annihilate, and a basis of
its range in reduced row-echelon form gives the fixed ratios of the cubic groups (B44 = 5 B40,
B64 = -21 B60 for O, Td, Oh; T, Th add B66 = -B62). tests/test_symmetry.py checks the result
against the tables of Mantid and the textbooks.

Equivalent sets. A rotation that maps the allowed subspace onto itself (the normaliser of the
group) turns a parameter set into another of the same form with the same physics. For the
groups with a finite normaliser these are found among the rotations about z by multiples of
15 degrees, those composed with a twofold about x, and the 24 rotations of the cube:
D2h and the other orthorhombic groups 6 sets, the tetragonal D groups 2 (B44, B64 -> -B44, -B64),
the trigonal D groups 2 ((B43, B63) -> (-B43, -B63)), the hexagonal D groups 2 (B66 -> -B66),
T, Th 2 ((B62, B66) -> -(B62, B66)), O, Td, Oh 1. For the other 13 groups (C1 ... C6h) a
continuous family of rotations about z (or all rotations) keeps the form, so there is no finite
list; equivalent_parameters refuses them by name.

Canonical rule: among the equivalents, the set whose coefficients, read in the order
(|B20|, B20, then every allowed name in the order B20, B22, B40, B42, B43, B44, B60, ..., sine
terms after cosine ones) are lexicographically largest (ties within 1e-9 relative). This gives
B43 >= 0 for D3d (DESIGN.md), B44 >= 0 for D4h, B66 >= 0 for D6h, and for D2h at second order
the D, E rule 0 <= E <= |D|/3 (largest |D|, D > 0 on ties, E >= 0), the rule of canonical_DE.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

import numpy as np

from .parameters import StevensBatch, parameter_name, to_stevens_batch
from .rotations import axis_rotation, stevens_rotation_matrix

#: even ranks of a ligand field
RANKS = (2, 4, 6)
#: tolerance (relative to the scale of a rank's coefficients) for "zero" and "equal"
SYMMETRY_RTOL = 1e-9

_X, _Y, _Z = np.eye(3)
_I = -np.eye(3)
_C2x, _C2y, _C2z = (axis_rotation(a, np.pi) for a in (_X, _Y, _Z))
_C3z, _C4z, _C6z = (axis_rotation(_Z, 2 * np.pi / n) for n in (3, 4, 6))
_C3_111 = axis_rotation([1.0, 1.0, 1.0], 2 * np.pi / 3)
_MIRROR_XY = np.diag([1.0, 1.0, -1.0])   # sigma_h, normal z
_MIRROR_XZ = np.diag([1.0, -1.0, 1.0])   # mirror containing x and z
_S4z = _MIRROR_XY @ _C4z

#: generators (3x3 matrices, proper or improper) of each point group in its standard setting
GENERATORS: dict[str, tuple[np.ndarray, ...]] = {
    "C1": (), "Ci": (_I,),
    "C2": (_C2z,), "Cs": (_MIRROR_XY,), "C2h": (_C2z, _I),
    "D2": (_C2z, _C2x), "C2v": (_C2z, _MIRROR_XZ), "D2h": (_C2z, _C2x, _I),
    "C4": (_C4z,), "S4": (_S4z,), "C4h": (_C4z, _I),
    "D4": (_C4z, _C2x), "C4v": (_C4z, _MIRROR_XZ), "D2d": (_S4z, _C2x), "D4h": (_C4z, _C2x, _I),
    "C3": (_C3z,), "C3i": (_C3z, _I),
    "D3": (_C3z, _C2y), "C3v": (_C3z, _MIRROR_XZ), "D3d": (_C3z, _C2y, _I),
    "C6": (_C6z,), "C3h": (_C3z, _MIRROR_XY), "C6h": (_C6z, _I),
    "D6": (_C6z, _C2x), "C6v": (_C6z, _MIRROR_XZ), "D3h": (_C3z, _MIRROR_XY, _C2x),
    "D6h": (_C6z, _C2x, _I),
    "T": (_C2z, _C2x, _C3_111), "Th": (_C2z, _C2x, _C3_111, _I),
    "O": (_C4z, _C3_111), "Td": (_S4z, _C3_111), "Oh": (_C4z, _C3_111, _I),
}

#: the stated standard setting of each group, in words
SETTINGS: dict[str, str] = {
    **dict.fromkeys(("C1", "Ci"), "any axes"),
    **dict.fromkeys(("C2", "C2h"), "z along the twofold axis"),
    "Cs": "z normal to the mirror",
    **dict.fromkeys(("D2", "D2h"), "x, y, z along the three twofold axes"),
    "C2v": "z along the twofold axis, mirrors xz and yz",
    **dict.fromkeys(("C4", "C4h"), "z along the fourfold axis"),
    "S4": "z along the fourfold rotoinversion axis",
    **dict.fromkeys(("D4", "D4h"), "z along the fourfold axis, x along a twofold axis"),
    "C4v": "z along the fourfold axis, x in a mirror",
    "D2d": "z along the fourfold rotoinversion axis, x along a twofold axis",
    **dict.fromkeys(("C3", "C3i"), "z along the threefold axis"),
    "D3": "z along the threefold axis, x perpendicular to a twofold axis (twofold along y)",
    **dict.fromkeys(("C3v", "D3d"), "z along the threefold axis, x in a mirror plane "
                                    "(perpendicular to a twofold axis)"),
    **dict.fromkeys(("C6", "C6h"), "z along the sixfold axis"),
    "C3h": "z along the threefold axis, mirror normal to z",
    **dict.fromkeys(("D6", "D6h"), "z along the sixfold axis, x along a twofold axis"),
    "C6v": "z along the sixfold axis, x in a mirror",
    "D3h": "z along the threefold axis, x along a twofold axis (and in a mirror)",
    **dict.fromkeys(("T", "Th"), "x, y, z along the three twofold axes"),
    **dict.fromkeys(("O", "Oh"), "x, y, z along the fourfold axes"),
    "Td": "x, y, z along the fourfold rotoinversion axes",
}

POINT_GROUPS: tuple[str, ...] = tuple(GENERATORS)


def _check_group(point_group) -> str:
    if point_group not in GENERATORS:
        raise ValueError(f"unknown point group {point_group!r}; use a Schoenflies name as Mantid "
                         f"spells it: {', '.join(POINT_GROUPS)}")
    return point_group


@lru_cache(maxsize=None)
def proper_rotations(point_group: str) -> tuple[np.ndarray, ...]:
    """The distinct proper parts (det R) R of the group's elements, by closure of the generators."""
    elements = [np.eye(3)]
    generators = [g * np.linalg.det(g) for g in GENERATORS[_check_group(point_group)]]
    frontier = list(elements)
    while frontier:
        new = []
        for a in frontier:
            for g in generators:
                candidate = g @ a
                if not any(np.abs(candidate - e).max() < 1e-9 for e in elements):
                    elements.append(candidate)
                    new.append(candidate)
        frontier = new
    return tuple(elements)


def _name_order(name: str) -> tuple[int, int, int]:
    k, q = int(name[1]), int(name[2:])
    return k, abs(q), int(q < 0)


def _all_names(k: int) -> list[str]:
    return sorted((parameter_name(k, q) for q in range(-k, k + 1)), key=_name_order)


def _snap(x: float) -> float:
    frac = Fraction(x).limit_denominator(1000)
    return float(frac) if abs(float(frac) - x) < 1e-9 * max(1.0, abs(x)) else float(x)


@dataclass(frozen=True)
class AllowedParameters:
    """The Stevens parameters a site symmetry allows, in its stated standard setting.

    names: every name that may be non-zero (k = 2, 4, 6). free: the independent ones.
    ratios: for the cubic groups, dependent name -> (free name, factor): B_dep = factor * B_free
    (e.g. "B44": ("B40", 5.0)). Iterating, len() and `in` act on `names`.
    """

    point_group: str
    setting: str
    names: tuple[str, ...]
    free: tuple[str, ...]
    ratios: dict[str, tuple[str, float]] = field(default_factory=dict)

    @property
    def n_independent(self) -> int:
        return len(self.free)

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name) -> bool:
        return name in self.names


@lru_cache(maxsize=None)
def invariant_projector(point_group: str, k: int) -> np.ndarray:
    """P_k = (1/|G|) sum_g M_k(g): projector onto the rank-k coefficients (q = -k..k order) the
    group leaves unchanged. Read-only."""
    rotations = proper_rotations(point_group)
    P = sum(stevens_rotation_matrix(k, R) for R in rotations) / len(rotations)
    P.setflags(write=False)
    return P


@lru_cache(maxsize=None)
def allowed_parameters(point_group: str) -> AllowedParameters:
    """Stevens parameters (k = 2, 4, 6) that a site of this point group allows, in the standard
    setting stated in SETTINGS and the module docstring, with the fixed ratios of the cubic groups.

    point_group: Schoenflies name as Mantid spells it ("C1", "Ci", ..., "D3d", ..., "Oh").
    Returns AllowedParameters (names, free names, ratios). Dimensionless (only names and ratios).
    Raises ValueError for an unknown name.
    """
    names, free, ratios = [], [], {}
    for k in RANKS:
        P = invariant_projector(_check_group(point_group), k)
        order = _all_names(k)
        cols = [int(n[2:]) + k for n in order]
        basis = _row_echelon(P[np.ix_(cols, cols)].T)  # rows span the invariant subspace, name order
        for row in basis:
            support = [order[j] for j in np.nonzero(np.abs(row) > 1e-9)[0]]
            pivot = support[0]
            free.append(pivot)
            for dep in support[1:]:
                ratios[dep] = (pivot, _snap(row[order.index(dep)]))
            names += support
    names.sort(key=_name_order)
    return AllowedParameters(point_group, SETTINGS[point_group], tuple(names), tuple(free), ratios)


def _row_echelon(A: np.ndarray) -> list[np.ndarray]:
    """Non-zero rows of the reduced row-echelon form of A (pivots scaled to 1)."""
    A = A.astype(float).copy()
    rows, pivot_row = [], 0
    for col in range(A.shape[1]):
        if pivot_row >= A.shape[0]:
            break
        best = pivot_row + int(np.argmax(np.abs(A[pivot_row:, col])))
        if abs(A[best, col]) < 1e-9:
            continue
        A[[pivot_row, best]] = A[[best, pivot_row]]
        A[pivot_row] /= A[pivot_row, col]
        for r in range(A.shape[0]):
            if r != pivot_row:
                A[r] -= A[r, col] * A[pivot_row]
        pivot_row += 1
    for r in range(pivot_row):
        A[r][np.abs(A[r]) < 1e-12] = 0.0
        rows.append(A[r])
    return rows


# --------------------------------------------------------------------------------------------
# refusing parameters a site symmetry forbids
# --------------------------------------------------------------------------------------------
def check_symmetry(params, point_group: str, unit: str = "K") -> StevensBatch:
    """Refuse parameters a site symmetry forbids; return the parameters as a StevensBatch [K].

    params: a mapping, DataFrame (values in `unit`) or StevensBatch [K]. Raises ValueError naming
    the first parameter that is non-zero although the group forbids it in its standard setting
    (a forbidden name whose values are all exactly zero is accepted), or, for the cubic groups,
    the first fixed ratio that a set breaks (B44 = 5 B40 ...) beyond 1e-9 relative.
    """
    batch = params if isinstance(params, StevensBatch) else to_stevens_batch(params, unit)
    allowed = allowed_parameters(point_group)
    values = batch.as_dict()
    for name, v in values.items():
        if name not in allowed and np.any(v != 0.0):
            extra = {"B20": " (D/3 in the D, E form)", "B22": " (E in the D, E form)"}.get(name, "")
            raise ValueError(
                f"parameter {name}{extra} is forbidden by site symmetry {point_group} "
                f"({allowed.setting}); allowed: {', '.join(allowed.names)}")
    for dep, (free, factor) in allowed.ratios.items():
        b_dep = values.get(dep, np.zeros(batch.n_sets))
        b_free = values.get(free, np.zeros(batch.n_sets))
        scale = np.maximum(np.abs(b_dep), np.abs(factor * b_free))
        if np.any(np.abs(b_dep - factor * b_free) > SYMMETRY_RTOL * scale):
            raise ValueError(f"site symmetry {point_group} fixes {dep} = {factor:g} * {free} "
                             f"({allowed.setting}); the parameters given break that ratio")
    return batch


# --------------------------------------------------------------------------------------------
# equivalent sets and the canonical one
# --------------------------------------------------------------------------------------------
def _candidate_rotations() -> list[np.ndarray]:
    about_z = [axis_rotation(_Z, np.deg2rad(15.0 * j)) for j in range(24)]
    cube = list(proper_rotations("O"))
    return about_z + [r @ _C2x for r in about_z] + cube


def _keeps_form(point_group: str, R: np.ndarray) -> bool:
    for k in RANKS:
        P = invariant_projector(point_group, k)
        M = stevens_rotation_matrix(k, R)
        if np.abs(M @ P - P @ M @ P).max() > 1e-9:
            return False
    return True


@lru_cache(maxsize=None)
def form_preserving_rotations(point_group: str) -> tuple[np.ndarray, ...]:
    """Rotations (3x3), one per coset of the group, that map the group's allowed parameter space
    onto itself: each gives an equivalent set of the same form. Raises ValueError for the groups
    whose form is kept by a continuous family of rotations (C1 ... C6h)."""
    _check_group(point_group)
    generic = [axis_rotation(_Z, 0.3217), axis_rotation([0.3, -0.7, 0.2], 0.4711)]
    if any(_keeps_form(point_group, R) for R in generic):
        raise ValueError(
            f"point group {point_group} has no finite list of equivalent sets: a continuous family "
            f"of rotations (about z, or all of them) keeps its form ({allowed_parameters(point_group).setting}); "
            f"fix the axes first (e.g. set one sine-type term to zero) and use the higher group")
    keep = [R for R in _candidate_rotations() if _keeps_form(point_group, R)]
    group = proper_rotations(point_group)
    cosets: list[np.ndarray] = []
    for R in keep:  # one representative per left coset R G
        if not any(any(np.abs(c.T @ R - g).max() < 1e-9 for g in group) for c in cosets):
            cosets.append(R)
    return tuple(cosets)


def _allowed_coeffs(batch: StevensBatch, point_group: str) -> tuple[list[str], np.ndarray]:
    names = list(allowed_parameters(point_group).names)
    values = batch.as_dict()
    coeffs = np.stack([values.get(n, np.zeros(batch.n_sets)) for n in names], axis=1)
    return names, coeffs


def _images(names: list[str], coeffs: np.ndarray, point_group: str) -> np.ndarray:
    """The sets of every form-preserving rotation, shape (n_rotations, N, len(names))."""
    out = []
    for R in form_preserving_rotations(point_group):
        image = np.zeros_like(coeffs)
        for k in RANKS:
            idx = [i for i, n in enumerate(names) if int(n[1]) == k]
            if not idx:
                continue
            full = np.zeros((coeffs.shape[0], 2 * k + 1))
            qs = [int(names[i][2:]) + k for i in idx]
            full[:, qs] = coeffs[:, idx]
            image[:, idx] = (full @ stevens_rotation_matrix(k, R).T)[:, qs]
        out.append(image)
    return np.stack(out)


def equivalent_parameters(params, point_group: str, unit: str = "K") -> list[dict[str, float]]:
    """The distinct parameter sets of the same form (the group's allowed names) that describe the
    same physics in another choice of axes, the given set first.

    params: one set (scalars) as a mapping of names in `unit` ("K", "meV", "cm-1"), checked
    against `point_group` first (check_symmetry). Returns a list of dicts name -> value in `unit`
    over the allowed names: 6 sets for D2h (second order: the six D, E sets of equivalent_DE as
    B20 = D/3, B22 = E), 2 for D3d ((B43, B63) -> (-B43, -B63)), D4h, D6h, T, Th; 1 for the
    other cubic groups. Sets equal within 1e-9 relative are listed once. Raises ValueError for
    the groups with a continuous family of equivalents (see form_preserving_rotations).
    """
    from .constants import kelvin_per

    batch = check_symmetry(params, point_group, unit)
    if batch.n_sets != 1:
        raise ValueError("equivalent_parameters takes one parameter set (scalars); "
                         "canonical_parameters takes batches")
    names, coeffs = _allowed_coeffs(batch, point_group)
    images = _images(names, coeffs, point_group)[:, 0, :] / kelvin_per(unit)
    scale = max(np.abs(images).max(), 1e-300)
    distinct: list[np.ndarray] = []
    for image in images:
        if not any(np.abs(image - d).max() <= SYMMETRY_RTOL * scale for d in distinct):
            distinct.append(image)
    return [{n: float(v) for n, v in zip(names, d)} for d in distinct]


def canonical_parameters(params, point_group: str, unit: str = "K"):
    """The canonical member of each set's equivalents (rule in the module docstring: the
    lexicographically largest (|B20|, B20, allowed names in order); B43 >= 0 for D3d,
    0 <= E <= |D|/3 for D2h at second order).

    params: a mapping of names to scalars or equal-length arrays in `unit`, or a DataFrame.
    Returns a dict over the allowed names in `unit` (floats for scalar input, arrays otherwise).
    Idempotent. Raises ValueError as equivalent_parameters.
    """
    from collections.abc import Mapping

    from .constants import kelvin_per

    batch = check_symmetry(params, point_group, unit)
    names, coeffs = _allowed_coeffs(batch, point_group)
    images = np.swapaxes(_images(names, coeffs, point_group), 0, 1)  # (N, n_rot, P)
    keys = [np.abs(images[..., 0])] if names and names[0] == "B20" else []
    keys += [images[..., i] for i in range(len(names))]
    tol = SYMMETRY_RTOL * np.maximum(np.abs(images).max(axis=(1, 2)), 1e-300)[:, None]
    alive = np.ones(images.shape[:2], dtype=bool)
    for key in keys:
        best = np.where(alive, key, -np.inf).max(axis=1, keepdims=True)
        alive &= key >= best - tol
    pick = np.argmax(alive, axis=1)
    chosen = images[np.arange(images.shape[0]), pick] / kelvin_per(unit)
    scalar = isinstance(params, Mapping) and all(np.ndim(v) == 0 for v in params.values())
    return {n: (float(chosen[0, i]) if scalar else chosen[:, i]) for i, n in enumerate(names)}
