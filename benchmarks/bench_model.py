"""Benchmark of a trained model (default: the shipped one) on the three DESIGN.md curves.

Prints: load time (after import), time for 1,000 posterior samples, and per curve the median
distance [K] from the samples to the nearest true equivalent and the fraction of samples nearest to
each of the six equivalents. Targets (issue 5): axial and er2-like medians <= 0.5 K, all six
equivalents found on the axial curve, 1,000 samples <= 0.5 s, loading <= 2 s.

    python benchmarks/bench_model.py [MODEL_DIR] [--seeds 5]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=None)
    ap.add_argument("--seeds", type=int, default=5, help="posterior draws per curve (different seeds)")
    args = ap.parse_args()
    import torch

    import ligandml  # noqa: F401  (import time is not part of the load time)
    from ligandml.benchmark_task import BENCHMARK_CURVES, benchmark_curve
    from ligandml.model import load_model

    t0 = time.perf_counter()
    model = load_model(args.model)
    t_load = time.perf_counter() - t0
    T, chi = benchmark_curve("axial", model.T)
    model.predict(T, chi, n_samples=1000, seed=0)  # warm-up
    times = []
    for s in range(5):
        t0 = time.perf_counter()
        model.predict(T, chi, n_samples=1000, seed=s)
        times.append(time.perf_counter() - t0)
    print(f"model: {args.model or 'shipped default'} ({model.config.kind}, {model.param_names}); "
          f"torch threads {torch.get_num_threads()}")
    print(f"load: {t_load:.3f} s; predict 1000 samples: median {np.median(times) * 1000:.1f} ms")
    print("curve      median_K (mean over seeds)  equivalents>=5%  fractions (seed 0)")
    for name, c in BENCHMARK_CURVES.items():
        T, chi = benchmark_curve(name, model.T)
        meds, n_eq, fr0 = [], [], None
        for s in range(args.seeds):
            post = model.predict(T, chi, n_samples=1000, seed=s)
            meds.append(np.median(post.nearest_distance(c.D, c.E)))
            fr = post.equivalent_fractions(c.D, c.E)
            n_eq.append(int((fr >= 0.05).sum()))
            fr0 = fr if fr0 is None else fr0
        print(f"{name:10s} {np.mean(meds):6.3f} (+- {np.std(meds):.3f})          {min(n_eq)}-{max(n_eq)}"
              f"              {np.round(fr0, 2)}")


if __name__ == "__main__":
    main()
