"""The multi-observable part of a dataset store (config.observables set), beside store.py's layout.

`curves` (N, L) holds every observable of a sample concatenated along the columns, in config
order; `T` (L,) holds each column's x value (temperature [K] for chi, field [T] for M). Added here:

    noise_level          (N, n_obs)        float64, relative noise level of each curve (0: clean)
    chunk_obs_train_min/max (n_chunks, n_obs) float64, per-observable min/max of a chunk's
                                           training rows (written before the chunk's done marker)

Root attributes added: "observables" = {name: {kind, direction, grid, field | temperature,
start, stop, unit, grid_unit}} (the column index: observable `name` is curves[:, start:stop]),
and, once complete, "observable_normalization" = {name: {"min", "max", "unit"}}: the min-max
normalisation of each observable over the training split, in its stored units.
"""
from __future__ import annotations

import numpy as np

from .chunks import ChunkData
from .config import DatasetConfig
from .observables import UNITS, observable_index

ROW_ARRAYS = ("noise_level",)


def stored_index(config: DatasetConfig) -> dict:
    """The "observables" attribute: observable_index with each observable's stored unit."""
    index = observable_index(config.observables)
    for entry in index.values():
        entry["unit"] = UNITS[config.quantity if entry["kind"] == "chi" else "M"]
    return index


def add_observable_arrays(group, config: DatasetConfig) -> None:
    """Create the multi-observable arrays and index of a new store (idempotent: a resumed store
    keeps what it has)."""
    if config.observables is None or "noise_level" in group:
        return
    from .store import _compressors

    n_obs = len(config.observables)
    rows = config.chunk_sets * config.curves_per_set
    group.create_array("noise_level", shape=(config.n_curves, n_obs), chunks=(rows, n_obs),
                       dtype="float64", compressors=_compressors(), fill_value=np.nan)
    for name in ("chunk_obs_train_min", "chunk_obs_train_max"):
        group.create_array(name, shape=(config.n_chunks, n_obs), chunks=(1, n_obs),
                           dtype="float64", compressors=None, fill_value=np.nan)
    group.attrs["observables"] = stored_index(config)


def write_observable_rows(group, data: ChunkData) -> None:
    """Store a chunk's noise levels and per-observable training min/max (before store.write_chunk,
    which writes the done marker last)."""
    if data.noise_level is None:
        return
    r0, r1 = data.rows
    group["noise_level"][r0:r1] = data.noise_level
    group["chunk_obs_train_min"][data.chunk] = data.observable_train_min
    group["chunk_obs_train_max"][data.chunk] = data.observable_train_max


def set_observable_normalization(group, config: DatasetConfig) -> None:
    """Write "observable_normalization" {name: {min, max, unit}} from the per-chunk min/max."""
    if config.observables is None:
        return
    lo = np.min(group["chunk_obs_train_min"][:], axis=0)
    hi = np.max(group["chunk_obs_train_max"][:], axis=0)
    index = stored_index(config)
    group.attrs["observable_normalization"] = {
        name: {"min": float(a), "max": float(b), "unit": index[name]["unit"]}
        for name, a, b in zip(index, lo, hi)}


def observable_curves(dataset, name: str) -> np.ndarray:
    """(N, len(grid)) curves of observable `name` of a Dataset (stored units, see its index)."""
    index = dataset.attrs.get("observables")
    if not index:
        raise ValueError(f"{dataset.path} has no observables index (a single-curve dataset)")
    if name not in index:
        raise ValueError(f"no observable {name!r} in {dataset.path}; known: {list(index)}")
    return dataset.curves[:, index[name]["start"]:index[name]["stop"]]


def noise_levels(dataset) -> np.ndarray:
    """(N, n_obs) relative noise level of each curve of a multi-observable Dataset (0: clean)."""
    if "noise_level" not in dataset._group:
        raise ValueError(f"{dataset.path} has no noise levels (a single-curve dataset)")
    return dataset.array("noise_level")[:]


def normalize_observables(dataset, curves: np.ndarray) -> np.ndarray:
    """Min-max normalise concatenated rows (n, L) observable by observable with the stored
    per-observable training min/max: (x - min) / (max - min), no clipping."""
    norm, index = dataset.attrs["observable_normalization"], dataset.attrs["observables"]
    out = np.array(curves, dtype=float, copy=True)
    for name, entry in index.items():
        lo, hi = norm[name]["min"], norm[name]["max"]
        out[..., entry["start"]:entry["stop"]] = (out[..., entry["start"]:entry["stop"]] - lo) / (hi - lo)
    return out
