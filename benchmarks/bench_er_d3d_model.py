"""Held-out check of an er-d3d model: coverage of central 95 % intervals, distance to the truth,
time of predict, on noisy curves of the dataset's test split.

python benchmarks/bench_er_d3d_model.py [MODEL] [--data STORE] [--n-curves 200] [--n-samples 1000]

For each of n test-split curves with noise (augmented copies: chi_dia, s_m and a stored noise
level per observable), the model is told the stored levels; samples and truth are folded to the
canonical member (B43 >= 0, ligandml.folding) and the central 95 % interval of every parameter
is checked for the truth. Prints per parameter the coverage (with its binomial sd), the median
width of the interval in prior-box widths, the median distance of the samples to the nearest
equivalent of the truth [box widths], and the time per predict.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    import torch

    import ligandml
    from ligandml.dataset import open_dataset
    from ligandml.folding import fold
    from ligandml.model_observables import split_row, to_physical

    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="?", default="er-d3d")
    p.add_argument("--data", default="/work/data/d3d_crystal.zarr")
    p.add_argument("--n-curves", type=int, default=200)
    p.add_argument("--n-samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    model = ligandml.load_model(args.model)
    ds = open_dataset(args.data, verify=False)
    rows = np.flatnonzero(ds.is_test & ~ds.clean)
    rows = np.sort(np.random.default_rng(args.seed).choice(rows, size=min(args.n_curves, rows.size), replace=False))
    curves = ds.array("curves").get_orthogonal_selection((rows, slice(None)))
    levels = ds.array("noise_level").get_orthogonal_selection((rows, slice(None)))
    names = [n for n in model.param_names if n not in ("chi_dia", "s_m")]
    truth = ds.params.iloc[rows][names].to_numpy()
    obs_list = list(model.observables.values())
    truth_c = fold(truth, names, obs_list)
    widths = np.array([hi - lo for lo, hi in (model.dataset_config["params"][n] for n in names)])
    inside, width, dist, seconds = [], [], [], []
    for k, i in enumerate(rows):
        phys = to_physical(curves[k], model.observables, model.quantity)
        measured = {n: (np.asarray(model.observables[n]["grid"]), y)
                    for n, y in split_row(phys, model.observables).items()}
        t0 = time.perf_counter()
        post = model.predict(observables=measured, n_samples=args.n_samples, seed=k,
                             noise=list(levels[k]), force=True)
        seconds.append(time.perf_counter() - t0)
        can = post.canonical()[names].to_numpy()
        lo, hi = np.percentile(can, [2.5, 97.5], axis=0)
        inside.append((lo <= truth_c[k]) & (truth_c[k] <= hi))
        width.append((hi - lo) / widths)
        dist.append(float(np.median(post.nearest_distance(dict(zip(names, truth[k]))))))
    inside, width = np.array(inside), np.array(width)
    n = len(rows)
    print(f"model {args.model}; {n} held-out noisy curves of {args.data}; {args.n_samples} samples each")
    print(f"{'param':6s} {'coverage 95 %':>14s} {'sd':>6s} {'median width (box widths)':>26s}")
    for j, name in enumerate(names):
        c = inside[:, j].mean()
        print(f"{name:6s} {c:14.3f} {np.sqrt(c * (1 - c) / n):6.3f} {np.median(width[:, j]):26.3f}")
    print(f"median distance of the samples to the nearest true equivalent: {np.median(dist):.3f} box widths")
    print(f"predict: median {np.median(seconds) * 1e3:.1f} ms, max {np.max(seconds) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
