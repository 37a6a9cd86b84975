"""Field directions for orientation averages: quadrature rules on the sphere.

The powder average of a time-reversal-even quantity (the moment projected on the field, M(n).n)
needs one point of each antipodal pair only, since M(-n) = -M(n); `lebedev_hemisphere` gives
that half of a Lebedev rule (scipy.integrate.lebedev_rule) with weights normalised to 1.
"""
from __future__ import annotations

import numpy as np

#: default Lebedev order (degree of exactness) for the powder average at finite field
DEFAULT_LEBEDEV_ORDER = 23


def lebedev_hemisphere(order: int = DEFAULT_LEBEDEV_ORDER) -> tuple[np.ndarray, np.ndarray]:
    """One point of each antipodal pair of the Lebedev rule of the given order, with weights
    normalised to sum to 1: (directions (P, 3), weights (P,))."""
    from scipy.integrate import lebedev_rule

    points, weights = lebedev_rule(order)
    points = points.T
    # keep z > 0, or z == 0 and y > 0, or z == y == 0 and x > 0
    eps = 1e-12
    keep = (points[:, 2] > eps) | ((np.abs(points[:, 2]) <= eps) & (points[:, 1] > eps)) | (
        (np.abs(points[:, 2]) <= eps) & (np.abs(points[:, 1]) <= eps) & (points[:, 0] > 0))
    if 2 * keep.sum() != len(weights):
        raise RuntimeError(f"Lebedev rule of order {order} is not centrosymmetric")
    w = weights[keep]
    return points[keep], w / w.sum()
