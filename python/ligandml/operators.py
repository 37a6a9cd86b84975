"""Angular-momentum matrices and Stevens operators O_k^q (Hutchings 1964 convention).

Basis |J, m>, m = J, J-1, ..., -J (descending), so Jz = diag(J, ..., -J) and J+ sits on the
first superdiagonal. Jx = (J+ + J-)/2, Jy = (J+ - J-)/(2i).

Construction (the same in julia/Stevens.jl). The components of a rank-k spherical tensor built
from J follow from T_kk = J+^k by lowering, [J-, T_kq] = sqrt((k+q)(k-q+1)) T_k,q-1. Writing
T_kq = lambda_kq J+^q Jz^(k-q) + (lower powers of Jz), the leading coefficient obeys
lambda_k,q-1 = -lambda_kq sqrt((k+q)/(k-q+1)) with lambda_kk = 1. A Stevens operator is

    O_k^q  = (1/4) [P_kq(Jz) (J+^q + J-^q) + (J+^q + J-^q) P_kq(Jz)] + ...   (q > 0)
    O_k^-q = (1/4i)[P_kq(Jz) (J+^q - J-^q) + (J+^q - J-^q) P_kq(Jz)] + ...   (q > 0)
    O_k^0  = P_k0(Jz)

where the leading coefficient c_kq of P_kq is that of d^q/dz^q of the Legendre polynomial P_k,
scaled to coprime integers (3 for O_2^0, 35 for O_4^0, 7 for O_4^2, 231 for O_6^0, 33 for O_6^2,
1 for every O_k^k). Hence O_k^q = c_kq/(2 lambda_kq) (T_kq + T_kq^dagger),
O_k^-q = -i c_kq/(2 lambda_kq) (T_kq - T_kq^dagger), and O_k^0 = (c_k0/lambda_k0) T_k0.
References: K. W. H. Stevens, Proc. Phys. Soc. A 65, 209 (1952); M. T. Hutchings, Solid State
Phys. 16, 227 (1964); the same operators as PyCrystalField, Mantid and McPhase.
"""
from __future__ import annotations

from functools import lru_cache
from math import comb, factorial, gcd, sqrt

import numpy as np

K_MAX = 6


def _dim(J: float) -> int:
    twoJ = 2 * float(J)
    if not (twoJ >= 0 and abs(twoJ - round(twoJ)) < 1e-9) or not np.isfinite(twoJ):
        raise ValueError(f"J must be a non-negative multiple of 1/2, got {J!r}")
    return int(round(twoJ)) + 1


def m_values(J: float) -> np.ndarray:
    """Magnetic quantum numbers m = J, J-1, ..., -J (the basis order), as floats."""
    n = _dim(J)
    return (n - 1) / 2.0 - np.arange(n, dtype=float)


def j_plus(J: float) -> np.ndarray:
    """Raising operator J+ (real, first superdiagonal): <m+1|J+|m> = sqrt(J(J+1) - m(m+1))."""
    n = _dim(J)
    jj = (n - 1) / 2.0
    m = m_values(J)[1:]  # columns 1..n-1 hold m = J-1 ... -J
    out = np.zeros((n, n))
    out[np.arange(n - 1), np.arange(1, n)] = np.sqrt(jj * (jj + 1) - m * (m + 1))
    return out


def spin_matrices(J: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Jx, Jy, Jz) as complex (2J+1)x(2J+1) arrays in the |J, m> basis (m descending)."""
    jp = j_plus(J)
    jm = jp.T
    jx = (jp + jm) / 2.0 + 0j
    jy = (jp - jm) / 2j
    jz = np.diag(m_values(J)) + 0j
    return jx, jy, jz


@lru_cache(maxsize=None)
def stevens_leading_coefficient(k: int, q: int) -> int:
    """Leading coefficient c_kq of P_kq: that of d^|q|/dz^|q| P_k(z) scaled to coprime integers."""
    q = abs(q)
    coeffs = []  # integer coefficients of 2^k P_k(z) differentiated q times, highest power first
    for j in range(k // 2 + 1):
        power = k - 2 * j
        if power < q:
            break
        a = (-1) ** j * comb(k, j) * comb(2 * k - 2 * j, k)
        coeffs.append(a * factorial(power) // factorial(power - q))
    divisor = 0
    for c in coeffs:
        divisor = gcd(divisor, c)
    return coeffs[0] // divisor


def _spherical_tensor_components(J: float, k: int) -> dict[int, np.ndarray]:
    """T_kq for q = 0..k from T_kk = J+^k by repeated lowering with J-."""
    jp = j_plus(J)
    jm = jp.T
    comps = {k: np.linalg.matrix_power(jp, k)}
    for q in range(k, 0, -1):
        t = comps[q]
        comps[q - 1] = (jm @ t - t @ jm) / sqrt((k + q) * (k - q + 1))
    return comps


def _leading_lambda(k: int, q: int) -> float:
    lam = 1.0
    for p in range(k, q, -1):
        lam *= -sqrt((k + p) / (k - p + 1))
    return lam


def check_kq(k: int, q: int) -> None:
    """Raise ValueError unless 1 <= k <= 6 and -k <= q <= k (integers)."""
    if not (isinstance(k, (int, np.integer)) and isinstance(q, (int, np.integer))):
        raise ValueError(f"k and q must be integers, got k={k!r}, q={q!r}")
    if not 1 <= k <= K_MAX:
        raise ValueError(f"Stevens operators need 1 <= k <= {K_MAX}, got k={k}")
    if not -k <= q <= k:
        raise ValueError(f"Stevens operator O_{k}^{q}: q must lie in -{k}..{k}")


@lru_cache(maxsize=256)
def _stevens_cached(twoJ: int, k: int, q: int) -> np.ndarray:
    J = twoJ / 2.0
    t = _spherical_tensor_components(J, k)[abs(q)]
    c = stevens_leading_coefficient(k, q)
    lam = _leading_lambda(k, abs(q))
    if q == 0:
        op = (c / lam) * (t + t.conj().T) / 2.0 + 0j
    elif q > 0:
        op = (c / (2.0 * lam)) * (t + t.conj().T) + 0j
    else:
        op = (-1j * c / (2.0 * lam)) * (t - t.conj().T)
    op.setflags(write=False)
    return op


def stevens_operator(J: float, k: int, q: int) -> np.ndarray:
    """Stevens operator O_k^q as a complex (2J+1)x(2J+1) Hermitian matrix (Hutchings convention).

    k = 1..6, q = -k..k; q < 0 gives the sine-type operator (e.g. O_2^-2 = (J+^2 - J-^2)/(2i)).
    Dimensionless (powers of J). For 2J < k the operator vanishes identically. The returned
    array is a fresh copy. Raises ValueError for invalid J, k or q.
    """
    n = _dim(J)
    if n < 2:
        raise ValueError(f"J must be >= 1/2 for Stevens operators, got {J!r}")
    check_kq(k, q)
    return _stevens_cached(n - 1, int(k), int(q)).copy()
