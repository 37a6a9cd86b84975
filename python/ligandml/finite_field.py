"""Finite-field observables (the NumPy reference): magnetisation and M/B, powder and single crystal.

A field B [T] along the unit vector n adds gJ muB B n.J to H_LF (energies in kelvin); the moment
along the field is M(n) = -gJ <n.J> [muB per ion], a Boltzmann average over the eigenstates.

- Powder: M(n) averaged over the sphere (orientations.py): on sets whose terms share a rotation
  axis (every q divisible by p, or only q = 0) the product rule folded onto the symmetric wedge
  (`orientations.reduced_product_grid`), otherwise the Lebedev hemisphere. Both are chosen by
  `powder_grid`; an explicit `lebedev_order` forces the Lebedev rule.
- Single crystal: one direction ("x", "y", "z" or a vector), or "plane", the average over the
  in-plane angle perpendicular to z (a measurement in the ab plane of a uniaxial crystal).

The work is batched across parameter sets, fields and directions: one eigensolve call per block
of sets. Two routes give the same numbers: complex Hermitian eigensolves, and real symmetric ones
for directions that a rotation about z maps onto the xz plane while H_LF stays real
(orientations.FieldGrid.turn). The moment needs the diagonal <i|n.J|i> only, computed from the
eigenvectors in O(n^2) per state (Jz is diagonal, J+ one superdiagonal), never as a matrix product.
"""
from __future__ import annotations

import sys

import numpy as np

from . import orientations
from .constants import MU_B_OVER_K_B, MU_B_PER_ION_IN_EMU_PER_MOL, OERSTED_PER_TESLA
from .hamiltonian import operator_stack
from .ions import Ion
from .operators import j_plus, m_values, spin_matrices
from .orientations import DEFAULT_LEBEDEV_ORDER, FieldGrid, lebedev_hemisphere
from .parameters import StevensBatch

#: eigensolves per block (sets x fields x directions); bounds memory to about 100 MB
BLOCK_MATRICES = 6144
#: the batched eigensolver: "numpy" (default), "torch" or "auto" (torch's, i.e. MKL's, when torch
#: is already imported in this process, else NumPy's). Both give the same numbers to rounding, not
#: to the bit; on stacks of 16 x 16 matrices MKL's zheevd takes about half the time of NumPy's
#: OpenBLAS one (benchmarks/bench_physics.py). The default stays "numpy" because a dataset must
#: give the same bytes whether or not the process happened to import torch (a dask worker
#: without torch and a parent with it must write the same store). "auto" never imports torch
#: itself: importing torch before juliacall can crash (julia_import's torch-order rule).
EIGENSOLVER = "numpy"


def _use_torch() -> bool:
    if EIGENSOLVER not in ("auto", "numpy", "torch"):
        raise ValueError(f"finite_field.EIGENSOLVER must be 'auto', 'numpy' or 'torch', got {EIGENSOLVER!r}")
    return EIGENSOLVER == "torch" or (EIGENSOLVER == "auto" and "torch" in sys.modules)


