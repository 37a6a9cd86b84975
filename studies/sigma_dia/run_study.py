"""The sigma_dia study of the 2026 paper (Figures 6-7), with ligandml's faithful VAE-INN.

For sigma_dia in {0, 0.001, 0.002, 0.004} emu/mol: generate the benchmark dataset with that
augmentation width (ligandml.dataset), train the faithful model (VAE with latent 3 on the min-max
normalised curve, then the Ardizzone INN), and evaluate on the three DESIGN.md curves:
  - VAE plots (the 400 training curves nearest the input in latent space, among ALL training
    curves of that dataset) for the "axial" and "rhombic" curves,
  - VAE-INN plots (1,000 samples) for the "er2-like" curve,
  - a table: median distance [K] to the nearest true equivalent, and how many of the six
    equivalents hold >= 5 % of the points, for the VAE-plot ROI and for the VAE-INN samples,
  - for comparison, the same VAE with a conditional INN on its latent ("VAE+cINN", kind vae_cinn)
    in place of the Ardizzone INN: its er2-like plots (last row) and table rows.

Outputs (kept in the repository): figure_vae_inn_plots.png, table.md, table.csv, and the
models under models/sigma_<value>/ (small: weights + JSON). Datasets go to --data-dir (not kept).

    python studies/sigma_dia/run_study.py --data-dir /tmp/sigma_data [--vae-epochs 12 --inn-epochs 8]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SIGMAS = (0.0, 0.001, 0.002, 0.004)


def train_or_load(sigma: float, args):
    from ligandml.dataset import DatasetConfig, generate_dataset, open_dataset
    from ligandml.model import ModelConfig, load_model
    from ligandml.training import TrainConfig, train_from_dataset
    data = Path(args.data_dir) / f"er_de_sigma_{sigma}.zarr"
    out = Path(args.out) / "models" / f"sigma_{sigma}"
    if not data.exists():
        generate_dataset(DatasetConfig(sigma_dia=sigma, n_sets=args.n_sets), data, backend="numpy",
                         progress=False)
    ds = open_dataset(data)
    tc = TrainConfig(vae_epochs=args.vae_epochs, inn_epochs=args.inn_epochs, seed=0,
                     inn_samples_per_epoch=args.inn_samples_per_epoch, time_limit_s=args.time_limit)
    if (out / "model.json").exists() and not args.retrain:
        model = load_model(out)
        if not args.retrain_inn:
            return model, ds
        # keep the trained VAE, train the INN again (e.g. after a change of the INN losses)
        from ligandml.training import save_history, train_model
        vae_history = pd.read_csv(out / "history.csv") if (out / "history.csv").exists() else None
        vae_seconds = model.metrics.get("train_seconds", 0.0)
        model = train_model(np.asarray(ds.curves, dtype=np.float32), ds.params, ds.T, ds.split,
                            model_config=ModelConfig(kind="faithful", n_reference=5000), train_config=tc,
                            progress=False, quantity=ds.representation, dataset_config=ds.config.to_dict(),
                            dataset_normalizer=ds.normalizer.to_dict(), pretrained_vae=model)
        if vae_history is not None:
            model.history = pd.concat([vae_history[vae_history["phase"] == "vae"], model.history])
        model.metrics["vae_epochs"] = int(model.history.loc[model.history["phase"] == "vae", "epoch"].max())
        model.metrics["train_seconds_first_run"] = vae_seconds
        model.metrics["dataset"] = str(data)
        model.save(out)
        save_history(model, out)
        return model, ds
    model = train_from_dataset(data, out, model_config=ModelConfig(kind="faithful", n_reference=5000),
                               train_config=tc, progress=False)
    return model, ds


def train_or_load_vae_cinn(sigma: float, faithful, ds, args):
    """The faithful model's VAE with a conditional INN on its latent instead of the Ardizzone INN."""
    from ligandml.model import ModelConfig, load_model
    from ligandml.training import TrainConfig, save_history, train_model
    out = Path(args.out) / "models" / f"sigma_{sigma}_vae_cinn"
    if (out / "model.json").exists() and not args.retrain:
        return load_model(out)
    model = train_model(np.asarray(ds.curves, dtype=np.float32), ds.params, ds.T, ds.split,
                        model_config=ModelConfig(kind="vae_cinn", n_reference=5000),
                        train_config=TrainConfig(flow_epochs=args.flow_epochs, seed=0), progress=False,
                        quantity=ds.representation, dataset_config=ds.config.to_dict(),
                        dataset_normalizer=ds.normalizer.to_dict(), pretrained_vae=faithful)
    model.save(out)
    save_history(model, out)
    return model


