"""The diamagnetic correction chi_D of a compound from Pascal's constants, with an uncertainty.

Source of every constant: G. A. Bain and J. F. Berry, "Diamagnetic Corrections and Pascal's
Constants", J. Chem. Educ. 85, 532-536 (2008), doi:10.1021/ed085p532. Units 1e-6 emu/mol
(= 1e-6 cm^3/mol, cgs):
- Table 1, atoms in covalent compounds (C in an open chain and in a ring, N likewise, ...);
- Table 6, free ions (every Ln3+ and the common cations and anions);
- Table 2, constitutive corrections lambda for bonds and rings, added per occurrence.

chi_D = sum_i n_i chi_Di + sum_j m_j lambda_j   (negative: the sample's own diamagnetism).
The paramagnetic susceptibility is chi_para = chi_measured - chi_D (and minus any holder term).

Uncertainty model (the `sigma` of `DiamagneticCorrection`, the sigma_dia a model can be given):
    sigma^2 = (REL_UNCERTAINTY * chi_Pascal)^2 + (chi_Pascal - chi_MW)^2 + sigma_holder^2
with REL_UNCERTAINTY = 10 % and chi_MW = -MW/2 x 1e-6 emu/mol, the rough rule Bain and Berry
give for a quick estimate. The 10 % covers the limits of additivity: the tabulated constants
carry two or three significant figures, ions in a lattice and conjugated systems deviate, and
the measured chi of benzene and chlorobenzene differ from their Pascal sums by 3 % and 9 %
(tests/test_diamagnetic.py). The spread to the MW/2 rule adds what a formula alone cannot tell
(which atoms sit in rings, which bonds are double): the two estimates disagree most exactly
where the constitutive information is missing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .elements import molar_mass, parse_formula

#: relative uncertainty of a Pascal sum (see module docstring)
REL_UNCERTAINTY = 0.10

#: Bain & Berry Table 1: atoms in covalent compounds [1e-6 emu/mol]. "C(ring)", "N(ring)" are
#: ring atoms; "As(III)" etc. name the oxidation state where the table distinguishes it.
PASCAL_ATOMS: dict[str, float] = {
    "H": -2.93, "C": -6.00, "C(ring)": -6.24, "N": -5.57, "N(ring)": -4.61, "O": -4.6,
    "F": -6.3, "Cl": -20.1, "Br": -30.6, "I": -44.6, "S": -15.0, "Se": -23.0, "Te": -37.3,
    "P": -26.3, "As(III)": -20.9, "As(V)": -43.0, "Sb(III)": -74.0, "Bi": -192.0, "B": -7.0,
    "Si": -13.0, "Sn(IV)": -30.0, "Pb(II)": -46.0, "Hg(II)": -33.0, "Tl(I)": -40.0,
    "Li": -4.2, "Na": -9.2, "K": -18.5, "Mg": -10.0, "Ca": -15.9, "Al": -13.0, "Zn": -13.5,
    "Ag": -31.0,
}

#: Bain & Berry Table 6: ions [1e-6 emu/mol], keyed (element, charge)
PASCAL_IONS: dict[tuple[str, int], float] = {
    # lanthanides and group 3
    ("La", 3): -20.0, ("Ce", 3): -20.0, ("Ce", 4): -17.0, ("Pr", 3): -20.0, ("Pr", 4): -18.0,
    ("Nd", 3): -20.0, ("Pm", 3): -27.0, ("Sm", 2): -23.0, ("Sm", 3): -20.0, ("Eu", 2): -22.0,
    ("Eu", 3): -20.0, ("Gd", 3): -20.0, ("Tb", 3): -19.0, ("Tb", 4): -17.0, ("Dy", 3): -19.0,
    ("Ho", 3): -19.0, ("Er", 3): -18.0, ("Tm", 3): -18.0, ("Yb", 2): -20.0, ("Yb", 3): -18.0,
    ("Lu", 3): -17.0, ("Y", 3): -12.0, ("Sc", 3): -6.0, ("Th", 4): -23.0, ("U", 3): -46.0,
    ("U", 4): -35.0, ("U", 5): -26.0, ("U", 6): -19.0,
    # alkali and alkaline earth
    ("Li", 1): -1.0, ("Na", 1): -6.8, ("K", 1): -14.9, ("Rb", 1): -22.5, ("Cs", 1): -35.0,
    ("Be", 2): -0.4, ("Mg", 2): -5.0, ("Ca", 2): -10.4, ("Sr", 2): -19.0, ("Ba", 2): -26.5,
    # d block and main group cations
    ("Ti", 3): -9.0, ("Ti", 4): -5.0, ("V", 2): -15.0, ("V", 3): -10.0, ("V", 4): -7.0,
    ("V", 5): -4.0, ("Cr", 2): -15.0, ("Cr", 3): -11.0, ("Mn", 2): -14.0, ("Mn", 3): -10.0,
    ("Fe", 2): -13.0, ("Fe", 3): -10.0, ("Co", 2): -12.0, ("Co", 3): -10.0, ("Ni", 2): -12.0,
    ("Cu", 1): -12.0, ("Cu", 2): -11.0, ("Zn", 2): -15.0, ("Ga", 3): -8.0, ("Ge", 4): -7.0,
    ("Mo", 3): -23.0, ("Ru", 3): -23.0, ("Rh", 3): -22.0, ("Pd", 2): -25.0, ("Ag", 1): -28.0,
    ("Cd", 2): -24.0, ("In", 3): -19.0, ("Sn", 2): -20.0, ("Sn", 4): -16.0, ("Hf", 4): -16.0,
    ("Ir", 3): -35.0, ("Pt", 2): -40.0, ("Au", 1): -40.0, ("Au", 3): -32.0, ("Hg", 2): -40.0,
    ("Tl", 1): -35.7, ("Pb", 2): -32.0, ("Bi", 3): -25.0, ("Al", 3): -2.0,
    # anions
    ("H", -1): -5.7, ("F", -1): -9.1, ("Cl", -1): -23.4, ("Br", -1): -34.6, ("I", -1): -50.6,
    ("O", -2): -12.0, ("S", -2): -30.0, ("Se", -2): -48.0, ("Te", -2): -70.0,
}

#: Bain & Berry Table 2: constitutive corrections lambda [1e-6 emu/mol], per occurrence
CONSTITUTIVE: dict[str, float] = {
    "C=C": 5.5, "C#C": 0.8, "C=C-C=C": 10.6, "C=N": 8.2, "C#N": 0.8, "N=N": 1.85, "N=O": 1.7,
    "C=O": 6.3, "C-Cl": 3.1, "C-Br": 4.1, "Ar-Cl": -2.5, "Ar-Br": -3.5, "Ar-I": -3.5,
    "benzene": -1.4, "pyridine": 0.5, "cyclohexane": 3.0, "pyrrole": -3.5, "furan": -2.5,
    "thiophene": -7.0, "imidazole": 8.0, "pyrazine": 9.0, "pyrimidine": 6.5,
}

_LANTHANIDES = ("La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm",
                "Yb", "Lu")
#: elements counted as ions by default: Ln3+ and Y3+, Sc3+ (the metal centres of a complex)
DEFAULT_IONS: dict[str, int] = {**{ln: 3 for ln in _LANTHANIDES}, "Y": 3, "Sc": 3}

#: eicosane C20H42, the usual wax that fixes a powder: Pascal sum 20 C + 42 H [emu/mol]
EICOSANE_FORMULA = "C20H42"


@dataclass(frozen=True)
class DiamagneticCorrection:
    """chi_D of one formula unit and its uncertainty, both in emu/mol (cgs).

    value: the total diamagnetic susceptibility to subtract (negative), Pascal sum plus the
    holder/eicosane term; sigma: its standard uncertainty (module docstring); pascal: the Pascal
    sum alone; mw_rule: -MW/2 x 1e-6; holder: the holder + eicosane term per mole of sample;
    terms: each contribution [emu/mol] by name.
    """

    formula: str
    molar_mass: float
    value: float
    sigma: float
    pascal: float
    mw_rule: float
    holder: float = 0.0
    terms: dict = field(default_factory=dict)

    def per_ion(self, ions_per_formula: float) -> tuple[float, float]:
        """(value, sigma) [emu/mol per magnetic ion]: both divided by ions_per_formula."""
        n = float(ions_per_formula)
        if not np.isfinite(n) or n <= 0:
            raise ValueError(f"ions_per_formula must be > 0, got {ions_per_formula!r}")
        return self.value / n, self.sigma / n


def pascal_sum(formula: str, *, ions: dict | None = None, ring_atoms: dict | None = None,
               constitutive: dict | None = None) -> tuple[float, dict]:
    """Pascal sum chi_D [emu/mol] of a formula and its terms [emu/mol] by name.

    ions: {element: charge} of atoms counted as free ions (Table 6); lanthanides, Y and Sc are
    3+ unless given; an element only in Table 6 must be named here. ring_atoms: {"C": 6, "N": 1}
    how many of those atoms sit in rings (Table 1 ring values). constitutive: {"benzene": 1,
    "C=C": 2} corrections of Table 2 and their counts. Raises ValueError for an element without
    a constant, more ring atoms than atoms, or an unknown correction.
    """
    counts = parse_formula(formula)
    ions = {**{el: q for el, q in DEFAULT_IONS.items() if el in counts}, **(ions or {})}
    ring_atoms = dict(ring_atoms or {})
    terms: dict[str, float] = {}
    for el, n in counts.items():
        n_ring = float(ring_atoms.pop(el, 0))
        if n_ring < 0 or n_ring > n:
            raise ValueError(f"ring_atoms[{el!r}] = {n_ring:g} but the formula has {n:g} {el}")
        if n_ring:
            key = f"{el}(ring)"
            if key not in PASCAL_ATOMS:
                raise ValueError(f"no ring value for {el} in Bain & Berry Table 1 (only C and N)")
            terms[key] = n_ring * PASCAL_ATOMS[key]
        if n - n_ring:
            label, chi = _atom_constant(el, ions.get(el))
            terms[label] = terms.get(label, 0.0) + (n - n_ring) * chi
    if ring_atoms:
        raise ValueError(f"ring_atoms names {sorted(ring_atoms)} not in the formula {formula!r}")
    for name, m in (constitutive or {}).items():
        if name not in CONSTITUTIVE:
            raise ValueError(f"unknown constitutive correction {name!r}; known: "
                             f"{', '.join(sorted(CONSTITUTIVE))}")
        terms[f"lambda {name}"] = float(m) * CONSTITUTIVE[name]
    terms = {k: v * 1e-6 for k, v in terms.items()}
    return float(sum(terms.values())), terms


def diamagnetic_correction(formula: str, *, ions: dict | None = None,
                           ring_atoms: dict | None = None, constitutive: dict | None = None,
                           holder: float | None = None, holder_sigma: float = 0.0,
                           field_T: float | None = None, sample_mass_mg: float | None = None,
                           eicosane_mg: float | None = None,
                           rel_uncertainty: float = REL_UNCERTAINTY) -> DiamagneticCorrection:
    """chi_D [emu/mol per formula unit] of `formula` from Pascal's constants, with its sigma.

    formula: e.g. "C18H24ErN6O9", "Er(NO3)3(H2O)5", "ErCl3·6H2O". ions, ring_atoms,
    constitutive: see `pascal_sum`. Optional sample environment, converted to emu/mol of the
    sample (needs sample_mass_mg [mg]):
    - holder: the measured moment of the empty holder [emu] at field_T [T] (negative for a
      diamagnetic holder), holder_sigma its uncertainty [emu];
    - eicosane_mg: mass [mg] of eicosane (C20H42) fixing the powder, its chi from its own
      Pascal sum (-243.06e-6 emu/mol).
    The returned value is what to subtract: chi_para = chi_measured - value. Units: emu/mol.
    """
    mw = molar_mass(formula)
    pascal, terms = pascal_sum(formula, ions=ions, ring_atoms=ring_atoms,
                               constitutive=constitutive)
    mw_rule = -0.5 * mw * 1e-6
    rel = float(rel_uncertainty)
    if not np.isfinite(rel) or rel < 0:
        raise ValueError(f"rel_uncertainty must be >= 0, got {rel_uncertainty!r}")
    holder_chi, holder_var = _environment_term(mw, holder, holder_sigma, field_T,
                                               sample_mass_mg, eicosane_mg, terms)
    sigma = float(np.sqrt((rel * pascal) ** 2 + (pascal - mw_rule) ** 2 + holder_var))
    return DiamagneticCorrection(formula=formula, molar_mass=mw, value=pascal + holder_chi,
                                 sigma=sigma, pascal=pascal, mw_rule=mw_rule, holder=holder_chi,
                                 terms=terms)


def _atom_constant(el: str, charge: int | None) -> tuple[str, float]:
    if charge is not None:
        key = (el, int(charge))
        if key not in PASCAL_IONS:
            known = sorted(q for e, q in PASCAL_IONS if e == el)
            raise ValueError(f"no Pascal constant for the ion {el}{int(charge):+d} in Bain & Berry "
                             f"Table 6 (known charges of {el}: {known or 'none'})")
        return f"{el}{int(charge):+d}", PASCAL_IONS[key]
    if el in PASCAL_ATOMS:
        return el, PASCAL_ATOMS[el]
    variants = [k for k in PASCAL_ATOMS if k.startswith(f"{el}(")]
    charges = sorted(q for e, q in PASCAL_IONS if e == el)
    hint = (f"name its oxidation state via ions={{'{el}': q}} (Table 6 charges: {charges})"
            if charges else "no Bain & Berry constant exists for it")
    if variants:
        hint += f"; covalent values exist only as {', '.join(variants)}"
    raise ValueError(f"no covalent Pascal constant for {el}: {hint}")


def _environment_term(mw, holder, holder_sigma, field_T, sample_mass_mg, eicosane_mg, terms):
    """(chi [emu/mol of sample], variance [(emu/mol)^2]) of holder and eicosane."""
    if holder is None and eicosane_mg is None:
        return 0.0, 0.0
    if sample_mass_mg is None or not np.isfinite(sample_mass_mg) or sample_mass_mg <= 0:
        raise ValueError("a holder or eicosane term needs sample_mass_mg > 0 (mg of sample)")
    moles = sample_mass_mg * 1e-3 / mw
    chi, var = 0.0, 0.0
    if holder is not None:
        if field_T is None or not np.isfinite(field_T) or field_T <= 0:
            raise ValueError("holder is a moment in emu: give the field it was measured at, "
                             "field_T > 0 (tesla)")
        oe = field_T * 1e4
        chi_h = float(holder) / oe / moles
        terms["holder"] = chi_h
        chi += chi_h
        var += (float(holder_sigma) / oe / moles) ** 2
    if eicosane_mg is not None:
        if not np.isfinite(eicosane_mg) or eicosane_mg < 0:
            raise ValueError(f"eicosane_mg must be >= 0 mg, got {eicosane_mg!r}")
        eic_pascal, _ = pascal_sum(EICOSANE_FORMULA)
        chi_e = eic_pascal * (eicosane_mg * 1e-3 / molar_mass(EICOSANE_FORMULA)) / moles
        terms["eicosane"] = chi_e
        chi += chi_e
        var += (REL_UNCERTAINTY * chi_e) ** 2
    return chi, var
