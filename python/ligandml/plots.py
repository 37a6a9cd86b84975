"""Plots in the style of the seed's figures (matplotlib, Agg-safe).

vae_plot:   the n training curves nearest the input in latent space (default 400), their (D, E)
            coloured by normalised Gaussian-KDE density (dark red high, dark blue low).
inn_plot:   posterior samples (default 1,000) in the D-E plane, coloured the same way.
curve_plot: the input curve with the posterior-predictive median and 5-95 % band.
comparison_figure: every method's samples in the D-E plane (the figure of `ligandml compare`).
plot_dataset: the overview of a dataset (sample curves, coverage, error draws).
Crosses mark the six equivalents of a reference (D, E) when one is given. Every plot of a
posterior takes what it draws from the posterior itself (ligandml.posterior.SampleSet: samples,
curve, box, reference_set), never from the model behind it.
"""
from __future__ import annotations

import numpy as np

from .error_model import chi_to_quantity, quantity_to_chi
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


def _de_axes(ax, box: dict, title: str, pad: float = 0.05):
    """D-E axes over box {"D": (lo, hi), "E": (lo, hi)} [K], widened by pad of each range."""
    lim_D, lim_E = box["D"], box["E"]
    pad_D, pad_E = pad * (lim_D[1] - lim_D[0]), pad * (lim_E[1] - lim_E[0])
    ax.set_xlim(lim_D[0] - pad_D, lim_D[1] + pad_D)
    ax.set_ylim(lim_E[0] - pad_E, lim_E[1] + pad_E)
    ax.set_xlabel("D (K)")
    ax.set_ylabel("E (K)")
    ax.set_title(title, fontsize=10)


def nearest_reference(post, n_nearest: int = 400, reference=None):
    """(D, E) DataFrame of the n_nearest reference curves to the posterior's latent point.
    reference: optional (latents, params DataFrame); default the posterior's reference_set()."""
    lat, params = reference if reference is not None else post.reference_set()
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
    _de_axes(ax, post.box, title or f"VAE plot: {len(near)} nearest training curves")
    return sc


def inn_plot(ax, post, truth=None, n: int = 1000, title=None):
    """The "VAE-INN plot": up to n posterior samples in the D-E plane, KDE-coloured, on ax."""
    s = post.samples.iloc[:n]
    dens = kde_density(s["D"], s["E"])
    order = np.argsort(dens)
    sc = ax.scatter(s["D"].to_numpy()[order], s["E"].to_numpy()[order], c=dens[order], cmap=CMAP, s=6,
                    vmin=0, vmax=1)
    _draw_equivalents(ax, truth)
    _de_axes(ax, post.box, title or f"VAE-INN plot: {len(s)} samples")
    return sc


def curve_plot(ax, post, n_predictive: int = 200, quantity: str = "chiT"):
    """Input curve (per ion) with the posterior-predictive median and 5-95 % band, as chi*T or chi."""
    T = post.T
    pred = post.posterior_predictive(n_predictive, quantity=quantity)
    y_in = chi_to_quantity(post.curve, T, quantity)
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


