"""The classifier two-sample test (ligandml.metrics.c2st) used by benchmarks/bench_vs_sbi.py:
known Bayes accuracies for both classifiers, and agreement with sbi's own c2st when installed."""
import numpy as np
import pytest

from ligandml.metrics import c2st


def _gauss(rng, n, shift=0.0, d=3):
    x = rng.standard_normal((n, d))
    x[:, 0] += shift
    return x


def test_identical_half_separated_one():
    # the random forest's case is in tests/test_metrics.py
    rng = np.random.default_rng(3)
    a, b = _gauss(rng, 1500), _gauss(rng, 1500)
    assert abs(c2st(a, b, classifier="mlp") - 0.5) < 0.05
    assert c2st(a, _gauss(rng, 1500, shift=10.0), classifier="mlp") > 0.99


def test_mlp_reaches_the_bayes_accuracy_of_a_shift():
    # two unit Gaussians 2 sd apart along one axis: the Bayes accuracy is Phi(1) = 0.841
    rng = np.random.default_rng(4)
    acc = c2st(_gauss(rng, 2000), _gauss(rng, 2000, shift=2.0), classifier="mlp")
    assert 0.80 < acc < 0.87


@pytest.mark.parametrize("classifier, lowest", [("rf", 0.6), ("mlp", 0.66)])
def test_wrong_mode_weights_are_detected(classifier, lowest):
    # the same two far-apart modes, weights 50/50 against 90/10: Bayes accuracy
    # 0.5 (max(0.5, 0.9) + max(0.5, 0.1)) = 0.7 (what a posterior that misses equivalents shows);
    # the random forest, fitting the noise inside each mode, stays below it (0.64 here)
    rng = np.random.default_rng(5)
    n = 2000

    def mixture(w):
        x = _gauss(rng, n, d=2) * 0.3
        x[:, 0] += np.where(rng.random(n) < w, -5.0, 5.0)
        return x

    acc = c2st(mixture(0.5), mixture(0.9), classifier=classifier)
    assert lowest < acc < 0.74


def test_agrees_with_sbi_c2st():
    sbi_metrics = pytest.importorskip("sbi.utils.metrics")
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    a, b = _gauss(rng, 1000), _gauss(rng, 1000, shift=1.0)
    ours = c2st(a, b, classifier="rf")
    theirs = float(sbi_metrics.c2st(torch.as_tensor(a, dtype=torch.float32),
                                    torch.as_tensor(b, dtype=torch.float32), classifier="rf"))
    # the Bayes accuracy is Phi(0.5) = 0.69; both estimate it within a few hundredths
    assert abs(ours - theirs) < 0.04
    assert 0.64 < ours < 0.73
