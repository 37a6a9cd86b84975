"""Powder susceptibility and magnetisation, batched over parameter sets (the NumPy reference).

Zero field: exact linear response, chi = (chi_xx + chi_yy + chi_zz)/3 from the Van Vleck sum

    chi = (N_A muB^2 gJ^2 / k_B) / (3 Z) * sum_i exp(-E_i/T) [ c_i / T + v_i ]
    c_i = sum_{j: E_j = E_i} S_ij,      v_i = sum_{j: E_j != E_i} 2 S_ij / (E_j - E_i),
    S_ij = |<i|Jx|j>|^2 + |<i|Jy|j>|^2 + |<i|Jz|j>|^2,

energies in kelvin. Levels closer than DEGENERACY_TOL_REL x max(1 K, spectrum width) are
degenerate (their pair enters the Curie term c_i), so Kramers doublets and E -> 0 never produce
0/0. Pairs with small non-zero gaps (< NEAR_GAP_K) are summed exactly per temperature as
S_ij exp(-E_i/T) (1 - exp(-x))/(x T), x = (E_j - E_i)/T, which has no cancellation; the rest
carry an error below eps*width/NEAR_GAP_K, about 1e-10.
c_i and v_i do not depend on T, so a temperature costs one exponential per level.

Finite field B (powder and single crystal): finite_field.py; powder_moment, finite_field_chi
and moment_to_chi stay importable from here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .constants import CURIE_FACTOR
from .hamiltonian import ligand_field_hamiltonians
from .ions import Ion
from .operators import j_plus, m_values, spin_matrices
from .orientations import DEFAULT_LEBEDEV_ORDER, lebedev_hemisphere  # noqa: F401 (old import path)
from .parameters import StevensBatch

#: relative level spacing (times max(1 K, spectrum width)) below which levels count as degenerate
DEGENERACY_TOL_REL = 1e-11
#: level pairs closer than this [K] (but not degenerate) are summed exactly, pair by pair
NEAR_GAP_K = 1e-2
#: parameter sets per block (bounds memory: a block of 4096 sets x 128 T x 16 levels is 67 MB)
CHUNK_SETS = 4096


# --------------------------------------------------------------------------------------------
# eigensystems and dipole matrix elements
# --------------------------------------------------------------------------------------------
def _dipole_strengths(vecs: np.ndarray, m: np.ndarray, jp: np.ndarray) -> np.ndarray:
    """S_ij = sum_a |<i|J_a|j>|^2 in the eigenbasis (columns of vecs), shape (N, n, n)."""
    vh = np.conj(np.swapaxes(vecs, -1, -2))
    jz_e = vh @ (m[:, None] * vecs)
    jp_e = vh @ (jp @ vecs)
    ajp = np.abs(jp_e) ** 2
    return np.abs(jz_e) ** 2 + 0.5 * (ajp + np.swapaxes(ajp, -1, -2))


def _levels_full(J: float, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energies (N, n) and dipole strengths (N, n, n) by full diagonalisation."""
    energies, vecs = np.linalg.eigh(H)
    return energies, _dipole_strengths(vecs, m_values(J), j_plus(J))


