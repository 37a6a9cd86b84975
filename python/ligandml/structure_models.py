"""Stevens parameters B_k^q from a structure: the point-charge model and Newman's superposition model.

Both return the PyCrystalField-named Stevens coefficients ("B20", "B2-2", ..., "B66"; k = 2, 4, 6,
every q = -k..k) of H = sum_kq B_k^q O_k^q, with O_k^q the Hutchings operators of
`ligandml.stevens_operator`, in kelvin unless `unit="meV"` or `"cm-1"`. The dict goes straight
into `ligandml.CrystalField(ion, params)`.

Harmonics, derived once for both models
---------------------------------------
f_kq(x, y, z) is the Cartesian polynomial whose operator equivalent is theta_k <r^k> O_k^q
(Stevens 1952; Hutchings 1964, Table XVI): on the unit sphere

    f_kq  = N_kq  P_k^(q)(z) Re[(x + iy)^q]     (q >= 0),
    f_k-q = N_kq  P_k^(q)(z) Im[(x + iy)^q]     (q > 0),

where P_k^(q) = d^q P_k / dz^q (Legendre) and N_kq = c_kq 2^k k! (k-q)! / (2k)! scales its leading
coefficient to c_kq, the integer of O_k^q in `ligandml.operators` (3z^2 - r^2, x^2 - y^2, 2xy,
35z^4 - 30z^2 r^2 + 3r^4, ...). The addition theorem P_k(n1 . n2) = sum_q w_kq f_kq(n1) f_kq(n2)
holds with w_kq = (2 - delta_q0) (k-|q|)! / ((k+|q|)! N_kq^2) (w_20 = 1/4, w_22 = 3/4).

Point charge (Hutchings 1964, Sec. 5)
-------------------------------------
Ligand i with charge q_i |e| (q_i < 0 for an anion) at distance R_i in direction n_i acts on a
4f electron (charge -|e|) with the energy -q_i e^2 / (4 pi eps0 |R_i - r|)
= -q_i e^2/(4 pi eps0) sum_k r^k / R_i^(k+1) P_k(n_i . r/r). With the addition theorem and the
operator equivalents,

    B_k^q = -E_h theta_k <r^k> sum_i q_i (a0 / R_i)^(k+1) w_kq f_kq(n_i)          [K]

(E_h = e^2/(4 pi eps0 a0) = 315775 K the Hartree energy, <r^k> in a0^k). This is Hutchings'
B_k^q = theta_k <r^k> A_k^q with A_k^q = -e^2 sum_i q_i (4 pi/(2k+1)) p_kq Z_kq(n_i) / R_i^(k+1)
written in the f_kq normalisation. Sign check: a pair of anions (q = -1) on +-z gives B20 > 0 for
Er3+ (alpha_J > 0, prolate 4f charge: easy plane, ground doublet m = +-1/2) and B20 < 0 for Dy3+
(alpha_J < 0, oblate: easy axis, ground doublet m = +-15/2).

Superposition (Newman, Rep. Prog. Phys. 34, 1023 (1971); Newman & Ng, Rep. Prog. Phys. 52, 699 (1989))
------------------------------------------------------------------------------------------------------
    B_k^q = theta_k sum_i b_k(R0) (R0 / R_i)^(t_k) K_kq(n_i),     K_kq(n) = a_k w_kq f_kq(n),

with a_k = f_k0(z-axis) = 2, 8, 16 for k = 2, 4, 6, so that K_k0 = P_k(cos theta): Newman's
coordination factors in the Stevens normalisation (K_22 = (3/2) sin^2 theta cos 2 phi,
K_43 = 35 sin^3 theta cos theta cos 3 phi). The intrinsic parameter b_k(R0) [K] is the
coefficient of theta_k and already holds <r^k> (Newman's A-bar_k in the "A_k^q <r^k>" form).
The point-charge model is the special case t_k = k + 1 and
b_k(R) = -E_h q <r^k> (a0/R)^(k+1) / a_k (`point_charge_intrinsic`).
"""
from __future__ import annotations

from functools import lru_cache
from math import factorial

import numpy as np
from numpy.polynomial import legendre
from scipy import constants as _sc

from .constants import kelvin_per, normalise_energy_unit
from .coordination import ligand_elements, ligand_positions, per_ligand
from .ln_tables import RANKS, lanthanide_symbol, radial_integral, stevens_factor
from .operators import stevens_leading_coefficient
from .parameters import parameter_name

