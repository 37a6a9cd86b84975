"""Global min-max normalisation of curves, fitted on a training set (the seed's choice).

x_norm = (x - min) / (max - min), with min and max the single global minimum and maximum over
every curve and every temperature of the training split, in the stored quantity's units
(chi: emu/mol, chiT: emu K/mol). The same two numbers are applied to every input curve, so a
curve the model has never seen the like of lands outside [0, 1]: that is reported with an
OutOfDistributionWarning, never clipped.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from . import checks


class OutOfDistributionWarning(UserWarning):
    """A curve falls outside the range of the training data after normalisation."""


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
        x = self._normalise(curves)
        return np.any((x < -self.tolerance) | (x > 1.0 + self.tolerance), axis=-1)

    def transform(self, curves, warn: bool = True) -> np.ndarray:
        """Normalised curves (x - min) / (max - min), same shape, float64, never clipped.

        Warns with OutOfDistributionWarning when any curve falls outside [0, 1] by more than
        `tolerance`, saying how many and how far."""
        x = self._normalise(curves)
        if warn and x.size:
            bad = np.any((x < -self.tolerance) | (x > 1.0 + self.tolerance), axis=-1)
            n_bad = int(np.count_nonzero(bad))
            if n_bad:
                n_all = int(np.size(bad))
                warnings.warn(
                    f"{n_bad} of {n_all} curve(s) fall outside the training range "
                    f"[{self.min:.6g}, {self.max:.6g}] of {self.quantity or 'the stored quantity'}: "
                    f"normalised values span [{x.min():.4g}, {x.max():.4g}] instead of [0, 1]. "
                    "They are outside the training distribution; results for them are "
                    "extrapolations (values were not clipped).",
                    OutOfDistributionWarning, stacklevel=2)
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