def _levels_parity_blocks(J: float, H: np.ndarray, persymmetric: bool) -> tuple[np.ndarray, np.ndarray]:
    """Energies and dipole strengths when H couples m only to m +- 2, 4, ... (even q only).

    Block A holds the basis states 0, 2, 4, ... (m = J, J-2, ...), block B the odd ones. Jz acts
    inside a block, J+ between them. For a persymmetric H (even k, even q >= 0) and half-integer
    J the flip m -> -m maps A onto B, so B's eigenvectors are A's with rows reversed and one
    eigensolve of half the size suffices.
    """
    m = m_values(J)
    jp = j_plus(J)
    h_a = H[:, 0::2, 0::2]
    e_a, v_a = np.linalg.eigh(h_a)
    if persymmetric and len(m) % 2 == 0:
        e_b, v_b = e_a, v_a[:, ::-1, :]
    else:
        e_b, v_b = np.linalg.eigh(H[:, 1::2, 1::2])
    na = e_a.shape[1]
    vah = np.conj(np.swapaxes(v_a, -1, -2))
    vbh = np.conj(np.swapaxes(v_b, -1, -2))
    s_aa = np.abs(vah @ (m[0::2, None] * v_a)) ** 2
    s_bb = np.abs(vbh @ (m[1::2, None] * v_b)) ** 2
    jp_ab = vah @ (jp[0::2, 1::2] @ v_b)  # <a|J+|b>, a in A, b in B
    jp_ba = vbh @ (jp[1::2, 0::2] @ v_a)  # <b|J+|a>
    s_ab = 0.5 * (np.abs(jp_ab) ** 2 + np.swapaxes(np.abs(jp_ba) ** 2, -1, -2))
    n = len(m)
    strengths = np.empty(H.shape[:1] + (n, n))
    strengths[:, :na, :na] = s_aa
    strengths[:, na:, na:] = s_bb
    strengths[:, :na, na:] = s_ab
    strengths[:, na:, :na] = np.swapaxes(s_ab, -1, -2)
    return np.concatenate([e_a, e_b], axis=1), strengths


def level_scheme(ion: Ion, batch: StevensBatch) -> tuple[np.ndarray, np.ndarray]:
    """Energies [K] (N, 2J+1) and dipole strengths S_ij (N, 2J+1, 2J+1) for a batch of sets.

    Picks the cheapest exact route: two m-parity blocks when every q is even (one block when
    the Hamiltonian is also persymmetric), a full eigensolve otherwise. Energies are not sorted.
    """
    H = ligand_field_hamiltonians(ion, batch)
    if ion.dim >= 2 and batch.all_q_even and batch.terms:
        return _levels_parity_blocks(ion.J, H, batch.persymmetric)
    return _levels_full(ion.J, H)


# --------------------------------------------------------------------------------------------
# Van Vleck sum
# --------------------------------------------------------------------------------------------
@dataclass
class VanVleckTerms:
    """T-independent pieces of the Van Vleck sum for N parameter sets.

    levels [K] (ground level 0), weights (degeneracy), curie (c_i), vanvleck (v_i [1/K]): (N, L).
    near_set, near_energy [K], near_gap [K], near_strength: the level pairs (i, j) with a small
    but non-zero gap E_j - E_i, whose contribution S_ij exp(-E_i/T) (1 - exp(-x))/(x T),
    x = gap/T, is summed exactly at each temperature instead of through c_i and v_i.
    """

    levels: np.ndarray
    weights: np.ndarray
    curie: np.ndarray
    vanvleck: np.ndarray
    near_set: np.ndarray
    near_energy: np.ndarray
    near_gap: np.ndarray
    near_strength: np.ndarray


def curie_and_van_vleck_terms(energies: np.ndarray, strengths: np.ndarray, kramers: bool) -> VanVleckTerms:
    """Split the Van Vleck sum into per-level terms that do not depend on T.

    Pairs closer than DEGENERACY_TOL_REL * max(1 K, width) are degenerate (Curie term c_i);
    pairs with gaps up to NEAR_GAP_K are kept aside and summed exactly per temperature (no
    cancellation between nearly equal Boltzmann factors); the rest form v_i = sum 2 S_ij/(E_j - E_i).
    For a Kramers ion the degenerate doublets are merged (L = n/2, weight 2).
    """
    energies = energies - energies.min(axis=1, keepdims=True)
    width = np.maximum(1.0, energies.max(axis=1))[:, None, None]
    gap = energies[:, None, :] - energies[:, :, None]  # [n, i, j] = E_j - E_i
    degenerate = np.abs(gap) < DEGENERACY_TOL_REL * width
    near = ~degenerate & (np.abs(gap) < NEAR_GAP_K)
    far = ~(degenerate | near)
    curie = np.where(degenerate, strengths, 0.0).sum(axis=2)
    vanvleck = np.where(far, 2.0 * strengths / np.where(far, gap, 1.0), 0.0).sum(axis=2)
    near_set, near_i, near_j = np.nonzero(near)
    near_terms = (near_set, energies[near_set, near_i], gap[near_set, near_i, near_j],
                  strengths[near_set, near_i, near_j])
    if kramers:
        order = np.argsort(energies, axis=1, kind="stable")
        energies, curie, vanvleck = (np.take_along_axis(a, order, 1) for a in (energies, curie, vanvleck))
        energies = energies[:, 0::2]
        curie = curie[:, 0::2] + curie[:, 1::2]
        vanvleck = vanvleck[:, 0::2] + vanvleck[:, 1::2]
        weights = np.full(energies.shape, 2.0)
    else:
        weights = np.ones(energies.shape)
    return VanVleckTerms(energies, weights, curie, vanvleck, *near_terms)


