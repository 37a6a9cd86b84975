"""The Laplace mixture's pieces against closed forms: evidence weights of Gaussians, the share of
a Gaussian a box cuts away, duplicate minima. The whole path (network -> least squares ->
Laplace) is tested on a trained model in test_multi_observable.py."""
from __future__ import annotations

import numpy as np
import pytest

from ligandml.laplace import distinct_minima, inside_share, mixture_weights, sample_truncated


def test_weights_are_the_gaussian_evidences():
    """Equal peak likelihood, sd 1 and 2 (1-d): the evidence is L sqrt(2 pi) sd, so the masses are
    1/3 and 2/3; a peak e^-2 lower with the same sd gets e^-2 of the mass."""
    cov = np.array([[[1.0]], [[4.0]]])
    np.testing.assert_allclose(mixture_weights(np.array([0.0, 0.0]), cov, np.ones(2)), [1 / 3, 2 / 3],
                               rtol=1e-12)
    w = mixture_weights(np.array([0.0, -2.0]), np.array([[[1.0]], [[1.0]]]), np.ones(2))
    np.testing.assert_allclose(w[1] / w[0], np.exp(-2.0), rtol=1e-12)
    # half of the second Gaussian outside the box: half its mass
    w = mixture_weights(np.array([0.0, 0.0]), np.array([[[1.0]], [[1.0]]]), np.array([1.0, 0.5]))
    np.testing.assert_allclose(w, [2 / 3, 1 / 3], rtol=1e-12)


def test_truncated_draws_stay_in_the_box_and_measure_the_cut():
    """A 2-d Gaussian centred on one face of the box: half of it is inside (share 0.5 within
    binomial noise), every draw is inside, and the draws along the face keep the Gaussian's sd;
    a Gaussian deep inside keeps its covariance (correlation 0.6)."""
    rng = np.random.default_rng(0)
    lo, hi = np.array([0.0, -10.0]), np.array([10.0, 10.0])
    X = sample_truncated(rng, np.array([0.0, 0.0]), np.eye(2), lo, hi, 5000)
    assert abs(inside_share(rng, np.array([0.0, 0.0]), np.eye(2), lo, hi) - 0.5) < 0.03
    assert np.all(X[:, 0] >= 0) and len(X) == 5000
    assert abs(X[:, 1].std() - 1.0) < 0.05
    assert abs(X[:, 0].mean() - np.sqrt(2 / np.pi)) < 0.05  # half-normal mean
    cov = np.array([[1.0, 0.6], [0.6, 1.0]])
    Y = sample_truncated(rng, np.array([5.0, 0.0]), cov, lo, hi, 20000)
    assert inside_share(rng, np.array([5.0, 0.0]), cov, lo, hi) == 1.0
    np.testing.assert_allclose(np.cov(Y.T), cov, atol=0.05)


def test_a_gaussian_outside_the_box_is_refused():
    rng = np.random.default_rng(1)
    with pytest.raises(RuntimeError, match="outside the prior box"):
        sample_truncated(rng, np.array([-50.0]), np.eye(1), np.array([0.0]), np.array([1.0]), 10)


def test_distinct_minima_drops_only_duplicates():
    scale = np.array([1.0, 0.01])
    X = np.array([[0.5, 0.001], [0.5 + 1e-5, 0.001 + 1e-8], [0.5, 0.0012], [-0.5, 0.001]])
    kept = distinct_minima(X, scale)
    np.testing.assert_array_equal(kept, X[[0, 2, 3]])


