"""Quantum Design magnetometer files (.dat): MPMS (MPMS-XL), MPMS3 and PPMS-VSM.

File layout (Quantum Design's documented ".dat" format, shared by MultiVu applications): a
"[Header]" section of comma-separated records, for example "TITLE,...", "BYAPP,<application>,
<version>", "INFO,<value>,<NAME>" (MPMS3 writes "INFO,<mass>,SAMPLE_MASS" in mg and
"INFO,<g/mol>,SAMPLE_MOLECULAR_WEIGHT"), "DATATYPE,...", lines starting ";" are comments; then a
"[Data]" section whose first line is the comma-separated column titles and each further line one
record. Empty cells mean "not measured in this record".

Columns are found by title (case and spacing ignored), in this order of preference:
- temperature [K]: "Temperature (K)", "Average Temp (K)";
- field: "Magnetic Field (Oe)", "Field (Oe)" (oersted), "Magnetic Field (T)", "Field (T)" (tesla);
- moment [emu]: "Moment (emu)" (MPMS3 VSM, PPMS-VSM), "DC Moment Free Ctr (emu)", "DC Moment
  Fixed Ctr (emu)" (MPMS3 DC scan), "Long Moment (emu)" (MPMS-XL), "Long Moment [w/o ABS] (emu)";
  the first of these with any numbers is used, or the one named by moment_column;
- moment error [emu] (optional): "M. Std. Err. (emu)", "DC Moment Err Free Ctr (emu)",
  "DC Moment Err Fixed Ctr (emu)", "Long Scan Std Dev".

Conversions (cgs): n = mass [g] / molar mass [g/mol] moles of formula units;
chi [emu/mol per formula unit] = moment [emu] / (H [Oe] n); per magnetic ion: divided by
ions_per_formula (the ligandml convention, DESIGN.md); M [muB per ion] = moment / (n ions) /
5585 emu/mol (constants.MU_B_PER_ION_IN_EMU_PER_MOL).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .checks import positive as _positive
from .constants import MU_B_PER_ION_IN_EMU_PER_MOL, OERSTED_PER_TESLA
from .curves import REPEAT_TOL_K, _first_few, merge_repeats, text_lines
from .elements import molar_mass as formula_molar_mass

TEMPERATURE_COLUMNS = ("temperature (k)", "average temp (k)")
FIELD_COLUMNS_OE = ("magnetic field (oe)", "field (oe)")
FIELD_COLUMNS_T = ("magnetic field (t)", "field (t)")
MOMENT_COLUMNS = ("moment (emu)", "dc moment free ctr (emu)", "dc moment fixed ctr (emu)",
                  "long moment (emu)", "long moment [w/o abs] (emu)")
MOMENT_ERROR_COLUMNS = ("m. std. err. (emu)", "dc moment err free ctr (emu)",
                        "dc moment err fixed ctr (emu)", "long scan std dev")

#: relative spread of the field [fraction of its median] above which a chi(T) run is refused
FIELD_REL_TOL = 0.01
#: and the absolute part [Oe] (remanent field of a superconducting magnet is a few Oe)
FIELD_ABS_TOL_OE = 5.0
#: temperature spread [K] above which an M(H) run is refused (and 2 % of the median)
TEMPERATURE_TOL_K = 0.1


@dataclass(frozen=True)
class QDTable:
    """The raw content of a Quantum Design .dat file: header records, column titles, and the
    T [K], field [Oe], moment [emu] (and moment error [emu], NaN if absent) of every record
    that has all three, with the line number of each."""

    path: str
    header: dict
    columns: tuple
    T: np.ndarray
    field_oe: np.ndarray
    moment: np.ndarray
    moment_err: np.ndarray
    lines: np.ndarray
    used_columns: dict
    n_empty: int
    n_dropped: int = 0


@dataclass(frozen=True)
class MeasuredCurve:
    """chi(T) from a magnetometer file. T [K] ascending; values chi [emu/mol] or chiT
    [emu K/mol] (quantity) per magnetic ion or per formula unit (per); field_T: the measuring
    field [T] (median |H| of the run); n_repeats_averaged: points merged by average_repeats;
    source: file, application, columns used, mass, molar mass, what was dropped."""

    T: np.ndarray
    values: np.ndarray
    quantity: str
    per: str
    field_T: float
    ions_per_formula: float
    n_repeats_averaged: int
    source: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MagnetizationCurve:
    """M(H) from a magnetometer file, in file order: B [T], M [muB per magnetic ion], at the
    run's temperature T [K] (median); source as for MeasuredCurve."""

    B: np.ndarray
    M: np.ndarray
    T: float
    ions_per_formula: float
    source: dict = field(default_factory=dict)


