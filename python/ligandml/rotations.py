"""Rotations of ligand-field parameters, exact through the spherical-tensor form.

Convention (active, ZYZ). A rotation R (a proper 3x3 matrix acting on column vectors,
v -> R v) is given either as that matrix or as Euler angles (alpha, beta, gamma) in radians with

    R = Rz(alpha) Ry(beta) Rz(gamma),     U(R) = exp(-i alpha Jz) exp(-i beta Jy) exp(-i gamma Jz)

(the rotation operator in the |J, m> basis; U (n.J) U^dagger = (R n).J). `rotate_parameters`
returns the coefficients B' with

    H_LF(B') = U(R) H_LF(B) U(R)^dagger,

i.e. the ligand field itself is turned by R (an easy axis along z moves to R z). Describing the
same, fixed field in a coordinate frame turned by R is the inverse: rotate by R^T.

Route. For each rank k the Stevens operators are fixed linear combinations of the spherical
tensor components T_kq built from J (operators.py): O_k^q = sum_p C_qp T_kp. Under U,
U T_kp U^dagger = sum_p' T_kp' D^k_p'p(R) with the Wigner matrix
D^k_p'p(alpha, beta, gamma) = exp(-i p' alpha) d^k_p'p(beta) exp(-i p gamma) and Wigner's sum
formula for d^k(beta). Hence B' = (C^T)^-1 D^k C^T B for the 2k+1 coefficients of rank k; the
result is real to rounding. Nothing depends on J. Improper matrices (det = -1, e.g. mirrors) act
on even-k terms as their proper part -R, since inversion is +1 for even k; odd k never reaches
here (parameters.py refuses it).
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from math import factorial, sqrt

import numpy as np

from .operators import _leading_lambda, stevens_leading_coefficient
from .parameters import StevensBatch, parameter_name, to_stevens_batch

#: |R R^T - 1| and |det R| - 1 allowed for a matrix given as a rotation
ORTHOGONALITY_TOL = 1e-9


# --------------------------------------------------------------------------------------------
# rotations: matrices and Euler angles
# --------------------------------------------------------------------------------------------
def axis_rotation(axis, angle: float) -> np.ndarray:
    """Active rotation matrix by `angle` [rad] about the unit vector `axis` (right-hand rule)."""
    n = np.asarray(axis, dtype=float)
    n = n / np.linalg.norm(n)
    k = np.array([[0.0, -n[2], n[1]], [n[2], 0.0, -n[0]], [-n[1], n[0], 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


def euler_to_matrix(alpha: float, beta: float, gamma: float) -> np.ndarray:
    """R = Rz(alpha) Ry(beta) Rz(gamma), angles in radians (active ZYZ)."""
    z = np.array([0.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 0.0])
    return axis_rotation(z, alpha) @ axis_rotation(y, beta) @ axis_rotation(z, gamma)


def proper_rotation(matrix) -> np.ndarray:
    """The matrix as a proper rotation: itself if det = +1, -matrix if det = -1 (an improper
    operation acts on even-k tensors as its proper part). Raises ValueError unless orthogonal."""
    R = np.asarray(matrix, dtype=float)
    if R.shape != (3, 3) or not np.all(np.isfinite(R)):
        raise ValueError(f"a rotation matrix must be a finite 3x3 array, got shape {R.shape}")
    if np.abs(R @ R.T - np.eye(3)).max() > ORTHOGONALITY_TOL:
        raise ValueError("rotation matrix is not orthogonal (R R^T != 1 to 1e-9)")
    return R if np.linalg.det(R) > 0 else -R


def matrix_to_euler(matrix) -> tuple[float, float, float]:
    """ZYZ Euler angles (alpha, beta, gamma) [rad] of a rotation matrix, R = Rz(a) Ry(b) Rz(g).

    beta in [0, pi]. Accurate to rounding everywhere, gimbal lock included. alpha + gamma and
    alpha - gamma come from the upper 2x2 block, (R10 - R01, R00 + R11) = (1 + cos b)(sin, cos)(a + g)
    and (-R10 - R01, R11 - R00) = (1 - cos b)(sin, cos)(a - g), where these are large, and from
    alpha = atan2(R12, R02), gamma = atan2(R21, -R20) (error eps / sin b, which R feels only
    times sin b or 1 -+ cos b) for the other; halving leaves a shift of both by pi open, settled
    by comparing the two candidates with R. An improper matrix gives the angles of its proper part.
    """
    R = proper_rotation(matrix)
    sin_b = np.sqrt(max(0.0, (R[0, 2] ** 2 + R[1, 2] ** 2 + R[2, 0] ** 2 + R[2, 1] ** 2) / 2.0))
    beta = float(np.arctan2(sin_b, R[2, 2]))
    alpha_1, gamma_1 = np.arctan2(R[1, 2], R[0, 2]), np.arctan2(R[2, 1], -R[2, 0])
    if R[2, 2] >= 0:
        plus, minus = np.arctan2(R[1, 0] - R[0, 1], R[0, 0] + R[1, 1]), alpha_1 - gamma_1
    else:
        plus, minus = alpha_1 + gamma_1, np.arctan2(-R[1, 0] - R[0, 1], R[1, 1] - R[0, 0])
    alpha, gamma = (plus + minus) / 2.0, (plus - minus) / 2.0
    # halving leaves (alpha, gamma) and (alpha + pi, gamma + pi) open: the latter means -beta
    flipped = (alpha + np.pi, gamma + np.pi)
    if (np.abs(euler_to_matrix(flipped[0], beta, flipped[1]) - R).max()
            < np.abs(euler_to_matrix(alpha, beta, gamma) - R).max()):
        alpha, gamma = flipped
    return float(alpha), beta, float(gamma)


def _as_euler(rotation) -> tuple[float, float, float]:
    arr = np.asarray(rotation, dtype=float)
    if arr.shape == (3,):
        if not np.all(np.isfinite(arr)):
            raise ValueError("Euler angles must be finite")
        return float(arr[0]), float(arr[1]), float(arr[2])
    if arr.shape == (3, 3):
        return matrix_to_euler(arr)
    raise ValueError(f"rotation must be ZYZ Euler angles (alpha, beta, gamma) [rad] or a 3x3 "
                     f"matrix, got shape {arr.shape}")


# --------------------------------------------------------------------------------------------
# Wigner matrices and the Stevens <-> spherical-tensor map
# --------------------------------------------------------------------------------------------
def wigner_small_d(k: int, beta: float) -> np.ndarray:
    """Wigner d^k(beta) = <k p'| exp(-i beta Jy) |k p>, shape (2k+1, 2k+1), rows p' and columns
    p from -k to k (index p + k). Wigner's sum formula (exact; k is small)."""
    c, s = np.cos(beta / 2.0), np.sin(beta / 2.0)
    d = np.zeros((2 * k + 1, 2 * k + 1))
    for mp in range(-k, k + 1):
        for m in range(-k, k + 1):
            norm = sqrt(factorial(k + mp) * factorial(k - mp) * factorial(k + m) * factorial(k - m))
            total = 0.0
            for t in range(max(0, m - mp), min(k + m, k - mp) + 1):
                denom = factorial(k + m - t) * factorial(t) * factorial(mp - m + t) * factorial(k - mp - t)
                total += ((-1) ** (mp - m + t) * c ** (2 * k + m - mp - 2 * t)
                          * s ** (mp - m + 2 * t) / denom)
            d[mp + k, m + k] = norm * total
    return d


