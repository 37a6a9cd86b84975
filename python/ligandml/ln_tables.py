"""Published single-ion tables of the trivalent lanthanides Ce3+ .. Yb3+ (13 ions).

Radial integrals <r^k> of the 4f shell (k = 2, 4, 6), in atomic units a0^k:

- "freeman-desclaux" (the default): relativistic Dirac-Fock values of A. J. Freeman and
  J. P. Desclaux, J. Magn. Magn. Mater. 12, 11 (1979), Table 1 (the values McPhase and Mantid
  carry; Mantid's C++ table has Tb3+ <r^6> = 6.582, a transposition of 6.852, which is the
  published value and the one that lies on the smooth Gd -> Dy trend).
- "edvardsson-klintenberg": relativistic Hartree-Fock values of S. Edvardsson and
  M. Klintenberg, J. Alloys Compd. 275-277, 230 (1998), multiplied by their shielding factors,
  <r^k>_eff = <r^k> (1 - sigma_k): the values PyCrystalField's point-charge model uses; give
  this table to reproduce its numbers.

Stevens factors theta_k (alpha_J for k = 2, beta_J for k = 4, gamma_J for k = 6) of the ground
J multiplet, exact rationals: K. W. H. Stevens, Proc. Phys. Soc. A 65, 209 (1952);
M. T. Hutchings, Solid State Phys. 16, 227 (1964), Table VI; the same in Abragam & Bleaney,
Electron Paramagnetic Resonance of Transition Ions (1970), Table 20. They are zero where the
rank exceeds 2J (gamma_J of Ce3+ and Sm3+), for J = 0 (Eu3+) and for L = 0 (Gd3+).
`ligandml.racah.stevens_factor_from_hund` recomputes every entry from the LS-coupled ground
multiplet; the test suite checks that the two agree exactly (all 39 do). That check settles
gamma_J of Pm3+ = 2^3 17 19 / (3^3 7 11^3 13^2) = 2584/42513471, which PyCrystalField's table
prints with 11^2 (eleven times too large).
"""
from __future__ import annotations

from fractions import Fraction as F

from .ions import LANTHANIDES, Ion, ion as make_ion

#: ranks of the 4f ligand field
RANKS = (2, 4, 6)

#: <r^2>, <r^4>, <r^6> [a0^k], Freeman & Desclaux, J. Magn. Magn. Mater. 12, 11 (1979), Dirac-Fock
RADIAL_FREEMAN_DESCLAUX = {
    "Ce": (1.309, 3.964, 23.31),
    "Pr": (1.1963, 3.3335, 18.353),
    "Nd": (1.114, 2.910, 15.03),
    "Pm": (1.0353, 2.5390, 12.546),
    "Sm": (0.9743, 2.260, 10.55),
    "Eu": (0.9175, 2.020, 9.039),
    "Gd": (0.8671, 1.820, 7.831),
    "Tb": (0.8220, 1.651, 6.852),
    "Dy": (0.7814, 1.505, 6.048),
    "Ho": (0.7446, 1.379, 5.379),
    "Er": (0.7111, 1.270, 4.816),
    "Tm": (0.6804, 1.174, 4.340),
    "Yb": (0.6522, 1.089, 3.932),
}

#: (<r^2>, <r^4>, <r^6>) [a0^k] and shielding (sigma_2, sigma_4, sigma_6), Edvardsson &
#: Klintenberg, J. Alloys Compd. 275-277, 230 (1998)
RADIAL_EDVARDSSON_KLINTENBERG = {
    "Ce": ((1.456, 5.437, 42.26), (0.510, 0.0132, -0.0294)),
    "Pr": ((1.327, 4.537, 32.65), (0.515, 0.0138, -0.0301)),
    "Nd": ((1.222, 3.875, 26.12), (0.518, 0.0130, -0.0310)),
    "Pm": ((1.135, 3.366, 21.46), (0.519, 0.0109, -0.0314)),
    "Sm": ((1.061, 2.964, 17.99), (0.519, 0.0077, -0.0317)),
    "Eu": ((0.997, 2.638, 15.34), (0.520, 0.0033, -0.0319)),
    "Gd": ((0.942, 2.381, 13.36), (0.521, -0.0031, -0.0318)),
    "Tb": ((0.893, 2.163, 11.75), (0.523, -0.0107, -0.0318)),
    "Dy": ((0.849, 1.977, 10.44), (0.527, -0.0199, -0.0316)),
    "Ho": ((0.810, 1.816, 9.345), (0.534, -0.0306, -0.0313)),
    "Er": ((0.773, 1.677, 8.431), (0.544, -0.0427, -0.0310)),
    "Tm": ((0.740, 1.555, 7.659), (0.554, -0.0567, -0.0306)),
    "Yb": ((0.710, 1.448, 7.003), (0.571, -0.0725, -0.0300)),
}

