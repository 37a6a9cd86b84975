"""Physical constants (CODATA, via scipy.constants) and energy-unit conversions.

Everything the physics needs is computed here from the CODATA values shipped with SciPy, never
typed in. Internally all energies are in kelvin (E / k_B), fields in tesla, susceptibilities in
cgs emu/mol (= cm^3/mol) per mole of magnetic ions.
"""
from __future__ import annotations

from scipy import constants as _sc

#: Avogadro constant [1/mol]
N_A: float = _sc.N_A
#: Bohr magneton in cgs [erg/G] (1 J/T = 1e3 erg/G)
MU_B_CGS: float = _sc.physical_constants["Bohr magneton"][0] * 1e3
#: Boltzmann constant in cgs [erg/K]
K_B_CGS: float = _sc.k * 1e7
#: Bohr magneton over Boltzmann constant [K/T]: Zeeman energy of 1 muB in 1 T, in kelvin
MU_B_OVER_K_B: float = _sc.physical_constants["Bohr magneton"][0] / _sc.k
#: N_A muB^2 / k_B [emu K/mol]; the Curie constant is C = CURIE_FACTOR gJ^2 J(J+1) / 3
CURIE_FACTOR: float = N_A * MU_B_CGS**2 / K_B_CGS
#: one Bohr magneton per ion expressed as a molar moment [emu/mol] (about 5585)
MU_B_PER_ION_IN_EMU_PER_MOL: float = N_A * MU_B_CGS
#: 1 tesla in oersted (cgs field units)
OERSTED_PER_TESLA: float = 1e4

#: kelvin per meV (about 11.604518)
KELVIN_PER_MEV: float = 1e-3 * _sc.e / _sc.k
#: kelvin per cm^-1 (about 1.4387769)
KELVIN_PER_CM1: float = 100.0 * _sc.h * _sc.c / _sc.k

_UNIT_ALIASES = {
    "k": "K", "kelvin": "K",
    "mev": "meV",
    "cm-1": "cm-1", "cm^-1": "cm-1", "1/cm": "cm-1", "cm**-1": "cm-1", "wavenumber": "cm-1",
}
_KELVIN_PER_UNIT = {"K": 1.0, "meV": KELVIN_PER_MEV, "cm-1": KELVIN_PER_CM1}


def normalise_energy_unit(unit: str) -> str:
    """Return the canonical spelling ("K", "meV" or "cm-1") of an energy unit.

    Raises ValueError for anything else, naming the accepted units.
    """
    key = str(unit).strip().lower() if isinstance(unit, str) else None
    if key not in _UNIT_ALIASES:
        raise ValueError(
            f"unknown energy unit {unit!r}; use one of 'K', 'meV', 'cm-1' (also 'cm^-1')")
    return _UNIT_ALIASES[key]


def kelvin_per(unit: str) -> float:
    """Kelvin per one `unit` of energy: multiply a value in `unit` by this to get kelvin."""
    return _KELVIN_PER_UNIT[normalise_energy_unit(unit)]


def curie_constant(gJ: float, J: float) -> float:
    """Free-ion Curie constant C = N_A muB^2 gJ^2 J(J+1) / (3 k_B) [emu K/mol]."""
    return CURIE_FACTOR * gJ**2 * J * (J + 1.0) / 3.0