def wigner_d(k: int, alpha: float, beta: float, gamma: float) -> np.ndarray:
    """Wigner D^k_p'p = exp(-i p' alpha) d^k_p'p(beta) exp(-i p gamma), p', p = -k..k."""
    p = np.arange(-k, k + 1)
    return np.exp(-1j * p * alpha)[:, None] * wigner_small_d(k, beta) * np.exp(-1j * p * gamma)[None, :]


@lru_cache(maxsize=None)
def stevens_to_tensor(k: int) -> np.ndarray:
    """C with O_k^q = sum_p C[q+k, p+k] T_kp (q, p = -k..k), T_kp the spherical tensor of
    operators.py (T_kk = J+^k, lowered with J-; T_kp^dagger = (-1)^p T_k,-p). Read-only."""
    C = np.zeros((2 * k + 1, 2 * k + 1), dtype=complex)
    C[k, k] = stevens_leading_coefficient(k, 0) / _leading_lambda(k, 0)
    for p in range(1, k + 1):
        a = stevens_leading_coefficient(k, p) / (2.0 * _leading_lambda(k, p))
        C[k + p, k + p], C[k + p, k - p] = a, a * (-1) ** p            # (T_p + T_p^dagger)
        C[k - p, k + p], C[k - p, k - p] = -1j * a, 1j * a * (-1) ** p  # -i (T_p - T_p^dagger)
    C.setflags(write=False)
    return C