RADIAL_TABLES = ("freeman-desclaux", "edvardsson-klintenberg")

#: (alpha_J, beta_J, gamma_J), Stevens (1952) / Hutchings (1964) Table VI, exact
STEVENS_FACTORS = {
    "Ce": (F(-2, 35), F(2, 315), F(0)),
    "Pr": (F(-52, 2475), F(-4, 5445), F(272, 4459455)),
    "Nd": (F(-7, 1089), F(-136, 467181), F(-1615, 42513471)),
    "Pm": (F(14, 1815), F(952, 2335905), F(2584, 42513471)),
    "Sm": (F(13, 315), F(26, 10395), F(0)),
    "Eu": (F(0), F(0), F(0)),
    "Gd": (F(0), F(0), F(0)),
    "Tb": (F(-1, 99), F(2, 16335), F(-1, 891891)),
    "Dy": (F(-2, 315), F(-8, 135135), F(4, 3864861)),
    "Ho": (F(-1, 450), F(-1, 30030), F(-5, 3864861)),
    "Er": (F(4, 1575), F(2, 45045), F(8, 3864861)),
    "Tm": (F(1, 99), F(8, 49005), F(-5, 891891)),
    "Yb": (F(2, 63), F(-2, 1155), F(4, 27027)),
}


def lanthanide_symbol(ion) -> str:
    """Element symbol ("Er") of a trivalent lanthanide given by name ("Er3+", "er") or as an Ion.

    Raises ValueError for an unknown name or a custom (J, gJ) ion, which has no tables.
    """
    if isinstance(ion, Ion):
        symbol = ion.name.removesuffix("3+")
        if ion.n_4f is None or symbol not in LANTHANIDES:
            raise ValueError(f"{ion} is a custom ion: radial integrals and Stevens factors exist "
                             f"only for the trivalent lanthanides {', '.join(LANTHANIDES)}")
        return symbol
    return make_ion(ion).name.removesuffix("3+")


def _rank_index(k: int) -> int:
    if k not in RANKS:
        raise ValueError(f"rank k must be 2, 4 or 6 (the 4f ligand field), got {k!r}")
    return RANKS.index(k)


def radial_integral(ion, k: int, table: str = "freeman-desclaux") -> float:
    """<r^k> of the 4f shell of a trivalent lanthanide [a0^k, a0 = Bohr radius], k = 2, 4, 6.

    table: "freeman-desclaux" (Dirac-Fock, J. Magn. Magn. Mater. 12, 11 (1979); default) or
    "edvardsson-klintenberg" (J. Alloys Compd. 275-277, 230 (1998), times their shielding
    1 - sigma_k, as PyCrystalField uses). See the module docstring.
    """
    symbol = lanthanide_symbol(ion)
    i = _rank_index(k)
    if table == "freeman-desclaux":
        return RADIAL_FREEMAN_DESCLAUX[symbol][i]
    if table == "edvardsson-klintenberg":
        rk, sigma = RADIAL_EDVARDSSON_KLINTENBERG[symbol]
        return rk[i] * (1.0 - sigma[i])
    raise ValueError(f"unknown radial-integral table {table!r}; use one of {', '.join(RADIAL_TABLES)}")


def stevens_factor_exact(ion, k: int) -> F:
    """Stevens factor theta_k (alpha_J, beta_J, gamma_J for k = 2, 4, 6) as an exact fraction,
    from Stevens (1952) / Hutchings (1964) Table VI. Dimensionless."""
    return STEVENS_FACTORS[lanthanide_symbol(ion)][_rank_index(k)]


def stevens_factor(ion, k: int) -> float:
    """Stevens factor theta_k (alpha_J for k = 2, beta_J for 4, gamma_J for 6) of the ground
    multiplet of a trivalent lanthanide, dimensionless: sum_i f_k0(r_i) = theta_k <r^k> O_k^0
    within the multiplet (Stevens 1952; Hutchings 1964, Table VI)."""
    return float(stevens_factor_exact(ion, k))
