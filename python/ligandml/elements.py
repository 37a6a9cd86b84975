"""Chemical formulas and molar masses from IUPAC standard atomic weights.

Atomic weights [g/mol]: the abridged standard atomic weights (five significant figures, or the
conventional value for elements whose standard weight is an interval) of
IUPAC CIAAW, "Standard atomic weights of the elements 2021 (IUPAC Technical Report)",
T. Prohaska et al., Pure Appl. Chem. 94, 573-600 (2022), Table 2 (https://ciaaw.org).
Elements without a standard atomic weight (Tc, Pm, Po and heavier radioactive ones except Th, Pa, U)
are not listed: a formula with them needs an explicit molar mass.

Formula syntax (`parse_formula`): element symbols with optional counts (integers or decimals),
nested groups in () or [] with a count after the closing bracket, and adducts/hydrates joined by
a middle dot "·", a period "." or "*" with an optional leading multiplier:
"C18H24ErN6O9", "Er(NO3)3(H2O)5", "ErCl3·6H2O", "[Dy(hfac)3]2.C6H6".
"""
from __future__ import annotations

import re

#: IUPAC 2021 abridged standard atomic weights [g/mol] (Prohaska et al. 2022, Table 2)
ATOMIC_WEIGHTS: dict[str, float] = {
    "H": 1.0080, "He": 4.0026, "Li": 6.94, "Be": 9.0122, "B": 10.81, "C": 12.011, "N": 14.007,
    "O": 15.999, "F": 18.998, "Ne": 20.180, "Na": 22.990, "Mg": 24.305, "Al": 26.982,
    "Si": 28.085, "P": 30.974, "S": 32.06, "Cl": 35.45, "Ar": 39.95, "K": 39.098, "Ca": 40.078,
    "Sc": 44.956, "Ti": 47.867, "V": 50.942, "Cr": 51.996, "Mn": 54.938, "Fe": 55.845,
    "Co": 58.933, "Ni": 58.693, "Cu": 63.546, "Zn": 65.38, "Ga": 69.723, "Ge": 72.630,
    "As": 74.922, "Se": 78.971, "Br": 79.904, "Kr": 83.798, "Rb": 85.468, "Sr": 87.62,
    "Y": 88.906, "Zr": 91.224, "Nb": 92.906, "Mo": 95.95, "Ru": 101.07, "Rh": 102.91,
    "Pd": 106.42, "Ag": 107.87, "Cd": 112.41, "In": 114.82, "Sn": 118.71, "Sb": 121.76,
    "Te": 127.60, "I": 126.90, "Xe": 131.29, "Cs": 132.91, "Ba": 137.33, "La": 138.91,
    "Ce": 140.12, "Pr": 140.91, "Nd": 144.24, "Sm": 150.36, "Eu": 151.96, "Gd": 157.25,
    "Tb": 158.93, "Dy": 162.50, "Ho": 164.93, "Er": 167.26, "Tm": 168.93, "Yb": 173.05,
    "Lu": 174.97, "Hf": 178.49, "Ta": 180.95, "W": 183.84, "Re": 186.21, "Os": 190.23,
    "Ir": 192.22, "Pt": 195.08, "Au": 196.97, "Hg": 200.59, "Tl": 204.38, "Pb": 207.2,
    "Bi": 208.98, "Th": 232.04, "Pa": 231.04, "U": 238.03,
}

_TOKEN = re.compile(r"([A-Z][a-z]?)|(\d+)|([(\[])|([)\]])")


def parse_formula(formula: str) -> dict[str, float]:
    """Return {element symbol: count per formula unit} for a chemical formula (see module doc).

    Raises ValueError naming the problem: unknown symbol, unbalanced bracket, stray character.
    """
    if not isinstance(formula, str) or not formula.strip():
        raise ValueError(f"formula must be a non-empty string, got {formula!r}")
    counts: dict[str, float] = {}
    for multiplier, body in _split_adducts(formula.strip()):
        for symbol, n in _parse_group(body, formula).items():
            counts[symbol] = counts.get(symbol, 0.0) + multiplier * n
    return counts


def molar_mass(formula: str) -> float:
    """Molar mass [g/mol] of a formula from the IUPAC 2021 standard atomic weights."""
    counts = parse_formula(formula)
    missing = sorted(el for el in counts if el not in ATOMIC_WEIGHTS)
    if missing:
        raise ValueError(f"no standard atomic weight for {', '.join(missing)} in {formula!r}; "
                         "give the molar mass in g/mol instead")
    return float(sum(ATOMIC_WEIGHTS[el] * n for el, n in counts.items()))


def _split_adducts(formula: str) -> list[tuple[float, str]]:
    """(multiplier, body) for each adduct: "ErCl3·6H2O" -> [(1, "ErCl3"), (6, "H2O")].

    "·", "•", "∙" and "*" may be followed by a decimal multiplier ("·0.5H2O"); a period is
    always a separator ("ErCl3.6H2O"), so counts inside a body are integers.
    """
    parts = []
    for chunk in re.split(r"[·•∙*]", formula):
        factor, rest = _leading_multiplier(chunk, decimal=True)
        for k, piece in enumerate(rest.split(".")):
            if not piece.strip():
                raise ValueError(f"formula {formula!r}: empty part around a separator")
            m, body = _leading_multiplier(piece, decimal=False) if k else (1.0, piece)
            parts.append((factor * m if k == 0 else m, body))
    return parts


def _leading_multiplier(part: str, decimal: bool) -> tuple[float, str]:
    number = r"\d+(?:\.\d+)?" if decimal else r"\d+"
    match = re.match(rf"\s*({number})\s*(?=[A-Z(\[])", part)
    if match:
        return float(match.group(1)), part[match.end():]
    return 1.0, part


def _parse_group(text: str, formula: str) -> dict[str, float]:
    stack: list[dict[str, float]] = [{}]
    pos = 0
    last: dict[str, float] | str | None = None  # what a following count applies to
    compact = re.sub(r"\s+", "", text)
    while pos < len(compact):
        match = _TOKEN.match(compact, pos)
        if not match:
            raise ValueError(f"formula {formula!r}: unexpected character {compact[pos]!r}")
        symbol, number, opening, closing = match.groups()
        pos = match.end()
        if symbol:
            if symbol not in _KNOWN_SYMBOLS:
                raise ValueError(f"formula {formula!r}: unknown element symbol {symbol!r}")
            stack[-1][symbol] = stack[-1].get(symbol, 0.0) + 1.0
            last = symbol
        elif number:
            n = float(number)
            if last is None:
                raise ValueError(f"formula {formula!r}: a count {number} follows nothing")
            if isinstance(last, str):
                stack[-1][last] += n - 1.0
            else:  # a closed group
                for el, c in last.items():
                    stack[-1][el] += c * (n - 1.0)
            last = None
        elif opening:
            stack.append({})
            last = None
        else:
            if len(stack) == 1:
                raise ValueError(f"formula {formula!r}: unbalanced closing bracket")
            group = stack.pop()
            for el, c in group.items():
                stack[-1][el] = stack[-1].get(el, 0.0) + c
            last = group
    if len(stack) != 1:
        raise ValueError(f"formula {formula!r}: unbalanced opening bracket")
    if not stack[0]:
        raise ValueError(f"formula {formula!r} holds no elements")
    return stack[0]


_KNOWN_SYMBOLS = set(ATOMIC_WEIGHTS) | {"Tc", "Pm", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Np", "Pu",
                                        "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "D"}