def read_qd_table(path, *, moment_column: str | None = None,
                  drop_invalid: bool = False) -> QDTable:
    """Read the [Header] and [Data] sections of a Quantum Design .dat file (module docstring).

    Records with an empty temperature, field or moment cell are skipped and counted (n_empty);
    a cell holding text, NaN or inf is an error naming the lines unless drop_invalid=True.
    Units: T [K], field [Oe], moment [emu]. Raises ValueError with one line naming the cause.
    """
    path = Path(path)
    lines = text_lines(path)
    header: dict = {"INFO": {}}
    in_data = False
    titles = None
    for _, ln in lines:
        s = ln.strip()
        if s.lower() == "[data]":
            in_data = True
            break
        if s.startswith(";") or s.lower() == "[header]":
            continue
        rec = next(csv.reader([s]))
        if rec[0].upper() == "INFO" and len(rec) >= 3:
            header["INFO"][rec[2].strip()] = rec[1].strip()
        elif rec:
            header.setdefault(rec[0].strip().upper(), ",".join(rec[1:]).strip())
    if not in_data:
        raise ValueError(f"{path}: no [Data] section; not a Quantum Design .dat file")
    for _, ln in lines:
        titles = next(csv.reader([ln]))
        break
    if not titles:
        raise ValueError(f"{path}: the [Data] section has no column title line")
    norm = [re.sub(r"\s+", " ", t.strip().lower()) for t in titles]
    i_T = _find(norm, TEMPERATURE_COLUMNS, "temperature", path)
    i_H, h_unit = _field_column(norm, path)
    candidates = ([re.sub(r"\s+", " ", moment_column.strip().lower())] if moment_column
                  else list(MOMENT_COLUMNS))
    i_err = next((norm.index(c) for c in MOMENT_ERROR_COLUMNS if c in norm), None)
    rows, invalid, n_empty = [], [], 0
    for lineno, ln in lines:
        rec = next(csv.reader([ln]))
        rows.append((lineno, rec))
    i_M = _moment_column(norm, candidates, rows, path)
    T, H, M, E, L = [], [], [], [], []
    for lineno, rec in rows:
        cells = [rec[i].strip() if i is not None and i < len(rec) else "" for i in (i_T, i_H, i_M)]
        if any(c == "" for c in cells):
            n_empty += 1
            continue
        try:
            t, h, m = (float(c) for c in cells)
        except ValueError:
            invalid.append(lineno)
            continue
        if not (np.isfinite(t) and np.isfinite(h) and np.isfinite(m)):
            invalid.append(lineno)
            continue
        err = _float_or_nan(rec[i_err]) if i_err is not None and i_err < len(rec) else np.nan
        T.append(t), H.append(h), M.append(m), E.append(err), L.append(lineno)
    if invalid and not drop_invalid:
        raise ValueError(f"{path}: {len(invalid)} record(s) hold text, NaN or inf in the temperature, "
                         f"field or moment column (lines {_first_few(invalid)}); pass "
                         "drop_invalid=True (CLI --drop-invalid) to drop them")
    if not T:
        raise ValueError(f"{path}: no record has a temperature, a field and a moment")
    H = np.asarray(H, float) * (OERSTED_PER_TESLA if h_unit == "T" else 1.0)
    used = {"temperature": titles[i_T].strip(), "field": titles[i_H].strip(),
            "moment": titles[i_M].strip(),
            "moment error": titles[i_err].strip() if i_err is not None else None}
    return QDTable(path=str(path), header=header, columns=tuple(t.strip() for t in titles),
                   T=np.asarray(T, float), field_oe=H, moment=np.asarray(M, float),
                   moment_err=np.asarray(E, float), lines=np.asarray(L, int), used_columns=used,
                   n_empty=n_empty, n_dropped=len(invalid))


