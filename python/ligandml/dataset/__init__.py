"""Augmented training datasets: configuration, chunked generation, Zarr storage, reading back.

A dataset is n_sets parameter sets drawn in a box (D, E or any Stevens subset), each giving one
clean powder curve (ligandml.powder_susceptibility, computed once per set) plus `copies`
augmented copies carrying experimental errors (ligandml.augmentation: s_m clean + chi_dia, no
second diagonalisation). Everything is stored in physical units (chi: emu/mol, chiT: emu K/mol).

    config     DatasetConfig: what defines a dataset, and its validation
    chunks     random streams, parameter draws, the split mask, compute_chunk (pure numbers)
    store      the Zarr layout, open_store (the one open-and-check), write, finalise, status
    generate   generate_dataset: chunks in this process or over a dask.distributed cluster
    reader     Dataset, open_dataset, summary
    (the overview figure, plot_dataset, lives in ligandml.plots and is re-exported here)
"""
from __future__ import annotations

from .chunks import (STREAM_ERRORS, STREAM_NOISE, STREAM_PARAMS, STREAM_SPLIT, ChunkData,
                     compute_chunk, draw_parameters, test_set_mask)
from .config import QUANTITIES, SAMPLINGS, T_SPACINGS, DatasetConfig
from .generate import generate_chunk, generate_dataset
from .reader import Dataset, DatasetSplit, open_dataset, summary
from .store import (FORMAT, DamagedDatasetError, IncompleteDatasetError, VerifyReport, open_store,
                    store_status, verify_store, write_chunk)

__all__ = [
    "ChunkData", "DamagedDatasetError", "Dataset", "DatasetConfig", "DatasetSplit", "FORMAT",
    "IncompleteDatasetError", "VerifyReport", "verify_store",
    "QUANTITIES", "SAMPLINGS", "STREAM_ERRORS", "STREAM_NOISE", "STREAM_PARAMS", "STREAM_SPLIT",
    "T_SPACINGS", "compute_chunk", "draw_parameters", "generate_chunk", "generate_dataset",
    "open_dataset", "open_store", "plot_dataset", "store_status", "summary", "test_set_mask",
    "write_chunk",
]


def plot_dataset(dataset, out=None, n_examples: int = 4, max_points: int = 4000):
    """The dataset overview figure: see ligandml.plots.plot_dataset (matplotlib loads on first use)."""
    from ..plots import plot_dataset as _plot

    return _plot(dataset, out, n_examples=n_examples, max_points=max_points)
