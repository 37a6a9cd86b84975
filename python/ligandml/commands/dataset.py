"""`ligandml dataset generate|info|verify|plot|config`: augmented training datasets from the shell."""
from __future__ import annotations

import argparse
import json


def _param_range(text: str):
    name, sep, rng = text.partition("=")
    low, sep2, high = rng.partition(":")
    if not (sep and sep2):
        raise argparse.ArgumentTypeError(f"expected NAME=LOW:HIGH (e.g. D=-10:10), got {text!r}")
    try:
        return name.strip(), (float(low), float(high))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: LOW and HIGH must be numbers") from None


#: CLI option -> DatasetConfig field, for the overrides shared by `generate` and `config`
_OVERRIDES = {
    "ion": ("--ion", str, "ion name, e.g. Er3+"),
    "n_sets": ("--n-sets", int, "number of parameter sets"),
    "copies": ("--copies", int, "augmented copies per clean curve"),
    "sigma_dia": ("--sigma-dia", float, "std of chi_dia [emu/mol]"),
    "sigma_m": ("--sigma-m", float, "std of the molar-mass factor s_m"),
    "noise_rel": ("--noise-rel", float, "relative Gaussian noise per point"),
    "seed": ("--seed", int, "random seed (int >= 0)"),
    "quantity": ("--quantity", str, "stored quantity: chi or chiT"),
    "field": ("--field", float, "measuring field [T] (default: exact zero field)"),
    "T_min": ("--tmin", float, "lowest temperature [K]"),
    "T_max": ("--tmax", float, "highest temperature [K]"),
    "n_T": ("--n-T", int, "number of temperatures"),
    "T_spacing": ("--t-spacing", str, "geometric or linear"),
    "unit": ("--unit", str, "energy unit of the parameter ranges: K, meV, cm-1"),
    "sampling": ("--sampling", str, "uniform or sobol"),
    "test_fraction": ("--test-fraction", float, "share of parameter sets in the test split"),
    "chunk_sets": ("--chunk-sets", int, "parameter sets per storage chunk"),
    "prior": ("--prior", str, "box, scale-aware or structure (superposition model around "
                              "--polyhedron or --ligands)"),
    "prior_width": ("--prior-width", float, "W [K] of the scale-aware box (default 200)"),
}

#: CLI option -> key of DatasetConfig.structure (the structure prior's geometry)
_STRUCTURE = {
    "polyhedron": ("--polyhedron", str, "structure prior: trigonal-octahedron, trigonal-prism, "
                                        "square-antiprism or square-prism"),
    "distance": ("--distance", float, "structure prior: ion-ligand distance [angstrom]"),
    "angle": ("--angle", float, "structure prior: polar angle of the upper ligands [deg] "
                                "(default: the ideal polyhedron)"),
    "ligand": ("--ligand", str, "structure prior: ligand element for the default intrinsic "
                                "ranges (O, S, Se, Te, F, Cl, Br, I)"),
    "residual": ("--residual", float, "structure prior: free residual sd as a fraction of the "
                                      "scale-aware half-width (default 0.1)"),
}


def _add_config_options(p) -> None:
    p.add_argument("--config", default=None, help="TOML configuration (see `ligandml dataset config`)")
    p.add_argument("--preset", default=None, choices=("er-de", "er-d3d"),
                   help="named configuration of DESIGN.md (er-de: the D, E task, the default; "
                        "er-d3d: Er3+ D3d higher-order task); other options override it")
    p.add_argument("--observables", default=None, choices=("powder", "crystal"),
                   help="er-d3d observable set: powder (chi at 1 T, M(H) at 2 K; default) or "
                        "crystal (the same along z and in the plane)")
    p.add_argument("--param", action="append", type=_param_range, metavar="NAME=LOW:HIGH",
                   help="sampled parameter and range, repeatable; replaces the configured set "
                        "(e.g. --param D=-10:10 --param E=-6.667:6.667)")
    for field, (flag, typ, text) in _OVERRIDES.items():
        p.add_argument(flag, dest=field, type=typ, default=None, help=text)
    for key, (flag, typ, text) in _STRUCTURE.items():
        p.add_argument(flag, dest=f"structure_{key}", type=typ, default=None, help=text)
    p.add_argument("--ligands", default=None, metavar="FILE.xyz",
                   help="structure prior: ligand positions from an XYZ file, in the point "
                        "group's standard setting (instead of --polyhedron)")
    p.add_argument("--formula", default=None, metavar="FORMULA",
                   help="set sigma_dia to the Pascal uncertainty of this formula (per ion, see "
                        "--ions-per-formula) instead of --sigma-dia")
    p.add_argument("--ions-per-formula", type=float, default=1.0, metavar="N",
                   help="magnetic ions per formula unit of --formula (default 1)")


