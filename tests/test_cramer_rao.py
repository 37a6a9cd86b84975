"""The Cramer-Rao floor (ligandml.cramer_rao) against closed forms and a Monte-Carlo of fits."""
import numpy as np
import pytest
from scipy.optimize import least_squares
from scipy.stats import norm

from ligandml.benchmark_task import temperature_grid
from ligandml.cramer_rao import (cramer_rao, curve_cramer_rao, fisher_information,
                                 gaussian_distance_median, jacobian_fd)
from ligandml.sweeps import powder_susceptibility


def test_linear_model_bound_is_the_least_squares_covariance():
    # y = X theta + e, e_i ~ N(0, s_i^2): the bound is (X^T W X)^-1, exactly
    t = np.linspace(0.0, 2.0, 25)
    X = np.column_stack([np.ones_like(t), t, t**2])
    s = 0.05 + 0.1 * t
    cr = cramer_rao(lambda th: X @ th, [1.0, -2.0, 0.5], s, names=("a", "b", "c"))
    expected = np.linalg.inv(X.T @ np.diag(1 / s**2) @ X)
    np.testing.assert_allclose(cr.covariance, expected, rtol=1e-7)
    np.testing.assert_allclose(cr.sd, np.sqrt(np.diag(expected)), rtol=1e-7)
    assert not cr.singular
    assert cr.expected_abs_error()["a"] == pytest.approx(np.sqrt(2 / np.pi) * np.sqrt(expected[0, 0]))


def test_nonlinear_model_matches_the_analytic_jacobian():
    # y = A exp(-k t): dA = exp(-k t), dk = -A t exp(-k t)
    t = np.linspace(0.1, 5.0, 40)
    A, k, s = 3.0, 0.7, 0.02
    J = np.column_stack([np.exp(-k * t), -A * t * np.exp(-k * t)])
    np.testing.assert_allclose(jacobian_fd(lambda th: th[0] * np.exp(-th[1] * t), [A, k]), J, rtol=1e-8)
    cr = cramer_rao(lambda th: th[0] * np.exp(-th[1] * t), [A, k], s)
    np.testing.assert_allclose(cr.fisher, J.T @ J / s**2, rtol=1e-7)


def test_prior_adds_its_precision():
    X = np.column_stack([np.ones(10), np.arange(10.0)])
    free = cramer_rao(lambda th: X @ th, [0.0, 1.0], 1.0, names=("a", "b"))
    held = cramer_rao(lambda th: X @ th, [0.0, 1.0], 1.0, names=("a", "b"), prior_sd={"a": 0.5})
    np.testing.assert_allclose(held.fisher - free.fisher, [[4.0, 0.0], [0.0, 0.0]], atol=1e-9)
    assert held.sd[0] < free.sd[0]


def test_gaussian_distance_median_closed_forms():
    # 1-D: median |N(0, s^2)| = 0.6745 s; 2-D isotropic: the Rayleigh median s sqrt(2 ln 2)
    assert gaussian_distance_median(4.0) == pytest.approx(norm.ppf(0.75) * 2.0, rel=1e-12)
    assert gaussian_distance_median(np.eye(2) * 0.09) == pytest.approx(0.3 * np.sqrt(2 * np.log(2)), rel=1e-8)
    # anisotropic and correlated: against a large Monte-Carlo sample
    C = np.array([[1.0, 0.6], [0.6, 0.5]])
    e = np.random.default_rng(0).multivariate_normal([0, 0], C, 400_000)
    assert gaussian_distance_median(C) == pytest.approx(np.median(np.hypot(e[:, 0], e[:, 1])), rel=5e-3)
    # degenerate 2-D: a line, the 1-D answer
    assert gaussian_distance_median(np.diag([4.0, 0.0])) == pytest.approx(norm.ppf(0.75) * 2.0, rel=1e-12)


def test_physics_bound_matches_the_spread_of_least_squares_fits():
    # rhombic curve at 0.2 % noise: the spread of local fits of (D, E, chi_dia) over noise draws
    T = temperature_grid(48)
    D, E, chi_dia, noise = 3.0, 1.0, 0.001, 0.002
    cr = curve_cramer_rao(T, {"D": D, "E": E}, chi_dia=chi_dia, noise_rel=noise)
    clean = powder_susceptibility("Er3+", {"D": [D], "E": [E]}, T, backend="numpy")[0] + chi_dia
    sd = noise * np.abs(clean)
    rng = np.random.default_rng(1)
    fits = []
    for _ in range(150):
        y = clean + sd * rng.standard_normal(T.size)

        def resid(x):
            model = powder_susceptibility("Er3+", {"D": [x[0]], "E": [x[1]]}, T, backend="numpy")[0]
            return (model + x[2] * 1e-3 - y) / sd

        fits.append(least_squares(resid, [D, E, chi_dia * 1e3], method="lm").x * [1, 1, 1e-3])
    spread = np.std(np.array(fits), axis=0, ddof=1)
    # the sd of 150 draws is within ~6 % (1 sd) of the truth: allow 25 %
    np.testing.assert_allclose(spread, cr.sd, rtol=0.25)
    assert cr.names == ("D", "E", "chi_dia")


def test_bound_scales_with_the_noise_and_is_infinite_where_equivalents_merge():
    T = temperature_grid(32)
    one = curve_cramer_rao(T, {"D": -6.0, "E": 0.5}, chi_dia=0.002, noise_rel=0.01)
    two = curve_cramer_rao(T, {"D": -6.0, "E": 0.5}, chi_dia=0.002, noise_rel=0.02)
    np.testing.assert_allclose(two.sd, 2 * one.sd, rtol=1e-9)
    flat = curve_cramer_rao(T, {"D": -6.0, "E": 0.0}, noise_rel=0.01)  # E = 0: (D, E) = (D, -E)
    assert flat.singular and np.isinf(flat.as_dict()["E"])
    assert flat.median_distance() == np.inf


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="sigma"):
        fisher_information(np.ones((3, 2)), [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="nuisance"):
        curve_cramer_rao(temperature_grid(8), {"D": 1.0, "E": 0.1}, nuisance=("offset",))
    with pytest.raises(ValueError, match="noise_rel"):
        curve_cramer_rao(temperature_grid(8), {"D": 1.0, "E": 0.1}, noise_rel=0.0)
    with pytest.raises(ValueError, match="cov"):
        gaussian_distance_median(np.eye(3))
