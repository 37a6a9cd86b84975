"""Short experiments for the noise-aware D, E model: train package models (any train.toml, any
kind) on the D, E store for a few minutes, then evaluate them side by side on the same 200
held-out curves at 1 % noise (and noise-free), through the package's own predict(noise=).

Held-out curves (seeded, independent of the store): D ~ U(-10, 10) K, E ~ U(-20/3, 20/3) K,
chi_dia ~ N(0, 0.002) emu/mol, s_m = 1, zero-field powder chi on the model grid, relative
Gaussian noise of 1 % per point (x -> x + 0.01 |x| z). Printed per model:
  err_point   median over curves of the distance [K] from the canonical posterior median to the
              nearest true equivalent (the README's "median err" for the network)
  err_sample  median over curves of the median per-sample nearest-equivalent distance [K]
  cov95       coverage of central 95 % intervals of canonical D, canonical E and chi_dia
              (ligandml.calibration.coverage), and of raw D, E
  all_found   share of curves on which every in-box equivalent holds >= 1 % of the samples
              within 0.5 K (ligandml.metrics.equivalents_found)
  noise-free  err_point on the same curves without noise, predicted at the lowest trained level
  s/curve     seconds per predict call (1,000 samples, one thread)

Run (each training <= 6 min, one thread):
    ligandml dataset generate --out /work/data/flow/er_de.zarr
    nice -n 5 python benchmarks/exp_nsf_noise.py train --data /work/data/flow/er_de.zarr \
        --config python/ligandml/configs/nsf_noise.toml --minutes 6 --out /work/data/flow/m_nsf
    python benchmarks/exp_nsf_noise.py evaluate /work/data/flow/m_nsf [more model folders]
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

D_MAX, E_MAX, SIGMA_DIA = 10.0, 20.0 / 3.0, 0.002


def held_out_curves(T, n: int, noise: float, seed: int = 12345):
    """(chi_noisy (n, n_T), chi_clean (n, n_T) [emu/mol], truths (n, 3): D, E [K], chi_dia)."""
    import ligandml

    rng = np.random.default_rng(seed)
    D = rng.uniform(-D_MAX, D_MAX, n)
    E = rng.uniform(-E_MAX, E_MAX, n)
    dia = SIGMA_DIA * rng.standard_normal(n)
    chi = ligandml.powder_susceptibility("Er3+", {"D": D, "E": E}, T, backend="numpy") + dia[:, None]
    z = rng.standard_normal(chi.shape)
    return chi + noise * np.abs(chi) * z, chi, np.column_stack([D, E, dia])


def train(args):
    import torch

    from ligandml.commands.model import train_config_path
    from ligandml.model import ModelConfig
    from ligandml.training import TrainConfig, read_train_toml, train_from_dataset

    torch.set_num_threads(args.threads)
    model_d, train_d = read_train_toml(train_config_path(args.config))
    for item in args.set or []:  # --set model.flow_blocks=6 --set training.lr=2e-3
        key, value = item.split("=", 1)
        table, name = key.split(".", 1)
        (model_d if table == "model" else train_d)[name] = json.loads(value)
    train_d["time_limit_s"] = 60.0 * args.minutes
    t0 = time.perf_counter()
    model = train_from_dataset(args.data, args.out, model_config=ModelConfig.from_dict(model_d),
                               train_config=TrainConfig.from_dict(train_d), progress=False)
    print(json.dumps({"out": args.out, "seconds": round(time.perf_counter() - t0, 1),
                      **{k: v for k, v in model.metrics.items() if k != "dataset"}}))


def evaluate_model(path, chi_noisy, chi_clean, truths, n_samples: int, noise: float):
    from ligandml import calibration
    from ligandml.benchmark_task import inside_box
    from ligandml.metrics import distinct_equivalents, equivalents_found
    from ligandml.model import load_model
    from ligandml.parameters import canonical_DE, nearest_equivalent_distance

    model = load_model(path)
    aware = bool(model.noise_range)
    clean_level = model.noise_range[0][0] if aware else None
    samples, point_err, sample_err, clean_err, found, seconds = [], [], [], [], [], []
    warnings.simplefilter("ignore")
    for i, (y, y0, t) in enumerate(zip(chi_noisy, chi_clean, truths)):
        t0 = time.perf_counter()
        post = model.predict(model.T, y, n_samples=n_samples, seed=i, noise=noise if aware else None,
                             force=True)
        seconds.append(time.perf_counter() - t0)
        s = post.samples[["D", "E", "chi_dia"]].to_numpy()
        samples.append(s)
        est = post.point_estimate()
        point_err.append(float(nearest_equivalent_distance(np.array([est["D"]]), np.array([est["E"]]),
                                                           t[0], t[1])[0]))
        sample_err.append(float(np.median(nearest_equivalent_distance(s[:, 0], s[:, 1], t[0], t[1]))))
        eq = distinct_equivalents(t[0], t[1])
        hit = equivalents_found(s[:, 0], s[:, 1], t[0], t[1], radius=0.5, min_fraction=0.01)
        found.append(bool(np.all(hit[inside_box(eq[:, 0], eq[:, 1])])))
        pc = model.predict(model.T, y0, n_samples=n_samples, seed=i, noise=clean_level, force=True)
        ec = pc.point_estimate()
        clean_err.append(float(nearest_equivalent_distance(np.array([ec["D"]]), np.array([ec["E"]]),
                                                           t[0], t[1])[0]))
    samples = np.stack(samples)
    Dc, Ec = canonical_DE(samples[..., 0], samples[..., 1])
    Dt, Et = canonical_DE(truths[:, 0], truths[:, 1])
    canon = np.stack([Dc, Ec, samples[..., 2]], -1)
    cov = calibration.coverage(canon, np.column_stack([Dt, Et, truths[:, 2]]), levels=(0.68, 0.95))
    raw = calibration.coverage(samples[..., :2], truths[:, :2], levels=(0.95,))
    return {"model": str(path), "kind": model.config.kind, "noise_aware": aware,
            "train_s": round(float(model.metrics.get("train_seconds", np.nan)), 0),
            "err_point": float(np.median(point_err)), "err_sample": float(np.median(sample_err)),
            "cov95_Dcan_Ecan_dia": [round(float(v), 3) for v in cov[0.95]],
            "cov68_Dcan_Ecan_dia": [round(float(v), 3) for v in cov[0.68]],
            "cov95_D_E_raw": [round(float(v), 3) for v in raw[0.95]],
            "all_found": float(np.mean(found)), "noise_free_err_point": float(np.median(clean_err)),
            "s_per_curve": float(np.median(seconds))}


def evaluate(args):
    import torch

    from ligandml.model import load_model

    torch.set_num_threads(1)
    T = load_model(args.models[0]).T
    chi_noisy, chi_clean, truths = held_out_curves(T, args.n_curves, args.noise, args.seed)
    for path in args.models:
        row = evaluate_model(path, chi_noisy, chi_clean, truths, args.n_samples, args.noise)
        print(json.dumps(row), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True)
    t.add_argument("--config", required=True, help="train.toml (or a shipped model's name)")
    t.add_argument("--minutes", type=float, default=6.0)
    t.add_argument("--out", required=True)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--set", action="append", help="override: model.NAME=JSON or training.NAME=JSON")
    e = sub.add_parser("evaluate")
    e.add_argument("models", nargs="+")
    e.add_argument("--n-curves", type=int, default=200)
    e.add_argument("--n-samples", type=int, default=1000)
    e.add_argument("--noise", type=float, default=0.01)
    e.add_argument("--seed", type=int, default=12345)
    args = p.parse_args()
    train(args) if args.what == "train" else evaluate(args)


if __name__ == "__main__":
    main()
