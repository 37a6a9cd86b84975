"""Plots of the physics alone: the three benchmark curves and the KErSe2 comparison."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .benchmark_task import BENCHMARK_CURVES, benchmark_curve
from .sweeps import powder_susceptibility


def plot_benchmark_curves(path: Path) -> Path:
    """chiT(T) [emu K/mol] of the three benchmark curves, clean and with their chi_dia; saves a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for (name, curve), color in zip(BENCHMARK_CURVES.items(), ("C0", "C1", "C2")):
        T, observed = benchmark_curve(name)
        clean = powder_susceptibility("Er3+", {"D": curve.D, "E": curve.E}, T)[0]
        ax.plot(T, clean * T, color=color, lw=1, ls="--")
        ax.plot(T, observed * T, color=color,
                label=f"{name}: D={curve.D:g} K, E={curve.E:g} K, chi_dia={curve.chi_dia:g}")
    ax.set_xscale("log")
    ax.set_xlabel("T (K)")
    ax.set_ylabel(r"$\chi T$ (emu K/mol Er)")
    ax.set_title("Er$^{3+}$ benchmark curves (dashed: without $\\chi_{dia}$)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return Path(path)


def plot_measured_comparison(path: Path, T_meas, chi_meas, params_meV: dict, field_T: float = 1.0,
                             label: str = "measured") -> Path:
    """Measured chi(T) [emu/mol] against the zero-field and finite-field theory for published
    parameters [meV]; saves a PNG with chi(T) and the relative deviation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    T_meas = np.asarray(T_meas, dtype=float)
    at_field = powder_susceptibility("Er3+", params_meV, T_meas, field=field_T, unit="meV")[0]
    zero = powder_susceptibility("Er3+", params_meV, T_meas, unit="meV")[0]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    top.plot(T_meas, chi_meas * T_meas, "k.", ms=3, label=label)
    top.plot(T_meas, at_field * T_meas, "C3", label=f"powder average of M/B at {field_T:g} T")
    top.plot(T_meas, zero * T_meas, "C0--", label="exact zero-field chi")
    top.set_ylabel(r"$\chi T$ (emu K/mol Er)")
    top.legend(fontsize=8)
    bottom.plot(T_meas, 100 * (at_field / chi_meas - 1), "C3")
    bottom.plot(T_meas, 100 * (zero / chi_meas - 1), "C0--")
    bottom.axhline(0, color="k", lw=0.5)
    bottom.set_ylabel("theory / measured - 1 (%)")
    bottom.set_xlabel("T (K)")
    bottom.set_xscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return Path(path)
