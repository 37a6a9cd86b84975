"""Input checks shared by the public functions: clear ValueErrors instead of NaNs or crashes."""
from __future__ import annotations

import numpy as np


def temperatures(T, name: str = "T") -> np.ndarray:
    """Return T [K] as a 1-D float array; raise ValueError if empty, non-finite or <= 0."""
    try:
        arr = np.atleast_1d(np.asarray(T, dtype=float))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a scalar or 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 K everywhere (got min {arr.min():g} K)")
    return arr


def positive(value, name: str) -> float:
    """Return value as a float; raise ValueError (naming `name`, with its unit if the name has
    one) unless it is a finite number > 0."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(out) or out <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return out


def field(B, name: str = "field") -> float | None:
    """Return a measuring field in tesla as float (None stays None); raise ValueError unless
    it is a finite number > 0."""
    return None if B is None else positive(B, f"{name} [T] (None for zero field)")


def fields(B, name: str = "B") -> np.ndarray:
    """Return fields [T] as a 1-D float array, each finite and > 0."""
    arr = np.atleast_1d(np.asarray(B, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty scalar or 1-D array of fields in tesla")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and > 0 T everywhere")
    return arr


def finite_array(x, name: str) -> np.ndarray:
    """Return x as a float array; raise ValueError if it holds NaN or inf."""
    arr = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr
