"""`ligandml compare curve.csv`: every method on one measured curve, in one table."""
from __future__ import annotations


def add_parser(sub) -> None:
    """Register `compare`."""
    p = sub.add_parser("compare", help="least squares, exact posterior, VAE-INN models and the hybrid "
                                       "on one chi(T) curve, side by side")
    p.add_argument("curve", help="CSV file with columns T [K] and chi (or chiT); or the first two columns")
    p.add_argument("--quantity", choices=("chi", "chiT"), default="chi",
                   help="what the second column holds: chi [emu/mol] or chi*T [emu K/mol]")
    p.add_argument("--ions-per-formula", type=float, default=1.0,
                   help="magnetic ions per formula unit (the molar values are divided by it)")
    p.add_argument("--ion", default="Er3+", help="the magnetic ion (default Er3+)")
    p.add_argument("--report", default=None, help="folder for table.md, table.csv, solutions, figure")
    p.add_argument("--noise-rel", type=float, default=0.01,
                   help="relative measurement sd assumed by the exact posterior (default 0.01)")
    p.add_argument("--sigma-dia", type=float, default=0.002,
                   help="prior sd of chi_dia [emu/mol] for the exact posterior (default 0.002)")
    p.add_argument("--model", action="append", default=None,
                   help="VAE-INN model folder (repeatable; default: the shipped model and the models "
                        "under --studies)")
    p.add_argument("--studies", default="studies/sigma_dia",
                   help="folder searched for trained models when no --model is given "
                        "(default: studies/sigma_dia of a source checkout, from the working directory)")
    p.add_argument("--no-network", action="store_true", help="skip the VAE-INN and hybrid rows")
    p.add_argument("--no-grid", action="store_true", help="skip the exact grid posterior")
    p.add_argument("--starts", type=int, default=64, help="least-squares starts (default 64)")
    p.add_argument("--n-samples", type=int, default=1000, help="posterior samples per network")
    p.add_argument("--field", type=float, default=None,
                   help="measuring field [T] for least squares and the exact posterior (default: zero field)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def _models(args) -> dict:
    if args.no_network:
        return {}
    from ..comparison import find_models
    from ..model import load_model

    if args.model:
        paths = {f"model{i + 1}" if len(args.model) > 1 else "model": p for i, p in enumerate(args.model)}
    else:
        paths = find_models(args.studies)
    return {name: load_model(path) for name, path in paths.items()}


def run(args) -> int:
    """Run the comparison and print the table; write the report folder when asked."""
    import pandas as pd

    from ..comparison import compare_curve, results_table
    from ..curves import read_curve
    from ..report import write_comparison_report

    from ..julia_import import torch_safe_backend

    T, y = read_curve(args.curve, args.quantity)
    torch_safe_backend()  # loads Julia, when it is to be used, before torch
    models = _models(args)
    results = compare_curve(T, y, ion=args.ion, noise_rel=args.noise_rel, sigma_dia=args.sigma_dia,
                            models=models, quantity=args.quantity, ions_per_formula=args.ions_per_formula,
                            starts=args.starts, n_samples=args.n_samples, field=args.field,
                            seed=args.seed, grid=not args.no_grid)
    table = results_table(results)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if not models and not args.no_network:
        print("(no VAE-INN model found: network and hybrid rows omitted)")
    if args.report:
        out = write_comparison_report(results, args.report, title=f"ligandml compare {args.curve}")
        print(f"wrote {out}/table.md, table.csv, solutions_*.csv, posteriors.png")
    return 0
