"""Rotations of Stevens parameters: checked against the rotation operator built by matrix
exponentials in the |J, m> basis (scipy.linalg.expm), a closed form about z, round trips and the
rotational invariance of the powder average."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.spatial.transform import Rotation

import ligandml
from ligandml.hamiltonian import ligand_field_hamiltonians
from ligandml.operators import spin_matrices
from ligandml.parameters import to_stevens_batch
from ligandml.rotations import (axis_rotation, euler_to_matrix, matrix_to_euler, rotate_parameters,
                                wigner_d)

ALL_NAMES = [f"B{k}{q}" for k in (2, 4, 6) for q in range(-k, k + 1)]
SCALE = {2: 1.0, 4: 1e-2, 6: 1e-4}
T = np.geomspace(2.0, 300.0, 40)


def general_set(seed: int) -> dict[str, float]:
    """All 27 even-k coefficients, q < 0 included, at the scale of a real ligand field [K]."""
    rng = np.random.default_rng(seed)
    return {n: float(rng.uniform(-1, 1) * SCALE[int(n[1])]) for n in ALL_NAMES}


def rotation_operator(J: float, alpha: float, beta: float, gamma: float) -> np.ndarray:
    """exp(-i alpha Jz) exp(-i beta Jy) exp(-i gamma Jz) in the |J, m> basis, by expm."""
    _, jy, jz = spin_matrices(J)
    return expm(-1j * alpha * jz) @ expm(-1j * beta * jy) @ expm(-1j * gamma * jz)


def hamiltonian(ion, params) -> np.ndarray:
    return ligand_field_hamiltonians(ion, to_stevens_batch(params), real=False)[0]


def max_diff(a: dict, b: dict) -> float:
    return max(abs(a.get(n, 0.0) - b.get(n, 0.0)) for n in set(a) | set(b))


@pytest.mark.parametrize("k", [2, 4, 6])
def test_wigner_matrix_is_the_rotation_operator_of_rank_k(k):
    rng = np.random.default_rng(k)
    for _ in range(5):
        a, b, g = rng.uniform(-np.pi, np.pi, 3)
        U = rotation_operator(k, a, b, g)[::-1, ::-1]  # basis m = -k..k, as wigner_d
        np.testing.assert_allclose(wigner_d(k, a, b, g), U, atol=1e-13)


@pytest.mark.parametrize("ion_name", ["Er3+", "Tb3+", "Ho3+"])
def test_rotated_parameters_give_U_H_U_dagger(ion_name):
    """H(B') = U H(B) U^dagger with U = exp(-i a Jz) exp(-i b Jy) exp(-i g Jz): an ACTIVE rotation
    (the field turns), Kramers and non-Kramers J alike."""
    ion = ligandml.ion(ion_name)
    rng = np.random.default_rng(3)
    for seed in range(4):
        params = general_set(seed)
        euler = rng.uniform(-np.pi, np.pi, 3)
        U = rotation_operator(ion.J, *euler)
        H = hamiltonian(ion, params)
        expected = U @ H @ U.conj().T
        for rotation in (euler, euler_to_matrix(*euler)):
            rotated = hamiltonian(ion, rotate_parameters(params, rotation))
            assert np.abs(rotated - expected).max() <= 1e-12 * np.abs(H).max()


def test_active_sense_moves_the_easy_axis():
    """An axial field (B20 < 0: easy axis z) turned by +90 degrees about y has its easy axis
    along +x: chi_xx of the turned field is chi_zz of the original, and chi_zz is chi_xx."""
    cf = ligandml.CrystalField("Er3+", {"B20": -1.0})
    turned = ligandml.CrystalField("Er3+", rotate_parameters({"B20": -1.0}, axis_rotation([0, 1, 0], np.pi / 2)))
    chi, chi_turned = cf.susceptibility_tensor(T), turned.susceptibility_tensor(T)
    np.testing.assert_allclose(chi_turned[:, 0, 0], chi[:, 2, 2], rtol=1e-10)
    np.testing.assert_allclose(chi_turned[:, 2, 2], chi[:, 0, 0], rtol=1e-10)
    # closed form: B20 O20 rotated by 90 deg about y is B20 (-O20 + 3 O22) / 2
    rotated = rotate_parameters({"B20": 1.0}, (0.0, np.pi / 2, 0.0))
    assert rotated["B20"] == pytest.approx(-0.5, abs=1e-14)
    assert rotated["B22"] == pytest.approx(1.5, abs=1e-14)
    assert max(abs(v) for n, v in rotated.items() if n not in ("B20", "B22")) < 1e-14


def test_rotation_about_z_closed_form():
    """About z by phi: B'_q = cos(q phi) B_q - sin(q phi) B_-q, B'_-q = sin(q phi) B_q + cos(q phi) B_-q
    (from [Jz, O_k^q] = i q O_k^-q), B'_k0 = B_k0."""
    params = general_set(11)
    phi = 0.731
    rotated = rotate_parameters(params, (phi, 0.0, 0.0))
    for k in (2, 4, 6):
        assert rotated[f"B{k}0"] == pytest.approx(params[f"B{k}0"], abs=1e-15)
        for q in range(1, k + 1):
            c, s = np.cos(q * phi), np.sin(q * phi)
            bq, bmq = params[f"B{k}{q}"], params[f"B{k}-{q}"]
            assert rotated[f"B{k}{q}"] == pytest.approx(c * bq - s * bmq, abs=1e-15)
            assert rotated[f"B{k}-{q}"] == pytest.approx(s * bq + c * bmq, abs=1e-15)


def test_round_trips_return_the_start():
    params = general_set(5)
    for R in Rotation.random(10, random_state=2).as_matrix():
        back = rotate_parameters(rotate_parameters(params, R), R.T)
        assert max_diff(back, params) <= 1e-12
        a, b, g = matrix_to_euler(R)
        back = rotate_parameters(rotate_parameters(params, (a, b, g)), (-g, -b, -a))
        assert max_diff(back, params) <= 1e-12


def test_composition_and_matrix_equals_euler():
    params = general_set(6)
    R1, R2 = Rotation.random(2, random_state=4).as_matrix()
    two_steps = rotate_parameters(rotate_parameters(params, R1), R2)
    assert max_diff(two_steps, rotate_parameters(params, R2 @ R1)) <= 1e-12
    euler = (0.3, 1.1, -2.0)
    assert max_diff(rotate_parameters(params, euler), rotate_parameters(params, euler_to_matrix(*euler))) <= 1e-14


def test_matrix_to_euler_round_trip_including_gimbal_lock():
    cases = list(Rotation.random(200, random_state=5).as_matrix())
    rng = np.random.default_rng(0)
    for angle in (0.0, 1e-9, 1e-4, np.pi / 2, np.pi - 1e-9, np.pi):
        cases += [axis_rotation(rng.normal(size=3), angle) for _ in range(5)]
    cases += [axis_rotation([0, 0, 1], 2.0), axis_rotation([1, 1, 0], np.pi), np.diag([-1.0, -1.0, 1.0])]
    for R in cases:
        alpha, beta, gamma = matrix_to_euler(R)
        assert 0.0 <= beta <= np.pi
        np.testing.assert_allclose(euler_to_matrix(alpha, beta, gamma), R, atol=1e-14)


def test_improper_matrices_act_through_their_proper_part():
    params = general_set(8)
    R = Rotation.random(1, random_state=9).as_matrix()[0]
    assert max_diff(rotate_parameters(params, -R), rotate_parameters(params, R)) <= 1e-14


def test_powder_chi_is_invariant_under_rotations():
    """The powder average does not know about axes: zero-field chi of every rotated copy of a
    general set (all q, negative included) equals the original's to 1e-10; batches rotate too."""
    ion = ligandml.ion("Er3+")
    params = general_set(12)
    chi = ligandml.powder_susceptibility(ion, params, T, backend="numpy")
    rotations = Rotation.random(8, random_state=7).as_matrix()
    for R in rotations:
        chi_rot = ligandml.powder_susceptibility(ion, rotate_parameters(params, R), T, backend="numpy")
        np.testing.assert_allclose(chi_rot, chi, rtol=1e-10, atol=0)
    batch = {n: np.array([v, 2 * v]) for n, v in params.items()}
    rotated = rotate_parameters(batch, rotations[0])
    assert rotated["B20"].shape == (2,)
    np.testing.assert_allclose(ligandml.powder_susceptibility(ion, rotated, T, backend="numpy")[0], chi[0], rtol=1e-10)


def test_units_and_D_E_input():
    R = Rotation.random(1, random_state=3).as_matrix()[0]
    in_k = rotate_parameters({"D": -6.0, "E": 0.5}, R)
    in_mev = rotate_parameters({"D": -6.0 / 11.604518, "E": 0.5 / 11.604518}, R, unit="meV")
    assert set(in_k) == {"B20", "B21", "B2-1", "B22", "B2-2"}
    for name, value in in_k.items():
        assert in_mev[name] * 11.604518 == pytest.approx(value, rel=1e-7, abs=1e-12)


def test_bad_rotations_are_refused():
    with pytest.raises(ValueError, match="not orthogonal"):
        rotate_parameters({"B20": 1.0}, np.ones((3, 3)))
    with pytest.raises(ValueError, match="Euler angles"):
        rotate_parameters({"B20": 1.0}, (0.1, 0.2))
    with pytest.raises(ValueError, match="odd rank"):
        rotate_parameters({"B30": 1.0}, (0.1, 0.2, 0.3))