#: Hartree energy e^2/(4 pi eps0 a0) in kelvin (CODATA via scipy)
HARTREE_K: float = _sc.physical_constants["Hartree energy"][0] / _sc.k
#: Bohr radius in angstrom (CODATA via scipy)
BOHR_ANGSTROM: float = _sc.physical_constants["Bohr radius"][0] * 1e10
#: a_k = f_k0 on the z axis = f_k0 / P_k: 3z^2 - r^2 = 2 r^2 P_2, 8 r^4 P_4, 16 r^6 P_6
POLE_VALUE = {2: 2.0, 4: 8.0, 6: 16.0}


def stevens_terms() -> list[tuple[int, int]]:
    """(k, q) of every 4f Stevens term: k = 2, 4, 6 and q = -k..k, in the order of the returned dicts."""
    return [(k, q) for k in RANKS for q in range(-k, k + 1)]


@lru_cache(maxsize=None)
def polynomial_scale(k: int, q: int) -> float:
    """N_kq = c_kq 2^k k! (k-|q|)! / (2k)!: makes the leading coefficient of N_kq d^q P_k/dz^q c_kq."""
    q = abs(q)
    return stevens_leading_coefficient(k, q) * 2**k * factorial(k) * factorial(k - q) / factorial(2 * k)


@lru_cache(maxsize=None)
def addition_weight(k: int, q: int) -> float:
    """w_kq of the addition theorem P_k(n1 . n2) = sum_q w_kq f_kq(n1) f_kq(n2); dimensionless."""
    aq = abs(q)
    return (2.0 - (q == 0)) * factorial(k - aq) / factorial(k + aq) / polynomial_scale(k, q) ** 2


def unit_vectors(positions) -> tuple[np.ndarray, np.ndarray]:
    """(unit directions (N, 3), distances (N,)) of positions (N, 3)."""
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    R = np.linalg.norm(pos, axis=1)
    return pos / R[:, None], R


def stevens_polynomial(k: int, q: int, directions) -> np.ndarray:
    """f_kq on unit vectors (N, 3): the polynomial whose operator equivalent is theta_k <r^k> O_k^q.

    E.g. f_20 = 3z^2 - 1, f_22 = x^2 - y^2, f_2-2 = 2xy, f_43 = z(x^3 - 3xy^2). Dimensionless.
    """
    n = np.asarray(directions, dtype=float).reshape(-1, 3)
    x, y, z = n[:, 0], n[:, 1], n[:, 2]
    aq = abs(q)
    radial_part = legendre.Legendre.basis(k).deriv(aq)(z) if aq else legendre.Legendre.basis(k)(z)
    planar = (x + 1j * y) ** aq
    angular = planar.real if q >= 0 else planar.imag
    return polynomial_scale(k, q) * radial_part * angular


def coordination_factor(k: int, q: int, directions) -> np.ndarray:
    """Newman's coordination factor K_kq(n) = a_k w_kq f_kq(n) (Stevens normalisation, K_k0 =
    P_k(cos theta)) for unit vectors (N, 3). Dimensionless."""
    return POLE_VALUE[k] * addition_weight(k, q) * stevens_polynomial(k, q, directions)


def _named(values_K: dict[tuple[int, int], float], unit: str) -> dict[str, float]:
    scale = kelvin_per(normalise_energy_unit(unit))
    return {parameter_name(k, q): float(v) / scale for (k, q), v in values_K.items()}


def _checked_ion(ion) -> str:
    return lanthanide_symbol(ion)


