"""The nested-sampling reference posterior (ligandml.reference_posterior)."""
import numpy as np
import pytest

pytest.importorskip("dynesty")

from ligandml.reference_posterior import BatchingPool, credible_level, find_modes, nested_sample


def _linear_toy(seed=0):
    """y = A theta + e, e ~ N(0, sigma^2): the posterior under a wide flat prior is Gaussian
    with covariance sigma^2 (A^T A)^-1 and mean the least-squares solution."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(20, 3)) * np.array([1.0, 3.0, 0.5])
    A[:, 2] += 0.6 * A[:, 0]  # correlated parameters
    sigma = 0.3
    theta = np.array([0.4, -0.2, 1.1])
    y = A @ theta + sigma * rng.normal(size=20)
    cov = sigma**2 * np.linalg.inv(A.T @ A)
    mean = np.linalg.solve(A.T @ A, A.T @ y)

    def loglike(X):
        r = (np.atleast_2d(X) @ A.T - y) / sigma
        return -0.5 * np.sum(r**2, axis=1)
    return loglike, mean, cov


def test_sampler_recovers_the_gaussian_posterior_of_a_linear_model():
    loglike, mean, cov = _linear_toy()
    sd = np.sqrt(np.diag(cov))
    run = nested_sample(loglike, mean - 8 * sd - 0.3, mean + 8 * sd + 0.2, nlive=400,
                        queue_size=32, dlogz=0.1, seed=1)
    est = np.cov(run.samples.T)
    # covariance within 10 %: every variance, and every covariance relative to sd_i sd_j
    np.testing.assert_allclose(np.diag(est), np.diag(cov), rtol=0.10)
    norm = np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    assert np.abs((est - cov) / norm).max() < 0.10
    np.testing.assert_allclose(run.samples.mean(axis=0), mean, atol=0.1 * sd.max())
    # the likelihood was evaluated in batches, not point by point
    assert run.n_batches < run.n_calls / 4


def test_two_equal_modes_get_equal_mass():
    # likelihood in x^2: modes at x = +-1 of equal height and width, y flat-Gaussian
    def loglike(X):
        X = np.atleast_2d(X)
        return -0.5 * ((X[:, 0] ** 2 - 1) / 0.05) ** 2 - 0.5 * (X[:, 1] / 0.2) ** 2
    run = nested_sample(loglike, np.array([-3.0, -2.0]), np.array([3.0, 2.0]), nlive=300,
                        queue_size=16, seed=2)
    centres, mass = find_modes(run.samples, np.array([3.0, 2.0]), gap=0.2, min_mass=0.02)
    assert len(centres) == 2
    assert sorted(np.round(centres[:, 0]).tolist()) == [-1.0, 1.0]
    np.testing.assert_allclose(mass, [0.5, 0.5], atol=0.06)


def test_batching_pool_answers_every_point_in_order():
    calls = []

    def batch(X):
        calls.append(len(X))
        return X[:, 0] * 2.0

    with BatchingPool(batch, size=8) as pool:
        out = pool.map(lambda x: pool.log_likelihood(x) + pool.log_likelihood(x), [[i] for i in range(20)])
    assert out == [4.0 * i for i in range(20)]
    assert sum(calls) == 40 and max(calls) > 1


def test_batching_pool_passes_errors_on():
    def bad(X):
        raise ValueError("broken physics")

    with BatchingPool(bad, size=4) as pool:
        with pytest.raises(ValueError, match="broken physics"):
            pool.map(pool.log_likelihood, [[0.0], [1.0]])


def test_credible_level_of_centre_and_far_point_of_two_modes():
    rng = np.random.default_rng(0)
    S = np.concatenate([rng.normal(size=(3000, 2)) * 0.1 + [3.0, 0.0],
                        rng.normal(size=(1000, 2)) * 0.1 - [3.0, 0.0]])
    assert credible_level(S, np.array([3.0, 0.0]), np.ones(2), gap=0.5) < 0.05
    # the light peak (1/3 of the heavy one) is below 2/3 of the heavy mode: level 0.75 * 2/3
    assert 0.45 < credible_level(S, np.array([-3.0, 0.0]), np.ones(2), gap=0.5) < 0.55
    assert credible_level(S, np.array([0.0, 0.0]), np.ones(2), gap=0.5) == 1.0


def test_credible_level_of_a_gaussian_matches_chi2():
    # 2-d standard normal: the HPD level of a point at radius r is 1 - exp(-r^2 / 2)
    rng = np.random.default_rng(1)
    S = rng.normal(size=(6000, 2)) * np.array([1.0, 0.01])
    for r, expected in ((1.0, 0.3935), (2.0, 0.8647), (2.6, 0.9660)):
        level = credible_level(S, np.array([r, 0.0]), np.array([1.0, 0.01]), gap=0.5)
        assert abs(level - expected) < 0.02


def _two_gaussians(w1=0.3, seed=0):
    """A 3-d mixture w1 N(m1, C1) + (1 - w1) N(m2, C2) with different, correlated covariances:
    under a flat prior the posterior masses of the two modes are w1 and 1 - w1."""
    from scipy.stats import multivariate_normal

    m1, m2 = np.array([-1.0, 0.5, 0.0]), np.array([1.0, -0.5, 0.3])
    C1 = np.array([[0.010, 0.006, 0.0], [0.006, 0.010, 0.0], [0.0, 0.0, 0.004]])
    C2 = np.diag([0.002, 0.02, 0.001])
    g1, g2 = multivariate_normal(m1, C1), multivariate_normal(m2, C2)

    def loglike(X):
        X = np.atleast_2d(X)
        return np.logaddexp(np.log(w1) + g1.logpdf(X), np.log(1 - w1) + g2.logpdf(X))
    return loglike, (m1, m2), (C1, C2)


def test_masses_from_local_nested_sampling_match_unequal_modes():
    from ligandml.reference_posterior import find_modes, nested_around_minima

    loglike, means, covs = _two_gaussians(0.3)
    # the Laplace covariances handed over are deliberately off (diagonal, 1.5x): the masses
    # must come from the local evidences, not from these
    guess = np.array([np.diag(np.diag(c)) * 1.5 for c in covs])
    samples, info = nested_around_minima(loglike, np.array(means), -3 * np.ones(3), 3 * np.ones(3),
                                         guess, width=6.0, nlive=150, queue_size=16, seed=3,
                                         sample="unif", enlarge=1.25, bootstrap=0)
    masses = sorted(b["mass"] for b in info)
    np.testing.assert_allclose(masses, [0.3, 0.7], atol=0.05)
    centres, mass = find_modes(samples, np.ones(3), gap=0.3, min_mass=0.02)
    assert len(centres) == 2
    heavy = samples[np.linalg.norm(samples - means[1], axis=1) < 0.8]
    np.testing.assert_allclose(np.diag(np.cov(heavy.T)), np.diag(covs[1]), rtol=0.2)


def test_reflected_sampling_gives_twin_modes_equal_mass():
    from ligandml.reference_posterior import find_modes

    # modes at x0 = +-1 (equal), invariant under x0 -> -x0; only x0 >= 0 is sampled
    def loglike(X):
        X = np.atleast_2d(X)
        return -0.5 * ((X[:, 0] ** 2 - 1) / 0.05) ** 2 - 0.5 * (X[:, 1] / 0.2) ** 2
    run = nested_sample(loglike, np.array([-3.0, -2.0]), np.array([3.0, 2.0]), nlive=200,
                        queue_size=16, seed=4, sample="unif", enlarge=1.25, bootstrap=0,
                        reflect=np.array([-1.0, 1.0]))
    assert np.all(run.folded[:, 0] >= 0)
    centres, mass = find_modes(run.samples, np.array([3.0, 2.0]), gap=0.2, min_mass=0.02)
    assert sorted(np.round(centres[:, 0]).tolist()) == [-1.0, 1.0]
    np.testing.assert_allclose(mass, [0.5, 0.5], atol=0.06)
    with pytest.raises(ValueError, match="symmetric"):
        nested_sample(loglike, np.array([-2.0, -2.0]), np.array([3.0, 2.0]),
                      reflect=np.array([-1.0, 1.0]))


def test_polish_keeps_the_distribution_and_gives_distinct_points():
    from ligandml.reference_posterior import polish_within_modes

    loglike, mean, cov = _linear_toy()
    sd = np.sqrt(np.diag(cov))
    rng = np.random.default_rng(5)
    start = rng.multivariate_normal(mean, cov, size=400)
    X, info = polish_within_modes(loglike, start, mean - 10 * sd, mean + 10 * sd, sd,
                                  n_out=2000, gap=1.0, seed=6)
    assert len(X) == 2000
    assert len(np.unique(X, axis=0)) > 0.95 * len(X)
    np.testing.assert_allclose(np.diag(np.cov(X.T)), np.diag(cov), rtol=0.12)
    np.testing.assert_allclose(X.mean(axis=0), mean, atol=0.1 * sd.max())


def test_reference_posterior_exposes_its_inputs_as_a_sample_set():
    # a dataclass field named like SampleSet's observables property once broke the import
    import pandas as pd

    from ligandml.reference_posterior import NestedRun, ReferencePosterior

    rng = np.random.default_rng(7)
    S = rng.normal(size=(500, 2)) * 0.1
    spec = ({"name": "chi_z", "kind": "chi", "direction": "z", "grid": np.array([2.0, 3.0]), "field": 1.0},)
    ref = ReferencePosterior(samples=pd.DataFrame(S, columns=["B20", "B40"]), modes=pd.DataFrame(),
                             ion="Er3+", specs=spec, observed_values={"chi_z": np.array([1.0, 0.9])},
                             noise_rel=0.01, run=NestedRun(S, 0.0, 0.1, 10, 1, 0.1, 5),
                             names=("B20", "B40"), box={"B20": (-1.0, 1.0), "B40": (-1.0, 1.0)})
    assert ref.observables[0]["name"] == "chi_z"
    assert list(ref.observed) == ["chi_z"]
    assert ref.parameter_names == ["B20", "B40"]
    assert ref.credible_level({"B20": 0.0, "B40": 0.0}) < 0.05
    assert ref.credible_level({"B20": 0.9, "B40": 0.9}) == 1.0