def test_observable_widths_add_information_and_scale_with_the_noise():
    """Local posterior widths (Laplace at the published KErSe2 B20, B40, B43): two observables
    together are at least as narrow as either alone (Fisher information adds); chi_dia and s_m
    left free only widen them; and without nuisances, where the data fix a parameter well (sd <
    2 % of the box) doubling the noise doubles its sd (to 2 %: the box cap's share is below
    that; with nuisances it does not, as their priors do not scale with the noise)."""
    from ligandml.dataset.observables import chi_observable, magnetization_observable
    from ligandml.laplace import observable_widths
    from ligandml.real_data import KERSE2_K

    names = ["B20", "B40", "B43"]
    values = {n: KERSE2_K[n] for n in names}
    chi_c = chi_observable(np.geomspace(2, 300, 24), 1.0, "z", name="chi_c")
    m_ab = magnetization_observable(np.linspace(0.5, 7, 10), 2.0, "plane", name="M_ab")
    groups = {"chi": [chi_c], "M": [m_ab], "both": [chi_c, m_ab]}
    w1 = observable_widths("Er3+", groups, values, noise_rel=0.005, backend="numpy")
    w0 = observable_widths("Er3+", groups, values, noise_rel=0.005, nuisance_sd={}, backend="numpy")
    w2 = observable_widths("Er3+", groups, values, noise_rel=0.01, nuisance_sd={}, backend="numpy")
    rel = w1[[f"rel_{n}" for n in names]].to_numpy()
    assert np.all(rel[2] <= rel[0] * (1 + 1e-9)) and np.all(rel[2] <= rel[1] * (1 + 1e-9))
    assert np.all(rel <= 1.0)
    sd1 = w0[[f"sd_{n}" for n in names]].to_numpy()
    sd2 = w2[[f"sd_{n}" for n in names]].to_numpy()
    with_nuisances = w1[[f"sd_{n}" for n in names]].to_numpy()
    assert np.all(with_nuisances >= sd1 * (1 - 1e-9))
    half_width = with_nuisances / rel
    tight = sd1 / half_width < 0.02
    assert tight.sum() >= 2
    np.testing.assert_allclose(sd2[tight] / sd1[tight], 2.0, rtol=0.02)


def test_ranked_starts_take_the_best_fitting_samples_once_each():
    """Starts ranked by exact likelihood: on a toy log L = -|x - (1, 2)|^2 / 2 the first start is
    the sample nearest (1, 2); a near-copy of it (closer than min_distance) is skipped, so the
    second is the next distinct sample, however few samples sit there."""
    from types import SimpleNamespace

    import pandas as pd

    from ligandml.laplace import ranked_starts

    class Toy:
        def curves(self, X):
            return np.asarray(X, float)

        def log_marginal_from_curves(self, F):
            return -0.5 * np.sum((F - np.array([1.0, 2.0])) ** 2, axis=1)

    X = np.array([[5.0, 5.0], [1.1, 2.0], [1.1001, 2.0], [0.0, 0.0], [3.0, 2.0], [np.nan, 1.0]])
    post = SimpleNamespace(samples=pd.DataFrame(X, columns=["a", "b"]))
    S = ranked_starts(Toy(), post, ["a", "b"], np.array([1.0, 1.0]), n=3, min_distance=0.05)
    np.testing.assert_array_equal(S, [[1.1, 2.0], [3.0, 2.0], [0.0, 0.0]])


def test_fit_p_value_flags_an_understated_noise():
    """The chi^2 test of the best minimum: residuals that are unit normal draws at 200 points
    and 3 parameters pass (p > 1e-3 on 19 of 20 data sets at least); the same residuals with
    the noise understated 1.5x fail (p < 1e-6); the best of several minima is the one tested."""
    from ligandml.laplace import fit_p_value

    class Toy:
        n_points = 200

        def __init__(self, r):
            self.r = r

        def residuals(self, X):
            return np.stack([self.r * (1 + x[0]) for x in X])

    rng = np.random.default_rng(1)
    passed = [fit_p_value(Toy(rng.standard_normal(200)), np.zeros((1, 3))) > 1e-3 for _ in range(20)]
    assert sum(passed) >= 19
    r = rng.standard_normal(200)
    assert fit_p_value(Toy(1.5 * r), np.zeros((1, 3))) < 1e-6
    assert fit_p_value(Toy(1.5 * r), np.array([[1.0, 0, 0], [-1 / 3, 0, 0]])) > 1e-3
