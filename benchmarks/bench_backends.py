"""NumPy reference vs Julia kernels, side by side in one run: the same parameter sets,
temperatures and thread count for both, the time of each, their ratio and the largest relative
difference between their curves.

    python benchmarks/bench_backends.py                 # one thread, 57,000 D,E sets x 128 T
    python benchmarks/bench_backends.py --threads 8     # BLAS and Julia both get 8 threads

Cases: the zero-field sweep (the dataset generator's work) and the orientation-averaged M/B at
a finite field (Lebedev order 23, 97 directions per set). Where Julia cannot be had, the NumPy
figures are printed with the reason Julia is unavailable. Timings are the best of --repeats
runs, after one warm-up call per backend (Julia compiles on first call).
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=57_000, help="parameter sets of the zero-field sweep")
    parser.add_argument("--field-sets", type=int, default=500, help="parameter sets of the finite-field case")
    parser.add_argument("--temperatures", type=int, default=128, help="temperatures, geometric 2..300 K")
    parser.add_argument("--field", type=float, default=1.0, help="field of the finite-field case [T]")
    parser.add_argument("--threads", type=int, default=1, help="threads for both backends (BLAS and Julia)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case and backend (best kept)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("sets", "field_sets", "temperatures", "threads", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def set_threads(threads: int) -> None:
    """Give both backends the same threads; must run before numpy and juliacall are imported."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PYTHON_JULIACALL_THREADS"):
        os.environ[var] = str(threads)
    if threads > 1:
        os.environ.setdefault("PYTHON_JULIACALL_HANDLE_SIGNALS", "yes")


def best_time(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main(argv=None) -> int:
    args = parse_args(argv)
    set_threads(args.threads)
    import numpy as np

    import ligandml
    from ligandml import julia_setup

    julia_ok = julia_setup.available()  # loads Julia now when it can be had
    julia = julia_setup.describe(probe=False)
    rng = np.random.default_rng(args.seed)
    T = np.geomspace(2.0, 300.0, args.temperatures)

    def params(n):
        return {"D": rng.uniform(-10.0, 10.0, n), "E": rng.uniform(-20.0 / 3.0, 20.0 / 3.0, n)}

    cases = [("zero field", params(args.sets), None), (f"M/B at {args.field:g} T", params(args.field_sets), args.field)]
    print(f"ligandml {ligandml.__version__}; Er3+; {args.temperatures} temperatures 2-300 K; "
          f"threads {args.threads} (BLAS and Julia); best of {args.repeats}")
    if julia_ok:
        print(f"Julia {julia['julia_version']} with {julia['threads']} threads, kernels {julia['kernel_path']}")
    else:
        print(f"Julia unavailable: {julia['reason']}")
    header = f"{'case':<14} {'sets':>7} {'numpy s':>9} {'sets/s':>9} {'julia s':>9} {'sets/s':>9} {'numpy/julia':>11} {'max rel diff':>12}"
    print(header)
    print("-" * len(header))
    for label, p, field in cases:
        n = len(p["D"])

        def run(backend, p=p, field=field):
            return ligandml.powder_susceptibility("Er3+", p, T, field=field, backend=backend)

        small = {k: v[:8] for k, v in p.items()}
        ligandml.powder_susceptibility("Er3+", small, T, field=field, backend="numpy")
        t_np, chi_np = best_time(lambda: run("numpy"), args.repeats)
        line = f"{label:<14} {n:>7} {t_np:>9.3f} {n / t_np:>9.0f}"
        if julia_ok:
            ligandml.powder_susceptibility("Er3+", small, T, field=field, backend="julia")  # compile
            t_jl, chi_jl = best_time(lambda: run("julia"), args.repeats)
            diff = float(np.max(np.abs(chi_jl - chi_np) / np.abs(chi_np)))
            line += f" {t_jl:>9.3f} {n / t_jl:>9.0f} {t_np / t_jl:>11.2f} {diff:>12.1e}"
        else:
            line += f" {'-':>9} {'-':>9} {'-':>11} {'-':>12}"
        print(line, flush=True)
    if not julia_ok:
        print("Julia figures need a machine with Julia (see `ligandml info`).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