def add_parser(sub) -> None:
    """Register `dataset` with its subcommands."""
    p = sub.add_parser("dataset", help="generate, inspect and plot augmented training datasets")
    dsub = p.add_subparsers(dest="dataset_command", metavar="ACTION")
    dsub.required = True
    gen = dsub.add_parser("generate", help="generate (or resume) a dataset into a Zarr store")
    _add_config_options(gen)
    gen.add_argument("--out", required=True, help="path of the Zarr store (a directory)")
    gen.add_argument("--backend", default=None,
                     help="numpy, julia or auto (default: $LIGANDML_BACKEND, else auto)")
    gen.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="dask.distributed scheduler address: map the chunks over its workers")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing store")
    gen.add_argument("--no-progress", action="store_true", help="no progress bar")
    info = dsub.add_parser("info", help="describe a dataset store")
    info.add_argument("path", help="dataset store (the --out of `dataset generate`)")
    info.add_argument("--json", action="store_true", help="print everything as JSON")
    ver = dsub.add_parser("verify", help="check every chunk's checksum and the attributes of a store")
    ver.add_argument("path", help="dataset store (the --out of `dataset generate`)")
    ver.add_argument("--no-progress", action="store_true", help="no progress bar")
    plot = dsub.add_parser("plot", help="overview figure: curves, coverage, error histograms")
    plot.add_argument("path", help="dataset store (the --out of `dataset generate`)")
    plot.add_argument("--out", required=True, help="image file (PNG, PDF, SVG)")
    plot.add_argument("--examples", type=int, default=4, help="parameter sets in the curve panel")
    cfg = dsub.add_parser("config", help="print (or write) a configuration as TOML")
    _add_config_options(cfg)
    cfg.add_argument("--out", default=None, help="write to this TOML file instead of printing")
    p.set_defaults(func=run)


def sigma_dia_from_formula(formula: str, ions_per_formula: float = 1.0) -> float:
    """The Pascal uncertainty of chi_D of `formula` [emu/mol per magnetic ion]: the sigma_dia a
    training configuration can use (ligandml.diamagnetic_correction)."""
    from ..diamagnetic import diamagnetic_correction

    return float(diamagnetic_correction(formula).per_ion(ions_per_formula)[1])


def config_from_args(args):
    """DatasetConfig from --config (TOML) and the command-line overrides."""
    from ..dataset import DatasetConfig

    overrides = {f: getattr(args, f) for f in _OVERRIDES if getattr(args, f) is not None}
    if args.param:
        overrides["params"] = dict(args.param)
    if getattr(args, "formula", None):
        if args.sigma_dia is not None:
            raise ValueError("give --sigma-dia or --formula (its Pascal uncertainty), not both")
        overrides["sigma_dia"] = sigma_dia_from_formula(args.formula, args.ions_per_formula)
    structure = _structure_from_args(args)
    if structure:
        overrides["structure"] = structure
    if args.preset and args.config:
        raise ValueError("give --preset or --config, not both")
    if args.observables and args.preset != "er-d3d":
        raise ValueError("--observables chooses the observable set of --preset er-d3d")
    if args.preset:
        return DatasetConfig.preset(args.preset, observables=args.observables or "powder",
                                    **overrides)
    if args.config:
        return DatasetConfig.from_toml(args.config, **overrides)
    return DatasetConfig(**overrides)


def _structure_from_args(args) -> dict:
    """DatasetConfig.structure from --polyhedron/--distance/--angle/--ligand/--residual/--ligands."""
    out = {k: getattr(args, f"structure_{k}") for k in _STRUCTURE
           if getattr(args, f"structure_{k}", None) is not None}
    if getattr(args, "ligands", None):
        from ..coordination import read_xyz

        sphere = read_xyz(args.ligands)
        out["ligands"] = sphere.positions.tolist()
        if "ligand" not in out and len(set(sphere.elements)) == 1:
            out["ligand"] = sphere.elements[0]
    return out


