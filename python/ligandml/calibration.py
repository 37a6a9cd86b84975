"""Calibration of posterior samples over many held-out curves: does an interval that claims 95 %
hold the truth 95 % of the time?

Inputs everywhere: samples (n_curves, n_samples, n_params) drawn from the estimated posterior of
each curve, and truths (n_curves, n_params) that generated the curves (drawn from the prior).
Units are those of the parameters (K for D, E; emu/mol for chi_dia); every output is a fraction,
a rank or a p-value.

- coverage: fraction of truths inside the central (or shortest, "hpd") credible interval of each
  nominal level, per parameter; coverage_sd: its binomial standard deviation.
- sbc_ranks, sbc_uniformity: simulation-based calibration (Talts et al. 2018, arXiv:1804.06788):
  the rank of the truth among the samples is uniform on {0..L} for a calibrated posterior; chi^2
  test of the rank histogram. Over-confident posteriors give a U-shaped histogram, under-
  confident ones a hump, biased ones a slope.
- tarp: Tests of Accuracy with Random Points (Lemos et al., ICML 2023, arXiv:2302.03026): the
  expected coverage probability (ECP) of balls around random reference points, for the joint
  posterior of all parameters at once; ECP(alpha) = alpha when calibrated. ATC (sbi's
  area-to-curve: sum of ECP - alpha over the upper half of the alpha grid; < 0 over-confident,
  > 0 under-confident) and a Kolmogorov-Smirnov test of the per-curve credibilities.
- calibration_plot: coverage vs nominal level per parameter, TARP curve and SBC rank histograms,
  with the diagonal and a binomial band, saved to a file.
- Per-curve helpers with the signatures of ligandml.metrics (sbc_rank, central_coverage,
  hpd_coverage, rank_uniformity, calibration_table), so callers can move here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_LEVELS = (0.5, 0.68, 0.9, 0.95)


def _check(samples, truths) -> tuple[np.ndarray, np.ndarray]:
    samples = np.asarray(samples, dtype=float)
    truths = np.asarray(truths, dtype=float)
    if samples.ndim == 2:  # one parameter
        samples = samples[..., None]
    if truths.ndim == 1:
        truths = truths[:, None]
    if samples.ndim != 3 or truths.ndim != 2:
        raise ValueError(f"samples must be (n_curves, n_samples, n_params) and truths (n_curves, n_params), "
                         f"got {samples.shape} and {truths.shape}")
    if samples.shape[0] != truths.shape[0] or samples.shape[2] != truths.shape[1]:
        raise ValueError(f"samples {samples.shape} and truths {truths.shape} disagree in curves or parameters")
    if samples.shape[1] < 2:
        raise ValueError(f"need at least 2 samples per curve, got {samples.shape[1]}")
    if not (np.all(np.isfinite(samples)) and np.all(np.isfinite(truths))):
        raise ValueError("samples or truths contain NaN or inf")
    return samples, truths


def _check_levels(levels) -> np.ndarray:
    levels = np.atleast_1d(np.asarray(levels, dtype=float))
    if np.any((levels <= 0) | (levels >= 1)):
        raise ValueError(f"credible levels must lie in (0, 1), got {levels}")
    return levels


# ----------------------------------------------------------------------------- coverage
def credible_intervals(samples, level: float, kind: str = "central") -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends (n_curves, n_params) of each curve's credible interval of `level`.

    kind "central": the (1 - level)/2 and (1 + level)/2 sample quantiles. kind "hpd": the
    shortest interval holding ceil(level L) of the L samples (the highest-density interval of a
    unimodal marginal; for a multimodal one it is the shortest single interval, not the HPD set).
    """
    samples = np.asarray(samples, dtype=float)
    samples = samples[..., None] if samples.ndim == 2 else samples
    level = float(_check_levels(level)[0])
    if kind == "central":
        lo, hi = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=1)
        return lo, hi
    if kind == "hpd":
        s = np.sort(samples, axis=1)
        L = s.shape[1]
        k = min(L - 1, max(1, int(np.ceil(level * L)) - 1))  # interval spans k + 1 samples
        width = s[:, k:, :] - s[:, : L - k, :]
        start = np.argmin(width, axis=1)[:, None, :]
        return (np.take_along_axis(s, start, axis=1)[:, 0], np.take_along_axis(s, start + k, axis=1)[:, 0])
    raise ValueError(f"kind must be 'central' or 'hpd', got {kind!r}")


