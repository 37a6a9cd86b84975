"""The chunk function: random streams, parameter draws, the train/test split, compute_chunk.

Work is cut into chunks of `chunk_sets` parameter sets. Chunk c draws its parameters and errors
from numpy Generators seeded by (seed, stream, c) only, so a chunk's numbers do not depend on
which process computes it or in which order: that is what makes resuming an interrupted run and
mapping the chunk function over a dask.distributed cluster give exactly the single-process bytes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..augmentation import augment, draw_errors, draw_noise_factors
from .config import DatasetConfig

# independent random streams, each keyed further by the chunk index
STREAM_PARAMS, STREAM_ERRORS, STREAM_NOISE, STREAM_SPLIT = 0, 1, 2, 3


def _generator(seed: int, *key: int) -> np.random.Generator:
    """An independent PCG64 stream for (seed, key...)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


@lru_cache(maxsize=8)
def _test_sets(seed: int, n_sets: int, n_test: int) -> np.ndarray:
    mask = np.zeros(n_sets, dtype=bool)
    mask[_generator(seed, STREAM_SPLIT).permutation(n_sets)[:n_test]] = True
    mask.flags.writeable = False
    return mask


def test_set_mask(config: DatasetConfig) -> np.ndarray:
    """Boolean (n_sets,): True for the parameter sets of the test split, exactly
    round(test_fraction * n_sets) of them, chosen by a seeded permutation of the sets."""
    return _test_sets(config.seed, config.n_sets, config.n_test_sets)


def draw_parameters(config: DatasetConfig, chunk: int) -> np.ndarray:
    """Parameter values (n, P) in config.unit for the sets of chunk `chunk`, columns in
    config.param_names order: uniform draws from stream (seed, 0, chunk), or rows
    [first, last) of one scrambled Sobol' sequence seeded by (seed, 0)."""
    s0, s1 = config.chunk_sets_range(chunk)
    lows = np.array([lo for lo, _ in config.params.values()])
    highs = np.array([hi for _, hi in config.params.values()])
    if config.sampling == "uniform":
        rng = _generator(config.seed, STREAM_PARAMS, chunk)
        unit = rng.random((s1 - s0, lows.size))
    else:
        import warnings

        from scipy.stats import qmc

        sobol = qmc.Sobol(lows.size, scramble=True, rng=_generator(config.seed, STREAM_PARAMS))
        if s0:
            sobol.fast_forward(s0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # balance note for n != 2^m
            unit = sobol.random(s1 - s0)
    return lows + (highs - lows) * unit


@dataclass
class ChunkData:
    """The rows of one chunk, ready to store (rows are set-major, clean curve first)."""

    chunk: int
    rows: tuple[int, int]
    curves: np.ndarray      # (n_rows, n_T) stored quantity
    parameters: np.ndarray  # (n_rows, P) in config.unit
    chi_dia: np.ndarray     # (n_rows,) emu/mol
    s_m: np.ndarray         # (n_rows,)
    set_index: np.ndarray   # (n_rows,) int64
    clean: np.ndarray       # (n_rows,) bool
    test: np.ndarray        # (n_rows,) bool
    timings: dict


def compute_chunk(config: DatasetConfig, chunk: int, backend: str = "numpy") -> ChunkData:
    """All curves of chunk `chunk`: clean curves from one powder_susceptibility call on the
    chunk's parameter sets, then `copies` augmented copies of each (cheap transforms).
    backend: "numpy" or "julia" (already resolved)."""
    from ..sweeps import powder_susceptibility

    s0, s1 = config.chunk_sets_range(chunk)
    n, k, T = s1 - s0, config.copies, config.temperatures()
    t0 = time.perf_counter()
    values = draw_parameters(config, chunk)
    chi = powder_susceptibility(config.ion, dict(zip(config.param_names, values.T)), T,
                                field=config.field, unit=config.unit, backend=backend,
                                lebedev_order=config.lebedev_order)
    clean = chi * T if config.quantity == "chiT" else chi
    t1 = time.perf_counter()
    rng = _generator(config.seed, STREAM_ERRORS, chunk)
    chi_dia, s_m = draw_errors(rng, (n, k), config.sigma_dia, config.sigma_m)
    noise = draw_noise_factors(_generator(config.seed, STREAM_NOISE, chunk), (n, k, T.size),
                               config.noise_rel)
    curves = np.empty((n, k + 1, T.size))
    curves[:, 0] = clean
    if k:
        curves[:, 1:] = augment(clean, T, chi_dia, s_m, config.quantity, noise)
    per_set = k + 1
    test_sets = test_set_mask(config)[s0:s1]
    data = ChunkData(
        chunk=chunk, rows=(s0 * per_set, s1 * per_set),
        curves=curves.reshape(n * per_set, T.size),
        parameters=np.repeat(values, per_set, axis=0),
        chi_dia=np.concatenate([np.zeros((n, 1)), chi_dia], axis=1).ravel(),
        s_m=np.concatenate([np.ones((n, 1)), s_m], axis=1).ravel(),
        set_index=np.repeat(np.arange(s0, s1, dtype=np.int64), per_set),
        clean=np.tile(np.arange(per_set) == 0, n),
        test=np.repeat(test_sets, per_set),
        timings={})
    data.timings = {"physics_s": t1 - t0, "augmentation_s": time.perf_counter() - t1}
    return data