def run(args) -> int:
    """Dispatch to the dataset action."""
    return {"generate": run_generate, "info": run_info, "verify": run_verify, "plot": run_plot,
            "config": run_config}[args.dataset_command](args)


def run_generate(args) -> int:
    from ..dataset import generate_dataset

    config = config_from_args(args)
    client = None
    if args.scheduler:
        from distributed import Client

        client = Client(args.scheduler)
    try:
        ds = generate_dataset(config, args.out, backend=args.backend, client=client,
                              progress=not args.no_progress, overwrite=args.overwrite)
    except KeyboardInterrupt:
        import sys

        print(f"interrupted: the chunks written so far are kept; rerun the same command to resume "
              f"{args.out}", file=sys.stderr)
        return 130
    finally:
        if client is not None:
            client.close()
    print(repr(ds))
    t = ds.timings
    if t:
        print(f"physics {t['physics_s']:.2f} s, augmentation {t['augmentation_s']:.2f} s, "
              f"writing {t['writing_s']:.2f} s (summed over {t['chunks_run']} chunks), "
              f"wall {t['wall_s']:.2f} s")
    return 0


def run_verify(args) -> int:
    """Exit 0 when the store verifies; 1 listing every damaged or missing chunk otherwise."""
    from ..dataset import verify_store

    report = verify_store(args.path, progress=not args.no_progress)
    if report.ok:
        print(report.message())
        return 0
    damaged = report.damaged or report.problems or report.stale_record
    print(f"{args.path}: {'DAMAGED' if damaged else 'INCOMPLETE'}")
    for line in report.lines():
        print(f"  {line}")
    print("rerun `ligandml dataset generate` with the same configuration and --out to recompute "
          "damaged or missing chunks" + (" (or --overwrite)" if report.problems else ""))
    return 1


def run_info(args) -> int:
    from ..dataset import open_dataset, store_status, summary, verify_store

    status = store_status(args.path)
    report = verify_store(args.path)
    complete = report.ok
    out = {"path": args.path, "complete": complete, "chunks_done": status["chunks_done"],
           "n_chunks": status["n_chunks"], "size_MB": round(status["size_bytes"] / 1e6, 2),
           "ligandml_version": status.get("ligandml_version"), "backend": status.get("backend"),
           "representation": status.get("representation"), "seed": status.get("seed"),
           "config": status.get("config"), "timings": status.get("timings"),
           "normalization": status.get("normalization"), "verification": report.lines()}
    if complete:
        out["summary"] = summary(open_dataset(args.path))
    if args.json:
        print(json.dumps(out, indent=2))
        return 0 if complete else 1
    state = "complete, verified" if complete else (
        "DAMAGED" if report.damaged or report.problems or report.stale_record else "INCOMPLETE")
    print(f"{args.path}: {state} "
          f"({out['chunks_done']}/{out['n_chunks']} chunks), {out['size_MB']} MB, "
          f"ligandml {out['ligandml_version']}, backend {out['backend']}, seed {out['seed']}")
    cfg = out["config"] or {}
    print("config: " + ", ".join(f"{k}={v}" for k, v in cfg.items() if v is not None))
    if out["normalization"]:
        n = out["normalization"]
        print(f"normalisation ({n['quantity']}): min {n['min']:.6g}, max {n['max']:.6g}")
    if out["timings"]:
        print("timings: " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in out["timings"].items()))
    if complete:
        print("summary: " + ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in out["summary"].items()))
    else:
        for line in report.lines():
            print(f"  {line}")
        print("rerun `ligandml dataset generate` with the same configuration and --out to resume")
    return 0 if complete else 1


def run_plot(args) -> int:
    from ..dataset import open_dataset
    from ..plots import plot_dataset

    plot_dataset(open_dataset(args.path), args.out, n_examples=args.examples)
    print(f"wrote {args.out}")
    return 0


def run_config(args) -> int:
    import tomli_w

    config = config_from_args(args)
    if args.out:
        config.to_toml(args.out)
        print(f"wrote {args.out}")
    else:
        print(tomli_w.dumps(config.to_toml_dict()), end="")
    return 0
