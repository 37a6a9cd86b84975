"""Generating a dataset: the chunks in this process (writing in a background thread) or mapped
over a dask.distributed cluster, resuming an interrupted run with the same numbers."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..backends import resolve_backend
from .chunks import compute_chunk
from .config import DatasetConfig
from .observable_store import (add_observable_arrays, set_observable_normalization,
                               write_observable_rows)
from .reader import Dataset, open_dataset
from .store import finalize, open_store, prepare_store, verify_store, write_chunk


def _write(group, data) -> dict:
    """Store one chunk: the multi-observable rows first, then store.write_chunk (done last)."""
    write_observable_rows(group, data)
    return write_chunk(group, data)


def generate_chunk(path: str, config: dict, chunk: int, backend: str = "numpy") -> dict:
    """Compute and store chunk `chunk` of the dataset at `path` (the store must exist).

    The unit of work mapped over dask workers; config is DatasetConfig.to_dict(). Returns the
    chunk's timings [s]."""
    cfg = DatasetConfig.from_dict(config)
    group = open_store(path, mode="r+")
    return _write(group, compute_chunk(cfg, chunk, backend))


def _run_local(group, config, todo, backend, bar):
    """Compute the chunks in order in this process; each chunk is written by one background
    thread while the next one is computed (compression and file I/O release the GIL, as does
    the diagonalisation). At most two chunks are held in memory."""
    from concurrent.futures import ThreadPoolExecutor

    results, pending = [], None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ligandml-write") as writer:
        try:
            for chunk in todo:
                data = compute_chunk(config, chunk, backend)
                if pending is not None:
                    previous, pending = pending, None
                    results.append(previous.result())
                    bar.update(1)
                pending = writer.submit(_write, group, data)
        finally:  # an interruption still finishes (and marks) the chunk being written
            if pending is not None:
                results.append(pending.result())
                bar.update(1)
    return results


def _verified_done(group, path):
    """The done markers of an existing store after verifying it: damaged chunks are marked
    not done (to be recomputed), a stale completion record is cleared (to be rewritten by
    finalize). None when the store is complete and verifies. ValueError when its attributes
    disagree with its arrays (a rerun cannot repair that)."""
    report = verify_store(group)
    if report.ok:
        return None
    if report.problems:
        raise ValueError(report.message())
    for chunk in report.damaged:
        group["done"][chunk] = False
    # a completion record is stale only when a chunk it vouches for is damaged; a report that
    # merely saw chunks still missing may predate another process's finalize (two generators on
    # one store), and clearing that process's fresh record would fail its final open
    if report.damaged and group.attrs.get("complete"):
        group.attrs.update({"complete": False, "attrs_sha256": None})
    return group["done"][:]


def _chunk_task(chunk: int, path: str, config: dict, backend: str) -> dict:
    """generate_chunk with the chunk index first, for client.map over the indices."""
    return generate_chunk(path, config, chunk, backend)


def _run_dask(client, path, config, todo, backend, bar):
    from distributed import as_completed

    futures = client.map(_chunk_task, todo, path=str(path), config=config.to_dict(),
                         backend=backend, pure=False)
    results = []
    for future in as_completed(futures):
        results.append(future.result())
        bar.update(1)
    return results


def generate_dataset(config: DatasetConfig, path, backend: str = "auto", client=None,
                     progress: bool = True, overwrite: bool = False) -> Dataset:
    """Generate (or resume) the dataset `config` into a Zarr store at `path`; return it opened.

    backend: "numpy", "julia" or "auto" for the physics (resolved once, recorded; a resume must
    use the same one). client: a dask.distributed Client to map the chunk function over its
    workers (each writes its own chunks; `path` must be visible to them), or None for this
    process. An existing incomplete store with the same configuration is resumed: only the
    chunks not yet marked done are computed, with the same numbers. A complete one is just
    opened. overwrite=True deletes an existing ligandml store first. Timings [s] go to the
    store's attributes: physics, augmentation and writing summed over the chunks run, and wall.
    """
    from tqdm.auto import tqdm

    if not isinstance(config, DatasetConfig):
        raise ValueError(f"config must be a DatasetConfig, got {type(config).__name__}")
    config.validate()
    path = Path(path)
    resolved = resolve_backend(backend)
    t_start = time.perf_counter()
    group = prepare_store(path, config, resolved, overwrite)
    done = _verified_done(group, path)
    if done is None:  # complete, and verify_store just read every chunk
        return open_dataset(path, verify=False)
    add_observable_arrays(group, config)
    todo = [int(c) for c in np.flatnonzero(~done)]
    with tqdm(total=len(todo), disable=not progress, unit="chunk",
              desc=f"dataset {path.name}") as bar:
        if client is None:
            results = _run_local(group, config, todo, resolved, bar)
        else:
            results = _run_dask(client, path.resolve(), config, todo, resolved, bar)
    timings = {key: float(sum(r[key] for r in results))
               for key in ("physics_s", "augmentation_s", "writing_s")}
    timings.update({"chunks_run": len(todo), "chunks_resumed_from": int(done.sum()),
                    "workers": "local" if client is None else len(client.scheduler_info()["workers"])})
    timings["wall_s"] = time.perf_counter() - t_start
    set_observable_normalization(group, config)
    finalize(group, config, timings)
    # every chunk was verified above or hashed as written: a second full read would add nothing
    return open_dataset(path, verify=False)
