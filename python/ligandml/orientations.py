"""Field directions for orientation averages: quadrature rules on the sphere and in the ab plane.

The powder average of a time-reversal-even quantity (the moment projected on the field, M(n).n)
needs one point of each antipodal pair only, since M(-n) = -M(n). Two families of rules:

- `lebedev_hemisphere`: half of a Lebedev rule (scipy.integrate.lebedev_rule), for any set.
- `reduced_product_grid`: a product rule on the whole sphere (Gauss-Legendre in z = cos(theta)
  with an even number of nodes, times a uniform grid phi_j = 2 pi j / n_phi), folded onto the
  wedge of the sphere that the integrand's symmetry leaves independent. The folding is exact:
  the reduced rule gives the very number the full product rule gives, whenever the integrand
  has the symmetry (tests/test_finite_field.py checks both the identity and the selection).

Symmetry of the integrand f(n) = <M(n)>.n for H = H_LF + gJ muB B n.J (`integrand_symmetry`):
- always f(-n) = f(n) (time reversal);
- if every term with a non-zero coefficient has q divisible by p, a rotation by 2 pi / p about z
  leaves H_LF unchanged: f(z, phi + 2 pi / p) = f(z, phi) (p = 0: only q = 0, f independent of
  phi);
- if no sine-type term (q < 0) has a non-zero coefficient, H_LF is a real matrix; complex
  conjugation maps Jy to -Jy and leaves Jx, Jz, so f(z, -phi) = f(z, phi) (the "mirror").
Where the symmetry is lower (p = 1 without the mirror) the reduced grid is not used.

Field in the xz plane with a real H_LF: H is a real symmetric matrix (real arithmetic). A grid
point at angle phi with sin(q phi) = 0 for every q present is reduced to one: a rotation by -phi
about z maps the field onto the xz plane and each coefficient B_k^q onto cos(q phi) B_k^q.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np

#: default Lebedev order (degree of exactness) for the powder average at finite field
DEFAULT_LEBEDEV_ORDER = 23
#: default product grid on symmetric sets: Gauss-Legendre nodes per hemisphere in z = cos(theta)
DEFAULT_N_THETA = 6
#: default number of intervals of the phi grid per half period pi / p (symmetric sets)
DEFAULT_N_PHI = 2
#: default number of in-plane angles over [0, pi) for the "plane" average of a set without a
#: rotation axis (symmetric sets use DEFAULT_N_PHI intervals per half period)
DEFAULT_N_PLANE = 48


def lebedev_hemisphere(order: int = DEFAULT_LEBEDEV_ORDER) -> tuple[np.ndarray, np.ndarray]:
    """One point of each antipodal pair of the Lebedev rule of the given order, with weights
    normalised to sum to 1: (directions (P, 3), weights (P,))."""
    from scipy.integrate import lebedev_rule

    points, weights = lebedev_rule(order)
    points = points.T
    # keep z > 0, or z == 0 and y > 0, or z == y == 0 and x > 0
    eps = 1e-12
    keep = (points[:, 2] > eps) | ((np.abs(points[:, 2]) <= eps) & (points[:, 1] > eps)) | (
        (np.abs(points[:, 2]) <= eps) & (np.abs(points[:, 1]) <= eps) & (points[:, 0] > 0))
    if 2 * keep.sum() != len(weights):
        raise RuntimeError(f"Lebedev rule of order {order} is not centrosymmetric")
    w = weights[keep]
    return points[keep], w / w.sum()


@dataclass(frozen=True)
class AxisSymmetry:
    """Symmetry of the orientation integrand about z.

    rotation_order p: f is periodic in phi with period 2 pi / p (p = 0: independent of phi,
    p = 1: no rotation axis). mirror: f(z, -phi) = f(z, phi).
    """

    rotation_order: int
    mirror: bool

    @property
    def reducible(self) -> bool:
        """True when the reduced product grid applies (a rotation axis, p = 0 or p >= 2)."""
        return self.rotation_order != 1


def integrand_symmetry(terms, coeffs) -> AxisSymmetry:
    """AxisSymmetry of M(n).n shared by every set of a batch: terms (k, q), coeffs (N, len(terms)).

    Terms whose coefficients are zero in every set are ignored.
    """
    coeffs = np.asarray(coeffs, dtype=float).reshape(-1, len(terms))
    active = [t for i, t in enumerate(terms) if np.any(coeffs[:, i] != 0.0)]
    p = 0
    for _, q in active:
        p = gcd(p, abs(q))
    return AxisSymmetry(p, all(q >= 0 for _, q in active))


@dataclass(frozen=True)
class FieldGrid:
    """Field directions with weights summing to 1, as used by the finite-field sums.

    directions (P, 3): the physical unit vectors. weights (P,). turn (P,): the angle phi [rad]
    by which the real-arithmetic route rotates the point onto the xz plane (coefficients times
    cos(q phi)), NaN for points solved in complex arithmetic. name: a short description.
    """

    directions: np.ndarray
    weights: np.ndarray
    turn: np.ndarray
    name: str

    @property
    def size(self) -> int:
        return len(self.weights)


def _unit_vectors(z: np.ndarray, phi: np.ndarray) -> np.ndarray:
    s = np.sqrt(np.clip(1.0 - z * z, 0.0, None))
    return np.stack([s * np.cos(phi), s * np.sin(phi), z], axis=1)


def full_product_grid(n_theta: int, n_phi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The product rule on the whole sphere: Gauss-Legendre in z with 2 n_theta nodes, times
    phi_j = 2 pi j / n_phi. Returns (z, phi [rad], weights summing to 1), each of length
    2 n_theta n_phi."""
    if n_theta < 1 or n_phi < 1:
        raise ValueError(f"product grid needs n_theta >= 1 and n_phi >= 1, got {n_theta}, {n_phi}")
    z, wz = np.polynomial.legendre.leggauss(2 * n_theta)
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    zz, pp = np.meshgrid(z, phi, indexing="ij")
    w = np.outer(wz / 2.0, np.full(n_phi, 1.0 / n_phi))
    return zz.ravel(), pp.ravel(), w.ravel()