def comparison_figure(results, path, truth=None):
    """One D-E panel per method with samples (ligandml.comparison.MethodResult), with the
    least-squares minima (+) and the truth's six equivalents (x, truth: dict with D, E [K]);
    saved to path (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with_samples = [r for r in results if r.samples is not None]
    n = max(len(with_samples), 1)
    fig, axes = plt.subplots(1, n, figsize=(4 * n, 3.6), squeeze=False)
    fits = [r for r in results if r.solutions is not None]
    if with_samples and not with_samples[0].posterior.is_DE:
        _comparison_pairs(axes[0], with_samples, fits, truth)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return
    for ax, r in zip(axes[0], with_samples):
        s = r.samples.iloc[:2000]
        ax.scatter(s["D"], s["E"], s=2, alpha=0.3)
        for f in fits:
            if f.method.startswith("least squares") and "no chi_dia" not in f.method:
                ax.scatter(f.solutions["D"], f.solutions["E"], marker="+", c="k", s=40, label="LS minima")
        if truth is not None:
            eq = equivalent_DE(truth["D"], truth["E"])
            ax.scatter(eq[:, 0], eq[:, 1], marker="x", c="r", s=40, label="truth (6 equivalents)")
        _de_axes(ax, r.posterior.box, r.method, pad=0.0)
        ax.set_xlabel("D [K]")
        ax.set_ylabel("E [K]")
        ax.title.set_fontsize(9)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _comparison_pairs(axes, with_samples, fits, truth):
    """comparison_figure for other parameters than D, E: the samples of each method in the plane
    of the first two parameters [K], least-squares minima (+) and the truth's equivalents (x)."""
    for ax, r in zip(axes, with_samples):
        post = r.posterior
        a, b = post.parameter_names[:2]
        s = r.samples.iloc[:2000]
        ax.scatter(s[a], s[b], s=2, alpha=0.3)
        for f in fits:
            if f.method.startswith("least squares") and "no chi_dia" not in f.method \
                    and {a, b} <= set(f.solutions.columns):
                ax.scatter(f.solutions[a], f.solutions[b], marker="+", c="k", s=40, label="LS minima")
        if truth is not None:
            eq = post.equivalents(truth)
            ax.scatter(eq[:, 0], eq[:, 1], marker="x", c="r", s=40, label="truth (equivalents)")
        box = post.box
        if a in box and b in box:
            ax.set_xlim(*box[a])
            ax.set_ylim(*box[b])
        ax.set_xlabel(f"{a} [K]")
        ax.set_ylabel(f"{b} [K]")
        ax.set_title(r.method, fontsize=9)
    axes[0].legend(fontsize=7, loc="lower left")


