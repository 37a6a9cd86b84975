"""Finite-field observables: single-crystal directions, the plane average, batched M(H), and the
symmetry-folded orientation grids (proved against the full sphere)."""
import numpy as np
import pytest

import ligandml
from conftest import KERSE2_MEV
from ligandml import finite_field as ff
from ligandml import orientations as ori
from ligandml.constants import MU_B_OVER_K_B
from ligandml.parameters import to_stevens_batch

ER = ligandml.ion("Er3+")
KERSE2 = to_stevens_batch(KERSE2_MEV, "meV")
#: er-d3d prior half-widths [K] (DESIGN.md)
D3D_HALF = {"B20": 1.9048, "B40": 1.2210e-2, "B43": 2.5392e-1, "B60": 1.2333e-4,
            "B63": 2.0797e-3, "B66": 1.7836e-3}


def d3d_draws(n, seed=3):
    rng = np.random.default_rng(seed)
    return to_stevens_batch({k: rng.uniform(-v, v, n) for k, v in D3D_HALF.items()})


def full_sphere(grid_n_theta, n_phi_full):
    z, phi, w = ori.full_product_grid(grid_n_theta, n_phi_full)
    s = np.sqrt(1 - z * z)
    d = np.stack([s * np.cos(phi), s * np.sin(phi), z], axis=1)
    return ori.FieldGrid(d, w, np.full(len(w), np.nan), "full sphere")


def brillouin(J, x):
    a, b = (2 * J + 1) / (2 * J), 1 / (2 * J)
    return a / np.tanh(a * x) - b / np.tanh(b * x)


@pytest.mark.parametrize("direction", ["powder", "z", "x", "plane", (1.0, 2.0, -0.5)])
def test_free_ion_magnetisation_is_brillouin_at_every_field(direction):
    B = np.linspace(0.2, 9.0, 23)
    T = np.array([1.5, 4.0, 30.0])
    cf = ligandml.CrystalField("Er3+", {"B20": 0.0})
    M = cf.magnetization(B[:, None], T[None, :], direction=direction)
    x = ER.gJ * MU_B_OVER_K_B * ER.J * B[:, None] / T[None, :]
    np.testing.assert_allclose(M, ER.gJ * ER.J * brillouin(ER.J, x), rtol=1e-9, atol=0)


@pytest.mark.parametrize("params", [
    KERSE2_MEV,                                              # D3d: p = 3, mirror
    {"B20": -0.02, "B40": 3e-4, "B44": 2e-3, "B64": -1e-5},  # p = 4, mirror
    {"B20": 0.03, "B22": -0.01, "B42": 1e-3, "B66": 2e-5},   # p = 2, mirror
    {"B20": -0.02, "B43": 0.01, "B4-3": -0.008, "B6-6": 3e-5},  # p = 3, no mirror
    {"B20": -0.02, "B40": 1e-3, "B60": 2e-5},                # axial, p = 0
])
def test_folded_grid_equals_its_full_sphere_product_rule(params):
    batch = to_stevens_batch(params, "meV")
    sym = ff.batch_symmetry(batch)
    assert sym.reducible
    n_theta, n_phi = 5, 2
    folded = ori.reduced_product_grid(sym, ff._active_qs(batch), n_theta, n_phi)
    p = sym.rotation_order
    full = full_sphere(n_theta, 12 if p == 0 else 2 * p * n_phi)
    assert folded.size <= full.size / 2
    B, T = np.array([0.5, 3.0, 6.0]), np.array([1.5, 5.0, 100.0])
    a = ff.grid_moments(ER, batch, B, T, folded)
    b = ff.grid_moments(ER, batch, B, T, full)
    np.testing.assert_allclose(a, b, rtol=1e-11)


def test_folded_grid_would_be_wrong_on_a_lower_symmetry_set():
    # B21 breaks the threefold axis: folding as if p = 3 gives a different, wrong number
    params = dict(KERSE2_MEV, B21=0.01)
    batch = to_stevens_batch(params, "meV")
    assert ff.batch_symmetry(batch).rotation_order == 1
    wrongly_folded = ori.reduced_product_grid(ori.AxisSymmetry(3, True), (0, 1, 3, 6), 5, 2)
    full = full_sphere(5, 12)
    B, T = np.array([3.0]), np.array([2.0])
    a = ff.grid_moments(ER, batch, B, T, wrongly_folded)
    b = ff.grid_moments(ER, batch, B, T, full)
    assert np.abs(a / b - 1).max() > 1e-3


