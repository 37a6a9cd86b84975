"""The exact grid posterior (ligandml.grid_posterior)."""
from __future__ import annotations

import numpy as np
import pytest

import ligandml as L
from ligandml.likelihood import CurveModel
from ligandml.grid_posterior import grid_posterior, log_posterior

T = np.geomspace(2.0, 300.0, 128)


def _noisy(D, E, chi_dia, noise_rel, seed):
    chi = L.powder_susceptibility("Er3+", {"D": D, "E": E}, T)[0] + chi_dia
    return chi * (1 + noise_rel * np.random.default_rng(seed).standard_normal(T.size))


@pytest.fixture(scope="module")
def er2_post():
    chi = _noisy(-4.0, 0.3, 0.00125, 0.01, seed=11)
    return grid_posterior(T, chi, "Er3+", noise_rel=0.01, prior={"sigma_dia": 0.002}, n_samples=3000)


def test_truth_class_inside_the_95_percent_region(er2_post):
    post = er2_post
    assert post.grid_check["passed"]
    level = post.class_hpd_level(-4.0, 0.3)
    assert level < 0.95
    # a far-off class is outside it
    assert post.class_hpd_level(6.0, 1.0) > 0.999
    # samples sit near the truth's class; chi_dia is recovered within its posterior spread
    err = L.nearest_equivalent_distance(post.samples["D"], post.samples["E"], -4.0, 0.3)
    assert np.median(err) < 0.6
    cd = post.samples["chi_dia"]
    assert abs(cd.mean() - 0.00125) < 4 * cd.std()


def test_posterior_is_symmetric_over_the_six_equivalents(er2_post):
    eq = L.equivalent_DE(-4.0, 0.3)
    lp = er2_post.log_density(eq[:, 0], eq[:, 1])
    assert np.ptp(lp) < 1e-6  # the curve is the same at all six
    frac = np.bincount(np.argmin(np.hypot(er2_post.samples["D"].to_numpy()[:, None] - eq[:, 0],
                                          er2_post.samples["E"].to_numpy()[:, None] - eq[:, 1]), axis=1),
                       minlength=6) / len(er2_post.samples)
    # (-4, +-0.3) nearly merge across E = 0; the other four each hold a clear share
    assert np.all(frac[2:] > 0.08)


def test_integrating_chi_dia_out_matches_quadrature():
    chi = _noisy(3.0, 1.0, 0.001, 0.01, seed=5)
    sd_dia = 0.002
    model = CurveModel(L.ion("Er3+"), T, chi, 0.01 * np.abs(chi), ("D", "E"), ("chi_dia",),
                       prior_sd={"chi_dia": sd_dia})
    pts = np.array([[3.0, 1.0], [2.8, 1.1], [-1.0, 2.0]])
    lp, mean, cov = log_posterior(model, pts[:, 0], pts[:, 1])
    grid = np.linspace(-0.01, 0.01, 40001)
    F = L.powder_susceptibility("Er3+", {"D": pts[:, 0], "E": pts[:, 1]}, T)
    quad = []
    for f in F:
        chi2 = (((chi[None, :] - f[None, :] - grid[:, None]) / (0.01 * np.abs(chi))) ** 2).sum(axis=1)
        logint = -0.5 * chi2 - 0.5 * (grid / sd_dia) ** 2
        top = logint.max()
        quad.append(top + np.log(np.trapezoid(np.exp(logint - top), grid)))
    quad = np.array(quad)
    # equal up to one constant (the prior's normalisation and 2 pi factors)
    assert np.allclose(lp - lp[0], quad - quad[0], atol=1e-6)


def test_multiresolution_grid_agrees_with_a_dense_uniform_grid():
    chi = _noisy(-6.0, 0.5, 0.002, 0.003, seed=2)
    post = grid_posterior(T, chi, "Er3+", noise_rel=0.003, n_samples=10)
    window = {"D": (-7.0, -5.0), "E": (0.05, 1.5)}  # one of the six modes (E > 0 half)
    pts = post.points
    sel = pts["D"].between(*window["D"]) & pts["E"].between(*window["E"])
    w = pts["mass"][sel] / pts["mass"][sel].sum()
    grid_mean = np.array([(w * pts["D"][sel]).sum(), (w * pts["E"][sel]).sum()])
    D = np.arange(window["D"][0] + 0.005, window["D"][1], 0.01)  # sd(D) ~ 0.07 K here
    E = np.arange(window["E"][0] + 0.005, window["E"][1], 0.01)
    DD, EE = np.meshgrid(D, E, indexing="ij")
    lp, _, _ = log_posterior(post.model, DD.ravel(), EE.ravel())
    m = np.exp(lp - lp.max())
    dense_mean = np.array([(m * DD.ravel()).sum(), (m * EE.ravel()).sum()]) / m.sum()
    dense_sd = np.sqrt(np.array([(m * (DD.ravel() - dense_mean[0]) ** 2).sum(),
                                 (m * (EE.ravel() - dense_mean[1]) ** 2).sum()]) / m.sum())
    assert np.all(np.abs(grid_mean - dense_mean) < 0.05 * dense_sd + 1e-4)


def test_too_coarse_grid_is_reported():
    chi = _noisy(-6.0, 0.5, 0.002, 0.001, seed=1)
    with pytest.warns(RuntimeWarning, match="too coarse"):
        post = grid_posterior(T, chi, "Er3+", noise_rel=0.001, spacing=1.0, sd_per_cell=6.0,
                              width_sd=3.0, max_refine=0, n_samples=10)
    assert not post.grid_check["passed"]


def test_bad_input():
    chi = _noisy(3.0, 1.0, 0.0, 0.0, seed=0)
    with pytest.raises(ValueError, match="noise_rel"):
        grid_posterior(T, chi, "Er3+", noise_rel=0.0)
    with pytest.raises(ValueError, match="unknown prior keys"):
        grid_posterior(T, chi, "Er3+", prior={"sigma_d": 0.1})
    with pytest.raises(ValueError, match="sigma_dia"):
        grid_posterior(T, chi, "Er3+", prior={"sigma_dia": -1})
