"""Ligand-field parameter sets: names, units, the D, E form and its six equivalents.

A parameter set maps names to values: Stevens coefficients "B20", "B22", "B2-2", "B43", "B6-6"
(PyCrystalField spelling, B_k^q multiplying O_k^q) and the second-order shorthands "D" and "E"
(B20 = D/3, B22 = E). Batches map each name to an equal-length array, or come as a pandas
DataFrame. Internally every coefficient is converted to kelvin.

Only even ranks k = 2, 4, 6 are ligand-field terms. An odd-k Stevens operator of J is odd under
time reversal (J -> -J): a "B30" term would be a magnetic field in disguise, it splits Kramers
doublets, and every zero-field routine that assumes time reversal (the Kramers merge of the
Van Vleck sum, the half-sphere orientation average) would give wrong numbers. Odd k is therefore
refused here, by name (stevens_operator still builds odd-k operators).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .constants import kelvin_per
from .operators import K_MAX

_B_NAME = re.compile(r"^B(\d)(-?\d+)$")


def parse_parameter_name(name: str) -> tuple[int, int] | str:
    """Return (k, q) for a Stevens name like "B4-3", or "D" / "E" for the shorthands.

    Raises ValueError for anything else ("B25": |q| > k; "B7-1": k > 6; "B30": odd k, which
    breaks time reversal), naming the rule.
    """
    if name in ("D", "E"):
        return name
    match = _B_NAME.match(str(name))
    if not match:
        raise ValueError(
            f"unknown parameter name {name!r}; use Stevens names like 'B20', 'B43', 'B6-6' "
            f"(B<k><q>, 1 <= k <= {K_MAX}, -k <= q <= k) or 'D', 'E'")
    k, q = int(match.group(1)), int(match.group(2))
    if not 1 <= k <= K_MAX or abs(q) > k:
        raise ValueError(
            f"invalid parameter name {name!r}: need 1 <= k <= {K_MAX} and -k <= q <= k "
            f"(got k={k}, q={q})")
    check_even_rank(k, name)
    return k, q


def check_even_rank(k: int, name: str) -> None:
    """Raise ValueError for an odd rank k: odd-k terms break time reversal (module docstring)."""
    if k % 2:
        raise ValueError(
            f"parameter {name!r} has odd rank k = {k}: odd-k Stevens terms are odd under time "
            f"reversal, so they cannot appear in a ligand-field Hamiltonian (they would split "
            f"Kramers doublets); use k = 2, 4, 6")


def parameter_name(k: int, q: int) -> str:
    """PyCrystalField spelling of B_k^q, e.g. parameter_name(4, -3) == "B4-3"."""
    return f"B{k}{q}"


@dataclass(frozen=True)
class StevensBatch:
    """N parameter sets as Stevens coefficients in kelvin.

    terms: tuple of (k, q); coeffs: array (N, len(terms)) [K]. Names are unique.
    """

    terms: tuple[tuple[int, int], ...]
    coeffs: np.ndarray

    def __post_init__(self):
        for k, q in self.terms:
            check_even_rank(k, parameter_name(k, q))

    @property
    def n_sets(self) -> int:
        return self.coeffs.shape[0]

    @property
    def all_q_even(self) -> bool:
        """True when every term couples m only to m +- even (two m-parity blocks)."""
        return all(q % 2 == 0 for _, q in self.terms)

    @property
    def persymmetric(self) -> bool:
        """True for real cosine terms with even k and even q: the Hamiltonian is unchanged by m -> -m."""
        return all(q % 2 == 0 and q >= 0 and k % 2 == 0 for k, q in self.terms)

    @property
    def real(self) -> bool:
        """True when the Hamiltonian is a real matrix (no sine-type q < 0 terms)."""
        return all(q >= 0 for _, q in self.terms)

    def as_dict(self) -> dict[str, np.ndarray]:
        """Names ("B20", ...) to coefficient arrays [K]."""
        return {parameter_name(k, q): self.coeffs[:, i] for i, (k, q) in enumerate(self.terms)}


def _as_float_array(name: str, value) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"parameter {name!r} must be numeric: {exc}") from None
    if arr.ndim > 1:
        raise ValueError(f"parameter {name!r} must be a scalar or 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"parameter {name!r} contains NaN or inf")
    return arr


def to_stevens_batch(params, unit: str = "K") -> StevensBatch:
    """Convert a parameter mapping (scalars or equal-length arrays) or DataFrame to a StevensBatch.

    D and E become B20 += D/3 and B22 += E; giving both "D" and "B20" (or "E" and "B22") is an
    error. Values in `unit` ("K", "meV", "cm-1") are converted to kelvin. Raises ValueError for
    unknown names, NaN/inf, mismatched lengths, or an empty mapping.
    """
    scale = kelvin_per(unit)
    if hasattr(params, "columns") and hasattr(params, "to_numpy"):  # pandas DataFrame
        params = {str(c): params[c].to_numpy() for c in params.columns}
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a mapping of names to values or a DataFrame, "
                         f"got {type(params).__name__}")
    if len(params) == 0:
        raise ValueError("params is empty: give at least one parameter, e.g. {'D': -6.0}")
    arrays = {str(name): _as_float_array(str(name), v) for name, v in params.items()}
    lengths = {name: a.size for name, a in arrays.items() if a.ndim == 1}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"parameter arrays have mismatched lengths: {lengths}")
    n_sets = next(iter(lengths.values())) if lengths else 1
    if n_sets == 0:
        raise ValueError("parameter arrays are empty")
    terms: dict[tuple[int, int], np.ndarray] = {}
    for name, arr in arrays.items():
        key = parse_parameter_name(name)
        values = np.broadcast_to(arr, (n_sets,)) * scale
        if key in ("D", "E"):
            key, values = ((2, 0), values / 3.0) if key == "D" else ((2, 2), values)
            other = "B20" if key == (2, 0) else "B22"
            if other in arrays:
                raise ValueError(f"give either {name!r} or {other!r}, not both")
        if key in terms:
            raise ValueError(f"parameter B{key[0]}{key[1]} given twice")
        terms[key] = values
    order = sorted(terms)
    coeffs = np.stack([terms[t] for t in order], axis=1) if order else np.zeros((n_sets, 0))
    return StevensBatch(terms=tuple(order), coeffs=np.ascontiguousarray(coeffs, dtype=float))


def equivalent_DE(D: float, E: float) -> np.ndarray:
    """The six (D, E) sets that give the same powder curve, shape (6, 2), in the units given.

    (D, E), (D, -E), ((-D+3E)/2, +(D+E)/2), ((-D+3E)/2, -(D+E)/2), ((-D-3E)/2, +(D-E)/2),
    ((-D-3E)/2, -(D-E)/2): the relabellings of the x, y, z axes.
    """
    D, E = float(D), float(E)
    d2, e2 = (-D + 3 * E) / 2, (D + E) / 2
    d3, e3 = (-D - 3 * E) / 2, (D - E) / 2
    return np.array([[D, E], [D, -E], [d2, e2], [d2, -e2], [d3, e3], [d3, -e3]])


def canonical_DE(D, E):
    """The canonical equivalent of (D, E): the one with 0 <= E <= |D|/3. Broadcasts over arrays.

    Returns (D, E) as floats for scalar input, arrays otherwise. Ties (E = |D|/3) keep D > 0.
    """
    D_arr, E_arr = np.broadcast_arrays(np.asarray(D, dtype=float), np.asarray(E, dtype=float))
    # axial-rhombic: the canonical set has the largest |D| among the six (then E <= |D|/3)
    cands_D = np.stack([D_arr, (-D_arr + 3 * E_arr) / 2, (-D_arr - 3 * E_arr) / 2])
    cands_E = np.stack([E_arr, (D_arr + E_arr) / 2, (D_arr - E_arr) / 2])
    score = np.abs(cands_D) + 1e-12 * np.sign(cands_D)  # prefer D > 0 on exact ties
    pick = np.argmax(score, axis=0)
    D_c = np.take_along_axis(cands_D, pick[None], 0)[0]
    E_c = np.abs(np.take_along_axis(cands_E, pick[None], 0)[0])
    if np.ndim(D) == 0 and np.ndim(E) == 0:
        return float(D_c), float(E_c)
    return D_c, E_c


def nearest_equivalent_distance(D, E, D_true: float, E_true: float) -> np.ndarray:
    """Distance [same unit] in the D-E plane from each (D, E) to the nearest of the six equivalents
    of (D_true, E_true). Broadcasts over D, E."""
    eq = equivalent_DE(D_true, E_true)
    D = np.asarray(D, dtype=float)[..., None]
    E = np.asarray(E, dtype=float)[..., None]
    return np.sqrt((D - eq[:, 0]) ** 2 + (E - eq[:, 1]) ** 2).min(axis=-1)
