"""Benchmark: the full Er3+ D, E benchmark task of DESIGN.md, end to end.

57,000 parameter sets x (1 clean + 10 augmented copies) = 627,000 curves on 128 temperatures,
sigma_dia = 0.002 emu/mol, written to a Zarr store. Prints the time split between physics,
augmentation and writing, the wall time and the store size. Target: under 10 s on a 2-core
machine with the NumPy backend.

    python benchmarks/bench_dataset.py [--backend numpy] [--n-sets 57000] [--out DIR] [--keep]
                                       [--dask-workers N] [--preset er-d3d --observables powder]

With --preset a named configuration of DESIGN.md is timed instead (e.g. --preset er-d3d
--n-sets 200): the time per parameter set and the extrapolation to the preset's full size (the
er-d3d budget is 200,000 sets) are printed.

With --dask-workers N the chunks are mapped over a dask LocalCluster of N single-threaded worker
processes (cluster start-up is timed separately); the phase times are then summed over workers.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def store_size(path: Path) -> int:
    """Bytes on disk under path."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--n-sets", type=int, default=None,
                        help="parameter sets (default: 57000, or 200 with --preset)")
    parser.add_argument("--preset", default=None, choices=("er-de", "er-d3d"),
                        help="time a named configuration (DatasetConfig.preset)")
    parser.add_argument("--observables", default="powder", choices=("powder", "crystal"),
                        help="er-d3d observable set")
    parser.add_argument("--chunk-sets", type=int, default=None,
                        help="sets per chunk (default: the configuration's)")
    parser.add_argument("--out", default=None, help="directory for the store (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the store afterwards")
    parser.add_argument("--dask-workers", type=int, default=0,
                        help="map chunks over a LocalCluster of this many processes")
    args = parser.parse_args(argv)

    from ligandml.dataset import DatasetConfig, generate_dataset

    if args.preset is None:
        config = DatasetConfig(n_sets=args.n_sets or 57000)
        full = config.n_sets
    else:
        full = DatasetConfig.preset(args.preset, observables=args.observables).n_sets
        config = DatasetConfig.preset(args.preset, observables=args.observables,
                                      n_sets=args.n_sets or 200)
    if args.chunk_sets:
        config = config.replace(chunk_sets=args.chunk_sets)
    root = Path(args.out or tempfile.mkdtemp(prefix="bench_dataset_"))
    path = root / "benchmark.zarr"
    if path.exists():
        shutil.rmtree(path)
    load = os.getloadavg()[0]
    cluster = client = None
    if args.dask_workers:
        from distributed import Client, LocalCluster

        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=args.dask_workers, threads_per_worker=1,
                               processes=True, dashboard_address=":0")
        client = Client(cluster)
        print(f"LocalCluster start {time.perf_counter() - t0:.2f} s ({args.dask_workers} workers)")
    t0 = time.perf_counter()
    ds = generate_dataset(config, path, backend=args.backend, client=client, progress=False)
    wall = time.perf_counter() - t0
    if client is not None:
        client.close()
        cluster.close()
    t = ds.timings
    raw = ds.n_curves * ds.T.size * 8
    size = store_size(path)
    what = (f"{ds.T.size} temperatures" if config.observables is None else
            f"{ds.T.size} columns ({', '.join(o['name'] for o in config.observables)})")
    print(f"dataset: {args.preset or 'default (er-de)'}, {ds.n_curves} curves = {config.n_sets} "
          f"sets x {config.curves_per_set}, {what}, backend {ds.backend}, {os.cpu_count()} CPUs, "
          f"load average {load:.2f} before the run")
    if client is not None:
        print("(phase times below are summed over the worker processes)")
    print(f"physics       {t['physics_s']:7.2f} s")
    print(f"augmentation  {t['augmentation_s']:7.2f} s")
    print(f"writing       {t['writing_s']:7.2f} s")
    if client is None:
        print("(writing runs in a background thread, overlapping the next chunk's physics)")
    if args.preset is None:
        print(f"wall (call)   {wall:7.2f} s   target < 10 s")
    else:
        per_set = wall / config.n_sets
        print(f"wall (call)   {wall:7.2f} s   = {1e3 * per_set:.2f} ms per parameter set; "
              f"{full:,} sets would take about {per_set * full / 60:.1f} min "
              f"({per_set * full / 3600:.2f} h) at this rate")
        if client is None:
            print(f"              on 2 cores (two such processes, perfect scaling assumed): about "
                  f"{per_set * full / 120:.1f} min; under 20 min needs <= {2 * 1200 / full * 1e3:.1f} "
                  f"ms per set in one process")
    print(f"store size    {size / 1e6:7.1f} MB on disk (curves raw {raw / 1e6:.1f} MB float64, "
          f"ratio {raw / size:.2f} incl. metadata arrays)")
    t1 = time.perf_counter()
    _ = ds.curves
    print(f"read curves   {time.perf_counter() - t1:7.2f} s")
    if not args.keep and args.out is None:
        shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