def read_mpms(path, *, mass_mg: float | None = None, molar_mass: float | None = None,
              formula: str | None = None, ions_per_formula: float = 1.0, quantity: str = "chi",
              per: str = "ion", average_repeats: bool = False, repeat_tol_K: float = REPEAT_TOL_K,
              diamagnetic: float = 0.0, drop_invalid: bool = False,
              moment_column: str | None = None) -> MeasuredCurve:
    """chi(T) [emu/mol] or chiT [emu K/mol] from an MPMS, MPMS3 or PPMS-VSM .dat file.

    mass_mg: sample mass [mg] (default: the header's SAMPLE_MASS); molar_mass [g/mol] of the
    formula unit, or formula (molar mass from IUPAC weights), or the header's
    SAMPLE_MOLECULAR_WEIGHT; ions_per_formula: magnetic ions per formula unit; per: "ion"
    (the ligandml convention) or "formula"; diamagnetic: chi_D [emu/mol per formula unit, e.g.
    diamagnetic_correction(...).value] subtracted before the per-ion division. The field must
    be constant within FIELD_REL_TOL (else: an M(H) run, use read_mpms_mh). Repeated
    temperatures are an error unless average_repeats=True (within repeat_tol_K [K]).
    """
    if quantity not in ("chi", "chiT"):
        raise ValueError(f"quantity must be 'chi' or 'chiT', got {quantity!r}")
    if per not in ("ion", "formula"):
        raise ValueError(f"per must be 'ion' or 'formula', got {per!r}")
    table = read_qd_table(path, moment_column=moment_column, drop_invalid=drop_invalid)
    moles, source = _moles(table, mass_mg, molar_mass, formula)
    ions = _ions(ions_per_formula)
    field_T = _constant_field(table)
    chi = table.moment / table.field_oe / moles - float(diamagnetic)
    if per == "ion":
        chi = chi / ions
    order = np.argsort(table.T, kind="stable")
    T, chi, n_merged = merge_repeats(table.T[order], chi[order], repeat_tol_K,
                                     average=average_repeats, source=str(path))
    values = chi * T if quantity == "chiT" else chi
    source.update(_source(table), diamagnetic_emu_per_mol=float(diamagnetic))
    return MeasuredCurve(T=T, values=values, quantity=quantity, per=per, field_T=field_T,
                         ions_per_formula=ions, n_repeats_averaged=n_merged, source=source)


def read_mpms_mh(path, *, mass_mg: float | None = None, molar_mass: float | None = None,
                 formula: str | None = None, ions_per_formula: float = 1.0,
                 diamagnetic: float = 0.0, drop_invalid: bool = False,
                 moment_column: str | None = None) -> MagnetizationCurve:
    """M(H) [muB per magnetic ion] vs B [T] from an MPMS, MPMS3 or PPMS-VSM .dat file.

    Arguments as for read_mpms; diamagnetic [emu/mol per formula unit] is removed as
    chi_D * H. The temperature must be constant (TEMPERATURE_TOL_K or 2 %), else it is a
    chi(T) run. Records stay in file order (a loop keeps its branches).
    """
    table = read_qd_table(path, moment_column=moment_column, drop_invalid=drop_invalid)
    moles, source = _moles(table, mass_mg, molar_mass, formula)
    ions = _ions(ions_per_formula)
    T_med = float(np.median(table.T))
    spread = float(np.ptp(table.T))
    if spread > max(TEMPERATURE_TOL_K, 0.02 * T_med):
        raise ValueError(f"{path}: the temperature varies from {table.T.min():g} to "
                         f"{table.T.max():g} K across this run; a chi(T) run? use read_mpms")
    m_molar = table.moment / moles - float(diamagnetic) * table.field_oe  # emu/mol formula
    M = m_molar / ions / MU_B_PER_ION_IN_EMU_PER_MOL
    source.update(_source(table), diamagnetic_emu_per_mol=float(diamagnetic))
    return MagnetizationCurve(B=table.field_oe / OERSTED_PER_TESLA, M=M, T=T_med,
                              ions_per_formula=ions, source=source)


