"""Ligand-field Hamiltonians, batched over parameter sets (energies in kelvin). The Zeeman term of
the finite-field path is built where it is used (ligandml.susceptibility)."""
from __future__ import annotations

import numpy as np

from .ions import Ion
from .operators import stevens_operator
from .parameters import StevensBatch, check_even_rank, parameter_name


def operator_stack(J: float, terms) -> np.ndarray:
    """Stevens operators O_k^q for the given (k, q) terms, stacked: shape (len(terms), 2J+1, 2J+1)."""
    n = int(round(2 * J)) + 1
    if not terms:
        return np.zeros((0, n, n), dtype=complex)
    return np.stack([stevens_operator(J, k, q) for k, q in terms])


def ligand_field_hamiltonians(ion: Ion, batch: StevensBatch, *, real: bool | None = None) -> np.ndarray:
    """H_LF = sum_kq B_k^q O_k^q for every set in the batch: shape (N, 2J+1, 2J+1), kelvin.

    Returned as a real array when no sine-type (q < 0) term is present (or `real` is True),
    complex otherwise. Raises ValueError for an odd-k term (it breaks time reversal).
    """
    for k, q in batch.terms:
        check_even_rank(k, parameter_name(k, q))
    ops = operator_stack(ion.J, batch.terms)
    real = batch.real if real is None else real
    if real:
        ops = ops.real
    return np.einsum("np,pij->nij", batch.coeffs, ops, optimize=True)
