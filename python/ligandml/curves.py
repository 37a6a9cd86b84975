"""Measured curves: reading them from text files and converting them to chi per magnetic ion.

Every entry point that takes a user's curve (the VAE-INN's predict, the fits, the exact posterior,
the CLI) goes through these functions, so a file or an array is read the same way everywhere.

Reading rules (`read_curve`, `read_curve_data`):
- lines before the first numeric row are a header (column names are looked up there);
  '#' starts a comment; blank lines are skipped;
- after that, a row whose two columns are not finite numbers (text, '--', NaN, inf, missing
  fields) is an error naming how many rows and which lines, unless drop_invalid=True, which drops
  them and reports the count (a warning, and `CurveData.n_dropped`);
- temperatures repeated within repeat_tol_K are an error unless average_repeats=True, which
  averages each group (`CurveData.n_merged`);
- the file is read line by line into compact arrays; a file over MAX_BYTES or with more than
  MAX_ROWS data rows is refused as soon as that is known;
- UTF-16, binary files, directories and missing files are refused with a one-line message.
"""
from __future__ import annotations

import re
import warnings
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import checks

#: a susceptibility curve has tens to thousands of points; more rows than this is not a curve
MAX_ROWS = 1_000_000
#: and a file larger than this [bytes] is refused before reading
MAX_BYTES = 200 * 1024**2
#: default tolerance [K] within which two temperatures count as a repeat
REPEAT_TOL_K = 0.01


class CurveFileError(ValueError):
    """A curve file that cannot be read as a table of numbers (one-line message)."""


@dataclass(frozen=True)
class CurveData:
    """A curve read from a file. T [K] ascending; values chi [emu/mol] or chiT [emu K/mol] as
    in the file (per formula unit unless the file is per ion); n_dropped: invalid rows dropped
    (drop_invalid=True), with their line numbers; n_merged: points removed by averaging repeated
    temperatures (each group of k points counts k - 1)."""

    T: np.ndarray
    values: np.ndarray
    quantity: str
    path: str
    n_dropped: int = 0
    dropped_lines: tuple = ()
    n_merged: int = 0
    columns: tuple = (0, 1)
    notes: tuple = field(default_factory=tuple)


def read_curve(path, quantity: str = "chi", *, drop_invalid: bool = False,
               average_repeats: bool = False, repeat_tol_K: float = REPEAT_TOL_K,
               max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Read (T [K], values) from a text table: comma-, semicolon-, tab- or space-separated.

    Columns named T and chi (or chiT, per `quantity`) in a header line are used when present,
    else the first two columns; values are returned as in the file (chi [emu/mol] or chiT
    [emu K/mol]), sorted by T. See the module docstring for invalid rows, repeats and limits;
    `read_curve_data` returns the same with the counts. Raises FileNotFoundError, or a
    ValueError (CurveFileError for unreadable files) with one line naming the cause.
    """
    data = read_curve_data(path, quantity, drop_invalid=drop_invalid,
                           average_repeats=average_repeats, repeat_tol_K=repeat_tol_K,
                           max_rows=max_rows, max_bytes=max_bytes)
    return data.T, data.values


def read_curve_data(path, quantity: str = "chi", *, drop_invalid: bool = False,
                    average_repeats: bool = False, repeat_tol_K: float = REPEAT_TOL_K,
                    max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES) -> CurveData:
    """`read_curve` returning a CurveData (T [K], values, dropped rows, averaged repeats)."""
    path = Path(path)
    lines = text_lines(path, max_bytes)
    head: list[tuple[int, str]] = []
    for lineno, ln in lines:  # the header: up to the first line with two numbers
        head.append((lineno, ln))
        if len(head) >= 50 or _numbers_in(ln) >= 2:
            break
    sep = next((c for c in (",", ";", "\t") if any(c in ln for _, ln in head)), None)
    cols = _columns_named(head, sep, quantity)
    T, values = array("d"), array("d")
    invalid: list[int] = []
    started = False
    for lineno, ln in _chain(head, lines):
        fields = [f.strip() for f in ln.split(sep)] if sep else ln.split()
        pair = _pair(fields, cols)
        if pair is None:
            if started:
                invalid.append(lineno)
            continue
        started = True
        T.append(pair[0])
        values.append(pair[1])
        if len(T) > max_rows:
            raise CurveFileError(f"{path}: a susceptibility curve has hundreds of points, this file "
                                 f"has more than {max_rows:,} rows; is it the right file?")
    notes = []
    if invalid:
        if not drop_invalid:
            raise ValueError(f"{path}: {len(invalid)} row(s) hold text, NaN or inf in the {quantity} "
                             f"or T column (lines {_first_few(invalid)}); fix them or pass "
                             "drop_invalid=True (CLI --drop-invalid) to drop them")
        warnings.warn(f"{path}: dropped {len(invalid)} invalid row(s) (lines {_first_few(invalid)})",
                      UserWarning, stacklevel=3)
        notes.append(f"dropped {len(invalid)} invalid rows")
    if len(T) < 8:
        raise ValueError(f"{path}: found {len(T)} rows with numeric T and {quantity}; need at least 8 "
                         "(two numeric columns, or a header naming T and the quantity)")
    T_arr, v_arr = np.frombuffer(T, dtype=float).copy(), np.frombuffer(values, dtype=float).copy()
    order = np.argsort(T_arr, kind="stable")
    T_arr, v_arr, n_merged = merge_repeats(T_arr[order], v_arr[order], repeat_tol_K,
                                           average=average_repeats, source=str(path))
    if n_merged:
        notes.append(f"averaged {n_merged} repeated points")
    return CurveData(T=T_arr, values=v_arr, quantity=quantity, path=str(path),
                     n_dropped=len(invalid) if drop_invalid else 0, dropped_lines=tuple(invalid),
                     n_merged=n_merged, columns=cols, notes=tuple(notes))


def merge_repeats(x, y, tol, *, average: bool, source: str = "curve", unit: str = "K",
                  name: str = "temperature"):
    """Find points whose x (ascending) lie within `tol` of their group's first point.

    average=False: raise ValueError naming how many repeats there are and the option that
    averages them; average=True: return (x, y) with each group replaced by its means and the
    number of points removed. Units: x in `unit`, y as given.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    tol = float(tol)
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"repeat tolerance must be >= 0 {unit}, got {tol!r}")
    group = np.zeros(x.size, dtype=int)
    start = x[0] if x.size else 0.0
    for i in range(1, x.size):
        if x[i] - start <= tol:
            group[i] = group[i - 1]
        else:
            group[i] = group[i - 1] + 1
            start = x[i]
    n_groups = int(group[-1]) + 1 if x.size else 0
    n_merged = x.size - n_groups
    if n_merged == 0:
        return x, y, 0
    sizes = np.bincount(group)
    if not average:
        worst = int(np.argmax(sizes))
        raise ValueError(f"{source}: {int((sizes > 1).sum())} {name}s are repeated ({n_merged} extra "
                         f"points within {tol:g} {unit}; e.g. {x[group == worst][0]:g} {unit} "
                         f"x{sizes[worst]}); pass average_repeats=True with repeat_tol_K "
                         "(CLI --average-repeats TOL) to average them")
    x_mean = np.bincount(group, weights=x) / sizes
    y_mean = np.bincount(group, weights=y) / sizes
    return x_mean, y_mean, n_merged


