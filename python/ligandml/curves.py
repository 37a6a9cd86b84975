"""Measured curves: reading them from text files and converting them to chi per magnetic ion.

Every entry point that takes a user's curve (the VAE-INN's predict, the fits, the exact posterior,
the CLI) goes through these two functions, so a file or an array is read the same way everywhere.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from . import checks


def read_curve(path, quantity: str = "chi") -> tuple[np.ndarray, np.ndarray]:
    """Read (T [K], values) from a text table: comma-, semicolon-, tab- or space-separated.

    Columns named T and chi (or chiT, per `quantity`) in a header line are used when present,
    else the first two columns. Lines whose two fields are not numbers (headers, units, '--'
    for missing values) are skipped; '#' starts a comment. Sorted by T. Raises
    FileNotFoundError, or ValueError with fewer than 8 usable rows.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such curve file: {path}")
    lines = [ln.split("#", 1)[0].rstrip("\r\n") for ln in path.read_text(errors="replace").splitlines()]
    lines = [ln for ln in lines if ln.strip()]
    sample = "\n".join(lines[:50])
    sep = next((c for c in (",", ";", "\t") if c in sample), None)

    def split(ln):
        return [f.strip() for f in ln.split(sep)] if sep else ln.split()

    def number(field):
        try:
            return float(field)
        except ValueError:
            return None

    cols = (0, 1)
    for ln in lines[:5]:  # a header naming the columns
        names = [re.sub(r"[^a-z]", "", f.lower()) for f in split(ln)]
        if "t" in names and quantity.lower() in names:
            cols = (names.index("t"), names.index(quantity.lower()))
            break
    rows = []
    for ln in lines:
        fields = split(ln)
        if len(fields) > max(cols):
            a, b = number(fields[cols[0]]), number(fields[cols[1]])
            if a is not None and b is not None and np.isfinite(a) and np.isfinite(b):
                rows.append((a, b))
    if len(rows) < 8:
        raise ValueError(f"{path}: found {len(rows)} rows with numeric T and {quantity}; need at least 8 "
                         "(two numeric columns, or a header naming T and the quantity)")
    data = np.array(rows)
    order = np.argsort(data[:, 0], kind="stable")
    return data[order, 0], data[order, 1]


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