def _fold(z, phi, symmetry: AxisSymmetry) -> tuple[np.ndarray, np.ndarray]:
    """Representative of each point in the wedge z > 0, 0 <= phi <= pi/p (mirror) or < 2 pi/p."""
    phi = np.where(z < 0, phi + np.pi, phi)
    z = np.abs(z)
    p = symmetry.rotation_order
    if p == 0:
        return z, np.zeros_like(phi)
    period = 2 * np.pi / p
    phi = np.mod(phi, period)
    phi = np.where(np.isclose(phi, period, rtol=0, atol=1e-12), 0.0, phi)
    if symmetry.mirror:
        phi = np.minimum(phi, period - phi)
    return z, phi


def _real_turn(phi: np.ndarray, qs, mirror: bool) -> np.ndarray:
    """phi where every sin(q phi) vanishes and H_LF is real (the real route), NaN elsewhere."""
    if not mirror:
        return np.full(phi.shape, np.nan)
    ok = np.ones(phi.shape, dtype=bool)
    for q in qs:
        ok &= np.abs(np.sin(q * phi)) < 1e-12
    return np.where(ok, phi, np.nan)


def reduced_product_grid(symmetry: AxisSymmetry, qs=(), n_theta: int = DEFAULT_N_THETA,
                         n_phi: int = DEFAULT_N_PHI) -> FieldGrid:
    """The full product rule with 2 n_theta z-nodes and 2 p n_phi angles (p = rotation order),
    folded onto the wedge its symmetry leaves independent; qs: the q of the active terms (for the
    real route). With the mirror the wedge holds n_theta (n_phi + 1) points; p = 0 needs one
    angle per z-node. Raises ValueError for p = 1 (no rotation axis: use the Lebedev rule)."""
    p = symmetry.rotation_order
    if p == 1:
        raise ValueError("the reduced product grid needs a rotation axis (p = 0 or p >= 2)")
    n_phi_full = 1 if p == 0 else 2 * p * n_phi
    z, phi, w = full_product_grid(n_theta, n_phi_full)
    z, phi = _fold(z, phi, symmetry)
    key = np.round(z * 1e9).astype(np.int64) * 10**11 + np.round(phi * 1e9).astype(np.int64)
    keys, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    weights = np.bincount(inverse.ravel(), weights=w, minlength=len(keys))
    z_r, phi_r = z[first], phi[first]
    return FieldGrid(_unit_vectors(z_r, phi_r), weights / weights.sum(),
                     _real_turn(phi_r, qs, symmetry.mirror),
                     f"product {n_theta}x{n_phi_full} folded (p={p}, mirror={symmetry.mirror})")