def point_charge_parameters(ion, ligands, charges=None, unit: str = "K",
                            radial_table: str = "freeman-desclaux",
                            coordinates: str = "cartesian") -> dict[str, float]:
    """Stevens coefficients B_k^q of the point-charge model [K, or `unit`: "meV", "cm-1"].

    B_k^q = -E_h theta_k <r^k> sum_i q_i (a0/R_i)^(k+1) w_kq f_kq(n_i)   (module docstring)

    ion: a trivalent lanthanide ("Er3+"). ligands: (N, 3) positions [angstrom] relative to the
    ion (rows (R, theta [deg], phi [deg]) with coordinates="spherical"), or a CoordinationSphere
    from `read_xyz`. charges: ligand charges in units of |e|, negative for anions: one number,
    one per ligand, or a dict by element ({"O": -2, "N": -1}); required. radial_table: the <r^k>
    table of `ligandml.radial_integral`. Returns {"B2-2": ..., "B20": ..., "B66": ...} for
    k = 2, 4, 6 and every q (symmetry-forbidden terms come out at rounding level).
    """
    _checked_ion(ion)
    xyz = ligand_positions(ligands, coordinates)
    if charges is None:
        raise ValueError("point_charge_parameters needs charges= (units of |e|, negative for "
                         "anions): one number, one per ligand, or a dict by element")
    q_i = per_ligand(charges, len(xyz), ligand_elements(ligands), "charges")
    n, R = unit_vectors(xyz)
    values = {}
    for k, q in stevens_terms():
        prefactor = -HARTREE_K * stevens_factor(ion, k) * radial_integral(ion, k, radial_table)
        lattice_sum = np.sum(q_i * (BOHR_ANGSTROM / R) ** (k + 1) * stevens_polynomial(k, q, n))
        values[(k, q)] = prefactor * addition_weight(k, q) * lattice_sum
    return _named(values, unit)


def point_charge_intrinsic(ion, charge: float, distance: float,
                           radial_table: str = "freeman-desclaux") -> dict[int, float]:
    """Intrinsic superposition parameters b_k(R) [K] of one point charge (units of |e|) at
    `distance` angstrom: b_k = -E_h q <r^k> (a0/R)^(k+1) / a_k, a_k = 2, 8, 16. With t_k = k + 1
    and R0 = distance, `superposition_parameters` then equals `point_charge_parameters`."""
    _checked_ion(ion)
    R = float(distance)
    if not (np.isfinite(R) and R > 0):
        raise ValueError(f"distance must be a positive number of angstrom, got {distance!r}")
    return {k: -HARTREE_K * float(charge) * radial_integral(ion, k, radial_table)
            * (BOHR_ANGSTROM / R) ** (k + 1) / POLE_VALUE[k] for k in RANKS}


def _by_rank(mapping, name: str, n: int, elements) -> dict[int, np.ndarray]:
    if not isinstance(mapping, dict):
        raise ValueError(f"{name} must be a dict by rank, e.g. {name}={{2: ..., 4: ..., 6: ...}}")
    try:
        keys = {int(k) for k in mapping}
    except (TypeError, ValueError):
        keys = set()
    if keys != set(RANKS):
        raise ValueError(f"{name} needs exactly the ranks 2, 4, 6 as keys (give 0 to switch one "
                         f"off), got {sorted(mapping, key=str)}")
    return {k: per_ligand(v, n, elements, f"{name}[{k}]") for k, v in
            ((int(key), val) for key, val in mapping.items())}


def superposition_parameters(ion, ligands, b, t, R0, unit: str = "K", b_unit: str = "K",
                             coordinates: str = "cartesian") -> dict[str, float]:
    """Stevens coefficients B_k^q of Newman's superposition model [K, or `unit`].

    B_k^q = theta_k sum_i b_k(R0) (R0/R_i)^(t_k) K_kq(n_i)   (module docstring)

    b: intrinsic parameters {2: b2, 4: b4, 6: b6} in `b_unit` (kelvin by default), each already
    holding <r^k> (Newman's A-bar_k, Stevens normalisation); t: power laws {2: t2, 4: t4, 6: t6}
    (dimensionless); R0: reference distance [angstrom]. Each value may be one number for all
    ligands, one per ligand, or a dict by element symbol ({"O": ..., "N": ...}, with ligands
    from `read_xyz`). ligands and coordinates as in `point_charge_parameters`.
    """
    _checked_ion(ion)
    xyz = ligand_positions(ligands, coordinates)
    elements = ligand_elements(ligands)
    b_K = {k: v * kelvin_per(b_unit) for k, v in _by_rank(b, "b", len(xyz), elements).items()}
    t_k = _by_rank(t, "t", len(xyz), elements)
    R0_i = per_ligand(R0, len(xyz), elements, "R0")
    if np.any(R0_i <= 0):
        raise ValueError("R0 must be a positive distance [angstrom]")
    n, R = unit_vectors(xyz)
    values = {}
    for k, q in stevens_terms():
        radial = b_K[k] * (R0_i / R) ** t_k[k]
        values[(k, q)] = stevens_factor(ion, k) * np.sum(radial * coordination_factor(k, q, n))
    return _named(values, unit)
