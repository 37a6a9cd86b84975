"""The curve options shared by `predict` and `compare`, and the one function that reads a curve.

A curve file is either a plain table (CSV, TSV, whitespace; ligandml.curves.read_curve_data) or
a Quantum Design .dat file (ligandml.instruments.read_mpms), recognised by its "[Header]" or
"[Data]" section. Reading is strict: invalid rows and repeated temperatures are errors unless
--drop-invalid / --average-repeats TOL are given, and then what was done is printed. The
plausibility check (ligandml.plausibility) runs right after reading, before any slow step.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def add_curve_options(p) -> None:
    """The options that say how to read a curve file and what it holds."""
    p.add_argument("curve", help="curve file: CSV/TSV/whitespace table with columns T [K] and chi "
                                 "(or chiT), or a Quantum Design .dat file (MPMS, MPMS3, PPMS-VSM)")
    p.add_argument("--quantity", choices=("chi", "chiT"), default="chi",
                   help="what the curve holds: chi [emu/mol] or chi*T [emu K/mol] (default chi); for a "
                        ".dat file, the quantity the moment is converted to")
    p.add_argument("--ions-per-formula", type=float, default=1.0, metavar="N",
                   help="magnetic ions per formula unit; the molar values are divided by N (default 1)")
    p.add_argument("--ion", default="Er3+", help="the magnetic ion (default Er3+)")
    p.add_argument("--mass", type=float, default=None, metavar="MG",
                   help=".dat files: sample mass [mg] (default: SAMPLE_MASS in the file header)")
    mm = p.add_mutually_exclusive_group()
    mm.add_argument("--molar-mass", type=float, default=None, metavar="G_PER_MOL",
                    help=".dat files: molar mass of the formula unit [g/mol] (default: "
                         "SAMPLE_MOLECULAR_WEIGHT in the header, or from --formula)")
    mm.add_argument("--formula", default=None, metavar="FORMULA",
                    help="chemical formula of the formula unit, e.g. C18H24ErN6O9: gives the molar mass "
                         "of a .dat file and the Pascal diamagnetic correction and its uncertainty "
                         "(reported as sigma_dia)")
    p.add_argument("--diamagnetic", default=None, metavar="auto|VALUE",
                   help=".dat files: subtract a diamagnetic susceptibility [emu/mol per formula unit]; "
                        "'auto' uses the Pascal estimate of --formula (default: nothing subtracted)")
    p.add_argument("--drop-invalid", action="store_true",
                   help="drop rows holding text, NaN or inf (default: such rows are an error); the "
                        "count of dropped rows is printed")
    p.add_argument("--average-repeats", type=float, default=None, metavar="TOL",
                   help="average points whose temperatures agree within TOL [K] (default: repeated "
                        "temperatures are an error); the count is printed")
    p.add_argument("--force", action="store_true",
                   help="go on with a curve the plausibility or prior-box checks reject (wrong units, "
                        "chi vs chiT, ions per formula, another ion, field mismatch)")


@dataclass
class CurveInput:
    """A curve ready for the library: T [K], values (chi [emu/mol] or chiT [emu K/mol], per
    formula unit with ions_per_formula ions), quantity, field_T [T] recorded in a .dat file (None
    for plain tables), dia: the Pascal DiamagneticCorrection of --formula (or None), sigma_dia
    [emu/mol per ion] from it, notes: what was done to the data, printed."""

    T: np.ndarray
    values: np.ndarray
    quantity: str
    ions_per_formula: float
    field_T: float | None = None
    dia: object = None
    sigma_dia: float | None = None
    notes: list = field(default_factory=list)
    verdict: object = None


def is_instrument_file(path) -> bool:
    """True for a Quantum Design .dat file: its first non-blank line is "[Header]", or it has a
    "[Data]" line within its first 2000 lines."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for i, line in enumerate(fh):
                s = line.strip()
                if not s:
                    continue
                if s.lower() in ("[header]", "[data]"):
                    return True
                if i > 2000:
                    break
    except UnicodeError:
        return False
    return False


