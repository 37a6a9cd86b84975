"""`ligandml curve` and `ligandml levels`: the physics of one parameter set from the shell."""
from __future__ import annotations

import argparse
import sys

import numpy as np


def _parse_params(items) -> dict[str, float]:
    params = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"parameters are NAME=VALUE (e.g. D=-6 or B43=0.01), got {item!r}")
        try:
            params[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"parameter {name!r}: {value!r} is not a number") from None
    if not params:
        raise ValueError("give at least one parameter, e.g. -p D=-6 -p E=0.5")
    return params


def add_parser(sub) -> None:
    """Register `curve` and `levels`."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--ion", default="Er3+", help="ion name (default Er3+)")
    common.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                        help="ligand-field parameter, repeatable: D, E, B20, B4-3, ...")
    common.add_argument("--unit", default="K", help="energy unit of the parameters: K, meV, cm-1")
    curve = sub.add_parser("curve", parents=[common], help="powder chi(T) of one parameter set as CSV")
    curve.add_argument("--field", type=float, default=None, help="measuring field in tesla (default: zero field)")
    curve.add_argument("--tmin", type=float, default=2.0, help="lowest temperature [K] (default 2)")
    curve.add_argument("--tmax", type=float, default=300.0, help="highest temperature [K] (default 300)")
    curve.add_argument("--n", type=int, default=128, help="number of geometric temperatures")
    curve.add_argument("--out", default="-", help="CSV path (default: standard output)")
    curve.set_defaults(func=run_curve)
    levels = sub.add_parser("levels", parents=[common], help="energy levels of one parameter set")
    levels.add_argument("--out-unit", default=None, help="unit of the printed energies (default: --unit)")
    levels.set_defaults(func=run_levels)


def run_curve(args) -> int:
    """Write T, chi, chiT of one parameter set as CSV."""
    import pandas as pd

    from ..crystal_field import CrystalField

    if args.n < 2 or not 0 < args.tmin < args.tmax:
        raise ValueError("need --n >= 2 and 0 < --tmin < --tmax (kelvin)")
    cf = CrystalField(args.ion, _parse_params(args.param), unit=args.unit)
    T = np.geomspace(args.tmin, args.tmax, args.n)
    chi = cf.susceptibility(T, field=args.field)
    table = pd.DataFrame({"T_K": T, "chi_emu_per_mol": chi, "chiT_emu_K_per_mol": chi * T})
    table.to_csv(sys.stdout if args.out == "-" else args.out, index=False, float_format="%.10g")
    return 0


def run_levels(args) -> int:
    """Print the energy levels (ground state at 0)."""
    from ..crystal_field import CrystalField

    cf = CrystalField(args.ion, _parse_params(args.param), unit=args.unit)
    unit = args.out_unit or args.unit
    print(f"{cf!r}\nlevels ({unit}):")
    for value in cf.energies(unit):
        print(f"  {value:.6f}")
    return 0