def test_grid_selection_uses_the_fold_only_where_the_symmetry_holds():
    sym = ori.integrand_symmetry
    assert sym(((2, 0), (4, 3), (6, 6)), [[1.0, 2.0, 3.0]]) == ori.AxisSymmetry(3, True)
    assert sym(((2, 0), (4, -3)), [[1.0, 2.0]]) == ori.AxisSymmetry(3, False)
    assert sym(((2, 0), (2, 2), (4, 4)), [[1.0, 2.0, 3.0]]) == ori.AxisSymmetry(2, True)
    assert sym(((2, 0), (4, 3), (4, 4)), [[1.0, 2.0, 3.0]]) == ori.AxisSymmetry(1, True)
    assert sym(((2, 0), (4, 0)), [[1.0, 2.0]]) == ori.AxisSymmetry(0, True)
    # a term that is zero in every set does not break the symmetry; non-zero in one set does
    assert sym(((2, 0), (2, 1), (4, 3)), [[1.0, 0.0, 2.0], [1.0, 0.0, 1.0]]).rotation_order == 3
    assert sym(((2, 0), (2, 1), (4, 3)), [[1.0, 0.0, 2.0], [1.0, 1e-9, 1.0]]).rotation_order == 1
    # powder_grid: folded product rule for D3d sets, Lebedev for a batch with one low-symmetry set
    assert "folded" in ff.powder_grid(KERSE2).name
    mixed = to_stevens_batch({"B20": [0.1, 0.2], "B43": [0.01, 0.02], "B21": [0.0, 0.01]})
    assert "Lebedev" in ff.powder_grid(mixed).name
    assert "Lebedev" in ff.powder_grid(KERSE2, lebedev_order=23).name
    # and the public sweep follows the selection
    T = np.array([2.0, 10.0])
    np.testing.assert_allclose(
        ligandml.powder_susceptibility(ER, mixed, T, field=1.0),
        ligandml.powder_susceptibility(ER, mixed, T, field=1.0, lebedev_order=23), rtol=1e-14)


def test_real_route_equals_complex_route():
    # a point at phi = 2 pi / 3 (sin(3 phi) = sin(6 phi) = 0) is rotated onto the xz plane
    grid = ori.direction_grid((np.cos(2 * np.pi / 3), np.sin(2 * np.pi / 3), 0.4), (0, 3, 6), True)
    assert np.isfinite(grid.turn).all()
    complex_grid = ori.FieldGrid(grid.directions, grid.weights, np.full(1, np.nan), "complex")
    B, T = np.array([0.7, 5.0]), np.array([2.0, 40.0])
    np.testing.assert_allclose(ff.grid_moments(ER, KERSE2, B, T, grid),
                               ff.grid_moments(ER, KERSE2, B, T, complex_grid), rtol=1e-11)


@pytest.mark.parametrize("field, T_min", [(1.0, 2.0), (3.0, 2.0), (5.4, 2.0)])
def test_default_powder_grid_is_within_2e4_of_a_converged_sphere(field, T_min):
    batch = d3d_draws(6)
    kerse2_and_draws = to_stevens_batch({k: np.concatenate([[KERSE2.as_dict()[k][0]], v])
                                         for k, v in batch.as_dict().items()})
    T = np.array([T_min, 5.0, 50.0, 300.0])
    default = ligandml.powder_magnetization(ER, kerse2_and_draws, [field], T)
    converged = ff.grid_moments(ER, kerse2_and_draws, [field], T, ori.reduced_product_grid(
        ff.batch_symmetry(kerse2_and_draws), (0, 3, 6), 40, 8))
    assert np.abs(default / converged - 1).max() < 2e-4
    # the converged reference agrees with a Lebedev rule of order 131 (independent grid)
    lebedev = ff.grid_moments(ER, KERSE2, [field], T,
                              ori.lebedev_grid(131))
    np.testing.assert_allclose(converged[:1], lebedev, rtol=1e-7)


def test_batched_m_of_h_equals_one_field_at_a_time():
    B = np.array([0.2, 1.0, 2.4, 5.4])
    T = np.array([2.0, 10.0])
    batch = d3d_draws(3)
    table = ligandml.powder_magnetization(ER, batch, B, T)
    for i, b in enumerate(B):
        np.testing.assert_allclose(table[:, i], ligandml.powder_magnetization(ER, batch, [b], T)[:, 0],
                                   rtol=1e-13)
    crystal = ligandml.crystal_magnetization(ER, batch, B, T, "plane")
    assert crystal.shape == (3, 4, 2)


def test_direction_z_is_the_vector_001():
    B, T = np.array([0.5, 4.0]), np.array([2.0, 20.0])
    for params in (KERSE2, d3d_draws(2)):
        np.testing.assert_allclose(ligandml.crystal_magnetization(ER, params, B, T, "z"),
                                   ligandml.crystal_magnetization(ER, params, B, T, (0, 0, 2.0)),
                                   rtol=1e-13)
        np.testing.assert_allclose(ligandml.crystal_magnetization(ER, params, B, T, "x"),
                                   ligandml.crystal_magnetization(ER, params, B, T, (1, 0, 0)),
                                   rtol=1e-13)