def _diamagnetic(args):
    if args.formula is None:
        if args.diamagnetic == "auto":
            raise ValueError("--diamagnetic auto needs --formula (the Pascal estimate comes from it)")
        return None
    from ..diamagnetic import diamagnetic_correction

    return diamagnetic_correction(args.formula)


def read_curve_input(args, check: bool = True) -> CurveInput:
    """Read args.curve as the options say, print what was done, and check its plausibility for
    args.ion (ImplausibleCurveError unless --force). Raises ValueError with one line."""
    from ..curves import read_curve_data
    from ..plausibility import check_plausible

    tol = args.average_repeats
    if tol is not None and not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"--average-repeats TOL must be a temperature >= 0 [K], got {tol}")
    ions = float(args.ions_per_formula)
    if not (np.isfinite(ions) and ions > 0):
        raise ValueError(f"--ions-per-formula must be > 0, got {args.ions_per_formula}")
    dia = _diamagnetic(args)
    notes = []
    if is_instrument_file(args.curve):
        from ..instruments import read_mpms

        if args.diamagnetic in (None, "auto"):
            subtract = dia.value if args.diamagnetic == "auto" else 0.0
        else:
            subtract = _number(args.diamagnetic, "--diamagnetic")
        curve = read_mpms(args.curve, mass_mg=args.mass, molar_mass=args.molar_mass,
                          formula=args.formula, ions_per_formula=ions, quantity=args.quantity,
                          per="ion", average_repeats=tol is not None,
                          repeat_tol_K=tol if tol is not None else 0.01, diamagnetic=subtract,
                          drop_invalid=args.drop_invalid)
        T, values, field_T = curve.T, curve.values, curve.field_T
        n_dropped = int(curve.source.get("records_dropped", 0) or 0)
        n_merged = curve.n_repeats_averaged
        notes.append(f"read a Quantum Design file: field {field_T:.4g} T, per ion "
                     f"(divided by {ions:g} ions per formula)"
                     + (f", diamagnetic {subtract:.4g} emu/mol subtracted" if subtract else ""))
        ions = 1.0  # read_mpms returns per-ion values
    else:
        for opt, val in (("--mass", args.mass), ("--molar-mass", args.molar_mass)):
            if val is not None:
                raise ValueError(f"{opt} applies to Quantum Design .dat files; {args.curve} is a "
                                 "plain table (chi already in emu/mol)")
        if args.diamagnetic is not None:
            raise ValueError("--diamagnetic applies to Quantum Design .dat files; subtract it from a "
                             "plain table yourself (or let the posterior fit chi_dia)")
        with warnings.catch_warnings():  # the count is printed below, once
            warnings.filterwarnings("ignore", message=".*dropped", category=UserWarning)
            data = read_curve_data(args.curve, args.quantity, drop_invalid=args.drop_invalid,
                                   average_repeats=tol is not None,
                                   repeat_tol_K=tol if tol is not None else 0.01)
        T, values, field_T = data.T, data.values, None
        n_dropped, n_merged = data.n_dropped, data.n_merged
    if n_dropped:
        notes.append(f"dropped {n_dropped} invalid row(s) (--drop-invalid)")
    if n_merged:
        notes.append(f"averaged repeated temperatures within {tol:g} K: {n_merged} point(s) merged, "
                     f"{len(T)} remain (--average-repeats)")
    sigma_dia = None
    if dia is not None:
        value, sigma_dia = dia.per_ion(float(args.ions_per_formula))
        notes.append(f"Pascal diamagnetic correction of {args.formula}: {value:.4g} +- {sigma_dia:.2g} "
                     "emu/mol per ion (sigma_dia)")
    verdict = None
    if check:
        verdict = check_plausible(T, values, args.ion, quantity=args.quantity,
                                  ions_per_formula=ions, force=args.force)
        if not verdict.ok:
            notes.append(f"--force: going on although {verdict.message}")
    return CurveInput(T=T, values=values, quantity=args.quantity, ions_per_formula=ions,
                      field_T=field_T, dia=dia, sigma_dia=sigma_dia, notes=notes, verdict=verdict)


def _number(text: str, option: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{option} takes 'auto' or a number [emu/mol], got {text!r}") from None
