"""Per-curve relative noise levels: drawn log-uniformly, applied as sd = level |chi|, returned."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ligandml.augmentation import (NOISE_LEVEL_RANGE, add_noise_with_levels, apply_relative_noise,
                                   draw_mass_errors, draw_noise_levels, noise_level_feature)


def test_empirical_relative_sd_matches_each_drawn_level():
    rng = np.random.default_rng(0)
    n_curves, n_points = 40, 4000
    # clean curves spanning three decades, so absolute noise of sd `level` would fail
    clean = np.geomspace(0.01, 10.0, n_points)[None, :] * rng.uniform(0.5, 2.0, (n_curves, 1))
    noisy, levels = add_noise_with_levels(rng, clean)
    rel = (noisy - clean) / np.abs(clean)
    ratio = rel.std(axis=1) / levels
    # sd of a sample sd over n points: level / sqrt(2 n) -> 1.1 % here; 5 sd = 5.6 %
    assert np.max(np.abs(ratio - 1.0)) < 0.056
    assert np.max(np.abs(rel.mean(axis=1) / levels)) < 5 / np.sqrt(n_points)


def test_levels_within_bounds_and_log_uniform():
    lo, hi = NOISE_LEVEL_RANGE
    assert (lo, hi) == (1e-3, 3e-2)
    levels = draw_noise_levels(np.random.default_rng(1), 20000)
    assert levels.min() >= lo and levels.max() <= hi
    u = (np.log10(levels) - np.log10(lo)) / (np.log10(hi) - np.log10(lo))
    assert stats.kstest(u, "uniform").pvalue > 0.01
    # the same test rejects a linear-uniform hypothesis: it can tell the two apart
    assert stats.kstest((levels - lo) / (hi - lo), "uniform").pvalue < 1e-6
    # median of a log-uniform draw: the geometric mean of the bounds
    assert abs(np.median(levels) / np.sqrt(lo * hi) - 1) < 0.05


def test_reproducible_from_seed_and_feature_is_log10():
    clean = np.ones((5, 3, 16))
    a = add_noise_with_levels(np.random.default_rng(7), clean, 0.002, 0.05)
    b = add_noise_with_levels(np.random.default_rng(7), clean, 0.002, 0.05)
    c = add_noise_with_levels(np.random.default_rng(8), clean, 0.002, 0.05)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[1].shape == (5, 3)
    assert not np.array_equal(a[0], c[0])
    np.testing.assert_allclose(noise_level_feature([0.001, 0.01, 0.03]), [-3, -2, np.log10(0.03)])


def test_zero_level_is_no_noise_and_bad_input_raises():
    clean = np.linspace(1, 2, 10)[None]
    assert np.array_equal(apply_relative_noise(np.random.default_rng(0), clean, [0.0]), clean)
    with pytest.raises(ValueError, match="lo <= hi"):
        draw_noise_levels(np.random.default_rng(0), 3, lo=0.05, hi=0.01)
    with pytest.raises(ValueError, match="> 0"):
        noise_level_feature([0.0])


def test_mass_errors_truncated_normal():
    s_m = draw_mass_errors(np.random.default_rng(2), 100000, 0.02)
    assert abs(s_m.mean() - 1) < 5 * 0.02 / np.sqrt(1e5)
    assert abs(s_m.std() / 0.02 - 1) < 0.02
    assert np.all(draw_mass_errors(np.random.default_rng(3), 100000, 0.45) > 0)
