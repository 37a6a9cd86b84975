"""Preprocessing of curves, one object for the dataset and the model alike, and the out-of-distribution
check that goes with it.

- MinMaxNormalizer: the seed's global min-max normalisation, x_norm = (x - min) / (max - min), with
  min and max the single global extremes over every curve and temperature of the training split, in
  the stored quantity's units (chi: emu/mol, chiT: emu K/mol). Stored with the dataset.
- CurvePreprocessor: what a model applies to its input, features = (g(x) - shift) / scale per
  temperature, with method "minmax" (the dataset's MinMaxNormalizer, the same numbers at every
  temperature), "standard" (per-temperature mean and sd) or "log_standard" (the same on log x),
  and the per-temperature range [lo, hi] of the training features.
- The out-of-distribution check (range_excess, check_excess): how far a curve falls outside a
  training range, in units of that range's width. A curve beyond the warning level gets an
  OutOfDistributionWarning, never clipped; far beyond it (wrong units), a ValueError.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from . import checks

#: preprocessing methods of CurvePreprocessor
METHODS = ("minmax", "standard", "log_standard")
#: floor of a curve value before the log of "log_standard" (emu/mol or emu K/mol)
LOG_FLOOR = 1e-8


class OutOfDistributionWarning(UserWarning):
    """A curve falls outside the range of the training data after normalisation."""


def range_excess(values, lo, hi):
    """Per curve (last axis = temperatures): the largest distance of `values` outside [lo, hi], in
    units of hi - lo (0 inside). lo, hi broadcast against the last axis (scalars for a global
    range). NumPy arrays or torch tensors; returns the same kind, one number per curve."""
    width = hi - lo
    if hasattr(values, "clamp"):  # torch
        out = ((lo - values).maximum(values - hi) / width.clamp_min(1e-12)).clamp(min=0)
        return out.amax(dim=-1)
    out = np.maximum(np.maximum(lo - values, values - hi) / np.maximum(width, 1e-12), 0.0)
    return out.max(axis=-1)


def check_excess(excess, warn_above: float, fail_above: float = np.inf, what: str = "",
                 stacklevel: int = 3) -> np.ndarray:
    """The out-of-distribution verdict on per-curve excesses (see range_excess, in range widths).

    Raises ValueError when any excess exceeds fail_above (e.g. wrong units); warns once with an
    OutOfDistributionWarning when any exceeds warn_above, saying how many and how far. what: the
    training range in words, for the message; stacklevel: as for warnings.warn, counted from here. Returns the bool array of curves beyond warn_above.
    """
    excess = np.atleast_1d(np.asarray(excess, dtype=float))
    worst = float(excess.max()) if excess.size else 0.0
    if worst > fail_above:
        raise ValueError(
            f"the input curve is far outside the training distribution ({worst:.3g} range widths "
            "beyond it at some temperature); check units (emu/mol per ion; chi or chiT?), "
            "ions_per_formula and the ion (force=True, CLI --force, goes on anyway)")
    bad = excess > warn_above
    n_bad = int(np.count_nonzero(bad))
    if n_bad:
        warnings.warn(
            f"{n_bad} of {excess.size} curve(s) lie outside the training distribution{what}: up to "
            f"{worst:.3g} range widths beyond it at some temperature. Results for them are "
            "extrapolations (values were not clipped); treat the posterior with caution.",
            OutOfDistributionWarning, stacklevel=stacklevel)
    return bad


@dataclass(frozen=True)
class MinMaxNormalizer:
    """Maps curves to [0, 1] with the global min and max of a training set.

    min, max: the training extremes in the curves' units (emu/mol for chi, emu K/mol for chiT);
    tolerance: how far (in normalised units) beyond [0, 1] a value may fall before a warning;
    quantity: the stored quantity the numbers refer to ("chi" or "chiT"), for bookkeeping.
    """

    min: float
    max: float
    tolerance: float = 1e-6
    quantity: str | None = None

    def __post_init__(self):
        lo, hi = float(self.min), float(self.max)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"MinMaxNormalizer: min and max must be finite, got {lo!r}, {hi!r}")
        if not hi > lo:
            raise ValueError(f"MinMaxNormalizer: max ({hi!r}) must be greater than min ({lo!r})")
        if not (np.isfinite(self.tolerance) and self.tolerance >= 0):
            raise ValueError(f"MinMaxNormalizer: tolerance must be finite and >= 0, got {self.tolerance!r}")
        object.__setattr__(self, "min", lo)
        object.__setattr__(self, "max", hi)
        object.__setattr__(self, "tolerance", float(self.tolerance))

    @classmethod
    def fit(cls, curves, tolerance: float = 1e-6, quantity: str | None = None) -> "MinMaxNormalizer":
        """Fit on training curves (any shape, physical units): global min and max of all values."""
        arr = checks.finite_array(curves, "curves")
        if arr.size == 0:
            raise ValueError("MinMaxNormalizer.fit: no curves given")
        return cls(float(arr.min()), float(arr.max()), tolerance, quantity)

    @property
    def scale(self) -> float:
        """max - min, in the curves' units."""
        return self.max - self.min

    def _normalise(self, curves) -> np.ndarray:
        return (checks.finite_array(curves, "curves") - self.min) / self.scale

    def out_of_range(self, curves) -> np.ndarray:
        """Boolean per curve (last axis = temperatures): True where any point maps outside
        [-tolerance, 1 + tolerance]. A 1-D input is one curve and gives a 0-d array."""
        return range_excess(self._normalise(curves), 0.0, 1.0) > self.tolerance

    def transform(self, curves, warn: bool = True) -> np.ndarray:
        """Normalised curves (x - min) / (max - min), same shape, float64, never clipped.

        Warns with OutOfDistributionWarning when any curve falls outside [0, 1] by more than
        `tolerance`, saying how many and how far."""
        x = self._normalise(curves)
        if warn and x.size:
            check_excess(range_excess(x, 0.0, 1.0), self.tolerance,
                         what=f" (range [{self.min:.6g}, {self.max:.6g}] of "
                              f"{self.quantity or 'the stored quantity'})")
        return x

    def inverse_transform(self, normalised) -> np.ndarray:
        """Physical curves from normalised ones: x_norm * (max - min) + min."""
        return checks.finite_array(normalised, "normalised") * self.scale + self.min

    def to_dict(self) -> dict:
        """JSON-friendly description (to store beside a model or in a dataset's attributes)."""
        return {"kind": "minmax", "min": self.min, "max": self.max,
                "tolerance": self.tolerance, "quantity": self.quantity}

    @classmethod
    def from_dict(cls, d: dict) -> "MinMaxNormalizer":
        """Inverse of to_dict; raises ValueError for another kind or missing numbers."""
        if d.get("kind", "minmax") != "minmax":
            raise ValueError(f"not a min-max normaliser description: kind={d.get('kind')!r}")
        try:
            return cls(float(d["min"]), float(d["max"]), float(d.get("tolerance", 1e-6)),
                       d.get("quantity"))
        except KeyError as exc:
            raise ValueError(f"normaliser description lacks {exc.args[0]!r}") from None