def coverage(samples, truths, levels=DEFAULT_LEVELS, kind: str = "central") -> dict[float, np.ndarray]:
    """Fraction of curves whose truth lies inside its credible interval, per nominal level and
    parameter: {level: array (n_params,)}. Calibrated posteriors give about `level`, within
    coverage_sd(level, n_curves). kind: "central" or "hpd" (see credible_intervals)."""
    samples, truths = _check(samples, truths)
    out = {}
    for level in _check_levels(levels):
        lo, hi = credible_intervals(samples, level, kind)
        out[float(level)] = np.mean((truths >= lo) & (truths <= hi), axis=0)
    return out


def coverage_curve(samples, truths, levels=None, kind: str = "central") -> tuple[np.ndarray, np.ndarray]:
    """(levels (m,), coverage (m, n_params)) on a grid of nominal levels (default 0.05 .. 0.95
    in steps of 0.05, plus 0.99): the data of a coverage-vs-nominal plot."""
    levels = np.append(np.arange(1, 20) / 20, 0.99) if levels is None else _check_levels(levels)
    cov = coverage(samples, truths, levels, kind)
    return np.asarray(levels, float), np.stack([cov[float(lv)] for lv in levels])


def coverage_sd(level, n_curves: int) -> np.ndarray:
    """Binomial standard deviation sqrt(level (1 - level) / n_curves) of a coverage fraction
    measured on n_curves independent curves, when the true coverage is `level`."""
    level = np.asarray(level, dtype=float)
    return np.sqrt(level * (1 - level) / n_curves)


# ----------------------------------------------------------------------------- SBC
@dataclass(frozen=True)
class SBCRanks:
    """ranks: (n_curves, n_params) integers in 0..n_samples (number of samples below the truth,
    ties broken at random); n_samples: L."""
    ranks: np.ndarray
    n_samples: int

    @property
    def normalized(self) -> np.ndarray:
        """Ranks divided by L: in [0, 1], uniform for a calibrated posterior."""
        return self.ranks / self.n_samples


def sbc_ranks(samples, truths, seed: int | None = 0) -> SBCRanks:
    """Simulation-based-calibration ranks (Talts et al. 2018) of each truth among its curve's
    samples, per parameter; ties between a sample and the truth are broken at random (seed)."""
    samples, truths = _check(samples, truths)
    below = np.sum(samples < truths[:, None, :], axis=1)
    ties = np.sum(samples == truths[:, None, :], axis=1)
    extra = np.random.default_rng(seed).integers(0, ties + 1) if np.any(ties) else 0
    return SBCRanks(ranks=below + extra, n_samples=samples.shape[1])


