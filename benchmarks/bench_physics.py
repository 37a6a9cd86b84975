"""Benchmark of the NumPy reference powder_susceptibility on the DESIGN.md benchmark task.

    python benchmarks/bench_physics.py [--n-sets 57000] [--n-field-sets 1000] [--repeat 3]

Prints wall times (best of --repeat) and curves per second for: the Er3+ D, E task at zero field
(parity-block fast path), general Stevens sets with negative q (full complex eigensolve), and
D, E sets at 1 T (Lebedev orientation average). No assertions: numbers to read and compare.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import ligandml


def best_time(fn, repeat: int) -> float:
    """Best wall time [s] of `repeat` calls of fn()."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sets", type=int, default=57000)
    parser.add_argument("--n-field-sets", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    T = np.geomspace(2, 300, 128)
    n = args.n_sets
    de = {"D": rng.uniform(-10, 10, n), "E": rng.uniform(-20 / 3, 20 / 3, n)}
    names = [f"B{k}{q}" for k in (2, 4, 6) for q in range(-k, k + 1)]
    scale = {2: 1.0, 4: 0.01, 6: 1e-4}
    general = {name: rng.normal(0, scale[int(name[1])], n) for name in names}
    m = args.n_field_sets
    de_field = {key: value[:m] for key, value in de.items()}
    run = ligandml.powder_susceptibility
    print(f"ligandml {ligandml.__version__}, NumPy {np.__version__}, {os.cpu_count()} CPUs, "
          f"{len(T)} temperatures, backend numpy")
    cases = [
        (f"Er3+ D,E zero field, {n} sets", n, lambda: run("Er3+", de, T, backend="numpy")),
        (f"Er3+ 27 Stevens terms (negative q), {n} sets", n, lambda: run("Er3+", general, T, backend="numpy")),
        (f"Er3+ D,E at 1 T (Lebedev order 23, 97 directions), {m} sets", m,
         lambda: run("Er3+", de_field, T, field=1.0, backend="numpy")),
    ]
    for label, count, fn in cases:
        seconds = best_time(fn, args.repeat)
        print(f"{label:60s} {seconds:7.3f} s  {count / seconds:10.0f} curves/s")


if __name__ == "__main__":
    main()
