"""Exact Wigner 3j and 6j symbols (Racah's formulas) and Stevens factors from first principles.

Every 3j or 6j symbol is sign * sqrt(rational): Racah's sum is rational and the triangle and
factorial prefactor sits under one square root. `SignedSqrt` keeps that form exactly, so
products of symbols stay exact and a rational result comes out as a `Fraction` (or an error if
it is not rational, which would mean a wrong formula).

`stevens_factor_from_hund` computes theta_k of the ground multiplet of 4f^n without tables:
1. Hund's rules give L, S, J; the state |L, M_L = L; S, M_S = S> is one Slater determinant
   (spin-up electrons in m_l = 3, 2, ..., then spin-down electrons in m_l = 3, 2, ...), so
   <L L| sum_i C^k_0(i) |L L> = sum over occupied m of <3 m|C^k_0|3 m>, with
   <l m|C^k_0|l m> = (-1)^m (2l+1) (l k l; 0 0 0) (l k l; -m 0 m).
2. Wigner-Eckart in L: <L||C^k||L> = <L L|C^k_0|L L> / (L k L; -L 0 L).
3. Recoupling (the operator acts on L only):
   <(LS)J||C^k||(LS)J> = (-1)^(L+S+J+k) (2J+1) {L J S; J L k} <L||C^k||L>.
4. <J J|C^k_0|J J> = (J k J; -J 0 J) <J||C^k||J>.
5. The Stevens polynomial f_k0 = a_k r^k P_k(cos theta) (a_2 = 2: 3z^2 - r^2; a_4 = 8;
   a_6 = 16) has the operator equivalent theta_k <r^k> O_k^0, hence
   theta_k = a_k <J J|sum_i C^k_0(i)|J J> / <J J|O_k^0|J J>, with O_k^0 at m = J from
   Hutchings' closed forms (Solid State Phys. 16, 227 (1964), Table XVI).
References: G. Racah, Phys. Rev. 62, 438 (1942); A. R. Edmonds, Angular Momentum in Quantum
Mechanics (1957), eqs. (3.7.3), (6.3.7), (7.1.7); B. R. Judd, Operator Techniques in Atomic
Spectroscopy (1963).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import factorial, isqrt

from .ions import hund_ground_multiplet

#: f electrons
L_F = 3


@dataclass(frozen=True)
class SignedSqrt:
    """The exact real number sign * sqrt(square), square a non-negative Fraction."""

    sign: int
    square: Fraction

    def __mul__(self, other: "SignedSqrt") -> "SignedSqrt":
        return SignedSqrt(self.sign * other.sign, self.square * other.square)

    def __truediv__(self, other: "SignedSqrt") -> "SignedSqrt":
        if other.sign == 0:
            raise ZeroDivisionError("division by a zero 3j/6j symbol")
        return SignedSqrt(self.sign * other.sign, self.square / other.square)

    @classmethod
    def of(cls, value) -> "SignedSqrt":
        """The rational `value` in this form."""
        value = Fraction(value)
        return cls((value > 0) - (value < 0), value * value)

    def __float__(self) -> float:
        return self.sign * float(self.square) ** 0.5

    def exact(self) -> Fraction:
        """The value as a Fraction; ValueError if it is not rational."""
        num, den = self.square.numerator, self.square.denominator
        rn, rd = isqrt(num), isqrt(den)
        if rn * rn != num or rd * rd != den:
            raise ValueError(f"sqrt({self.square}) is not rational")
        return self.sign * Fraction(rn, rd)


ZERO = SignedSqrt(0, Fraction(0))


def _twice(j) -> int:
    """2j as an int; ValueError unless j is a multiple of 1/2."""
    two = Fraction(j) * 2
    if two.denominator != 1:
        raise ValueError(f"angular momentum must be a multiple of 1/2, got {j!r}")
    return int(two)


def _fact_half(twice_n: int) -> int:
    """n! for n = twice_n / 2, which must be a non-negative integer."""
    if twice_n % 2 or twice_n < 0:
        raise ValueError("factorial of a negative or half-integer argument")
    return factorial(twice_n // 2)


def _triangle(a: int, b: int, c: int) -> Fraction | None:
    """Delta(abc) = (a+b-c)!(a-b+c)!(-a+b+c)!/(a+b+c+1)! for doubled arguments, or None when
    a, b, c do not form a triangle with an integer perimeter."""
    if (a + b + c) % 2 or a + b < c or a + c < b or b + c < a:
        return None
    return Fraction(_fact_half(a + b - c) * _fact_half(a - b + c) * _fact_half(-a + b + c),
                    _fact_half(a + b + c + 2))


def _from_sum(prefactor: Fraction, total: Fraction, sign: int = 1) -> SignedSqrt:
    if total == 0:
        return ZERO
    s = sign * (1 if total > 0 else -1)
    return SignedSqrt(s, prefactor * total * total)


def wigner_3j(j1, j2, j3, m1, m2, m3) -> SignedSqrt:
    """Exact Wigner 3j symbol (j1 j2 j3; m1 m2 m3) by Racah's formula (Edmonds eq. 3.7.3).

    Arguments are integers or half-integers (int, float or Fraction); zero where the selection
    rules fail. float() of the result gives the number.
    """
    a, b, c = _twice(j1), _twice(j2), _twice(j3)
    x, y, z = _twice(m1), _twice(m2), _twice(m3)
    delta = _triangle(a, b, c)
    if (delta is None or x + y + z != 0 or abs(x) > a or abs(y) > b or abs(z) > c
            or (a + x) % 2 or (b + y) % 2 or (c + z) % 2):
        return ZERO
    prefactor = delta * (_fact_half(a + x) * _fact_half(a - x) * _fact_half(b + y)
                         * _fact_half(b - y) * _fact_half(c + z) * _fact_half(c - z))
    # t runs over the integers that keep every factorial argument non-negative (doubled units)
    t_min = max(0, b - c - x, a - c + y)
    t_max = min(a + b - c, a - x, b + y)
    total = Fraction(0)
    for t in range(t_min, t_max + 1, 2):
        denominator = (_fact_half(t) * _fact_half(c - b + t + x) * _fact_half(c - a + t - y)
                       * _fact_half(a + b - c - t) * _fact_half(a - t - x) * _fact_half(b - t + y))
        total += Fraction(_sign(t), denominator)
    return _from_sum(prefactor, total, _sign(a - b - z))


def wigner_6j(j1, j2, j3, j4, j5, j6) -> SignedSqrt:
    """Exact Wigner 6j symbol {j1 j2 j3; j4 j5 j6} by Racah's formula (Edmonds eq. 6.3.7).

    Zero where one of the four triads (j1 j2 j3), (j1 j5 j6), (j4 j2 j6), (j4 j5 j3) is not a
    triangle.
    """
    a, b, c, d, e, f = (_twice(j) for j in (j1, j2, j3, j4, j5, j6))
    triads = ((a, b, c), (a, e, f), (d, b, f), (d, e, c))
    deltas = [_triangle(*t) for t in triads]
    if any(dl is None for dl in deltas):
        return ZERO
    prefactor = deltas[0] * deltas[1] * deltas[2] * deltas[3]
    sums = [sum(t) for t in triads]                      # a+b+c, a+e+f, d+b+f, d+e+c (doubled)
    quads = (a + b + d + e, b + c + e + f, c + a + f + d)
    total = Fraction(0)
    for t in range(max(sums), min(quads) + 1, 2):
        denominator = _fact_half(quads[0] - t) * _fact_half(quads[1] - t) * _fact_half(quads[2] - t)
        for s in sums:
            denominator *= _fact_half(t - s)
        total += Fraction(_sign(t) * _fact_half(t + 2), denominator)
    return _from_sum(prefactor, total)


def _sign(twice_exponent: int) -> int:
    """(-1)^n for n = twice_exponent / 2, an integer."""
    if twice_exponent % 2:
        raise ValueError("phase with a half-integer exponent")
    return -1 if (twice_exponent // 2) % 2 else 1


def one_electron_ck0(l: int, k: int, m: int) -> Fraction:
    """<l m|C^k_0|l m> = (-1)^m (2l+1) (l k l; 0 0 0)(l k l; -m 0 m), exact (C^k_0 = P_k(cos theta))."""
    value = wigner_3j(l, k, l, 0, 0, 0) * wigner_3j(l, k, l, -m, 0, m)
    return _sign(2 * m) * (2 * l + 1) * value.exact()


def occupied_orbitals(n_4f: int) -> list[int]:
    """m_l of the occupied 4f orbitals (both spins) of the Hund state M_L = L, M_S = S."""
    order = [3, 2, 1, 0, -1, -2, -3]
    up = min(n_4f, 7)
    return order[:up] + order[:n_4f - up]


def stevens_o_k0_at_top(k: int, J: Fraction) -> Fraction:
    """<J, m = J|O_k^0|J, m = J> exactly, from Hutchings' closed forms of O_2^0, O_4^0, O_6^0."""
    X, m = J * (J + 1), J
    if k == 2:
        return 3 * m**2 - X
    if k == 4:
        return 35 * m**4 - (30 * X - 25) * m**2 + 3 * X**2 - 6 * X
    if k == 6:
        return (231 * m**6 - (315 * X - 735) * m**4 + (105 * X**2 - 525 * X + 294) * m**2
                - 5 * X**3 + 40 * X**2 - 60 * X)
    raise ValueError(f"k must be 2, 4 or 6, got {k!r}")


