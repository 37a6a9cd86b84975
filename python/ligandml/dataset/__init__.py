"""Augmented training datasets: configuration, chunked generation, Zarr storage, reading back.

A dataset is n_sets parameter sets drawn in a box (D, E or any Stevens subset), each giving one
clean powder curve (ligandml.powder_susceptibility, computed once per set) plus `copies`
augmented copies carrying experimental errors (ligandml.augmentation: s_m clean + chi_dia, no
second diagonalisation). Everything is stored in physical units (chi: emu/mol, chiT: emu K/mol).

    config     DatasetConfig: what defines a dataset, and its validation; presets "er-de", "er-d3d"
    priors     the uniform box and the scale-aware box (W / max|eig(O_k^q)|)
    observables what a multi-observable sample holds (chi(T), M(H); powder or single crystal),
               its clean simulation and its errors (chi_dia H / 5585 on M, log-uniform noise levels)
    observable_store  the multi-observable arrays and index of a store, per-observable normalisation
    chunks     random streams, parameter draws, the split mask, compute_chunk (pure numbers)
    store      the Zarr layout, open_store (the one open-and-check), write, finalise, status
    generate   generate_dataset: chunks in this process or over a dask.distributed cluster
    reader     Dataset, open_dataset, summary
    (the overview figure, plot_dataset, lives in ligandml.plots and is re-exported here)
"""
from __future__ import annotations

from .chunks import (STREAM_ERRORS, STREAM_NOISE, STREAM_NOISE_LEVELS, STREAM_PARAMS,
                     STREAM_SPLIT, ChunkData, compute_chunk, compute_observables_chunk,
                     draw_parameters, test_set_mask)
from .config import (PRESETS, QUANTITIES, SAMPLINGS, T_SPACINGS, DatasetConfig,
                     er_d3d_observables)
from .observable_store import noise_levels, normalize_observables, observable_curves
from .observables import (chi_observable, diamagnetic_moment, draw_noise_levels,
                          magnetization_observable)
from .priors import PRIORS, scale_aware_box, scale_aware_half_width
from .generate import generate_chunk, generate_dataset
from .reader import Dataset, DatasetSplit, open_dataset, summary
from .store import (FORMAT, DamagedDatasetError, IncompleteDatasetError, VerifyReport, open_store,
                    store_status, verify_store, write_chunk)

__all__ = [
    # general (multi-observable) datasets
    "PRESETS", "PRIORS", "STREAM_NOISE_LEVELS", "chi_observable", "compute_observables_chunk",
    "diamagnetic_moment", "draw_noise_levels", "er_d3d_observables", "magnetization_observable",
    "noise_levels", "normalize_observables", "observable_curves", "scale_aware_box",
    "scale_aware_half_width",
    # core
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