def test_plane_is_the_x_y_mean_for_an_axial_set():
    axial = {"B20": -0.8, "B40": 4e-3, "B60": -5e-5}
    B, T = np.array([0.5, 5.0]), np.array([2.0, 20.0])
    x = ligandml.crystal_magnetization(ER, axial, B, T, "x")
    y = ligandml.crystal_magnetization(ER, axial, B, T, "y")
    plane = ligandml.crystal_magnetization(ER, axial, B, T, "plane")
    np.testing.assert_allclose(plane, (x + y) / 2, rtol=1e-12)
    # and in linear response for the trigonal KErSe2 set (chi_xx = chi_yy)
    small = [1e-3]
    xk, yk = (ligandml.crystal_magnetization(ER, KERSE2, small, T, d) for d in ("x", "y"))
    np.testing.assert_allclose(ligandml.crystal_magnetization(ER, KERSE2, small, T, "plane"),
                               (xk + yk) / 2, rtol=1e-5)


@pytest.mark.parametrize("params", [
    {"B20": 0.4, "B22": -0.3, "B43": 0.02, "B4-1": 0.01, "B66": 3e-4},  # no rotation axis
    KERSE2_MEV,
])
def test_plane_is_the_explicit_in_plane_average(params):
    batch = to_stevens_batch(params, "meV" if params is KERSE2_MEV else "K")
    B, T = np.array([1.0, 5.0]), np.array([2.0, 20.0])
    phi = 2 * np.pi * np.arange(360) / 360
    dirs = np.stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)], axis=1)
    explicit = ff.grid_moments(ER, batch, B, T, ori.FieldGrid(dirs, np.full(360, 1 / 360),
                                                              np.full(360, np.nan), "explicit"))
    plane = ligandml.crystal_magnetization(ER, batch, B, T, "plane")
    np.testing.assert_allclose(plane, explicit, rtol=2e-4)


def test_single_crystal_chi_at_1mT_along_z_is_the_exact_chi_zz():
    cf = ligandml.CrystalField("Er3+", KERSE2_MEV, unit="meV")
    T = np.array([2.0, 5.0, 20.0, 100.0, 300.0])
    tensor = cf.susceptibility_tensor(T)
    np.testing.assert_allclose(cf.susceptibility(T, field=1e-3, direction="z"), tensor[:, 2, 2], rtol=2e-5)
    np.testing.assert_allclose(cf.susceptibility(T, field=1e-3, direction="x"), tensor[:, 0, 0], rtol=2e-5)
    # zero field along a direction and in the plane come from the tensor
    np.testing.assert_allclose(cf.susceptibility(T, direction="z"), tensor[:, 2, 2], rtol=1e-14)
    np.testing.assert_allclose(cf.susceptibility(T, direction="plane"),
                               (tensor[:, 0, 0] + tensor[:, 1, 1]) / 2, rtol=1e-14)


def test_bad_directions_are_refused():
    cf = ligandml.CrystalField("Er3+", KERSE2_MEV, unit="meV")
    for bad in ("ab", (0, 0, 0), (1, 2), (np.nan, 0, 1)):
        with pytest.raises(ValueError):
            cf.magnetization(1.0, 2.0, direction=bad)
    with pytest.raises(ValueError):
        ligandml.crystal_susceptibility(ER, KERSE2, [2.0], None)


def test_torch_and_numpy_eigensolvers_give_the_same_moments(monkeypatch):
    pytest.importorskip("torch")
    batch = d3d_draws(4, seed=11)
    B, T = np.array([0.2, 2.6, 5.4]), np.array([2.0, 30.0])
    out = {}
    for solver in ("numpy", "torch"):
        monkeypatch.setattr(ff, "EIGENSOLVER", solver)
        out[solver] = ligandml.powder_magnetization(ER, batch, B, T, backend="numpy")
    # same physics through two LAPACKs (OpenBLAS, MKL): the moments agree to rounding
    np.testing.assert_allclose(out["torch"], out["numpy"], rtol=1e-10)
    assert np.all(out["numpy"] > 0)


def test_bad_eigensolver_setting_is_refused(monkeypatch):
    monkeypatch.setattr(ff, "EIGENSOLVER", "lapack")
    with pytest.raises(ValueError, match="EIGENSOLVER"):
        ligandml.powder_magnetization(ER, d3d_draws(1), [1.0], [2.0], backend="numpy")