def text_lines(path: Path, max_bytes: int = MAX_BYTES):
    """Yield (line number, text without comment and line end) of a text file, lazily.

    Refuses (CurveFileError) a directory, a file over max_bytes, UTF-16 and binary content;
    FileNotFoundError for a missing file. Blank and comment-only lines are skipped.
    """
    path = Path(path)
    if path.is_dir():
        raise CurveFileError(f"{path} is a directory, not a curve file; give the file inside it")
    if not path.exists():
        raise FileNotFoundError(f"no such curve file: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise CurveFileError(f"{path}: a susceptibility curve has hundreds of points, this file has "
                             f"{size / 1024**2:.0f} MB (limit {max_bytes / 1024**2:.0f} MB)")
    with open(path, "rb") as fh:
        start = fh.read(4096)
    _check_text(path, start)
    return _lines(path)


def _lines(path):
    with open(path, encoding="utf-8-sig", errors="replace", newline=None) as fh:
        for lineno, raw in enumerate(fh, start=1):
            ln = raw.split("#", 1)[0].rstrip("\r\n")
            if ln.strip():
                yield lineno, ln


def _check_text(path, start: bytes) -> None:
    if start[:2] in (b"\xff\xfe", b"\xfe\xff") or (
            len(start) >= 8 and start[1::2].count(0) > 0.4 * len(start[1::2])):
        raise CurveFileError(f"{path}: file is UTF-16; save as UTF-8 (plain text) and read again")
    printable = sum(1 for b in start if b >= 32 or b in (9, 10, 13))
    if b"\x00" in start or (start and printable < 0.95 * len(start)):
        raise CurveFileError(f"{path}: binary file, not a text table of T and a susceptibility "
                             "(export it as CSV or text)")


def _numbers_in(ln: str) -> int:
    return sum(1 for f in re.split(r"[,;\t ]+", ln.strip()) if _number(f) is not None)


def _number(field: str):
    try:
        return float(field)
    except ValueError:
        return None


def _pair(fields, cols):
    if len(fields) <= max(cols):
        return None
    a, b = _number(fields[cols[0]]), _number(fields[cols[1]])
    if a is None or b is None or not (np.isfinite(a) and np.isfinite(b)):
        return None
    return a, b


def _columns_named(head, sep, quantity):
    for _, ln in head[:-1] if head else []:
        fields = [f.strip() for f in ln.split(sep)] if sep else ln.split()
        names = [re.sub(r"[^a-z]", "", f.lower()) for f in fields]
        if "t" in names and quantity.lower() in names:
            return names.index("t"), names.index(quantity.lower())
    return 0, 1


def _chain(head, rest):
    yield from head
    yield from rest


def _first_few(linenos, n: int = 5) -> str:
    shown = ", ".join(str(i) for i in linenos[:n])
    return shown + (f", ... ({len(linenos) - n} more)" if len(linenos) > n else "")


def per_ion_chi(T, values, quantity: str = "chi", ions_per_formula: float = 1.0):
    """Return (T [K], chi [emu/mol per magnetic ion]) from a measured curve.

    values: chi [emu/mol per formula unit] (quantity="chi") or chiT [emu K/mol] (quantity="chiT");
    both are divided by ions_per_formula. Raises ValueError for mismatched lengths, NaN/inf,
    T <= 0 or a bad quantity.
    """
    T = checks.temperatures(T)
    values = checks.finite_array(values, quantity)
    if values.ndim != 1 or values.size != T.size:
        raise ValueError(f"{quantity} must be 1-D with one value per temperature "
                         f"({T.size}), got shape {values.shape}")
    if quantity not in ("chi", "chiT"):
        raise ValueError(f"quantity must be 'chi' or 'chiT', got {quantity!r}")
    ions = float(ions_per_formula)
    if not np.isfinite(ions) or ions <= 0:
        raise ValueError(f"ions_per_formula must be > 0, got {ions_per_formula!r}")
    chi = values / T if quantity == "chiT" else values
    return T, chi / ions