def _find(norm, names, what, path):
    for name in names:
        if name in norm:
            return norm.index(name)
    raise ValueError(f"{path}: no {what} column (looked for {', '.join(repr(n) for n in names)})")


def _field_column(norm, path):
    for unit, names in (("Oe", FIELD_COLUMNS_OE), ("T", FIELD_COLUMNS_T)):
        for name in names:
            if name in norm:
                return norm.index(name), unit
    raise ValueError(f"{path}: no field column (looked for 'Magnetic Field (Oe)', 'Field (Oe)', "
                     "or the same in (T))")


def _moment_column(norm, candidates, rows, path):
    present = [norm.index(c) for c in candidates if c in norm]
    if not present:
        raise ValueError(f"{path}: no moment column (looked for "
                         f"{', '.join(repr(c) for c in candidates)})")
    for i in present:
        if any(i < len(rec) and _float_or_nan(rec[i]) == _float_or_nan(rec[i]) for _, rec in rows):
            return i
    return present[0]


def _float_or_nan(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return np.nan


def _moles(table, mass_mg, molar_mass, formula):
    """Moles of formula units in the sample and a source dict saying where each number came from."""
    info = table.header.get("INFO", {})
    source = {}
    if mass_mg is None:
        if _float_or_nan(info.get("SAMPLE_MASS", "")) > 0:
            mass_mg, source["mass_from"] = float(info["SAMPLE_MASS"]), "file header SAMPLE_MASS"
        else:
            raise ValueError(f"{table.path}: give the sample mass (mass_mg, CLI --mass) in mg; "
                             "the file header has no SAMPLE_MASS")
    else:
        source["mass_from"] = "argument"
    if molar_mass is not None and formula is not None:
        raise ValueError("give molar_mass or formula, not both")
    if formula is not None:
        molar_mass, source["molar_mass_from"] = formula_molar_mass(formula), f"formula {formula}"
    elif molar_mass is None:
        if _float_or_nan(info.get("SAMPLE_MOLECULAR_WEIGHT", "")) > 0:
            molar_mass = float(info["SAMPLE_MOLECULAR_WEIGHT"])
            source["molar_mass_from"] = "file header SAMPLE_MOLECULAR_WEIGHT"
        else:
            raise ValueError(f"{table.path}: give the molar mass (molar_mass in g/mol or formula; "
                             "CLI --molar-mass / --formula)")
    else:
        source["molar_mass_from"] = "argument"
    mass_mg = _positive(mass_mg, "mass_mg")
    molar_mass = _positive(molar_mass, "molar_mass")
    source.update(mass_mg=mass_mg, molar_mass=molar_mass)
    return mass_mg * 1e-3 / molar_mass, source


def _ions(ions_per_formula):
    return _positive(ions_per_formula, "ions_per_formula")


def _constant_field(table) -> float:
    """The measuring field [T] of a chi(T) run; ValueError if it varies or is zero."""
    H = np.abs(table.field_oe)
    med = float(np.median(H))
    if med < 1.0:
        raise ValueError(f"{table.path}: the field is {med:g} Oe; chi = M/H needs a measuring "
                         "field (a zero-field run?)")
    spread = float(np.ptp(table.field_oe))
    if spread > FIELD_REL_TOL * med + FIELD_ABS_TOL_OE:
        raise ValueError(f"{table.path}: the field varies from {table.field_oe.min():g} to "
                         f"{table.field_oe.max():g} Oe across this run; an M(H) run? use "
                         "read_mpms_mh (or split the file per field)")
    return med / OERSTED_PER_TESLA


def _source(table) -> dict:
    return {"file": table.path, "application": table.header.get("BYAPP", ""),
            "title": table.header.get("TITLE", ""), "columns": table.used_columns,
            "records": int(table.T.size), "records_without_moment": table.n_empty,
            "records_dropped": table.n_dropped}
