"""Measured KErSe2 powder chi(T) against the theory for the published parameters.

    python benchmarks/kerse2_comparison.py [--out benchmarks/results/kerse2_chi.png]

Reads ../shared/data/real/KErSe2_chi_T.dat (Scheie et al., PRB 101, 144432 (2020)), computes the
exact zero-field chi and the powder average of M/B at 1 T with the published Stevens parameters
(meV), prints the largest deviations and saves a two-panel PNG (chiT and the relative deviation).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

import ligandml

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "KErSe2_chi_T.dat"
KERSE2_MEV = {
    "B20": -2.772780224706159e-2, "B40": -3.986791337847824e-4, "B43": -1.4164750780259892e-2,
    "B60": 3.152118222727135e-6, "B63": -7.615963268822789e-6, "B66": 3.2752689577855864e-5,
}


def read_powder_curve(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(T [K], chi [emu/mol Er]) of the powder columns; rows with a missing value are dropped."""
    table = pd.read_csv(path, sep="\t", skiprows=2, header=None, na_values=["--"])
    T, chi = table[0].to_numpy(float), table[1].to_numpy(float)
    ok = np.isfinite(T) & np.isfinite(chi)
    return T[ok], chi[ok]


def plot(path: Path, T, measured, at_field, zero_field, field_T: float) -> None:
    """Two panels: chiT [emu K/mol] of measurement and both theories; theory/measured - 1 [%]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    top.plot(T, measured * T, "k.", ms=3, label="KErSe2 powder, measured")
    top.plot(T, at_field * T, "C3", label=f"powder average of M/B at {field_T:g} T")
    top.plot(T, zero_field * T, "C0--", label="exact zero-field chi")
    top.set_ylabel(r"$\chi T$ (emu K/mol Er)")
    top.legend(fontsize=8)
    bottom.plot(T, 100 * (at_field / measured - 1), "C3")
    bottom.plot(T, 100 * (zero_field / measured - 1), "C0--")
    bottom.axhline(0, color="k", lw=0.5)
    bottom.set_ylabel("theory / measured - 1 (%)")
    bottom.set_xlabel("T (K)")
    bottom.set_xscale("log")
    fig.suptitle("KErSe2, published ligand-field parameters (Scheie et al. 2020)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "kerse2_chi.png"))
    parser.add_argument("--field", type=float, default=1.0, help="measuring field [T] of the theory")
    args = parser.parse_args()
    if not DATA.is_file():
        raise SystemExit(f"measured data not found at {DATA}")
    T, measured = read_powder_curve(DATA)
    at_field = ligandml.powder_susceptibility("Er3+", KERSE2_MEV, T, field=args.field, unit="meV")[0]
    zero_field = ligandml.powder_susceptibility("Er3+", KERSE2_MEV, T, unit="meV")[0]
    for label, theory in ((f"{args.field:g} T average", at_field), ("zero field", zero_field)):
        dev = theory / measured - 1
        i = int(np.argmax(np.abs(dev)))
        print(f"{label:12s}: largest deviation {100 * dev[i]:+.1f} % at {T[i]:.1f} K; "
              f"at 2 K {100 * dev[np.argmin(T)]:+.1f} %")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    plot(Path(args.out), T, measured, at_field, zero_field, args.field)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