def stevens_rotation_matrix(k: int, rotation) -> np.ndarray:
    """Real (2k+1)x(2k+1) matrix M with B'_k = M B_k (coefficients ordered q = -k..k) for the
    active rotation given as ZYZ Euler angles [rad] or a 3x3 matrix (see the module docstring)."""
    if k % 2:
        raise ValueError(f"rank k = {k} is odd: odd-k terms break time reversal and are not rotated "
                         f"here (improper operations would act on them with a sign)")
    alpha, beta, gamma = _as_euler(rotation)
    Ct = stevens_to_tensor(k).T
    M = np.linalg.solve(Ct, wigner_d(k, alpha, beta, gamma) @ Ct)
    if np.abs(M.imag).max() > 1e-9 * max(1.0, np.abs(M.real).max()):
        raise AssertionError("rotated Stevens coefficients came out complex: convention mismatch")
    return M.real


# --------------------------------------------------------------------------------------------
# public: rotate a parameter set
# --------------------------------------------------------------------------------------------
def rotate_batch(batch: StevensBatch, rotation) -> StevensBatch:
    """Rotate every set of a StevensBatch [K]; the result holds all 2k+1 terms of each rank present."""
    ranks = sorted({k for k, _ in batch.terms})
    terms, blocks = [], []
    for k in ranks:
        full = np.zeros((batch.n_sets, 2 * k + 1))
        for i, (kk, q) in enumerate(batch.terms):
            if kk == k:
                full[:, q + k] = batch.coeffs[:, i]
        blocks.append(full @ stevens_rotation_matrix(k, rotation).T)
        terms += [(k, q) for q in range(-k, k + 1)]
    coeffs = np.concatenate(blocks, axis=1) if blocks else np.zeros((batch.n_sets, 0))
    order = sorted(range(len(terms)), key=lambda i: terms[i])
    return StevensBatch(tuple(terms[i] for i in order), np.ascontiguousarray(coeffs[:, order]))


def rotate_parameters(params, rotation, unit: str = "K"):
    """Ligand-field parameters B' of the field turned by an active rotation (module docstring).

    params: names ("B20", "B4-3", "D", "E", ...) to scalars or equal-length arrays in `unit`
    ("K", "meV", "cm-1"), a DataFrame, or a StevensBatch [K]. rotation: ZYZ Euler angles
    (alpha, beta, gamma) [rad], R = Rz(alpha) Ry(beta) Rz(gamma), or a 3x3 rotation matrix.
    Returns the same kind: a dict of every B_k^q (q = -k..k) of each rank present, in `unit`
    (floats for scalar input, arrays otherwise), or a StevensBatch [K]. Exact to rounding:
    H(B') = U H(B) U^dagger with U = exp(-i alpha Jz) exp(-i beta Jy) exp(-i gamma Jz).
    """
    if isinstance(params, StevensBatch):
        return rotate_batch(params, rotation)
    from .constants import kelvin_per

    scalar = isinstance(params, Mapping) and all(np.ndim(v) == 0 for v in params.values())
    rotated = rotate_batch(to_stevens_batch(params, unit), rotation)
    scale = kelvin_per(unit)
    out = {}
    for (k, q), column in zip(rotated.terms, rotated.coeffs.T):
        values = column / scale
        out[parameter_name(k, q)] = float(values[0]) if scalar else values
    return out