def batched_eigh(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvector columns of a stack of Hermitian matrices (..., d, d)
    (units of h), with the solver chosen by EIGENSOLVER."""
    if _use_torch():
        import torch

        energies, vecs = torch.linalg.eigh(torch.from_numpy(np.ascontiguousarray(h)))
        return energies.numpy(), vecs.numpy()
    return np.linalg.eigh(h)


# --------------------------------------------------------------------------------------------
# grids for a batch
# --------------------------------------------------------------------------------------------
def batch_symmetry(batch: StevensBatch) -> orientations.AxisSymmetry:
    """Symmetry about z of the orientation integrand shared by every set of the batch."""
    return orientations.integrand_symmetry(batch.terms, batch.coeffs)


def _active_qs(batch: StevensBatch) -> tuple[int, ...]:
    return tuple(sorted({q for i, (_, q) in enumerate(batch.terms) if np.any(batch.coeffs[:, i] != 0)}))


def grid_density(ion: Ion, field_T: float, T_min: float, rotation_order: int = 3) -> tuple[int, int]:
    """(n_theta, n_phi) of the folded product grid for fields up to `field_T` [T] at temperatures
    down to `T_min` [K].

    The integrand sharpens as the Zeeman energy outgrows kT, r = gJ muB J B / (k_B T); the phi
    harmonics limit the accuracy. Calibrated on 40 draws of the er-d3d prior (Er3+, p = 3) against
    a 40 x 48 product rule, worst point at 2 K: max relative error 5e-6 (r = 3, 6 x 2),
    4e-5 (r = 5.4, 8 x 2), 1.3e-5 (r = 7.9, 12 x 3), 1.4e-5 (r = 11.5, 16 x 4), 1.2e-5
    (r = 16.3, 24 x 5). Rule: n_phi = max(2, ceil(r / 3.3)) intervals per half period (scaled
    by 3/p for p = 2), n_theta = 6 for r <= 3.3, else 4 n_phi.
    """
    r = abs(ion.gJ) * MU_B_OVER_K_B * ion.J * field_T / T_min
    n_phi = max(2, int(np.ceil(r / 3.3)))
    n_theta = 6 if r <= 3.3 else 4 * n_phi
    if rotation_order == 2:
        n_phi = int(np.ceil(1.5 * n_phi))
    return n_theta, n_phi


def powder_grid(batch: StevensBatch, lebedev_order: int | None = None,
                n_theta: int = orientations.DEFAULT_N_THETA,
                n_phi: int = orientations.DEFAULT_N_PHI) -> FieldGrid:
    """Directions and weights of the powder average for this batch.

    lebedev_order None: the folded product grid (n_theta z-nodes per hemisphere, n_phi intervals
    per half period) when the batch's symmetry allows it, else the Lebedev hemisphere of
    DEFAULT_LEBEDEV_ORDER. An integer: the Lebedev hemisphere of that order.
    """
    sym = batch_symmetry(batch)
    qs = _active_qs(batch)
    if lebedev_order is None and sym.reducible:
        return orientations.reduced_product_grid(sym, qs, n_theta, n_phi)
    order = DEFAULT_LEBEDEV_ORDER if lebedev_order is None else int(lebedev_order)
    return orientations.lebedev_grid(order, qs, sym.mirror)


def powder_grids(ion: Ion, batch: StevensBatch, fields, T, lebedev_order: int | None = None):
    """[(field indices, FieldGrid)]: each field's powder grid (grid_density at min(T) for
    symmetric batches; one Lebedev grid for all fields otherwise)."""
    fields = np.asarray(fields, dtype=float)
    sym = batch_symmetry(batch)
    if lebedev_order is not None or not sym.reducible:
        return [(np.arange(fields.size), powder_grid(batch, lebedev_order))]
    by_density: dict[tuple[int, int], list[int]] = {}
    for i, b in enumerate(fields):
        by_density.setdefault(grid_density(ion, b, float(np.min(T)), sym.rotation_order), []).append(i)
    return [(np.array(idx), powder_grid(batch, None, *density)) for density, idx in by_density.items()]


def crystal_grid(batch: StevensBatch, direction, n_phi: int = orientations.DEFAULT_N_PHI,
                 n_plane: int = orientations.DEFAULT_N_PLANE) -> FieldGrid:
    """Directions for a single-crystal measurement: "x", "y", "z", a 3-vector, or "plane"."""
    sym = batch_symmetry(batch)
    qs = _active_qs(batch)
    if isinstance(direction, str) and direction.strip().lower() == "plane":
        return orientations.plane_grid(sym, qs, n_phi, n_plane)
    return orientations.direction_grid(direction, qs, sym.mirror)


# --------------------------------------------------------------------------------------------
# the batched sum
# --------------------------------------------------------------------------------------------
def _diagonal_moments(vecs: np.ndarray, n: np.ndarray, m: np.ndarray, a: np.ndarray) -> np.ndarray:
    """<i| n.J |i> for the eigenvector columns of vecs (..., d, d); n (..., 3) broadcast on vecs.

    n.J = nz Jz + Re[(nx - i ny) J+] on the diagonal: <Jz> = sum_r m_r |V_ri|^2 and
    <J+> = sum_r a_r conj(V_ri) V_(r+1)i with a_r = <r|J+|r+1>.
    """
    jz = m @ (vecs.real**2 + vecs.imag**2) if np.iscomplexobj(vecs) else m @ (vecs * vecs)
    jp = a @ (np.conj(vecs[..., :-1, :]) * vecs[..., 1:, :])
    out = n[..., 2:3] * jz + n[..., 0:1] * jp.real
    if np.iscomplexobj(jp):
        out = out + n[..., 1:2] * jp.imag
    return out


def _thermal_average(energies: np.ndarray, moments: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Boltzmann averages of moments (..., d) over levels energies (..., d) [K]: (..., len(T))."""
    e = energies - energies.min(axis=-1, keepdims=True)
    boltz = np.exp(-e[..., None, :] / T[:, None])  # (..., nT, d)
    return (boltz @ moments[..., None])[..., 0] / boltz.sum(axis=-1)