def plot_dataset(dataset, out=None, n_examples: int = 4, max_points: int = 4000):
    """A 2x2 overview figure: sample curves (chiT, clean vs augmented copies), parameter
    coverage (first two parameters, train vs test), histograms of chi_dia and s_m of the
    augmented curves, for a ligandml.dataset Dataset. Saved to `out` (PNG, PDF...) when given;
    returns the matplotlib Figure."""
    import matplotlib

    if out is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    c = dataset.config
    per_set, T = c.curves_per_set, dataset.T
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    ax = axes[0, 0]
    curves_arr = dataset.array("curves")
    sets = np.linspace(0, c.n_sets - 1, min(n_examples, c.n_sets)).astype(int)
    names = dataset.param_names
    values = dataset.array("parameters")
    for i, s in enumerate(sets):
        block = curves_arr[s * per_set:(s + 1) * per_set]
        chiT = chi_to_quantity(quantity_to_chi(block, T, dataset.representation), T, "chiT")
        colour = f"C{i}"
        label = ", ".join(f"{n}={v:.2f}" for n, v in zip(names, values[s * per_set]))
        ax.plot(T, chiT[1:].T, color=colour, lw=0.6, alpha=0.45)
        ax.plot(T, chiT[0], color=colour, lw=2.0, label=label + f" {c.unit}")
    ax.set_xscale("log")
    ax.set_xlabel("T (K)")
    ax.set_ylabel(r"$\chi T$ (emu K mol$^{-1}$)")
    ax.set_title(f"clean (thick) and {c.copies} augmented copies (thin)")
    ax.legend(fontsize=7, loc="lower right")

    ax = axes[0, 1]
    clean_rows = np.flatnonzero(dataset.clean)
    pick = clean_rows[np.linspace(0, clean_rows.size - 1, min(max_points, clean_rows.size)).astype(int)]
    params = dataset.params.iloc[pick]
    test = dataset.is_test[pick]
    if len(names) >= 2:
        for mask, lab, col in ((~test, "train", "C0"), (test, "test", "C3")):
            ax.scatter(params[names[0]][mask], params[names[1]][mask], s=3, alpha=0.5,
                       color=col, label=f"{lab} ({int(mask.sum())} shown)")
        ax.set_ylabel(f"{names[1]} ({c.unit})")
        ax.legend(fontsize=8, markerscale=3)
    else:
        ax.hist(params[names[0]], bins=40, color="C0")
        ax.set_ylabel("parameter sets")
    ax.set_xlabel(f"{names[0]} ({c.unit})")
    ax.set_title(f"parameter coverage: {c.n_sets} sets, {c.sampling} sampling")

    aug = ~dataset.clean
    for ax, col, unit, sigma, centre in ((axes[1, 0], "chi_dia", "emu/mol", c.sigma_dia, 0.0),
                                         (axes[1, 1], "s_m", "", c.sigma_m, 1.0)):
        data = dataset.params[col].to_numpy()[aug]
        if data.size and np.ptp(data) > 0:
            ax.hist(data, bins=60, density=True, color="0.6", label=f"{data.size} copies")
            x = np.linspace(data.min(), data.max(), 200)
            ax.plot(x, np.exp(-0.5 * ((x - centre) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi)),
                    color="C3", label=f"N({centre:g}, {sigma:g})")
            ax.legend(fontsize=8)
            ax.set_ylabel("density")
        else:
            ax.text(0.5, 0.5, f"{col} = {centre:g} for every curve\n(sigma = {sigma:g})",
                    ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel(f"{col} ({unit})" if unit else col)
        ax.set_title(f"{col} of the augmented copies")
    fig.suptitle(f"{dataset.path.name}: {c.ion}, {dataset.n_curves} curves "
                 f"({dataset.representation}, {T.size} T from {T[0]:g} to {T[-1]:g} K"
                 + (f", B = {c.field:g} T)" if c.field else ", zero field)"))
    fig.tight_layout()
    if out is not None:
        fig.savefig(out, dpi=110)
    return fig


# ----------------------------------------------------------------------------- N parameters
def _truth_vector(post, truth):
    """The truth or published set as a vector in post.parameter_names order (None passes)."""
    if truth is None:
        return None
    return post._as_vector(truth)


def observable_panels(axes, post, n_predictive: int = 100, seed: int = 0) -> None:
    """One panel per observable of a posterior on `axes` (a sequence, one axis each): the
    measured curve (circles) with the posterior-predictive median and 5-95 % band computed with
    the physics from n_predictive samples; chi(T) drawn as chi*T [emu K/mol] against log T [K],
    M(H) [muB/ion] against the field [T]. A single-curve posterior has one chi(T) panel."""
    from .model_observables import observable_names
    index = post.observable_index
    if not index:
        curve_plot(axes[0], post, n_predictive)
        return
    pred = post.posterior_predictive(n_predictive, seed=seed)
    data = np.asarray(post.chi_input, float)
    for ax, name in zip(axes, observable_names(index)):
        o = index[name]
        sl, x = slice(o["start"], o["stop"]), np.asarray(o["grid"], float)
        y_in, band = data[sl], pred[:, sl]
        if o["kind"] == "chi":
            y_in, band = y_in * x, band * x
            ax.set_xscale("log")
            ax.set_xlabel("T (K)")
            ax.set_ylabel(r"$\chi T$ (emu K/mol)")
        else:
            ax.set_xlabel("B (T)")
            ax.set_ylabel(r"M ($\mu_B$/ion)")
        lo, med, hi = np.percentile(band, [5, 50, 95], axis=0)
        ax.fill_between(x, lo, hi, color="tab:blue", alpha=0.3, label="predictive 5-95 %")
        ax.plot(x, y_in, "o", mfc="none", color="tab:red", ms=3, label="measured (per ion)", zorder=2)
        ax.plot(x, med, "-", color="navy", lw=1.2, label="predictive median", zorder=3)
        ax.set_title(name, fontsize=9)
    axes[0].legend(fontsize=7, loc="best")


def _drop_corner_contour_notes(record) -> bool:
    """logging filter: False (drop) for corner's "Too few points to create valid contours"."""
    return not str(record.msg).startswith("Too few points to create valid contours")


def corner_plot(post, truth=None, fold: bool = False, fig=None, max_samples: int = 5000,
                columns=None):
    """A corner plot (the `corner` package) of a posterior's parameters [K] (and nuisances when
    `columns` names them): 1-D and 2-D histograms, axes over the prior box. truth: the truth or
    published set (dict or sequence in parameter order), drawn as lines; with fold=True the
    samples and the truth are both folded to their canonical equivalent (ligandml.folding),
    otherwise every equivalent of the truth is marked. Returns the Figure."""
    import corner
    table = post.folded(fold).iloc[:max_samples]
    names = list(columns) if columns is not None else post.parameter_names
    X = table[names].to_numpy(float)
    box = post.box
    ranges = []
    for j, n in enumerate(names):
        if n in box:
            lo, hi = box[n]
            pad = 0.05 * (hi - lo)
            ranges.append((lo - pad, hi + pad))
        else:
            lo, hi = np.percentile(X[:, j], [0.5, 99.5])
            ranges.append((lo, hi) if hi > lo else (lo - 1, hi + 1))
    kwargs = dict(labels=[f"{n} (K)" if n not in ("chi_dia", "s_m") else n for n in names],
                  range=ranges, bins=30, plot_datapoints=len(X) < 3000, smooth=0.6,
                  label_kwargs={"fontsize": 8})
    import logging

    # corner logs "Too few points to create valid contours" on the root logger for each very
    # narrow panel (a sharpened posterior); the panel is drawn without contours, the message
    # helps no one. Only that message is dropped, and only during this call.
    root = logging.getLogger()
    root.addFilter(_drop_corner_contour_notes)
    try:
        fig = corner.corner(X, fig=fig, **kwargs)
    finally:
        root.removeFilter(_drop_corner_contour_notes)
    t = _truth_vector(post, truth)
    if t is not None:
        params = post.parameter_names
        sets = post.equivalents(t)
        if fold:
            from .folding import fold as fold_sets
            sets = fold_sets(sets, params, post.observables) if not post.is_DE else sets[:1]
            sets = sets[:1]
        for i, s in enumerate(sets):
            vals = [s[params.index(n)] if n in params else None for n in names]
            corner.overplot_lines(fig, vals, color="red" if i == 0 else "orange", lw=1.2)
            corner.overplot_points(fig, [vals], marker="x", color="red" if i == 0 else "orange", ms=6)
    return fig


def corner_figure(post, truth=None, path=None, n_predictive: int = 100, title=None, fold: bool = False):
    """The figure of an N-parameter posterior: its corner plot (corner_plot) with the
    posterior-predictive panels of every observable beside it (observable_panels). Saved to
    path (PNG) when given; returns the Figure."""
    import matplotlib
    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    P = len(post.parameter_names)
    n_obs = len(post.observable_index) if post.observable_index else 1
    size = max(2.0 * P, 6.0)
    fig = plt.figure(figsize=(size + 4.2, max(size, 2.6 * n_obs)))
    sub_corner, sub_curves = fig.subfigures(1, 2, width_ratios=[size, 4.2])
    sub_corner.subplots(P, P)
    corner_plot(post, truth=truth, fold=fold, fig=sub_corner)
    observable_panels(sub_curves.subplots(n_obs, 1, squeeze=False)[:, 0], post, n_predictive)
    sub_curves.subplots_adjust(hspace=0.45, left=0.2)
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=90)
        plt.close(fig)
    return fig


def narrowing_figure(widths, path=None, title: str | None = None):
    """Bars of the posterior sd of each parameter relative to its prior box half-width (log
    scale; 1 = the data say nothing), one bar per observable set, from
    ligandml.laplace.observable_widths (its rows, with rel_<name> columns). Saves to path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [c[4:] for c in widths.columns if c.startswith("rel_")]
    fig, ax = plt.subplots(figsize=(1.2 + 1.3 * len(names), 5.2))
    n_sets = len(widths)
    step = 0.8 / max(n_sets, 1)
    x = np.arange(len(names))
    cmap = plt.get_cmap("tab10")
    for k, (_, row) in enumerate(widths.iterrows()):
        rel = [row[f"rel_{n}"] for n in names]
        ax.bar(x - 0.4 + step * (k + 0.5), rel, width=step, color=cmap(k % 10),
               label=f"{row['observables']} ({row['n_points']} points)")
    ax.set_yscale("log")
    ax.axhline(1.0, color="0.4", lw=0.8, ls="--")
    ax.set_xticks(x, names)
    ax.set_ylabel("posterior sd / prior half-width")
    ax.set_title(title or "How much each observable narrows the posterior (Laplace, local)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, frameon=False)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig
