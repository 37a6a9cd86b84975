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
    p.set_defaults(func=run_predict)

    d = sub.add_parser("demo", help="the whole path on the three benchmark curves with the shipped model")
    d.add_argument("--out", default="ligandml-demo", help="report folder")
    d.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    d.add_argument("--n-samples", type=int, default=1000, help="posterior samples per curve (default 1000)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
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
    if not fit.describes:
        print(f"warning: {fit.message}", file=sys.stderr)
    if args.report:
        from ..report import write_posterior_report

        out = write_posterior_report(post, args.report, name=Path(args.curve).name)
        print((out / "summary.md").read_text())
        print(f"wrote {out}/posterior.png, samples.csv, summary.md")
    if box.failed and not args.force:
        print(f"ligandml predict: error: {box.message} (--force reports it anyway)", file=sys.stderr)
        return 3
    return 0


def run_demo(args) -> int:
    from ..demo import run_demo as demo
    from ..model import load_model
    table = demo(args.out, load_model(args.model), n_samples=args.n_samples, seed=args.seed)
    print(table.to_string(index=False))
    print(f"wrote {args.out}/summary.md and a report per curve under {args.out}/")
    return 0
