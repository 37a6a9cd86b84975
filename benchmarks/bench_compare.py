"""Benchmark: least squares (with and without chi_dia), the exact grid posterior, every VAE-INN
model found (shipped default + studies/sigma_dia/*) and the network-plus-fit hybrid, on

- the three DESIGN.md benchmark curves (axial, rhombic, er2-like), noise-free and with 1 %
  relative Gaussian noise;
- held-out simulated curves: D, E uniform on the box, chi_dia ~ N(0, 0.002 emu/mol), s_m = 1,
  128 geometric T from 2 to 300 K; N_NOISY with 1 % noise (calibration needs >= 200) and a
  subsample N_CLEAN noise-free (to keep the run to minutes on 2 shared cores).

Prints and writes benchmarks/results/compare.md (+ compare_curves.csv with one row per curve and
method). Run:  python benchmarks/bench_compare.py [--n-noisy 200] [--n-clean 100] [--quick]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import ligandml as L  # noqa: E402
from ligandml.julia_import import torch_safe_backend  # noqa: E402
from ligandml.benchmark_task import BENCHMARK_CURVES, DE_BOX as BOX, temperature_grid  # noqa: E402
from ligandml.comparison import (FOUND_MIN_FRACTION, FOUND_RADIUS, find_models,  # noqa: E402
                                 results_table, run_grid_posterior, run_hybrid, run_least_squares,
                                 run_network)
from ligandml.fitting import refine_posterior  # noqa: E402
from ligandml.calibration import calibration_table, hpd_coverage, sbc_rank  # noqa: E402
from ligandml.metrics import c2st, invariant_features  # noqa: E402
from ligandml.report import markdown_table as _markdown  # noqa: E402

ION = "Er3+"
SIGMA_DIA = 0.002


def simulate(D, E, chi_dia, T, noise_rel, rng):
    """chi_obs per ion [emu/mol] for arrays of D, E [K], chi_dia, with relative Gaussian noise."""
    chi = L.powder_susceptibility(ION, {"D": np.atleast_1d(D), "E": np.atleast_1d(E)}, T)
    chi = chi + np.atleast_1d(chi_dia)[:, None]
    if noise_rel > 0:
        chi = chi * (1 + noise_rel * rng.standard_normal(chi.shape))
    return chi


def held_out(n, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"D": rng.uniform(*BOX["D"], n), "E": rng.uniform(*BOX["E"], n),
                         "chi_dia": rng.normal(0.0, SIGMA_DIA, n)})


def run_all(T, chi, truth, models, noise_assumed, n_samples, seed, curve_id, set_name, calib, c2st_rows,
            do_c2st):
    """Every method on one curve: rows for the per-curve table; SBC ranks into calib."""
    results = []
    for with_cd in (True, False):
        results.append(run_least_squares(T, chi, ION, with_cd, 64, None, seed))
    grid = run_grid_posterior(T, chi, ION, noise_assumed, SIGMA_DIA, None, 2000, seed)
    results.append(grid)
    nets = []
    for name, model in models.items():
        try:
            net = run_network(model, name, T, chi, n_samples, seed)
        except ValueError as exc:  # far out of the training distribution
            results.append(SimpleNamespace(method=f"VAE-INN {name}", failed=str(exc)))
            continue
        nets.append(net)
        results.append(net)
        results.append(run_hybrid(net))
    ok = [r for r in results if not hasattr(r, "failed")]
    table = results_table(ok, truth)
    for r in results:
        if hasattr(r, "failed"):
            table.loc[len(table)] = {"method": r.method, "note": "failed: " + r.failed[:60]}
    table["curve"], table["set"] = curve_id, set_name
    # calibration: ranks of invariant features, HPD level of the truth's class
    if calib is not None:
        feats_true = invariant_features(pd.DataFrame([truth]))
        for r in [grid] + nets:
            f = invariant_features(r.samples)
            for col in f.columns:
                if col in feats_true.columns:
                    calib.setdefault(r.method, {}).setdefault(col, []).append(
                        sbc_rank(f[col].to_numpy(), float(feats_true[col].iloc[0]), seed=curve_id))
        calib.setdefault("_hpd", []).append(grid.posterior.class_hpd_level(truth["D"], truth["E"]))
    if do_c2st:
        for net in nets:
            cols = [c for c in ("D", "E", "chi_dia") if c in net.samples.columns]
            acc = c2st(net.samples[cols].to_numpy()[:1000], grid.samples[cols].to_numpy()[:1000], seed=seed)
            c2st_rows.append({"set": set_name, "curve": curve_id, "method": net.method, "c2st": acc})
    return table


def summarise(per_curve: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (set_name, method), g in per_curve.groupby(["set", "method"], sort=False):
        ok = g[g["err_point"].notna()]
        rows.append({"set": set_name, "method": method, "curves": len(g), "failed": len(g) - len(ok),
                     "median err_point [K]": ok["err_point"].median(),
                     "median err_median [K]": ok["err_median"].median(),
                     "found (mean share)": (ok["found"] / ok["n_equivalents"]).mean(),
                     "all found": (ok["found"] == ok["n_equivalents"]).mean(),
                     "all in-box found": (ok["found_in_box"] == ok["n_in_box"]).mean(),
                     "median |chi_dia err|": ok["chi_dia_error"].abs().median() if "chi_dia_error" in ok else np.nan,
                     "s/curve (median)": ok["seconds"].median()})
    return pd.DataFrame(rows)


def refine_standin_timing(T):
    """refine_posterior on stand-in samples around the six equivalents of each benchmark curve
    (no network needed): the worst distance to an equivalent and the time."""
    rows = []
    rng = np.random.default_rng(0)
    for name, c in BENCHMARK_CURVES.items():
        chi = simulate(c.D, c.E, c.chi_dia, T, 0.0, rng)[0]
        eq = L.equivalent_DE(c.D, c.E)
        pick = rng.integers(0, 6, 1000)
        DE = eq[pick] + 0.3 * rng.standard_normal((1000, 2))
        post = SimpleNamespace(samples=pd.DataFrame({"D": DE[:, 0], "E": DE[:, 1],
                                                     "chi_dia": c.chi_dia + 3e-4 * rng.standard_normal(1000)}),
                               T=T, chi_input=chi, ion=L.ion(ION), field=None)
        t0 = time.perf_counter()
        res = refine_posterior(post)
        sec = time.perf_counter() - t0
        worst = max(np.hypot(res.solutions["D"] - d, res.solutions["E"] - e).min() for d, e in eq)
        rows.append({"curve": name, "solutions": len(res.solutions),
                     "max distance of an equivalent to its solution [K]": worst, "seconds": sec})
    return pd.DataFrame(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-noisy", type=int, default=200)
    ap.add_argument("--n-clean", type=int, default=50)
    ap.add_argument("--noise-rel", type=float, default=0.01, help="measurement noise of the noisy sets")
    ap.add_argument("--clean-noise-assumed", type=float, default=0.001,
                    help="relative sd the exact posterior assumes for noise-free curves")
    ap.add_argument("--c2st-curves", type=int, default=10, help="held-out curves with a C2ST")
    ap.add_argument("--n-samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-network", action="store_true")
    ap.add_argument("--quick", action="store_true", help="10 noisy + 5 clean held-out curves")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    if args.quick:
        args.n_noisy, args.n_clean, args.c2st_curves = 10, 5, 3
    warnings.filterwarnings("ignore", category=UserWarning)
    t_start = time.perf_counter()
    backend = torch_safe_backend()  # Julia (if any) before torch
    paths = {} if args.no_network else find_models(ROOT / "studies" / "sigma_dia")
    models = {}
    if paths:
        import torch

        from ligandml.model import load_model

        # one torch thread: on 2 shared cores, torch's spinning OpenMP pool and NumPy's BLAS
        # threads slow each other down by ~30x between alternating calls
        torch.set_num_threads(1)

        for name, p in paths.items():
            models[name] = load_model(p)
    model_info = {name: {"path": str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p),
                         "sigma_dia": (models[name].dataset_config or {}).get("sigma_dia",
                                       (models[name].dataset_config or {}).get("augmentation", "?")),
                         "kind": models[name].config.kind}
                  for name, p in paths.items()}
    print(f"backend {backend}; models: {list(models) or 'none'}", flush=True)
    T = temperature_grid()
    rng = np.random.default_rng(args.seed + 1)
    tables, c2st_rows = [], []
    # the three benchmark curves
    for noisy in (False, True):
        set_name = "benchmark curves, " + (f"{args.noise_rel:g} noise" if noisy else "noise-free")
        for i, (name, c) in enumerate(BENCHMARK_CURVES.items()):
            chi = simulate(c.D, c.E, c.chi_dia, T, args.noise_rel if noisy else 0.0, rng)[0]
            truth = {"D": c.D, "E": c.E, "chi_dia": c.chi_dia}
            t = run_all(T, chi, truth, models, args.noise_rel if noisy else args.clean_noise_assumed,
                        args.n_samples, args.seed, i, set_name, None, c2st_rows, True)
            t["curve"] = name
            tables.append(t)
        print(f"{set_name}: done ({time.perf_counter() - t_start:.0f} s)", flush=True)
    # held-out curves
    calib = {}
    for noisy, n in ((True, args.n_noisy), (False, args.n_clean)):
        set_name = f"held-out, {args.noise_rel:g} noise" if noisy else "held-out, noise-free"
        truths = held_out(n, seed=1000 + args.seed + int(noisy))
        curves = simulate(truths["D"].to_numpy(), truths["E"].to_numpy(), truths["chi_dia"].to_numpy(), T,
                          args.noise_rel if noisy else 0.0, np.random.default_rng(2000 + int(noisy)))
        for i in range(n):
            truth = truths.iloc[i].to_dict()
            t = run_all(T, curves[i], truth, models, args.noise_rel if noisy else args.clean_noise_assumed,
                        args.n_samples, args.seed, i, set_name, calib if noisy else None, c2st_rows,
                        i < args.c2st_curves)
            tables.append(t)
            if (i + 1) % 20 == 0:
                print(f"{set_name}: {i + 1}/{n} ({time.perf_counter() - t_start:.0f} s)", flush=True)
    per_curve = pd.concat(tables, ignore_index=True)
    summary = summarise(per_curve)
    hpd = calib.pop("_hpd", [])
    cal_tables = []
    for method, feats in calib.items():
        ct = calibration_table(feats)
        ct.insert(0, "method", method)
        cal_tables.append(ct)
    cal = pd.concat(cal_tables, ignore_index=True) if cal_tables else pd.DataFrame()
    c2 = pd.DataFrame(c2st_rows)
    c2_sum = (c2.groupby(["set", "method"], sort=False)["c2st"].agg(["median", "min", "max", "count"])
              .reset_index() if len(c2) else pd.DataFrame())
    standin = refine_standin_timing(T)
    # bias of the fit without chi_dia against the size of chi_dia (noisy held-out set)
    noisy_set = per_curve[per_curve["set"].str.startswith("held-out") & ~per_curve["set"].str.endswith("noise-free")]
    bias_rows = []
    truths = held_out(args.n_noisy, seed=1000 + args.seed + 1)
    for method in ("least squares", "least squares (no chi_dia)"):
        g = noisy_set[noisy_set["method"] == method].set_index("curve")
        cd = truths["chi_dia"].abs().to_numpy()[g.index.to_numpy().astype(int)]
        for lo, hi in ((0, 0.0005), (0.0005, 0.002), (0.002, 1)):
            sel = (cd >= lo) & (cd < hi)
            bias_rows.append({"method": method, "|chi_dia| range [emu/mol]": f"[{lo:g}, {hi:g})",
                              "curves": int(sel.sum()),
                              "median err_point [K]": float(np.median(g["err_point"].to_numpy()[sel])) if sel.any() else np.nan})
    bias = pd.DataFrame(bias_rows)
    elapsed = time.perf_counter() - t_start
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    per_curve.to_csv(out / "compare_curves.csv", index=False)
    bench_rows = per_curve[per_curve["set"].str.startswith("benchmark")]
    cols = ["set", "curve", "method", "D", "E", "chi_dia", "err_point", "err_median", "found",
            "n_equivalents", "seconds", "note"]
    md = [
        "# Benchmark: least squares, exact posterior, VAE-INN and hybrid",
        "",
        f"Command: `python benchmarks/bench_compare.py --n-noisy {args.n_noisy} --n-clean {args.n_clean} "
        f"--c2st-curves {args.c2st_curves}"
        f"{' --no-network' if args.no_network else ''}`  ",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other jobs; backend {backend}; torch 1 thread; "
        f"total {elapsed:.0f} s.  ",
        f"Models: {model_info if model_info else 'none found (network and hybrid rows absent)'}",
        "",
        "Definitions: err_point = distance [K] in the D-E plane from the method's point estimate "
        "(least squares: lowest-cost minimum; exact posterior: highest mode; VAE-INN: canonical median; "
        "hybrid: lowest-cost refined minimum) to the nearest of the six true equivalents. err_median = "
        "median of that distance over the posterior samples (fits: over the distinct minima). found = "
        f"distinct true equivalents with >= {FOUND_MIN_FRACTION:g} of the samples (fits: any minimum) within "
        f"{FOUND_RADIUS} K; 'in-box' counts only equivalents inside the D, E box (the posteriors' prior; "
        f"for about 25 % of box-uniform truths some equivalents lie outside it). The exact posterior assumes relative noise {args.noise_rel:g} on noisy curves "
        f"and {args.clean_noise_assumed:g} on noise-free ones, chi_dia ~ N(0, {SIGMA_DIA}). Hybrid time "
        "includes the network's. Held-out curves: D, E uniform on the box, chi_dia ~ N(0, 0.002), "
        f"{args.n_noisy} with {args.noise_rel:g} relative noise, a subsample of {args.n_clean} noise-free.",
        "",
        "## Summary (medians over curves)",
        "",
        _markdown(summary),
        "",
        "## The three benchmark curves",
        "",
        _markdown(bench_rows[[c for c in cols if c in bench_rows.columns]]),
        "",
        "## Least squares without chi_dia: bias grows with the unmodelled offset (noisy held-out set)",
        "",
        _markdown(bias),
        "",
        f"## Calibration over {args.n_noisy} noisy held-out curves",
        "",
        "Central-interval coverage from SBC ranks of equivalence-invariant test functions (canonical D, E; "
        "chi_dia); a calibrated posterior gives cov50 ~ 0.5, cov90 ~ 0.9, cov95 ~ 0.95 and a KS p-value "
        "that is not small.",
        "",
        _markdown(cal) if len(cal) else "(none)",
        "",
        f"Exact posterior, highest-density coverage of the truth's equivalence class: "
        f"{ {k: round(v, 3) for k, v in hpd_coverage(hpd).items()} if hpd else 'n/a'}",
        "",
        "## C2ST: network samples vs exact-posterior samples (D, E, chi_dia; 5-fold random forest; 0.5 = identical)",
        "",
        _markdown(c2_sum) if len(c2_sum) else "(no network models)",
        "",
        "## refine_posterior on stand-in samples around the six equivalents (noise-free benchmark curves)",
        "",
        _markdown(standin),
        "",
    ]
    (out / "compare.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
