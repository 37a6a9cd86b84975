"""`ligandml train | predict | demo`: train a VAE-INN, analyse a measured curve, run the demo."""
from __future__ import annotations

from pathlib import Path

from .curve_input import add_curve_options, read_curve_input


def add_parser(sub) -> None:
    """Register `train`, `predict` and `demo`."""
    t = sub.add_parser("train", help="train a VAE-INN (or conditional INN) model on a dataset")
    t.add_argument("--data", required=True, help="dataset store written by `ligandml dataset generate`")
    t.add_argument("--out", required=True, help="model folder to write")
    t.add_argument("--config", default="default", metavar="TOML|NAME",
                   help="train.toml with [model] and [training] tables, the name of a model shipped "
                        "in the package whose train.toml to use (default: 'default', the recipe of the "
                        "shipped model), or of a recipe in ligandml/configs (e.g. nsf_noise)")
    t.add_argument("--kind", default=None,
                   help="faithful: VAE (latent 3) + Ardizzone INN; vae_cinn: the VAE + a conditional INN "
                        "on its latent; cinn: conditional INN on the whole curve; nsf: the same with "
                        "rational-quadratic spline couplings")
    t.add_argument("--epochs", type=int, default=None, help="epochs for every training phase")
    t.add_argument("--time-limit", type=float, default=None, help="seconds per training phase")
    t.add_argument("--seed", type=int, default=None, help="random seed (default: the config's)")
    t.add_argument("--max-curves", type=int, default=0,
                   help="train on a random subset of this many curves (default 0: all)")
    t.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    t.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=run_train)

    p = sub.add_parser("predict", help="posterior of the parameters for a measured chi(T) curve")
    add_curve_options(p)
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--n-samples", type=int, default=1000, help="posterior samples to draw (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the samples (default 0)")
    p.add_argument("--noise", default=None, metavar="LEVEL",
                   help="your estimate of the curve's relative measurement noise per point, e.g. 0.5%% or "
                        "0.005 (noise-aware models only; without it they assume 1 %% and say so)")
    p.add_argument("--noise-rel", type=float, default=None,
                   help="relative measurement sd used to judge the fit of the point estimate "
                        "(default: --noise, else 0.01)")
    p.add_argument("--report", default=None, metavar="FOLDER",
                   help="write posterior.png, samples.csv and summary.md into FOLDER (default: write nothing)")
    p.add_argument("--observable", action="append", default=None, metavar="NAME=FILE",
                   help="multi-observable models (e.g. --model er-d3d): one measured curve per observable "
                        "of the model, repeatable, instead of CURVE. chi(T) files as for CURVE (T [K], chi "
                        "or chiT per --quantity); M(H) files two numeric columns, B [T] and M [muB per "
                        "formula unit]. --noise takes one level or one per observable (model order)")
    p.add_argument("--laplace", action="store_true",
                   help="multi-observable models: sharpen the network's posterior to the exact likelihood "
                        "at --noise (least squares from its heaviest clusters, a Gaussian at each minimum "
                        "and its equivalents, weighted by evidence; seconds to a minute). The report then "
                        "holds these samples")
    p.add_argument("--fold", action="store_true",
                   help="N-parameter models: draw the corner plot of the report with every sample folded "
                        "to its canonical equivalent")
    for action in p._actions:  # CURVE is optional here: --observable replaces it
        if action.dest == "curve":
            action.nargs, action.default = "?", None
            action.help += "; leave out with --observable"
    p.set_defaults(func=run_predict)

    d = sub.add_parser("demo", help="the whole path on the three benchmark curves with the shipped model")
    d.add_argument("--out", default="ligandml-demo", help="report folder")
    d.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    d.add_argument("--n-samples", type=int, default=1000, help="posterior samples per curve (default 1000)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d.add_argument("--no-er-d3d", action="store_true",
                   help="skip the er-d3d part (the shipped Er3+ D3d model on its three test sets, written "
                        "under OUT/er-d3d/; it runs when no --model is given)")
    d.add_argument("--measured", default=None, metavar="FOLDER",
                   help="folder with the measured KErSe2 files (KErSe2_chi_T.dat, KErSe2_M_H_2K.txt, e.g. "
                        "../shared/data/real): the er-d3d part also predicts from them")
    d.set_defaults(func=run_demo)


#: training recipes shipped in the package (--config NAME reads CONFIGS_DIR/NAME.toml)
CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"


def train_config_path(config: str) -> Path:
    """The train.toml to read: `config` itself when it is a file, else the train.toml of the
    model of that name shipped in the package (e.g. "default"), else the recipe
    ligandml/configs/NAME.toml (e.g. "nsf_noise")."""
    from ..model import DEFAULT_MODEL_DIR

    path = Path(config)
    if path.is_file():
        return path
    if path.is_dir():
        raise ValueError(f"--config {config} is a folder; give its train.toml")
    shipped = DEFAULT_MODEL_DIR.parent / config / "train.toml"
    if path.name == config and shipped.is_file():
        return shipped
    recipe = CONFIGS_DIR / f"{config}.toml"
    if path.name == config and recipe.is_file():
        return recipe
    names = sorted(p.parent.name for p in DEFAULT_MODEL_DIR.parent.glob("*/train.toml"))
    names += sorted(p.stem for p in CONFIGS_DIR.glob("*.toml"))
    raise ValueError(f"--config {config}: no such file, and no shipped model or recipe of that name "
                     f"(shipped: {', '.join(names) or 'none'})")


def run_train(args) -> int:
    import torch

    from ..model import ModelConfig
    from ..training import TrainConfig, read_train_toml, train_from_dataset
    if args.threads:
        torch.set_num_threads(args.threads)
    model_d, train_d = read_train_toml(train_config_path(args.config))
    if args.kind:
        model_d["kind"] = args.kind
    if args.epochs is not None:
        train_d.update(vae_epochs=args.epochs, inn_epochs=args.epochs, flow_epochs=args.epochs)
    if args.time_limit is not None:
        train_d["time_limit_s"] = args.time_limit
    if args.seed is not None:
        train_d["seed"] = args.seed
    model = train_from_dataset(args.data, args.out, model_config=ModelConfig.from_dict(model_d),
                               train_config=TrainConfig.from_dict(train_d), progress=not args.quiet,
                               device=args.device, max_curves=args.max_curves)
    m = model.metrics
    print(f"trained a {model.config.kind} model in {m['train_seconds']:.0f} s on {m['n_train']} curves; "
          f"wrote {args.out} (model.json, weights.safetensors, history.csv, losses.png)")
    return 0


def run_predict(args) -> int:
    """Read and check the curve (before loading anything slow), sample the posterior, report
    the prior-box and fit checks; exit 3 when the model fails for this curve (unless --force)."""
    import sys

    from ..model import load_model

    if args.n_samples < 1:
        raise ValueError(f"--n-samples must be >= 1, got {args.n_samples}")
    import numpy as np

    from ..model import parse_noise
    noise = None if args.noise is None else parse_noise(args.noise)
    if args.noise_rel is None:
        args.noise_rel = 0.01 if noise is None else float(np.max(noise))
    if not args.noise_rel > 0:
        raise ValueError(f"--noise-rel must be > 0, got {args.noise_rel}")
    if args.observable:
        if args.curve is not None:
            raise ValueError("give either CURVE (one chi(T) curve) or --observable NAME=FILE (each "
                             "observable of a multi-observable model), not both")
        return _predict_observables(args, noise)
    if args.curve is None:
        raise ValueError("give the curve file CURVE (or --observable NAME=FILE for a multi-observable model)")
    if args.laplace:
        raise ValueError("--laplace needs a multi-observable model (e.g. --model er-d3d) and "
                         "--observable NAME=FILE; for one chi(T) curve `ligandml compare` gives the exact "
                         "grid posterior")
    curve = read_curve_input(args)
    for note in curve.notes:
        print(note)
    model = load_model(args.model)
    if args.ion != "Er3+" and args.ion != model.ion_name:
        raise ValueError(f"--ion {args.ion}: the model was trained for {model.ion_name}")
    if noise is not None and not model.noise_range:
        raise ValueError(f"--noise: the model {args.model or '(shipped default)'} was trained without a noise "
                         "input and takes no noise level; leave out --noise or use a noise-aware model")
    post = model.predict(curve.T, curve.values, n_samples=args.n_samples, seed=args.seed,
                         quantity=curve.quantity, ions_per_formula=curve.ions_per_formula,
                         field=curve.field_T, force=args.force, noise=noise)
    if post.info.get("noise_assumed"):
        print(f"noise: none given, assumed {post.info['noise'][0]:.3g} relative per point (--noise sets it)")
    med = post.median()
    print(f"posterior median (canonical): " + ", ".join(f"{k} = {v:.4g}" for k, v in med.items()))
    if curve.sigma_dia is not None:
        print(f"sigma_dia (Pascal, {args.formula}): {curve.sigma_dia:.2g} emu/mol per ion; "
              f"the model was trained with sigma_dia = {model.dataset_config.get('sigma_dia', 'unknown')}")
    box = post.prior_box_report()
    fit = post.misfit(noise_rel=args.noise_rel)
    print(f"prior box: {box.message}")
    print(f"fit check at {args.noise_rel:g} relative noise: {fit.message}")
    return _report_and_exit(args, post, box, fit, Path(args.curve).name)


def _report_and_exit(args, post, box, fit, name: str) -> int:
    """The common end of predict: the misfit warning, the report folder (--report), exit 3 when
    most of the posterior lies outside the prior box (unless --force)."""
    import sys

    if not fit.describes:
        print(f"warning: {fit.message}", file=sys.stderr)
    if args.report:
        from ..report import write_posterior_report

        out = write_posterior_report(post, args.report, name=name, fold=getattr(args, "fold", False))
        print((out / "summary.md").read_text())
        print(f"wrote {out}/posterior.png, samples.csv, summary.md")
    if box.failed and not args.force:
        print(f"ligandml predict: error: {box.message} (--force reports it anyway)", file=sys.stderr)
        return 3
    return 0


def read_xy(path, kind: str, quantity: str = "chi"):
    """(x, y) of one observable file: chi(T) read as a curve file (ligandml.curves, T [K] and chi
    or chiT per quantity), M(H) as two numeric columns B [T], M [muB per formula unit] (comma,
    semicolon, tab or space separated; lines without two numbers are skipped as headers)."""
    import re

    import numpy as np

    if kind == "chi":
        from ..curves import read_curve_data

        data = read_curve_data(path, quantity)
        return data.T, data.values
    rows = []
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    for line in path.read_text(errors="replace").splitlines():
        parts = [t for t in re.split(r"[,;\s]+", line.strip()) if t]
        try:
            values = [float(t) for t in parts[:2]]
        except ValueError:
            if rows:
                raise ValueError(f"{path}: a line that is not two numbers after the data began: {line!r}") from None
            continue
        if len(values) == 2:
            rows.append(values)
    if len(rows) < 2:
        raise ValueError(f"{path}: fewer than two rows of two numbers (B [T], M [muB per formula unit])")
    xy = np.array(rows)
    return xy[:, 0], xy[:, 1]


def _predict_observables(args, noise) -> int:
    """predict for a multi-observable model: one file per observable (--observable NAME=FILE)."""
    from ..model import load_model

    model = load_model(args.model)
    if not model.observables:
        raise ValueError(f"--observable: the model {args.model or '(shipped default)'} takes one chi(T) "
                         "curve; give it as CURVE")
    measured = {}
    for item in args.observable:
        name, sep, file = item.partition("=")
        if not sep or not name or not file:
            raise ValueError(f"--observable {item!r}: expected NAME=FILE")
        if name not in model.observables:
            raise ValueError(f"--observable {name}: unknown; the model takes {', '.join(model.observable_names)}")
        if name in measured:
            raise ValueError(f"--observable {name} given twice")
        measured[name] = read_xy(file, model.observables[name]["kind"], args.quantity)
    post = model.predict(observables=measured, n_samples=args.n_samples, seed=args.seed,
                         quantity=args.quantity, ions_per_formula=args.ions_per_formula,
                         force=args.force, noise=noise)
    if post.info.get("noise_assumed"):
        print(f"noise: none given, assumed {post.info['noise'][0]:.3g} relative per point (--noise sets it)")
    if args.laplace:
        post = _laplace(post)
    med = post.median()
    print("posterior median (canonical): " + ", ".join(f"{k} = {v:.4g}" for k, v in med.items()))
    box = post.prior_box_report()
    fit = post.misfit(noise_rel=args.noise_rel)
    print(f"prior box: {box.message}")
    print(f"fit check at {args.noise_rel:g} relative noise: {fit.message}")
    return _report_and_exit(args, post, box, fit, ", ".join(measured))


def _laplace(post):
    """predict --laplace: the network posterior sharpened (ligandml.laplace), its modes printed."""
    from ..laplace import laplace_posterior

    print("sharpening with least squares + Laplace (--laplace) ...", flush=True)
    sharp = laplace_posterior(post, n_samples=len(post.samples))
    names = sharp.parameter_names
    print(f"Laplace mixture: {sharp.info['n_minima']} minima (with equivalents) in "
          f"{sharp.info['seconds']:.1f} s")
    for _, row in sharp.modes.iterrows():
        print(f"  mass {row['mass']:.3f}: " + ", ".join(f"{n} = {row[n]:.5g} +- {row['sd_' + n]:.2g}"
                                                      for n in names) + " K")
    return sharp


def run_demo(args) -> int:
    from ..demo import read_kerse2_crystal, run_demo as demo, run_er_d3d_demo
    from ..model import load_model, shipped_models
    from ..real_data import real_data_dir
    folder = args.measured or real_data_dir()
    measured = read_kerse2_crystal(folder) if folder else None
    if folder is None and args.model is None and not args.no_er_d3d:
        print("measured KErSe2 data not found (../shared/data/real or $LIGANDML_REAL_DATA); "
              "the er-d3d part runs on the test sets only (--measured FOLDER adds them)")
    table = demo(args.out, load_model(args.model), n_samples=args.n_samples, seed=args.seed)
    print(table.to_string(index=False))
    print(f"wrote {args.out}/summary.md and a report per curve under {args.out}/")
    if args.model is None and not args.no_er_d3d and "er-d3d" in shipped_models():
        table = run_er_d3d_demo(Path(args.out) / "er-d3d", n_samples=max(args.n_samples, 2000),
                                seed=args.seed, measured=measured)
        print(table.to_string(index=False))
        print(f"wrote {args.out}/er-d3d/summary.md and a report per case under {args.out}/er-d3d/")
    return 0
