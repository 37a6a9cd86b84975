"""Least squares and the refinement of posterior samples (ligandml.fitting)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import ligandml as L
from ligandml.curves import per_ion_chi
from ligandml.fitting import fit_least_squares, refine_posterior

T = np.geomspace(2.0, 300.0, 128)


def _curve(D, E, chi_dia=0.0, noise_rel=0.0, seed=0):
    chi = L.powder_susceptibility("Er3+", {"D": D, "E": E}, T)[0] + chi_dia
    if noise_rel:
        chi = chi * (1 + noise_rel * np.random.default_rng(seed).standard_normal(T.size))
    return chi


def test_least_squares_recovers_an_equivalent_noise_free():
    chi = _curve(-6.0, 0.5, chi_dia=0.002)
    fit = fit_least_squares(T, chi, "Er3+", starts=32)
    err = L.nearest_equivalent_distance(fit.best["D"], fit.best["E"], -6.0, 0.5)
    assert err < 1e-4
    assert fit.best["chi_dia"] == pytest.approx(0.002, abs=1e-8)
    # every listed minimum of (near) zero cost is one of the six equivalents
    exact = fit.solutions[fit.solutions["cost"] < 1e-16]
    assert len(exact) >= 1
    d = L.nearest_equivalent_distance(exact["D"], exact["E"], -6.0, 0.5)
    assert np.all(d < 1e-4)
    assert np.allclose(exact["D_canonical"], -6.0, atol=1e-4)
    assert np.allclose(exact["E_canonical"], 0.5, atol=1e-4)


def test_fit_without_chi_dia_is_biased_and_says_so_by_its_cost():
    chi = _curve(-6.0, 0.5, chi_dia=0.002)
    fit = fit_least_squares(T, chi, "Er3+", nuisance=(), starts=32)
    err = L.nearest_equivalent_distance(fit.best["D"], fit.best["E"], -6.0, 0.5)
    assert err > 0.1  # the missing offset drags D, E away from every equivalent
    assert fit.best["cost"] > 1e-4
    assert "chi_dia" not in fit.best


def test_standard_errors_match_the_scatter_of_a_noisy_fit():
    chi = _curve(-6.0, 0.5, chi_dia=0.002, noise_rel=0.01, seed=3)
    fit = fit_least_squares(T, chi, "Er3+", starts=32)
    best = fit.solutions.iloc[0]
    eq = L.equivalent_DE(-6.0, 0.5)
    k = np.argmin(np.hypot(eq[:, 0] - best["D"], eq[:, 1] - best["E"]))
    assert 0 < best["se_D"] < 5.0 and 0 < best["se_E"] < 5.0  # a long D-E ridge: E is loose
    assert abs(best["D"] - eq[k, 0]) < 4 * best["se_D"]
    assert abs(best["E"] - eq[k, 1]) < 4 * best["se_E"]
    assert abs(best["chi_dia"] - 0.002) < 4 * best["se_chi_dia"]
    assert best["chi2_red"] == pytest.approx(1e-4, rel=0.4)  # relative residual variance ~ 0.01^2


def test_mass_error_is_fitted_as_a_free_scale():
    chi = 1.05 * _curve(-6.0, 0.5) + 0.002
    fit = fit_least_squares(T, chi, "Er3+", nuisance=("chi_dia", "s_m"), starts=16)
    assert fit.best["s_m"] == pytest.approx(1.05, abs=1e-7)
    assert fit.best["chi_dia"] == pytest.approx(0.002, abs=1e-8)
    assert L.nearest_equivalent_distance(fit.best["D"], fit.best["E"], -6.0, 0.5) < 1e-4


def test_chiT_and_ions_per_formula_give_the_same_fit():
    chi = _curve(3.0, 1.0, chi_dia=0.001)
    a = fit_least_squares(T, chi, "Er3+", starts=16)
    b = fit_least_squares(T, 2 * chi * T, "Er3+", starts=16, quantity="chiT", ions_per_formula=2)
    assert L.canonical_DE(a.best["D"], a.best["E"]) == pytest.approx(L.canonical_DE(b.best["D"], b.best["E"]), abs=1e-6)
    assert a.best["chi_dia"] == pytest.approx(b.best["chi_dia"], abs=1e-9)


def test_bad_input_raises_clear_errors():
    chi = _curve(3.0, 1.0)
    with pytest.raises(ValueError, match="nuisance"):
        fit_least_squares(T, chi, "Er3+", nuisance=("offset",))
    with pytest.raises(ValueError, match="search range"):
        fit_least_squares(T, chi, "Er3+", params=("D", "E", "B40"))
    with pytest.raises(ValueError, match="one value per temperature"):
        fit_least_squares(T[:-1], chi, "Er3+")
    with pytest.raises(ValueError, match="quantity"):
        per_ion_chi(T, chi, quantity="chi_T")


def _stand_in(D, E, chi_dia, centres, n=1000, spread=0.25, seed=0):
    """A posterior-like object whose samples scatter around the given centres."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(centres), n)
    DE = np.asarray(centres)[pick] + spread * rng.standard_normal((n, 2))
    samples = pd.DataFrame({"D": DE[:, 0], "E": DE[:, 1],
                            "chi_dia": chi_dia + 3e-4 * rng.standard_normal(n)})
    return SimpleNamespace(samples=samples, T=T, chi_input=_curve(D, E, chi_dia), ion=L.ion("Er3+"),
                           field=None)


