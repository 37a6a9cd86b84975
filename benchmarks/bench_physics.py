"""Benchmark of the NumPy reference powder_susceptibility on the DESIGN.md benchmark task.

    python benchmarks/bench_physics.py [--n-sets 57000] [--n-field-sets 1000] [--repeat 3]
                                       [--n-d3d 200] [--n-plain 40]

Prints wall times (best of --repeat) and curves per second for: the Er3+ D, E task at zero field
(parity-block fast path), general Stevens sets with negative q (full complex eigensolve), and
D, E sets at 1 T (Lebedev orientation average). No assertions: numbers to read and compare.

Finite field on er-d3d prior draws (DESIGN.md scale-aware box), each beside the plain batched
NumPy version (finite_field.plain_powder_moment: full Lebedev sphere, one complex NumPy
eigensolve per set, field and direction) run in the same process, with the ratio and the max
relative error of both against a converged sphere average (folded 40 x 48 product rule). The
plain version runs twice: on Lebedev 23 (194 directions) and on the smallest Lebedev order that
reaches 2e-4 on the same draws (found in the script, printed with its error): the ratio at equal
accuracy. Cases: powder M/B at 1 T on 128 temperatures, powder M(H) at 2 K on 27 fields, and the
er-d3d "powder" observable set end to end (draws + chi at 1 T on 64 T + M(H) at 2 K on 27
fields). The new path is timed with each eigensolver (finite_field.EIGENSOLVER: NumPy's, and
torch's MKL one when torch is installed; torch on one thread).
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


#: the orders scipy.integrate.lebedev_rule provides, ascending
LEBEDEV_ORDERS = (3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 35, 41, 47, 53, 59, 65, 71)
#: the accuracy the targets state: max relative error against a converged sphere average
TARGET_REL_ERR = 2e-4


def max_rel_err(values, ref) -> float:
    return float(np.abs(values / ref - 1).max())


def smallest_lebedev_order(er, batch, fields, T, ref, tol=TARGET_REL_ERR):
    """(order, full-sphere points, max rel err): the smallest Lebedev order whose sphere average
    is within tol of ref on these draws, fields [T] and temperatures [K]. Evaluated on the
    hemisphere (the same number as the full sphere: M(-n).(-n) = M(n).n and the rules are
    centrosymmetric); the plain version is then timed on the full sphere of that order."""
    from ligandml import finite_field as ff
    from ligandml import orientations as ori

    for order in LEBEDEV_ORDERS:
        grid = ori.lebedev_grid(order, ff._active_qs(batch), ff.batch_symmetry(batch).mirror)
        err = max_rel_err(ff.grid_moments(er, batch, fields, T, grid), ref)
        if err <= tol:
            return order, 2 * grid.size, err
    raise RuntimeError(f"no Lebedev order up to {LEBEDEV_ORDERS[-1]} reaches {tol:g}")


def plain_on_order(er, batch, fields, T, order):
    """The plain version on the full Lebedev sphere of `order`: (N, len(fields), len(T))."""
    from scipy.integrate import lebedev_rule

    from ligandml import finite_field as ff

    points, w = lebedev_rule(order)
    return np.stack([ff.plain_powder_moment(er, batch, b, T, points.T, w / w.sum()) for b in fields], axis=1)


def eigensolvers():
    """The eigensolvers to time the new path with: NumPy's always, torch's (MKL) when installed."""
    try:
        import torch
    except ImportError:
        return ["numpy"]
    torch.set_num_threads(1)
    return ["numpy", "torch"]


def finite_field_cases(args) -> None:
    from ligandml import finite_field as ff
    from ligandml import orientations as ori
    from ligandml.parameters import to_stevens_batch

    er = ligandml.ion("Er3+")
    n_plain = args.n_plain
    batch = to_stevens_batch(d3d_draws(n_plain, seed=1))
    converged_grid = ori.reduced_product_grid(ff.batch_symmetry(batch), (0, 3, 6), 40, 8)
    solvers = eigensolvers()

    def per_set(seconds):
        return f"{seconds / n_plain * 1e3:8.2f} ms/set"

    def run_case(label, fields, T):
        ref = ff.grid_moments(er, batch, fields, T, converged_grid)
        order, points, order_err = smallest_lebedev_order(er, batch, fields, T, ref)
        print(f"\n{label}, {n_plain} er-d3d prior sets; smallest Lebedev order within "
              f"{TARGET_REL_ERR:g} of the converged average on these draws: {order} "
              f"({points} directions), max rel err {order_err:.1e}")
        out = {}
        plain = {}
        for o in sorted({23, order}):
            plain[o] = best_time(lambda: out.__setitem__(
                ("plain", o), plain_on_order(er, batch, fields, T, o)), 1)
            print(f"  plain, full Lebedev-{o} sphere {per_set(plain[o])}  "
                  f"max rel err {max_rel_err(out[('plain', o)], ref):.1e}")
        for solver in solvers:
            ff.EIGENSOLVER = solver
            fast = best_time(lambda: out.__setitem__(solver, ligandml.powder_magnetization(
                er, batch, fields, T, backend="numpy")), args.repeat)
            print(f"  new, eigensolver {solver:5s}          {per_set(fast)}  "
                  f"max rel err {max_rel_err(out[solver], ref):.1e}  ratio vs plain Lebedev-23 "
                  f"{plain[23] / fast:5.1f}x, vs plain at equal accuracy (Lebedev-{order}) "
                  f"{plain[order] / fast:5.1f}x")
        ff.EIGENSOLVER = "numpy"

    print(f"\nfinite field (plain = plain_powder_moment: full Lebedev sphere, one complex NumPy "
          f"eigensolve per set, field and direction; reference = folded 40 x 48 product rule)")
    run_case("powder M/B at 1 T, 128 temperatures 2-300 K", np.array([1.0]), np.geomspace(2, 300, 128))
    B27 = np.arange(1, 28) * 0.2
    T2 = np.array([2.0])
    run_case("powder M(H) at 2 K, 27 fields 0.2-5.4 T", B27, T2)

    n = args.n_d3d
    T64 = np.geomspace(2, 300, 64)

    def er_d3d_powder():
        params = d3d_draws(n, seed=2)
        chi = ligandml.powder_susceptibility(er, params, T64, field=1.0, backend="numpy")
        mh = ligandml.powder_magnetization(er, params, B27, T2, backend="numpy")[:, :, 0]
        return chi, mh

    print()
    for solver in solvers:
        ff.EIGENSOLVER = solver
        seconds = best_time(er_d3d_powder, 1)
        per = seconds / n
        print(f"er-d3d powder set end to end (chi 64 T at 1 T + M(H) 27 fields), eigensolver {solver}: "
              f"{per * 1e3:.2f} ms/set on one process; 200,000 sets: {per * 2e5 / 60:.0f} min on one core, "
              f"{per * 2e5 / 120:.0f} min on 2 cores (two processes, extrapolated from {n} sets)")
    ff.EIGENSOLVER = "numpy"


if __name__ == "__main__":
    main()
