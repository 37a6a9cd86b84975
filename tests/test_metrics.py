"""Evaluation metrics (ligandml.metrics)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ligandml as L
from ligandml.calibration import central_coverage, hpd_coverage, rank_uniformity, sbc_rank
from ligandml.metrics import c2st, distinct_equivalents, equivalents_found, invariant_features, nearest_equivalent_error


def test_c2st_half_for_one_distribution_one_for_disjoint():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1000, 3))
    b = rng.standard_normal((1000, 3))
    far = rng.standard_normal((1000, 3)) + np.array([8.0, 0.0, 0.0])
    shifted = rng.standard_normal((1000, 3)) + np.array([1.0, 0.0, 0.0])
    same = c2st(a, b)
    assert 0.43 < same < 0.57
    assert c2st(a, far) > 0.99
    # a one-sd shift: the Bayes accuracy is Phi(0.5) = 0.69
    assert 0.6 < c2st(a, shifted) < 0.75


def test_c2st_rejects_bad_input():
    with pytest.raises(ValueError, match="same d"):
        c2st(np.zeros((20, 2)), np.zeros((20, 3)))
    with pytest.raises(ValueError, match="at least"):
        c2st(np.zeros((4, 2)), np.zeros((4, 2)))


def test_nearest_equivalent_error_is_zero_at_every_equivalent():
    eq = L.equivalent_DE(-6.0, 0.5)
    assert np.allclose(nearest_equivalent_error(eq[:, 0], eq[:, 1], -6.0, 0.5), 0.0)
    assert nearest_equivalent_error(-6.0, 0.8, -6.0, 0.5) == pytest.approx(0.3)


def test_equivalents_found_counts_distinct_members():
    eq = L.equivalent_DE(-4.0, 0.3)
    rng = np.random.default_rng(1)
    pts = np.repeat(eq[:4], 50, axis=0) + 0.05 * rng.standard_normal((200, 2))
    found = equivalents_found(pts[:, 0], pts[:, 1], -4.0, 0.3)
    assert found.tolist() == [True, True, True, True, False, False]
    # a lone stray sample does not count as finding an equivalent
    pts2 = np.vstack([pts, eq[4:5]])
    assert equivalents_found(pts2[:, 0], pts2[:, 1], -4.0, 0.3).sum() == 4
    assert equivalents_found(pts2[:, 0], pts2[:, 1], -4.0, 0.3, min_fraction=0.0).sum() == 5
    # E = 0: three distinct equivalents
    assert len(distinct_equivalents(-6.0, 0.0)) == 3


def test_invariant_features_do_not_depend_on_the_equivalent():
    eq = L.equivalent_DE(3.0, 1.0)
    f = invariant_features(pd.DataFrame({"D": eq[:, 0], "E": eq[:, 1], "chi_dia": np.zeros(6)}))
    assert np.allclose(f["D_canonical"], 3.0) and np.allclose(f["E_canonical"], 1.0)


def test_sbc_and_coverage_detect_overconfidence():
    """Conjugate Gaussian toy: theta ~ N(0,1), y ~ N(theta,1), posterior N(y/2, 1/2)."""
    rng = np.random.default_rng(2)
    n_sim, n_post = 400, 500
    theta = rng.standard_normal(n_sim)
    y = theta + rng.standard_normal(n_sim)
    good, bad = [], []
    for t, yy in zip(theta, y):
        post = yy / 2 + np.sqrt(0.5) * rng.standard_normal(n_post)
        good.append(sbc_rank(post, t))
        bad.append(sbc_rank(yy / 2 + (post - yy / 2) / 3, t))  # sd three times too small
    cov_good = central_coverage(good)
    cov_bad = central_coverage(bad)
    assert abs(cov_good[0.9] - 0.9) < 0.05 and abs(cov_good[0.5] - 0.5) < 0.07
    assert cov_bad[0.9] < 0.6
    assert rank_uniformity(good) > 0.01
    assert rank_uniformity(bad) < 1e-4
    assert hpd_coverage([0.1, 0.5, 0.97], levels=(0.95,))[0.95] == pytest.approx(2 / 3)