def test_refine_returns_all_six_equivalents_noise_free():
    eq = L.equivalent_DE(-4.0, 0.3)
    post = _stand_in(-4.0, 0.3, 0.00125, eq)
    res = refine_posterior(post)
    sol = res.solutions
    for d, e in eq:
        dist = np.hypot(sol["D"] - d, sol["E"] - e)
        assert dist.min() < 1e-3, (d, e)
    exact = sol[sol["cost"] < 1e-16]
    assert len(exact) == 6
    assert np.allclose(exact["chi_dia"], 0.00125, atol=1e-8)
    assert exact["mass"].sum() == pytest.approx(1.0, abs=0.05)


def test_refine_finds_only_what_the_samples_point_to():
    eq = L.equivalent_DE(-4.0, 0.3)
    post = _stand_in(-4.0, 0.3, 0.00125, eq[:2], spread=0.1)
    sol = refine_posterior(post).solutions
    exact = sol[sol["cost"] < 1e-16]
    found = [np.hypot(exact["D"] - d, exact["E"] - e).min() < 1e-3 for d, e in eq]
    assert found[:2] == [True, True] and not any(found[2:])


_DEFAULT_MODEL = Path(L.__file__).resolve().parent / "models" / "default" / "model.json"


@pytest.mark.skipif(not _DEFAULT_MODEL.is_file(), reason="no shipped default model")
def test_refine_through_the_real_posterior():
    """Every equivalent the network's samples point to (>= 2 % of them within 0.5 K) comes back
    as an exact solution (1e-3 K), and every exact solution is an equivalent."""
    from ligandml.benchmark_task import benchmark_curve
    from ligandml.metrics import equivalents_found
    from ligandml.model import load_model

    Tb, chi = benchmark_curve("axial")
    post = load_model().predict(Tb, chi, n_samples=1000, seed=0)
    res = post.refine()
    exact = res.solutions[res.solutions["cost"] < 1e-14]
    assert len(exact) >= 1
    assert np.all(L.nearest_equivalent_distance(exact["D"], exact["E"], -6.0, 0.5) < 1e-3)
    pointed = equivalents_found(post.samples["D"], post.samples["E"], -6.0, 0.5, radius=0.5, min_fraction=0.02)
    eq = L.equivalent_DE(-6.0, 0.5)
    for (d, e), hit in zip(eq, pointed):
        if hit:
            assert np.hypot(exact["D"] - d, exact["E"] - e).min() < 1e-3, (d, e)
    assert pointed.sum() >= 1