def _group_moments(ion: Ion, H: np.ndarray, fields: np.ndarray, dirs: np.ndarray,
                   T: np.ndarray, real: bool) -> np.ndarray:
    """Thermal moment along each field [muB], (N, nB, P, nT), for N Hamiltonians H [K]."""
    jx, jy, jz = spin_matrices(ion.J)
    if real:
        dirs = dirs.copy()
        dirs[:, 0] = np.hypot(dirs[:, 0], dirs[:, 1])
        dirs[:, 1] = 0.0
        ops = np.stack([jx.real, jz.real])
        n_dot_j = np.einsum("pa,aij->pij", dirs[:, [0, 2]], ops)
    else:
        n_dot_j = np.einsum("pa,aij->pij", dirs, np.stack([jx, jy, jz]))
    scale = ion.gJ * MU_B_OVER_K_B * fields  # (nB,)
    h_tot = H[:, None, None] + scale[None, :, None, None, None] * n_dot_j[None, None]
    energies, vecs = batched_eigh(h_tot)
    moments = -ion.gJ * _diagonal_moments(vecs, dirs[None, None], m_values(ion.J),
                                          np.diagonal(j_plus(ion.J), 1))
    return _thermal_average(energies, moments, T)


def _hamiltonians(ion: Ion, batch: StevensBatch, factors: np.ndarray, real: bool) -> np.ndarray:
    ops = operator_stack(ion.J, batch.terms)
    ops = ops.real if real else ops
    return np.einsum("np,pij->nij", batch.coeffs * factors, ops)