@dataclass
class CurvePreprocessor:
    """Curves -> network features, features = (g(x) - shift) / scale per temperature, g = log for
    "log_standard" and the identity otherwise; lo, hi: per-temperature range of the training
    features (for the out-of-distribution check). The arrays (n_T,) may be NumPy arrays or torch
    tensors (a model keeps them as buffers); features() works on either kind of curves alike.
    """

    method: str
    shift: object
    scale: object
    lo: object = None
    hi: object = None

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown preprocessing {self.method!r}; choose from {METHODS}")

    @classmethod
    def fit(cls, curves: np.ndarray, method: str, normalizer: MinMaxNormalizer | None = None):
        """Statistics from training curves (N, n_T) in the model's quantity: for "minmax" the
        normalizer's min and max (fitted on the curves when None), else per-temperature mean and
        sd of g(curves). lo and hi stay None: they are ranges of the features, set by the caller."""
        if method not in METHODS:
            raise ValueError(f"unknown preprocessing {method!r}; choose from {METHODS}")
        n_T = curves.shape[1]
        if method == "minmax":  # global min-max to [0, 1] (the seed's normalisation)
            norm = normalizer or MinMaxNormalizer(float(curves.min()), float(curves.max()))
            return cls(method, np.full(n_T, norm.min), np.full(n_T, norm.scale))
        c = np.log(np.clip(curves, LOG_FLOOR, None)) if method == "log_standard" else curves
        return cls(method, c.mean(0), c.std(0) + 1e-12)

    def features(self, curves):
        """Network inputs from curves (..., n_T) in the model's quantity (NumPy or torch)."""
        if self.method == "log_standard":
            curves = (curves.clamp_min(LOG_FLOOR).log() if hasattr(curves, "clamp_min")
                      else np.log(np.clip(curves, LOG_FLOOR, None)))
        return (curves - self.shift) / self.scale

    def excess(self, features):
        """Per curve: how far its features fall outside the training range [lo, hi], in range widths."""
        if self.lo is None or self.hi is None:
            raise ValueError("the preprocessor has no training range: set lo and hi from the training features first")
        return range_excess(features, self.lo, self.hi)