def _relative_expm1(x: np.ndarray) -> np.ndarray:
    """(1 - exp(-x)) / x, exact to rounding for every x (1 at x = 0)."""
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - 0.5 * x, -np.expm1(-safe) / safe)


def van_vleck_chi(terms: VanVleckTerms, T: np.ndarray, gJ: float) -> np.ndarray:
    """chi(T) [emu/mol] from the terms of curie_and_van_vleck_terms; shape (N, len(T))."""
    boltz = np.exp(-terms.levels[:, None, :] / T[None, :, None])  # (N, nT, L)
    sums = boltz @ np.stack([terms.weights, terms.curie, terms.vanvleck], axis=2)  # (N, nT, 3)
    z = sums[..., 0]
    num = sums[..., 1] / T[None, :] + sums[..., 2]
    if terms.near_set.size:
        x = terms.near_gap[:, None] / T[None, :]
        pair = (terms.near_strength[:, None] * np.exp(-terms.near_energy[:, None] / T[None, :])
                * _relative_expm1(x) / T[None, :])
        np.add.at(num, terms.near_set, pair)
    return (CURIE_FACTOR * gJ**2 / 3.0) * num / z


def zero_field_chi(ion: Ion, batch: StevensBatch, T: np.ndarray) -> np.ndarray:
    """Exact zero-field powder chi(T) [emu/mol per ion], shape (N, len(T)); T in kelvin."""
    out = np.empty((batch.n_sets, T.size))
    if ion.dim < 2 or ion.gJ == 0.0:
        out[:] = 0.0
        return out
    for start in range(0, batch.n_sets, CHUNK_SETS):
        sub = StevensBatch(batch.terms, batch.coeffs[start:start + CHUNK_SETS])
        energies, strengths = level_scheme(ion, sub)
        terms = curie_and_van_vleck_terms(energies, strengths, ion.kramers)
        out[start:start + sub.n_sets] = van_vleck_chi(terms, T, ion.gJ)
    return out


def susceptibility_tensor_single(ion: Ion, H: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Zero-field molar susceptibility tensor chi_ab(T) [emu/mol], shape (len(T), 3, 3), for one
    Hamiltonian H [K] (a, b = x, y, z)."""
    energies, vecs = np.linalg.eigh(H)
    vh = vecs.conj().T
    comps = [vh @ op @ vecs for op in spin_matrices(ion.J)]
    out = np.empty((T.size, 3, 3))
    for a in range(3):
        for b in range(a, 3):
            s = np.real(comps[a] * np.conj(comps[b]))
            terms = curie_and_van_vleck_terms(energies[None], s[None], kramers=False)
            chi_ab = van_vleck_chi(terms, T, ion.gJ)[0] * 3.0  # undo the powder 1/3
            out[:, a, b] = out[:, b, a] = chi_ab
    return out


# --------------------------------------------------------------------------------------------
# finite field: moved to finite_field.py; the names stay importable from here
# --------------------------------------------------------------------------------------------
from .finite_field import (_moments_along_field, finite_field_chi, moment_to_chi,  # noqa: E402,F401
                           powder_moment)
