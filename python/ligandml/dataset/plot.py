"""The overview figure of a dataset (kept beside the dataset code until plotting moves)."""
from __future__ import annotations

import numpy as np

from .reader import Dataset


def plot_dataset(dataset: Dataset, out=None, n_examples: int = 4, max_points: int = 4000):
    """A 2x2 overview figure: sample curves (chiT, clean vs augmented copies), parameter
    coverage (first two parameters, train vs test), histograms of chi_dia and s_m of the
    augmented curves. Saved to `out` (PNG, PDF...) when given; returns the matplotlib Figure."""
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
        chiT = block if dataset.representation == "chiT" else block * T
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
