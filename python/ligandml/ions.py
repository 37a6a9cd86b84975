"""Lanthanide ions: ground multiplet from Hund's rules, Lande factor, and custom (J, gJ) ions."""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

#: trivalent lanthanides with an open 4f shell, in order of 4f electron count (Ce3+ = 4f^1)
LANTHANIDES = ("Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb")


@dataclass(frozen=True)
class Ion:
    """A magnetic ion in its ground J multiplet.

    J and gJ define everything the physics uses; L, S and the 4f count are kept for reference
    (None for a custom ion). The basis is |J, m>, m = J, J-1, ..., -J.
    """

    name: str
    J: float
    gJ: float
    L: int | None = None
    S: float | None = None
    n_4f: int | None = None

    @property
    def dim(self) -> int:
        """Dimension 2J+1 of the ground multiplet."""
        return int(round(2 * self.J)) + 1

    @property
    def kramers(self) -> bool:
        """True for half-integer J (every zero-field level is at least a doublet)."""
        return self.dim % 2 == 0

    def __str__(self) -> str:
        return f"{self.name} (J={Fraction(self.J).limit_denominator(2)}, gJ={self.gJ:.6g})"


def hund_ground_multiplet(n_4f: int) -> tuple[int, Fraction, Fraction]:
    """(L, S, J) of a 4f^n configuration from Hund's three rules.

    Electrons fill m_l = 3, 2, ..., -3 with spin up, then again with spin down; J = |L - S| for a
    less than half-filled shell and L + S otherwise.
    """
    if not 0 <= n_4f <= 14:
        raise ValueError(f"4f electron count must be 0..14, got {n_4f}")
    ml_order = [3, 2, 1, 0, -1, -2, -3]
    up = min(n_4f, 7)
    down = n_4f - up
    L = abs(sum(ml_order[:up]) + sum(ml_order[:down]))
    S = Fraction(up - down, 2)
    J = abs(L - S) if n_4f < 7 else L + S
    return L, S, J


def lande_g(L: int, S: Fraction, J: Fraction) -> float:
    """Lande factor gJ = 1 + [J(J+1) + S(S+1) - L(L+1)] / [2J(J+1)] with g_s = 2.

    For J = 0 (Eu3+) the moment vanishes and gJ is returned as 0.
    """
    if J == 0:
        return 0.0
    return float(1 + (J * (J + 1) + S * (S + 1) - L * (L + 1)) / (2 * J * (J + 1)))


_NAME_RE = re.compile(r"^\s*([A-Za-z]{1,2})\s*(?:3\+|\+3|\(III\)|III)?\s*$")


def ion(name: str | None = None, *, J: float | None = None, gJ: float | None = None) -> Ion:
    """Return an Ion: ``ion("Er3+")`` for a trivalent lanthanide, or ``ion(J=15/2, gJ=6/5)``.

    Names are case-insensitive and may omit the charge ("Er", "er3+", "Er(III)"). J must be a
    positive multiple of 1/2 and gJ a finite number. Raises ValueError for anything else,
    listing the valid names.
    """
    if name is not None:
        if J is not None or gJ is not None:
            raise ValueError("give either an ion name or J and gJ, not both")
        return _lanthanide(name)
    if J is None or gJ is None:
        raise ValueError("a custom ion needs both J and gJ, e.g. ion(J=15/2, gJ=6/5)")
    twoJ = 2 * float(J)
    if not (twoJ > 0 and abs(twoJ - round(twoJ)) < 1e-9):
        raise ValueError(f"J must be a positive multiple of 1/2, got {J!r}")
    gJ = float(gJ)
    if gJ != gJ or abs(gJ) == float("inf"):
        raise ValueError(f"gJ must be finite, got {gJ!r}")
    return Ion(name=f"J={Fraction(round(twoJ), 2)}", J=round(twoJ) / 2, gJ=gJ)


def _lanthanide(name: str) -> Ion:
    valid = ", ".join(f"{el}3+" for el in LANTHANIDES)
    match = _NAME_RE.match(str(name))
    symbol = match.group(1).capitalize() if match else None
    if symbol not in LANTHANIDES:
        raise ValueError(f"unknown ion {name!r}; valid names: {valid}, or ion(J=..., gJ=...)")
    n_4f = LANTHANIDES.index(symbol) + 1
    L, S, J = hund_ground_multiplet(n_4f)
    return Ion(name=f"{symbol}3+", J=float(J), gJ=lande_g(L, S, J), L=L, S=float(S), n_4f=n_4f)
