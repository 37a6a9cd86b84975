"""Parameter priors of a dataset: the uniform box, the "scale-aware box" of DESIGN.md, and the
structure-informed prior (dataset.structure_prior).

The first two are uniform boxes (independent uniform draws per parameter, dataset.chunks.draw_parameters);
they differ in where the ranges come from. "box": the ranges given per parameter. "scale-aware":
each B_k^q uniform on +-W / max|eig(O_k^q)| (W [K] the largest level shift one term alone may
cause, 200 K by default), so every term of every rank has the same energy scale. "structure": Newman's superposition model
around a coordination geometry plus a free residual, inside the scale-aware box
(dataset.structure_prior).
"""
from __future__ import annotations

import numpy as np

from ..constants import kelvin_per
from ..ions import ion as make_ion
from ..operators import stevens_operator
from ..parameters import parse_parameter_name

PRIORS = ("box", "scale-aware", "structure")
#: default W of the scale-aware box [K]
SCALE_AWARE_WIDTH_K = 200.0


def operator_scale(J: float, k: int, q: int) -> float:
    """max |eigenvalue| of the Stevens operator O_k^q for angular momentum J (dimensionless)."""
    return float(np.abs(np.linalg.eigvalsh(stevens_operator(J, k, q))).max())


def scale_aware_half_width(ion_name: str, name: str, width_K: float = SCALE_AWARE_WIDTH_K,
                           unit: str = "K") -> float:
    """Half-width of the scale-aware box for parameter `name` ("B43", ..., or "D", "E") of
    `ion_name`, in `unit`: W / max|eig(O_k^q)| with W = width_K [K]. D = 3 B20 and E = B22,
    so their half-widths are 3x that of B20 and that of B22."""
    J = make_ion(ion_name).J
    kq = parse_parameter_name(name)
    if kq == "D":
        half_K = 3.0 * width_K / operator_scale(J, 2, 0)
    elif kq == "E":
        half_K = width_K / operator_scale(J, 2, 2)
    else:
        half_K = width_K / operator_scale(J, *kq)
    return half_K / kelvin_per(unit)


def scale_aware_box(ion_name: str, names, width_K: float = SCALE_AWARE_WIDTH_K,
                    unit: str = "K") -> dict:
    """{name: (-h, +h)} in `unit` with h = scale_aware_half_width for each name."""
    out = {}
    for name in names:
        h = scale_aware_half_width(ion_name, name, width_K, unit)
        out[str(name)] = (-h, h)
    return out