#: f_k0 = a_k r^k P_k(cos theta): 3z^2 - r^2 = 2 r^2 P_2, 35z^4 - ... = 8 r^4 P_4, 231z^6 - ... = 16 r^6 P_6
STEVENS_POLYNOMIAL_OVER_LEGENDRE = {2: 2, 4: 8, 6: 16}


def stevens_factor_from_hund(n_4f: int, k: int) -> Fraction:
    """Stevens factor theta_k (k = 2, 4, 6) of the Hund's-rule ground multiplet of 4f^n, exact,
    computed with 3j and 6j symbols (steps in the module docstring). Dimensionless."""
    if k not in STEVENS_POLYNOMIAL_OVER_LEGENDRE:
        raise ValueError(f"k must be 2, 4 or 6, got {k!r}")
    L, S, J = hund_ground_multiplet(n_4f)
    if J == 0 or k > 2 * J or k > 2 * L:
        return Fraction(0)
    top_L = sum(one_electron_ck0(L_F, k, m) for m in occupied_orbitals(n_4f))     # <L L|C^k_0|L L>
    reduced_L = SignedSqrt.of(top_L) / wigner_3j(L, k, L, -L, 0, L)               # <L||C^k||L>
    reduced_J = (SignedSqrt.of(_sign(2 * (L + S + J + k)) * (2 * J + 1))             # <J||C^k||J>
                 * wigner_6j(L, J, S, J, L, k) * reduced_L)
    top_J = (wigner_3j(J, k, J, -J, 0, J) * reduced_J).exact()                     # <J J|C^k_0|J J>
    return STEVENS_POLYNOMIAL_OVER_LEGENDRE[k] * top_J / stevens_o_k0_at_top(k, J)
