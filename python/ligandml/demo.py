"""The report written by `ligandml predict` and `ligandml demo` (PNG, samples.csv, summary.md), and
the demo: the benchmark curves of DESIGN.md (ligandml.benchmark_task, computed from the physics)
run through a trained model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .benchmark_task import BENCHMARK_CURVES, benchmark_curve


def _truth(name: str) -> dict:
    c = BENCHMARK_CURVES[name]
    return {"D": c.D, "E": c.E, "chi_dia": c.chi_dia, "s_m": c.s_m}


def summary_markdown(post, name: str = "input", truth: dict | None = None) -> str:
    """A short markdown summary of a posterior: clusters, canonical median with 90 % interval,
    nuisances, and (given truth) the distance to the nearest true equivalent."""
    can = post.canonical()
    lines = [f"## {name}", "",
             f"Model: {getattr(post.model, 'config', None) and post.model.config.kind} "
             f"({len(post.samples)} samples; ion {post.ion.name}; "
             f"field {'zero' if post.field is None else f'{post.field} T'}).", ""]
    q = can.quantile([0.05, 0.5, 0.95])
    lines += ["Canonical (0 <= E <= |D|/3) posterior: median [5 %, 95 %]", ""]
    for c in can.columns:
        unit = {"D": "K", "E": "K", "chi_dia": "emu/mol", "s_m": ""}.get(c, "")
        lines.append(f"- {c} = {q.loc[0.5, c]:.4g} [{q.loc[0.05, c]:.4g}, {q.loc[0.95, c]:.4g}] {unit}")
    cl = post.clusters()
    lines += ["", "Distinct solutions (clusters in the D-E plane):", "",
              "| D (K) | E (K) | weight | D std (K) | E std (K) |", "|---|---|---|---|---|"]
    for _, r in cl.iterrows():
        lines.append(f"| {r['D']:.2f} | {r['E']:.2f} | {r['weight']:.2f} | {r['D_std']:.2f} | {r['E_std']:.2f} |")
    if truth is not None:
        d = post.nearest_distance(truth["D"], truth["E"])
        fr = post.equivalent_fractions(truth["D"], truth["E"])
        lines += ["", f"Truth: D = {truth['D']} K, E = {truth['E']} K, chi_dia = {truth.get('chi_dia', 0)} emu/mol.",
                  f"Median distance to the nearest true equivalent: {np.median(d):.3f} K "
                  f"(90 % of samples within {np.percentile(d, 90):.3f} K); "
                  f"equivalents holding >= 5 % of samples: {(fr >= 0.05).sum()} of 6 "
                  f"(fractions {', '.join(f'{f:.2f}' for f in fr)})."]
    if post.info.get("ood_excess", 0) > 0:
        lines += ["", f"Warning: the input lies outside the training distribution "
                      f"(excess {post.info['ood_excess']:.3g})."]
    return "\n".join(lines) + "\n"


def write_report(post, out, name: str = "input", truth: dict | None = None) -> Path:
    """Write posterior.png, samples.csv and summary.md for one posterior into folder `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    truth_DE = (truth["D"], truth["E"]) if truth is not None else None
    post.plot(truth=truth_DE, path=out / "posterior.png", title=name)
    post.samples.to_csv(out / "samples.csv", index=False)
    (out / "summary.md").write_text(summary_markdown(post, name, truth))
    return out


def run_demo(out, model=None, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Predict the three benchmark curves with `model` (default: the shipped model) and write a report
    per curve under out/<name>/ plus out/summary.md. Returns a table of median distances [K] and
    the number of equivalents holding >= 5 % of the samples."""
    from .julia_import import torch_safe_backend
    from .model import load_model
    model = load_model() if model is None else model
    out = Path(out)
    rows, parts = [], ["# ligandml demo: the three benchmark curves of DESIGN.md", ""]
    for name in BENCHMARK_CURVES:
        truth = _truth(name)
        T, chi = benchmark_curve(name, model.T, backend=torch_safe_backend())
        post = model.predict(T, chi, n_samples=n_samples, seed=seed)
        write_report(post, out / name, name, truth)
        d = post.nearest_distance(truth["D"], truth["E"])
        fr = post.equivalent_fractions(truth["D"], truth["E"])
        rows.append({"curve": name, "median_distance_K": float(np.median(d)),
                     "equivalents_ge_5pct": int((fr >= 0.05).sum())})
        parts.append(summary_markdown(post, name, truth))
    table = pd.DataFrame(rows)
    parts += ["## all curves", "", "| curve | median distance to nearest equivalent (K) | equivalents >= 5 % |",
              "|---|---|---|"]
    parts += [f"| {r.curve} | {r.median_distance_K:.3f} | {r.equivalents_ge_5pct} |" for r in table.itertuples()]
    (out / "summary.md").write_text("\n".join(parts) + "\n")
    return table
