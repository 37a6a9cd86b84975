"""Benchmark of the NumPy reference powder_susceptibility on the DESIGN.md benchmark task.

    python benchmarks/bench_physics.py [--n-sets 57000] [--n-field-sets 1000] [--repeat 3]
                                       [--n-d3d 200] [--n-plain 40]

Prints wall times (best of --repeat) and curves per second for: the Er3+ D, E task at zero field
(parity-block fast path), general Stevens sets with negative q (full complex eigensolve), and
D, E sets at 1 T (Lebedev orientation average). No assertions: numbers to read and compare.

Finite field on er-d3d prior draws (DESIGN.md scale-aware box), each beside the plain batched
NumPy version (finite_field.plain_powder_moment: full Lebedev-23 sphere, 194 directions, one
complex eigensolve per set, field and direction) run in the same process, with the ratio and the
max relative error of both against a converged sphere average (folded 40 x 48 product rule):
powder M/B at 1 T on 128 temperatures, powder M(H) at 2 K on 27 fields, and the er-d3d "powder"
observable set end to end (draws + chi at 1 T on 64 T + M(H) at 2 K on 27 fields).
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
    parser.add_argument("--n-d3d", type=int, default=200)
    parser.add_argument("--n-plain", type=int, default=40)
    parser.add_argument("--finite-field-only", action="store_true")
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
    if args.finite_field_only:
        finite_field_cases(args)
        return
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
    finite_field_cases(args)


D3D_HALF_WIDTHS_K = {"B20": 1.9048, "B40": 1.2210e-2, "B43": 2.5392e-1, "B60": 1.2333e-4,
                     "B63": 2.0797e-3, "B66": 1.7836e-3}


def d3d_draws(n: int, seed: int = 0) -> dict:
    """er-d3d prior: each B_k^q uniform on +- its half-width [K] (DESIGN.md)."""
    rng = np.random.default_rng(seed)
    return {k: rng.uniform(-w, w, n) for k, w in D3D_HALF_WIDTHS_K.items()}


def finite_field_cases(args) -> None:
    from ligandml import finite_field as ff
    from ligandml import orientations as ori
    from ligandml.parameters import to_stevens_batch

    er = ligandml.ion("Er3+")
    n_plain = args.n_plain
    batch = to_stevens_batch(d3d_draws(n_plain, seed=1))
    converged_grid = ori.reduced_product_grid(ff.batch_symmetry(batch), (0, 3, 6), 40, 8)

    def report(label, plain_s, fast_s, plain_err, fast_err):
        print(f"{label:60s} plain {plain_s / n_plain * 1e3:8.2f} ms/set  new {fast_s / n_plain * 1e3:7.3f}"
              f" ms/set  ratio {plain_s / fast_s:5.1f}x  max rel err plain {plain_err:.1e} new {fast_err:.1e}")

    print(f"\nfinite field, {n_plain} er-d3d prior sets (plain = full Lebedev-23 sphere, 194 directions)")
    T128 = np.geomspace(2, 300, 128)
    ref = ff.grid_moments(er, batch, [1.0], T128, converged_grid)[:, 0]
    out = {}
    plain_s = best_time(lambda: out.__setitem__("plain", ff.plain_powder_moment(er, batch, 1.0, T128)), 1)
    fast_s = best_time(lambda: out.__setitem__("fast", ligandml.powder_magnetization(
        er, batch, [1.0], T128, backend="numpy")[:, 0]), args.repeat)
    today_s = best_time(lambda: out.__setitem__("today", ligandml.powder_magnetization(
        er, batch, [1.0], T128, backend="numpy", lebedev_order=23)[:, 0]), 1)
    err = {k: np.abs(v / ref - 1).max() for k, v in out.items()}
    report("powder M/B at 1 T, 128 T", plain_s, fast_s, err["plain"], err["fast"])
    print(f"{'':60s} (Lebedev-23 hemisphere, this code: {today_s / n_plain * 1e3:.2f} ms/set, "
          f"err {err['today']:.1e})")
    B27 = np.arange(1, 28) * 0.2
    T2 = np.array([2.0])
    ref = ff.grid_moments(er, batch, B27, T2, converged_grid)
    plain_s = best_time(lambda: out.__setitem__("plain", np.stack(
        [ff.plain_powder_moment(er, batch, b, T2) for b in B27], axis=1)), 1)
    fast_s = best_time(lambda: out.__setitem__("fast", ligandml.powder_magnetization(
        er, batch, B27, T2, backend="numpy")), args.repeat)
    report("powder M(H) at 2 K, 27 fields 0.2-5.4 T", plain_s, fast_s,
           np.abs(out["plain"] / ref - 1).max(), np.abs(out["fast"] / ref - 1).max())

    n = args.n_d3d
    T64 = np.geomspace(2, 300, 64)

    def er_d3d_powder():
        params = d3d_draws(n, seed=2)
        chi = ligandml.powder_susceptibility(er, params, T64, field=1.0, backend="numpy")
        mh = ligandml.powder_magnetization(er, params, B27, T2, backend="numpy")[:, :, 0]
        return chi, mh

    seconds = best_time(er_d3d_powder, 1)
    per_set = seconds / n
    print(f"{'er-d3d powder set end to end (chi 64 T at 1 T + M(H) 27 fields)':60s} {per_set * 1e3:8.2f} ms/set "
          f"on one process; 200,000 sets: {per_set * 2e5 / 60:.0f} min on one core, "
          f"{per_set * 2e5 / 120:.0f} min on 2 cores (two processes, extrapolated from {n} sets)")


if __name__ == "__main__":
    main()