def grid_moments(ion: Ion, batch: StevensBatch, fields, T, grid: FieldGrid) -> np.ndarray:
    """Weighted sum over the grid of the thermal moment along the field, M [muB per ion], shape
    (N, len(fields), len(T)); fields [T] > 0, T [K] > 0 (validated by the caller)."""
    fields = np.asarray(fields, dtype=float)
    T = np.asarray(T, dtype=float)
    out = np.zeros((batch.n_sets, fields.size, T.size))
    if ion.dim < 2 or ion.gJ == 0.0:
        return out
    qs = np.array([q for _, q in batch.terms], dtype=float)
    groups = [(None, ~np.isfinite(grid.turn))]
    for angle in np.unique(grid.turn[np.isfinite(grid.turn)]):
        groups.append((angle, grid.turn == angle))
    for angle, pick in groups:
        if not pick.any():
            continue
        real = angle is not None
        factors = np.cos(qs * angle) if real else np.ones_like(qs)
        dirs, w = grid.directions[pick], grid.weights[pick]
        chunk = max(1, BLOCK_MATRICES // (fields.size * len(w)))
        for start in range(0, batch.n_sets, chunk):
            sub = StevensBatch(batch.terms, batch.coeffs[start:start + chunk])
            H = _hamiltonians(ion, sub, factors, real)
            m = _group_moments(ion, H, fields, dirs, T, real)
            out[start:start + sub.n_sets] += np.einsum("nbpt,p->nbt", m, w)
    return out


# --------------------------------------------------------------------------------------------
# public NumPy reference functions
# --------------------------------------------------------------------------------------------
def powder_magnetization_table(ion: Ion, batch: StevensBatch, fields, T,
                               lebedev_order: int | None = None) -> np.ndarray:
    """Powder-averaged moment along the field, M [muB per ion], (N, len(fields), len(T)), for
    fields [T] and temperatures [K]: many fields in one batched call (M(H) curves)."""
    fields = np.asarray(fields, dtype=float)
    out = np.empty((batch.n_sets, fields.size, np.size(T)))
    for idx, grid in powder_grids(ion, batch, fields, T, lebedev_order):
        out[:, idx, :] = grid_moments(ion, batch, fields[idx], T, grid)
    return out


def crystal_magnetization_table(ion: Ion, batch: StevensBatch, fields, T, direction) -> np.ndarray:
    """Single-crystal moment along the field, M [muB per ion], (N, len(fields), len(T)); direction
    "x", "y", "z", a 3-vector (Stevens frame) or "plane" (average over the in-plane angle)."""
    return grid_moments(ion, batch, fields, T, crystal_grid(batch, direction))


def powder_moment(ion: Ion, batch: StevensBatch, field_T: float, T: np.ndarray,
                  lebedev_order: int | None = DEFAULT_LEBEDEV_ORDER) -> np.ndarray:
    """Powder-averaged moment along the field, M [muB per ion], shape (N, len(T)), at `field_T`
    tesla (Lebedev hemisphere of `lebedev_order`; None: the grid of powder_grid)."""
    return powder_magnetization_table(ion, batch, [field_T], T, lebedev_order)[:, 0, :]


def moment_to_chi(moment_muB: np.ndarray, field_T) -> np.ndarray:
    """M/H [emu/mol] from a moment in muB per ion at a field in tesla (broadcasts)."""
    return moment_muB * MU_B_PER_ION_IN_EMU_PER_MOL / (np.asarray(field_T) * OERSTED_PER_TESLA)


def finite_field_chi(ion: Ion, batch: StevensBatch, field_T: float, T: np.ndarray,
                     lebedev_order: int | None = DEFAULT_LEBEDEV_ORDER) -> np.ndarray:
    """Orientation-averaged M/B [emu/mol per ion] at `field_T` tesla, shape (N, len(T))."""
    return moment_to_chi(powder_moment(ion, batch, field_T, T, lebedev_order), field_T)


def crystal_chi(ion: Ion, batch: StevensBatch, field_T: float, T, direction) -> np.ndarray:
    """Single-crystal M/B [emu/mol per ion] at `field_T` tesla along `direction`, (N, len(T))."""
    return moment_to_chi(crystal_magnetization_table(ion, batch, [field_T], T, direction)[:, 0, :],
                         field_T)


# --------------------------------------------------------------------------------------------
# the plain version: one complex eigensolve per set and direction, full matrix products
# --------------------------------------------------------------------------------------------
def _moments_along_field(ion: Ion, H: np.ndarray, directions: np.ndarray, field_T: float):
    """Eigenvalues [K] and <i| -gJ n.J |i> [muB] for every set and direction: (N, P, n) each."""
    jx, jy, jz = spin_matrices(ion.J)
    n_dot_j = np.einsum("pa,aij->pij", directions, np.stack([jx, jy, jz]))  # (P, n, n)
    zeeman = ion.gJ * MU_B_OVER_K_B * field_T * n_dot_j
    h_tot = H[:, None, :, :] + zeeman[None]
    energies, vecs = np.linalg.eigh(h_tot)
    expect = (np.conj(vecs) * (n_dot_j[None] @ vecs)).real.sum(axis=-2)  # <i|n.J|i>
    return energies, -ion.gJ * expect


def plain_powder_moment(ion: Ion, batch: StevensBatch, field_T: float, T: np.ndarray,
                        directions: np.ndarray | None = None, weights: np.ndarray | None = None,
                        chunk_sets: int = 16) -> np.ndarray:
    """The plain reference of the powder moment [muB per ion], (N, len(T)): the full Lebedev
    sphere of order 23 (or the given directions/weights), one complex eigensolve per set and
    direction, <n.J> by matrix products. For tests and benchmarks; no symmetry is used."""
    from .hamiltonian import ligand_field_hamiltonians

    if directions is None:
        from scipy.integrate import lebedev_rule

        points, w = lebedev_rule(DEFAULT_LEBEDEV_ORDER)
        directions, weights = points.T, w / w.sum()
    out = np.empty((batch.n_sets, np.size(T)))
    for start in range(0, batch.n_sets, chunk_sets):
        sub = StevensBatch(batch.terms, batch.coeffs[start:start + chunk_sets])
        H = ligand_field_hamiltonians(ion, sub, real=False)
        energies, moments = _moments_along_field(ion, H, directions, field_T)
        out[start:start + sub.n_sets] = np.einsum(
            "npt,p->nt", _thermal_average(energies, moments, np.asarray(T, float)), weights)
    return out


__all__ = ["BLOCK_MATRICES", "EIGENSOLVER", "batch_symmetry", "batched_eigh", "crystal_chi", "crystal_grid",
           "crystal_magnetization_table", "finite_field_chi", "grid_moments", "lebedev_hemisphere",
           "moment_to_chi", "plain_powder_moment", "powder_grid", "powder_magnetization_table",
           "powder_moment"]