def lebedev_grid(order: int = DEFAULT_LEBEDEV_ORDER, qs=(), mirror: bool = False) -> FieldGrid:
    """The Lebedev hemisphere as a FieldGrid (points at an angle phi with every sin(q phi) = 0
    take the real route when H_LF is real)."""
    d, w = lebedev_hemisphere(order)
    phi = np.arctan2(d[:, 1], d[:, 0])
    return FieldGrid(d, w, _real_turn(phi, qs, mirror), f"Lebedev order {order} hemisphere")


def plane_grid(symmetry: AxisSymmetry, qs=(), n_phi: int = DEFAULT_N_PHI,
               n_plane: int = DEFAULT_N_PLANE) -> FieldGrid:
    """Directions in the xy plane for the average over the in-plane angle (weights sum to 1).

    p = 0: one direction. Rotation axis p >= 2: the periodic trapezoid rule with n_phi intervals
    per half period (with the mirror: phi in [0, pi/p], end points at half weight). No axis:
    n_plane angles uniform on [0, pi) (f(phi + pi) = f(phi) at z = 0).
    """
    p = symmetry.rotation_order
    if p == 0:
        phi, w = np.zeros(1), np.ones(1)
    elif p >= 2 and symmetry.mirror:
        phi = np.pi / p * np.arange(n_phi + 1) / n_phi
        w = np.ones(n_phi + 1)
        w[[0, -1]] = 0.5
    else:
        count = 2 * n_phi if p >= 2 else n_plane
        half_period = np.pi / p if p >= 2 else np.pi / 2
        phi = 2 * half_period * np.arange(count) / count
        w = np.ones(count)
    return FieldGrid(_unit_vectors(np.zeros_like(phi), phi), w / w.sum(),
                     _real_turn(phi, qs, symmetry.mirror), f"plane, {len(phi)} angles")


def single_direction(direction) -> np.ndarray:
    """A field direction as a unit 3-vector: a vector (normalised), or "x", "y", "z"."""
    axes = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}
    if isinstance(direction, str):
        key = direction.strip().lower()
        if key not in axes:
            raise ValueError(f"direction must be 'x', 'y', 'z', 'plane', 'powder' or a 3-vector, "
                             f"got {direction!r}")
        return np.array(axes[key])
    vec = np.asarray(direction, dtype=float)
    if vec.shape != (3,) or not np.all(np.isfinite(vec)) or np.linalg.norm(vec) == 0:
        raise ValueError(f"a field direction must be a finite non-zero 3-vector, got {direction!r}")
    return vec / np.linalg.norm(vec)


def direction_grid(direction, qs=(), mirror: bool = False) -> FieldGrid:
    """One field direction (weight 1); real route when it lies at an angle phi with every
    sin(q phi) = 0 (and H_LF real)."""
    n = single_direction(direction)
    phi = np.array([np.arctan2(n[1], n[0])])
    return FieldGrid(n[None, :], np.ones(1), _real_turn(phi, qs, mirror), f"direction {n.tolist()}")