def sbc_uniformity(ranks, n_samples: int, n_bins: int | None = None) -> np.ndarray:
    """Chi-square p-value, per parameter, of the SBC rank histogram against the discrete uniform
    on {0..n_samples}. ranks: (n_curves, n_params) or (n_curves,). n_bins (default: about
    n_curves / 10, at most 20, at least 2) groups neighbouring ranks; expected counts are exact
    for the uniform. Small p: not calibrated."""
    from scipy.stats import chisquare

    ranks = np.asarray(ranks)
    ranks = ranks[:, None] if ranks.ndim == 1 else ranks
    n = ranks.shape[0]
    if np.any((ranks < 0) | (ranks > n_samples)):
        raise ValueError(f"ranks must lie in 0..{n_samples}")
    n_bins = int(np.clip(n // 10, 2, 20)) if n_bins is None else int(n_bins)
    n_bins = min(n_bins, n_samples + 1)
    edges = np.floor(np.arange(n_samples + 1) * n_bins / (n_samples + 1)).astype(int)  # rank -> bin
    expected = n * np.bincount(edges, minlength=n_bins) / (n_samples + 1)
    pvalues = []
    for j in range(ranks.shape[1]):
        observed = np.bincount(edges[ranks[:, j].astype(int)], minlength=n_bins)
        pvalues.append(chisquare(observed, expected).pvalue)
    return np.asarray(pvalues, dtype=float)


# ----------------------------------------------------------------------------- TARP
@dataclass(frozen=True)
class TARPResult:
    """alpha: credibility grid (m,); ecp: expected coverage probability at each alpha (m,);
    credibility: per-curve fraction of samples closer to the reference than the truth (n,);
    atc: sum of (ecp - alpha) over the upper half of the grid (sbi's ATC; < 0: over-confident,
    > 0: under-confident); ks_statistic, ks_pvalue: KS test of `credibility` against U(0, 1)."""
    alpha: np.ndarray
    ecp: np.ndarray
    credibility: np.ndarray
    atc: float
    ks_statistic: float
    ks_pvalue: float


def tarp(samples, truths, references=None, n_alpha: int = 101, normalize: bool = True,
         seed: int | None = 0) -> TARPResult:
    """TARP expected coverage (Lemos et al. 2023) of the joint posterior of all parameters.

    For each curve a reference point r is drawn (default: uniform in the box spanned by the
    truths, per parameter) and credibility = fraction of samples closer to r than the truth
    (Euclidean distance, after standardising each parameter by the truths' mean and sd when
    normalize is True). ECP(alpha) = fraction of curves with credibility < alpha; a calibrated
    posterior gives ECP(alpha) = alpha, since then credibility ~ U(0, 1).
    references: optional (n_curves, n_params) array in parameter units.
    """
    from scipy.stats import kstest

    samples, truths = _check(samples, truths)
    n, _, d = samples.shape
    rng = np.random.default_rng(seed)
    if references is None:
        lo, hi = truths.min(axis=0), truths.max(axis=0)
        references = lo + (hi - lo) * rng.random((n, d))
    references = np.asarray(references, dtype=float)
    if references.shape != truths.shape:
        raise ValueError(f"references must have the truths' shape {truths.shape}, got {references.shape}")
    if normalize:
        mean, sd = truths.mean(axis=0), truths.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        samples, truths, references = (samples - mean) / sd, (truths - mean) / sd, (references - mean) / sd
    sample_dist = np.linalg.norm(samples - references[:, None, :], axis=2)
    truth_dist = np.linalg.norm(truths - references, axis=1)
    credibility = np.mean(sample_dist < truth_dist[:, None], axis=1)
    alpha = np.linspace(0.0, 1.0, n_alpha)
    ecp = np.mean(credibility[None, :] < alpha[:, None], axis=1)
    ecp[-1] = 1.0  # alpha = 1: every ball of credibility 1 holds its truth (credibility may equal 1)
    mid = n_alpha // 2
    ks = kstest(credibility, "uniform")
    return TARPResult(alpha=alpha, ecp=ecp, credibility=credibility,
                      atc=float(np.sum(ecp[mid:] - alpha[mid:])),
                      ks_statistic=float(ks.statistic), ks_pvalue=float(ks.pvalue))


# ----------------------------------------------------------------------------- summary and plot
def calibration_summary(samples, truths, names=None, levels=(0.68, 0.95), kind: str = "central",
                        seed: int | None = 0) -> pd.DataFrame:
    """One row per parameter: n_curves, coverage at each level (columns cov68, cov95, ...), its
    binomial sd at 95 %, and the SBC chi^2 p-value; TARP ATC and KS p-value (joint, the same on
    every row)."""
    samples, truths = _check(samples, truths)
    names = [f"theta{j}" for j in range(truths.shape[1])] if names is None else list(names)
    if len(names) != truths.shape[1]:
        raise ValueError(f"{len(names)} names for {truths.shape[1]} parameters")
    cov = coverage(samples, truths, levels, kind)
    sbc = sbc_ranks(samples, truths, seed)
    p_sbc = sbc_uniformity(sbc.ranks, sbc.n_samples)
    t = tarp(samples, truths, seed=seed)
    rows = []
    for j, name in enumerate(names):
        row = {"parameter": name, "n_curves": len(truths)}
        row.update({f"cov{int(round(100 * lv))}": float(c[j]) for lv, c in cov.items()})
        row["cov_sd95"] = float(coverage_sd(0.95, len(truths)))
        row.update(sbc_p=float(p_sbc[j]), tarp_atc=t.atc, tarp_ks_p=t.ks_pvalue)
        rows.append(row)
    return pd.DataFrame(rows)


def calibration_plot(samples, truths, path, names=None, kind: str = "central", title: str | None = None,
                     seed: int | None = 0):
    """Save a three-panel calibration figure to `path` (format from the suffix) and return the
    Path: (1) coverage vs nominal level per parameter with the diagonal and a 95 % binomial
    band, (2) TARP expected coverage vs credibility level with the diagonal, (3) SBC histograms
    of the normalised ranks per parameter with the uniform level."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    samples, truths = _check(samples, truths)
    n, _, d = samples.shape
    names = [f"theta{j}" for j in range(d)] if names is None else list(names)
    levels, cov = coverage_curve(samples, truths, kind=kind)
    t = tarp(samples, truths, seed=seed)
    ranks = sbc_ranks(samples, truths, seed).normalized

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    grid = np.linspace(0, 1, 101)
    band = 1.96 * coverage_sd(grid, n)
    for ax in axes[:2]:
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
        ax.fill_between(grid, grid - band, grid + band, color="0.85", label=f"95 % band, {n} curves")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
    for j in range(d):
        axes[0].plot(levels, cov[:, j], "o-", ms=3, label=names[j])
    axes[0].set_xlabel("nominal credibility level")
    axes[0].set_ylabel(f"empirical coverage ({kind} intervals)")
    axes[0].legend(fontsize=8)
    axes[1].plot(t.alpha, t.ecp, "C3", label=f"TARP, ATC {t.atc:+.2f}, KS p {t.ks_pvalue:.2g}")
    axes[1].set_xlabel("credibility level alpha")
    axes[1].set_ylabel("expected coverage (joint)")
    axes[1].legend(fontsize=8)
    bins = int(np.clip(n // 10, 5, 20))
    for j in range(d):
        axes[2].hist(ranks[:, j], bins=bins, range=(0, 1), histtype="step", lw=1.5, label=names[j])
    axes[2].axhline(n / bins, color="k", ls="--", lw=1)
    axes[2].set_xlabel("normalised SBC rank")
    axes[2].set_ylabel("curves")
    axes[2].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- per-curve helpers
def sbc_rank(values, truth: float, seed: int | None = 0) -> float:
    """Normalised SBC rank of `truth` among one curve's posterior sample `values` (ties broken
    at random): in [0, 1], uniform over repeated simulations when calibrated."""
    values = np.asarray(values, float).ravel()
    if values.size == 0:
        raise ValueError("sbc_rank needs at least one sample")
    rng = np.random.default_rng(seed)
    below = np.sum(values < truth)
    ties = np.sum(values == truth)
    return float((below + rng.integers(0, ties + 1)) / values.size)


def central_coverage(ranks, levels=(0.5, 0.8, 0.9, 0.95)) -> dict:
    """Fraction of truths inside the central credible interval of each level, from normalised
    SBC ranks (inside iff |rank - 0.5| <= level / 2)."""
    ranks = np.asarray(ranks, float)
    return {float(lv): float(np.mean(np.abs(ranks - 0.5) <= lv / 2)) for lv in levels}


def hpd_coverage(hpd_levels, levels=(0.5, 0.8, 0.9, 0.95)) -> dict:
    """Fraction of truths inside the highest-density region of each level, given each truth's
    HPD level (posterior mass denser than the truth)."""
    h = np.asarray(hpd_levels, float)
    return {float(lv): float(np.mean(h <= lv)) for lv in levels}


def rank_uniformity(ranks) -> float:
    """Kolmogorov-Smirnov p-value of normalised ranks against U(0, 1) (small: miscalibrated).
   """
    from scipy.stats import kstest

    return float(kstest(np.asarray(ranks, float), "uniform").pvalue)


def calibration_table(ranks_by_feature: dict, levels=(0.5, 0.9, 0.95)) -> pd.DataFrame:
    """One row per test function (dict name -> normalised ranks): central coverage at each
    level and the KS p-value."""
    rows = []
    for name, ranks in ranks_by_feature.items():
        row = {"feature": name, "n": len(ranks)}
        row.update({f"cov{int(round(100 * k))}": v for k, v in central_coverage(ranks, levels).items()})
        row["ks_p"] = rank_uniformity(ranks)
        rows.append(row)
    return pd.DataFrame(rows)
