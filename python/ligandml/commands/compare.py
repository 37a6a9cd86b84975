"""`ligandml compare curve.csv`: every method on one measured curve, in one table."""
from __future__ import annotations

from .curve_input import add_curve_options, read_curve_input


def add_parser(sub) -> None:
    """Register `compare`."""
    p = sub.add_parser("compare", help="least squares, exact posterior, VAE-INN models and the hybrid "
                                       "on one chi(T) curve, side by side")
    add_curve_options(p)
    p.add_argument("--report", default=None, metavar="FOLDER",
                   help="write table.md, table.csv, solutions_*.csv and posteriors.png into FOLDER "
                        "(default: write nothing)")
    p.add_argument("--noise-rel", type=float, default=0.01,
                   help="relative measurement sd assumed by the exact posterior (default 0.01)")
    p.add_argument("--sigma-dia", type=float, default=None,
                   help="prior sd of chi_dia [emu/mol per ion] for the exact posterior (default: the "
                        "Pascal uncertainty of --formula, else 0.002)")
    p.add_argument("--model", action="append", default=None,
                   help="VAE-INN model folder (repeatable; default: the shipped model and the models "
                        "under --studies)")
    p.add_argument("--studies", default="studies/sigma_dia",
                   help="folder searched for trained models when no --model is given "
                        "(default: studies/sigma_dia of a source checkout, from the working directory)")
    p.add_argument("--no-network", action="store_true", help="skip the VAE-INN and hybrid rows")
    p.add_argument("--no-grid", action="store_true", help="skip the exact grid posterior")
    p.add_argument("--starts", type=int, default=64, help="least-squares starts (default 64)")
    p.add_argument("--n-samples", type=int, default=1000,
                   help="posterior samples per network (default 1000; the exact posterior draws twice as many)")
    p.add_argument("--field", type=float, default=None,
                   help="measuring field [T] for every method (default: the field recorded in a .dat "
                        "file, else zero field); a network trained at another field is refused in its row")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
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
    """Check the curve first, run the comparison and print the table; write the report folder
    only when asked."""
    import pandas as pd

    from ..comparison import compare_curve, results_table
    from ..julia_import import torch_safe_backend

    for opt in ("starts", "n_samples"):
        if getattr(args, opt) < 1:
            raise ValueError(f"--{opt.replace('_', '-')} must be >= 1, got {getattr(args, opt)}")
    if not args.noise_rel > 0:
        raise ValueError(f"--noise-rel must be > 0, got {args.noise_rel}")
    curve = read_curve_input(args)  # plausibility first, before any slow step
    for note in curve.notes:
        print(note)
    field = args.field if args.field is not None else curve.field_T
    sigma_dia = args.sigma_dia if args.sigma_dia is not None else (
        curve.sigma_dia if curve.sigma_dia is not None else 0.002)
    if not sigma_dia >= 0:
        raise ValueError(f"--sigma-dia must be >= 0, got {sigma_dia}")
    torch_safe_backend()  # loads Julia, when it is to be used, before torch
    models = _models(args)
    results = compare_curve(curve.T, curve.values, ion=args.ion, noise_rel=args.noise_rel,
                            sigma_dia=sigma_dia, models=models, quantity=curve.quantity,
                            ions_per_formula=curve.ions_per_formula, starts=args.starts,
                            n_samples=args.n_samples, field=field, seed=args.seed,
                            grid=not args.no_grid, force=True)
    table = results_table(results)
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_colwidth", 400):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if not models and not args.no_network:
        print("(no VAE-INN model found: network and hybrid rows omitted)")
    if args.report:
        from ..report import write_comparison_report

        out = write_comparison_report(results, args.report, title=f"ligandml compare {args.curve}")
        print(f"wrote {out}/table.md, table.csv, solutions_*.csv, posteriors.png")
    if results and all(r.note.startswith("failed:") for r in results):
        import sys

        print("ligandml compare: error: every method failed for this curve (see the notes)", file=sys.stderr)
        return 3
    return 0
