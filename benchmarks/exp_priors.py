"""Which prior gives the better posterior for the same simulation budget: the scale-aware box or
the structure-informed prior (ErSe6 octahedron of KErSe2, dataset.structure_prior)?

Task: er-d3d "crystal" (DESIGN.md): Er3+ on a D3d site, B20 B40 B43 B60 B63 B66 [K]; chi at 1 T
on 64 temperatures and M(H) at 2 K on 27 fields, for H along c and in the ab plane (four curves);
chi_dia ~ N(0, 0.002) emu/mol, s_m ~ N(1, 0.02), noise levels log-uniform in [0.2 %, 5 %].
Both stores have the same n_sets, copies and seed; only the prior differs. Both models are the
same kind (cinn, told the four noise levels) with the same training budget (epochs, time limit,
one thread).

Evaluation, on the same curves for both models (fair to neither prior alone):
- "design": the three test curves of DESIGN.md (kerse2, d3d-a, d3d-b; chi_dia = 0.001 emu/mol,
  s_m = 1, 0.5 % noise);
- "from-box": held-out sets drawn from the scale-aware box (another seed), with errors and
  noise levels as in training;
- "from-structure": held-out sets drawn from the structure prior (another seed).
Per curve, 1000 posterior samples; samples and truth folded to the canonical D3d member
(B43 >= 0, ligandml.folding). Reported per parameter, in units of its scale-aware half-width h:
|median - truth| / h (error), the 95 % central interval width / h (width), and whether the truth
lies in that interval (coverage).

Run (each step under 8 minutes on one thread; data in /work/data/prior or --work):
    nice -n 5 python benchmarks/exp_priors.py run --prior box
    nice -n 5 python benchmarks/exp_priors.py run --prior structure
    nice -n 5 python benchmarks/exp_priors.py evaluate
The table goes to benchmarks/results/priors.md (with the command, date and machine).
This is an indication at a small budget, one seed: not the er-d3d benchmark.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "priors.md"
NAMES = ("B20", "B40", "B43", "B60", "B63", "B66")


def design_truths() -> dict[str, np.ndarray]:
    """The three DESIGN.md test sets [K] in NAMES order (ligandml.real_data.ER_D3D_TEST_SETS)."""
    from ligandml.real_data import ER_D3D_TEST_SETS

    return {name: np.array([truth[n] for n in NAMES]) for name, truth in ER_D3D_TEST_SETS.items()}


def config(prior: str, n_sets: int, copies: int, seed: int):
    from ligandml.dataset import DatasetConfig

    return DatasetConfig.preset("er-d3d", observables="crystal", n_sets=n_sets, copies=copies,
                                seed=seed, chunk_sets=1000,
                                **({"prior": "structure"} if prior == "structure" else {}))


def run(args) -> None:
    """Generate the training store of one prior and train the model on it."""
    import torch

    from ligandml.dataset import generate_dataset
    from ligandml.model import ModelConfig
    from ligandml.training import TrainConfig, train_from_dataset

    torch.set_num_threads(1)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    store, model_dir = work / f"{args.prior}.zarr", work / f"model-{args.prior}"
    t0 = time.perf_counter()
    generate_dataset(config(args.prior, args.n_sets, args.copies, 0), store, backend="numpy",
                     progress=False)
    t1 = time.perf_counter()
    print(f"{args.prior}: store of {args.n_sets} sets x {args.copies + 1} in {t1 - t0:.0f} s", flush=True)
    train_from_dataset(store, model_dir, model_config=ModelConfig(kind="cinn", n_noise=4),
                       train_config=TrainConfig(flow_epochs=args.epochs, time_limit_s=args.train_s,
                                                patience=args.epochs, n_validation=5000),
                       progress=False)
    t2 = time.perf_counter()
    (work / f"timing-{args.prior}.json").write_text(json.dumps(
        {"generate_s": t1 - t0, "train_s": t2 - t1, "n_sets": args.n_sets, "copies": args.copies,
         "epochs": args.epochs, "time_limit_s": args.train_s}))
    print(f"{args.prior}: trained in {t2 - t1:.0f} s -> {model_dir}", flush=True)


def held_out(prior: str, n: int, seed: int):
    """(truths (n, 6) [K], rows (n, L) physical, noise levels (n, 4)) of n held-out sets drawn
    from `prior`, one augmented copy each, generated as the training data were."""
    from ligandml.dataset.chunks import compute_chunk

    cfg = config(prior, n, 1, seed).replace(chunk_sets=n, test_fraction=0.0)
    chunk = compute_chunk(cfg, 0, "numpy")
    noisy = ~chunk.clean
    return chunk.parameters[noisy], chunk.curves[noisy], chunk.noise_level[noisy]


def design_curves(index: dict, seed: int = 7):
    """The DESIGN.md test curves: (names, truths (3, 6) [K], rows (3, L), levels (3, 4))."""
    from ligandml.model_observables import simulate_observables

    truths = design_truths()
    T = np.array(list(truths.values()))
    rows = simulate_observables("Er3+", {n: T[:, j] for j, n in enumerate(NAMES)}, index,
                                chi_dia=0.001, s_m=1.0, point_group="D3d", backend="numpy")
    rows = rows * (1.0 + 0.005 * np.random.default_rng(seed).standard_normal(rows.shape))
    return list(truths), T, rows, np.full((len(T), len(index)), 0.005)


def posterior_stats(model, rows, levels, truths, half, n_samples: int):
    """Per curve and parameter: error |median - truth| / h, 95 % width / h, covered; folded."""
    import warnings

    from ligandml.folding import fold
    from ligandml.model_observables import observable_names

    index = model.observables
    names = observable_names(index)
    err, width, cover, seconds = [], [], [], []
    for row, lev, truth in zip(rows, levels, truths):
        obs = {n: (np.asarray(index[n]["grid"]), row[index[n]["start"]:index[n]["stop"]]) for n in names}
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            post = model.predict(observables=obs, noise=list(lev), n_samples=n_samples, seed=0,
                                 force=True)
        seconds.append(time.perf_counter() - t0)
        S = fold(post.samples[list(NAMES)].to_numpy(), list(NAMES), index)
        t = fold(truth[None], list(NAMES), index)[0]
        lo, med, hi = np.percentile(S, [2.5, 50, 97.5], axis=0)
        err.append(np.abs(med - t) / half)
        width.append((hi - lo) / half)
        cover.append((lo <= t) & (t <= hi))
    return np.array(err), np.array(width), np.array(cover), float(np.median(seconds))


def evaluate(args) -> None:
    import torch

    import ligandml
    from ligandml.dataset.priors import scale_aware_half_width

    torch.set_num_threads(1)
    work = Path(args.work)
    half = np.array([scale_aware_half_width("Er3+", n) for n in NAMES])
    models = {p: ligandml.load_model(work / f"model-{p}") for p in ("box", "structure")}
    index = models["box"].observables
    sets = {"design": design_curves(index)[1:]}
    for prior, seed in (("box", 101), ("structure", 102)):
        sets[f"from-{prior}"] = held_out(prior, args.n_test, seed)
    lines = [f"# Prior comparison on er-d3d 'crystal' (indication, one seed)", "",
             f"Command: `{' '.join(['python'] + sys.argv)}` (after `run --prior box` and "
             f"`run --prior structure`), {date.today()}, {platform.node()} "
             f"({os.cpu_count()} CPUs, shared), torch on one thread.", ""]
    for p in ("box", "structure"):
        f = work / f"timing-{p}.json"
        if f.is_file():
            t = json.loads(f.read_text())
            lines.append(f"- {p}: {t['n_sets']} sets x {t['copies'] + 1} curves, generated in "
                         f"{t['generate_s']:.0f} s, trained {t['train_s']:.0f} s "
                         f"(<= {t['epochs']} epochs, limit {t['time_limit_s']:.0f} s)")
    lines += ["", "Errors and widths in units of each parameter's scale-aware half-width h "
              "(B20 1.905, B40 0.01221, B43 0.2539, B60 1.233e-4, B63 2.080e-3, B66 1.784e-3 K); "
              "samples and truths folded to B43 >= 0. Medians over curves.", "",
              "| curves | trained on | median error / h (B20 B40 B43 B60 B63 B66) | mean | "
              "median 95 % width / h (mean over params) | 95 % coverage (mean over params) | "
              "predict [s] |", "|---|---|---|---|---|---|---|"]
    design_rows = []
    for label, (truths, rows, levels) in sets.items():
        for p, model in models.items():
            e, w, c, s = posterior_stats(model, rows, levels, truths, half, args.n_samples)
            med = np.median(e, axis=0)
            lines.append(f"| {label} ({len(truths)}) | {p} | {' '.join(f'{v:.3f}' for v in med)} | "
                         f"{med.mean():.3f} | {np.median(w, axis=0).mean():.3f} | "
                         f"{c.mean():.2f} | {s:.3f} |")
            if label == "design":
                for name, ei, wi, ci in zip(design_curves(index)[0], e, w, c):
                    design_rows.append(f"| {name} | {p} | {' '.join(f'{v:.3f}' for v in ei)} | "
                                       f"{' '.join(f'{v:.3f}' for v in wi)} | {int(ci.sum())}/6 |")
            print(lines[-1], flush=True)
    lines += ["", "Per DESIGN.md test curve:", "",
              "| curve | trained on | error / h (B20 ... B66) | 95 % width / h | truth inside |",
              "|---|---|---|---|---|"] + design_rows
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="step", required=True)
    r = sub.add_parser("run", help="generate one prior's store and train its model")
    r.add_argument("--prior", required=True, choices=("box", "structure"))
    r.add_argument("--n-sets", type=int, default=10000)
    r.add_argument("--copies", type=int, default=4)
    r.add_argument("--epochs", type=int, default=60)
    r.add_argument("--train-s", type=float, default=300.0, help="training time limit [s]")
    e = sub.add_parser("evaluate", help="evaluate both models on the same curves")
    e.add_argument("--n-test", type=int, default=100)
    e.add_argument("--n-samples", type=int, default=1000)
    for p in (r, e):
        p.add_argument("--work", default="/work/data/prior")
    args = ap.parse_args(argv)
    {"run": run, "evaluate": evaluate}[args.step](args)


if __name__ == "__main__":
    main()
