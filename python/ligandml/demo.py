"""The demo: the benchmark curves of DESIGN.md (ligandml.benchmark_task, computed from the physics)
run through a trained model, with a report per curve (ligandml.report)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .benchmark_task import BENCHMARK_CURVES, benchmark_curve
from .report import demo_table_markdown, posterior_summary, write_posterior_report


def _truth(name: str) -> dict:
    c = BENCHMARK_CURVES[name]
    return {"D": c.D, "E": c.E, "chi_dia": c.chi_dia, "s_m": c.s_m}


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
        write_posterior_report(post, out / name, name, truth)
        d = post.nearest_distance(truth["D"], truth["E"])
        fr = post.equivalent_fractions(truth["D"], truth["E"])
        rows.append({"curve": name, "median_distance_K": float(np.median(d)),
                     "equivalents_ge_5pct": int((fr >= 0.05).sum())})
        parts.append(posterior_summary(post, name, truth))
    table = pd.DataFrame(rows)
    parts += demo_table_markdown(table)
    (out / "summary.md").write_text("\n".join(parts) + "\n")
    return table