def train_latents(model, ds) -> tuple[np.ndarray, pd.DataFrame]:
    """Standardised latents and parameters of every training curve of the dataset."""
    idx = ds.train_index
    curves = ds.curves[idx]
    from ligandml.error_model import quantity_to_chi
    chi = quantity_to_chi(curves, ds.T, ds.representation)
    lat = np.concatenate([model.encode(chi[i:i + 100_000]) for i in range(0, len(chi), 100_000)])
    return lat, ds.params.iloc[idx].reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default="/tmp/ligandml_sigma_study")
    ap.add_argument("--n-sets", type=int, default=57000)
    ap.add_argument("--vae-epochs", type=int, default=12)
    ap.add_argument("--inn-epochs", type=int, default=8)
    ap.add_argument("--inn-samples-per-epoch", type=int, default=150_000)
    ap.add_argument("--flow-epochs", type=int, default=4, help="epochs of the VAE+cINN comparison")
    ap.add_argument("--time-limit", type=float, default=0.0, help="seconds per training phase")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(HERE), help="where the models, figure and table go")
    ap.add_argument("--retrain", action="store_true")
    ap.add_argument("--retrain-inn", action="store_true", help="keep the saved VAEs, train the INNs again")
    args = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from ligandml.benchmark_task import BENCHMARK_CURVES, benchmark_curve
    from ligandml.plots import inn_plot, nearest_reference, vae_plot
    torch.set_num_threads(args.threads)
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rows = []
    fig, axes = plt.subplots(4, len(SIGMAS), figsize=(4.2 * len(SIGMAS), 14.5), squeeze=False)
    for j, sigma in enumerate(SIGMAS):
        t0 = time.perf_counter()
        model, ds = train_or_load(sigma, args)
        reference = train_latents(model, ds)
        hybrid = train_or_load_vae_cinn(sigma, model, ds, args)
        for i, name in enumerate(("axial", "rhombic", "er2-like")):
            c = BENCHMARK_CURVES[name]
            T, chi = benchmark_curve(name, model.T)
            post = model.predict(T, chi, n_samples=1000, seed=0)
            post_h = hybrid.predict(T, chi, n_samples=1000, seed=0)
            near = nearest_reference(post, 400, reference)
            for method, D, E in (("VAE plot (400 nearest)", near["D"], near["E"]),
                                 ("VAE-INN (1000 samples)", post.samples["D"], post.samples["E"]),
                                 ("VAE+cINN (1000 samples)", post_h.samples["D"], post_h.samples["E"])):
                from ligandml.parameters import equivalent_DE, nearest_equivalent_distance
                d = nearest_equivalent_distance(D.to_numpy(), E.to_numpy(), c.D, c.E)
                eq = equivalent_DE(c.D, c.E)
                lab = np.argmin(((np.c_[D, E][:, None] - eq[None]) ** 2).sum(-1), axis=1)
                frac = np.bincount(lab, minlength=6) / len(lab)
                rows.append({"sigma_dia": sigma, "curve": name, "method": method,
                             "median_distance_K": round(float(np.median(d)), 3),
                             "equivalents_ge_5pct": int((frac >= 0.05).sum())})
            title = f"{name}, sigma_dia = {sigma:g}"
            if name == "er2-like":
                inn_plot(axes[i, j], post, truth=(c.D, c.E), title=f"VAE-INN: {title}")
                inn_plot(axes[3, j], post_h, truth=(c.D, c.E), title=f"VAE+cINN: {title}")
            else:
                vae_plot(axes[i, j], post, truth=(c.D, c.E), reference=reference, title=f"VAE: {title}")
        meta = model.metrics
        print(f"sigma_dia={sigma}: training {meta.get('train_seconds', float('nan')):.0f} s "
              f"(vae {meta.get('vae_epochs')} epochs, inn {meta.get('inn_epochs')} epochs); "
              f"total with evaluation {time.perf_counter() - t0:.0f} s", flush=True)
        rows_sigma = [r for r in rows if r["sigma_dia"] == sigma]
        print(pd.DataFrame(rows_sigma).to_string(index=False), flush=True)
    fig.tight_layout()
    fig.savefig(out / "figure_vae_inn_plots.png", dpi=90)
    table = pd.DataFrame(rows)
    table.to_csv(out / "table.csv", index=False)
    budget = (f"Training budget per model (reduced for a shared 2-core machine): {args.n_sets} parameter "
              f"sets x 11 curves, VAE <= {args.vae_epochs} full epochs, INN <= {args.inn_epochs} epochs of "
              f"{args.inn_samples_per_epoch} random training curves each "
              f"(early stopping, patience 4), batch 512, 1 CPU thread, seed 0. VAE+cINN: the same VAE with a "
              f"conditional INN on its latent instead of the Ardizzone INN, {args.flow_epochs} epochs.")
    wide = table.pivot_table(index=["curve", "method"], columns="sigma_dia",
                             values=["median_distance_K", "equivalents_ge_5pct"], aggfunc="first")
    lines = ["# sigma_dia study (faithful VAE-INN)", "", budget, "",
             "Median distance (K) from the points to the nearest of the six true equivalents, and the "
             "number of equivalents holding >= 5 % of the points (in parentheses).", "",
             "| curve | method | " + " | ".join(f"sigma_dia = {s:g}" for s in SIGMAS) + " |",
             "|---|---|" + "---|" * len(SIGMAS)]
    for (curve, method), r in wide.iterrows():
        cells = [f"{r[('median_distance_K', s)]:.2f} ({int(r[('equivalents_ge_5pct', s)])})" for s in SIGMAS]
        lines.append(f"| {curve} | {method} | " + " | ".join(cells) + " |")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    (out / "study_config.json").write_text(json.dumps(vars(args), indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
