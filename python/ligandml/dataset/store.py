"""The Zarr store of a dataset: layout, the one open-and-check function, writing, finalising, status.

Layout (Zarr v3 group, rows = curves, set-major: row = set_index * (copies + 1) + j, j = 0 the
clean curve, j >= 1 its augmented copies; each storage chunk holds one block of `chunk_sets`
sets with all their copies):

    T              (n_T,)          temperatures [K]
    curves         (N, n_T)        float64, stored quantity in physical units
    parameters     (N, P)          float64, sampled parameters in `unit` (attrs["names"])
    chi_dia        (N,)            float64 [emu/mol], 0 for clean curves
    s_m            (N,)            float64, 1 for clean curves
    set_index      (N,)            int64, the parameter set a curve comes from
    clean          (N,)            bool
    test           (N,)            bool, the split (by parameter set: copies never straddle)
    done           (n_chunks,)     bool, written after a chunk's data: what a resume skips
    chunk_train_min/max (n_chunks,) float64, streaming min/max of the chunk's training curves

Root attributes: format, config, seed, ligandml version, backend, timings, normalisation and the
`complete` flag (set only after every chunk is written).
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from ..normalization import MinMaxNormalizer
from .chunks import ChunkData
from .config import DatasetConfig

FORMAT = "ligandml-dataset/1"
#: the per-curve arrays, in the order a chunk writes them
ROW_ARRAYS = ("curves", "parameters", "chi_dia", "s_m", "set_index", "clean", "test")


class IncompleteDatasetError(RuntimeError):
    """The store exists but not every chunk has been written (an interrupted run)."""


def open_store(path, mode: str = "r", complete: bool = False):
    """The Zarr group of the ligandml dataset store at `path`, opened with `mode` ("r" or "r+").

    FileNotFoundError if nothing is there; ValueError if it is not a ligandml dataset store
    (unreadable, or another format); with `complete`, IncompleteDatasetError (a RuntimeError)
    when not every chunk has been written. Every reader and writer of a store opens it here.
    """
    import zarr

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no dataset at {path}")
    try:
        group = zarr.open_group(str(path), mode=mode)
    except Exception as exc:  # noqa: BLE001 - anything unreadable is "not a dataset"
        raise ValueError(f"{path} is not a ligandml dataset store ({exc})") from None
    found = group.attrs.get("format")
    if found != FORMAT:
        raise ValueError(f"{path} is not a ligandml dataset store (format {found!r}, expected {FORMAT!r})")
    if complete and not group.attrs.get("complete"):
        done = group["done"][:]
        raise IncompleteDatasetError(
            f"incomplete dataset at {path}: {int(done.sum())} of {done.size} chunks written; rerun "
            "generate (`ligandml dataset generate` or generate_dataset with the same configuration) "
            "to resume")
    return group


def _compressors():
    from zarr.codecs import BloscCodec

    # lz4 + byte shuffle: fast (about 1 GB/s here) and byte-for-byte deterministic
    return [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")]


def create_store(path: Path, config: DatasetConfig, backend: str):
    """Create the empty store of `config` at `path` (which must not exist); return its group.
    `backend` ("numpy" or "julia") is recorded: a resume must use the same one."""
    import zarr

    from .. import __version__

    group = zarr.open_group(str(path), mode="w-", zarr_format=3)
    rows = config.chunk_sets * config.curves_per_set
    n, n_T, n_chunks = config.n_curves, config.columns().size, config.n_chunks
    comp = _compressors()
    group.create_array("T", shape=(n_T,), dtype="float64", compressors=None)[:] = config.columns()
    group.create_array("curves", shape=(n, n_T), chunks=(rows, n_T), dtype="float64",
                       compressors=comp, fill_value=np.nan)
    par = group.create_array("parameters", shape=(n, len(config.params)),
                             chunks=(rows, len(config.params)), dtype="float64",
                             compressors=comp, fill_value=np.nan)
    par.attrs["names"] = config.param_names
    par.attrs["unit"] = config.unit
    for name, dtype, fill in (("chi_dia", "float64", np.nan), ("s_m", "float64", np.nan),
                              ("set_index", "int64", -1), ("clean", "bool", False),
                              ("test", "bool", False)):
        group.create_array(name, shape=(n,), chunks=(rows,), dtype=dtype, compressors=comp,
                           fill_value=fill)
    group.create_array("done", shape=(n_chunks,), chunks=(1,), dtype="bool", compressors=None,
                       fill_value=False)
    for name in ("chunk_train_min", "chunk_train_max"):
        group.create_array(name, shape=(n_chunks,), chunks=(1,), dtype="float64",
                           compressors=None, fill_value=np.nan)
    group.attrs.update({
        "format": FORMAT, "config": config.to_dict(), "seed": config.seed,
        "ligandml_version": __version__, "backend": backend, "representation": config.quantity,
        "n_chunks": n_chunks, "complete": False, "timings": None, "normalization": None,
    })
    return group


def _differing_fields(a: dict, b: dict) -> list[str]:
    canon = lambda d: json.loads(json.dumps(d))  # tuples -> lists, like the stored attrs
    a, b = canon(a), canon(b)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def prepare_store(path: Path, config: DatasetConfig, backend: str, overwrite: bool):
    """The group to generate `config` into: a new store, or the existing one at `path` when it
    holds the same configuration (a resume, or a complete store). overwrite=True first deletes
    an existing ligandml store (and refuses anything else). ValueError when the existing store
    has another configuration, or is incomplete and was started with another backend."""
    if path.exists():
        try:
            group = open_store(path, mode="r" if overwrite else "r+")
        except ValueError as exc:
            if overwrite:
                raise ValueError(f"refusing to overwrite {path}: {exc}") from None
            raise ValueError(f"{exc}; choose another path") from None
        if overwrite:
            shutil.rmtree(path)
            return create_store(path, config, backend)
        differ = _differing_fields(group.attrs["config"], config.to_dict())
        if differ:
            raise ValueError(f"the store at {path} was generated with a different configuration "
                             f"(fields {differ} differ); use another path or overwrite=True")
        if not group.attrs.get("complete") and group.attrs.get("backend") != backend:
            raise ValueError(f"the store at {path} was started with backend "
                             f"{group.attrs.get('backend')!r}; resume it with that backend, not {backend!r}")
        return group
    return create_store(path, config, backend)


def write_chunk(group, data: ChunkData) -> dict:
    """Store one chunk's rows, its training min/max, then its done marker (last, so a crash
    mid-write leaves the chunk to be redone). Returns the timings [s] with writing_s added."""
    t0 = time.perf_counter()
    r0, r1 = data.rows
    for name in ROW_ARRAYS:
        group[name][r0:r1] = getattr(data, name)
    train = data.curves[~data.test]
    group["chunk_train_min"][data.chunk] = train.min() if train.size else np.inf
    group["chunk_train_max"][data.chunk] = train.max() if train.size else -np.inf
    group["done"][data.chunk] = True
    return {**data.timings, "writing_s": time.perf_counter() - t0}


def finalize(group, config: DatasetConfig, timings: dict) -> None:
    """Mark a store complete once every chunk is done: the normalisation (global min/max of the
    training curves, in the stored quantity's units) and the timings [s] go to its attributes.
    IncompleteDatasetError when a chunk is still missing."""
    done = group["done"][:]
    if not done.all():
        missing = int(np.count_nonzero(~done))
        raise IncompleteDatasetError(f"{missing} chunk(s) still missing after the run")
    lo = float(np.min(group["chunk_train_min"][:]))
    hi = float(np.max(group["chunk_train_max"][:]))
    normalizer = MinMaxNormalizer(lo, hi, quantity=config.quantity)
    group.attrs.update({"normalization": normalizer.to_dict(), "timings": timings,
                        "complete": True})


def store_status(path) -> dict:
    """Attributes of a dataset store plus chunks_done / n_chunks and size_bytes, without
    requiring it to be complete (for `ligandml dataset info` on an interrupted run)."""
    path = Path(path)
    group = open_store(path)
    attrs = dict(group.attrs)
    done = group["done"][:]
    attrs.update({"chunks_done": int(done.sum()), "n_chunks": int(done.size),
                  "size_bytes": sum(f.stat().st_size for f in path.rglob("*") if f.is_file())})
    return attrs
