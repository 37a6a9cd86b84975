"""Plots in the style of the seed's figures (matplotlib, Agg-safe).

vae_plot:   the n training curves nearest the input in latent space (default 400), their (D, E)
            coloured by normalised Gaussian-KDE density (dark red high, dark blue low).
inn_plot:   posterior samples (default 1,000) in the D-E plane, coloured the same way.
curve_plot: the input curve with the posterior-predictive median and 5-95 % band.
Crosses mark the six equivalents of a reference (D, E) when one is given.
"""
from __future__ import annotations

import numpy as np

from .parameters import equivalent_DE

CMAP = "jet"  # dark blue (low density) ... dark red (high density), as in the papers


def kde_density(D, E) -> np.ndarray:
    """Gaussian-KDE density of the points (D, E), normalised to a maximum of 1 (ones if degenerate)."""
    from scipy.stats import gaussian_kde
    pts = np.vstack([np.asarray(D, float), np.asarray(E, float)])
    try:
        dens = gaussian_kde(pts)(pts)
    except (np.linalg.LinAlgError, ValueError):
        return np.ones(pts.shape[1])
    return dens / dens.max()


def _draw_equivalents(ax, truth):
    if truth is None:
        return
    eq = equivalent_DE(*truth[:2])
    ax.plot(eq[:, 0], eq[:, 1], "kx", ms=10, mew=2, label="six equivalents of reference")


def _de_axes(ax, model, title):
    lim_D, lim_E = (-10.0, 10.0), (-20 / 3, 20 / 3)
    rng = (getattr(model, "dataset_config", None) or {}).get("params", {}) if model is not None else {}
    if isinstance(rng, dict):
        lim_D = tuple(rng.get("D", lim_D))
        lim_E = tuple(rng.get("E", lim_E))
    pad_D, pad_E = 0.05 * (lim_D[1] - lim_D[0]), 0.05 * (lim_E[1] - lim_E[0])
    ax.set_xlim(lim_D[0] - pad_D, lim_D[1] + pad_D)
    ax.set_ylim(lim_E[0] - pad_E, lim_E[1] + pad_E)
    ax.set_xlabel("D (K)")
    ax.set_ylabel("E (K)")
    ax.set_title(title, fontsize=10)


def nearest_reference(post, n_nearest: int = 400, reference=None):
    """(D, E) DataFrame of the n_nearest reference curves to the posterior's latent point.
    reference: optional (latents, params DataFrame); default the model's stored subsample."""
    lat, params = reference if reference is not None else post.model.reference_set()
    if len(lat) == 0:
        raise ValueError("the model carries no reference latents for the VAE plot")
    d = np.linalg.norm(np.asarray(lat) - np.asarray(post.latent)[None], axis=1)
    idx = np.argsort(d)[: min(n_nearest, len(d))]
    return params.iloc[idx]


def vae_plot(ax, post, truth=None, n_nearest: int = 400, reference=None, title=None):
    """The "VAE plot": the n_nearest training curves in latent space, KDE-coloured, on ax."""
    near = nearest_reference(post, n_nearest, reference)
    dens = kde_density(near["D"], near["E"])
    order = np.argsort(dens)
    sc = ax.scatter(near["D"].to_numpy()[order], near["E"].to_numpy()[order], c=dens[order], cmap=CMAP,
                    s=10, vmin=0, vmax=1)
    _draw_equivalents(ax, truth)
    _de_axes(ax, post.model, title or f"VAE plot: {len(near)} nearest training curves")
    return sc


def inn_plot(ax, post, truth=None, n: int = 1000, title=None):
    """The "VAE-INN plot": up to n posterior samples in the D-E plane, KDE-coloured, on ax."""
    s = post.samples.iloc[:n]
    dens = kde_density(s["D"], s["E"])
    order = np.argsort(dens)
    sc = ax.scatter(s["D"].to_numpy()[order], s["E"].to_numpy()[order], c=dens[order], cmap=CMAP, s=6,
                    vmin=0, vmax=1)
    _draw_equivalents(ax, truth)
    _de_axes(ax, post.model, title or f"VAE-INN plot: {len(s)} samples")
    return sc


def curve_plot(ax, post, n_predictive: int = 200, quantity: str = "chiT"):
    """Input curve (per ion) with the posterior-predictive median and 5-95 % band, as chi*T or chi."""
    T = post.T
    pred = post.posterior_predictive(n_predictive, quantity=quantity)
    y_in = post.chi_input * T if quantity == "chiT" else post.chi_input
    lo, med, hi = np.percentile(pred, [5, 50, 95], axis=0)
    ax.fill_between(T, lo, hi, color="tab:blue", alpha=0.3, label="posterior predictive 5-95 %")
    ax.plot(T, y_in, "o", mfc="none", color="tab:red", ms=3, label="input (per ion)", zorder=2)
    ax.plot(T, med, "-", color="navy", lw=1.2, label="posterior predictive median", zorder=3)
    ax.set_xscale("log")
    ax.set_xlabel("T (K)")
    ax.set_ylabel(r"$\chi T$ (emu K/mol)" if quantity == "chiT" else r"$\chi$ (emu/mol)")
    ax.legend(fontsize=7, loc="best")
    ax.set_title("input and posterior predictive", fontsize=10)


def posterior_figure(post, truth=None, path=None, n_predictive: int = 200, title=None):
    """Figure with the VAE plot, the VAE-INN plot and the curve panel; saved to path if given."""
    import matplotlib
    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    vae_plot(axes[0], post, truth)
    sc = inn_plot(axes[1], post, truth)
    fig.colorbar(sc, ax=axes[1], label="normalised KDE density")
    curve_plot(axes[2], post, n_predictive)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
