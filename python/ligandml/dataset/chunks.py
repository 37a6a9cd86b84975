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
from ..error_model import chi_to_quantity
from . import observables as obs
from .config import DatasetConfig

# independent random streams, each keyed further by the chunk index
STREAM_PARAMS, STREAM_ERRORS, STREAM_NOISE, STREAM_SPLIT = 0, 1, 2, 3
#: per-curve noise levels of a multi-observable dataset
STREAM_NOISE_LEVELS = 4


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
    [first, last) of one scrambled Sobol' sequence seeded by (seed, 0); with prior="structure"
    the structure prior's draws from stream (seed, 0, chunk) (dataset.structure_prior)."""
    s0, s1 = config.chunk_sets_range(chunk)
    if config.prior == "structure":
        from .structure_prior import draw_structure_parameters

        return draw_structure_parameters(config.structure, config.ion, config.point_group,
                                         config.param_names, s1 - s0,
                                         _generator(config.seed, STREAM_PARAMS, chunk),
                                         config.prior_width, config.unit)
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
    # multi-observable layout only (config.observables set); None otherwise
    noise_level: np.ndarray | None = None      # (n_rows, n_obs) relative, 0 for clean rows
    observable_train_min: np.ndarray | None = None  # (n_obs,) over the chunk's training rows
    observable_train_max: np.ndarray | None = None


def compute_chunk(config: DatasetConfig, chunk: int, backend: str = "numpy") -> ChunkData:
    """All curves of chunk `chunk`: clean curves from one powder_susceptibility call on the
    chunk's parameter sets, then `copies` augmented copies of each (cheap transforms).
    backend: "numpy" or "julia" (already resolved). With config.observables, every observable
    is simulated and augmented (compute_observables_chunk)."""
    from ..sweeps import powder_susceptibility

    if config.observables is not None:
        return compute_observables_chunk(config, chunk, backend)

    s0, s1 = config.chunk_sets_range(chunk)
    n, k, T = s1 - s0, config.copies, config.temperatures()
    t0 = time.perf_counter()
    values = draw_parameters(config, chunk)
    chi = powder_susceptibility(config.ion, dict(zip(config.param_names, values.T)), T,
                                field=config.field, unit=config.unit, backend=backend,
                                lebedev_order=config.lebedev_order)
    clean = chi_to_quantity(chi, T, config.quantity)
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


def _noise_levels(config: DatasetConfig, chunk: int, shape) -> np.ndarray:
    """Relative noise level of every augmented curve, shape (n, copies, n_obs): log-uniform in
    config.noise_range from stream (seed, 4, chunk), else config.noise_rel everywhere."""
    if config.noise_range is not None:
        rng = _generator(config.seed, STREAM_NOISE_LEVELS, chunk)
        return obs.draw_noise_levels(rng, shape, *config.noise_range)
    return np.full(shape, config.noise_rel)


def compute_observables_chunk(config: DatasetConfig, chunk: int, backend: str = "numpy") -> ChunkData:
    """All samples of chunk `chunk` in the multi-observable layout: each observable's clean
    curves from one batched call (dataset.observables.clean_curves), then `copies` augmented
    samples sharing one chi_dia [emu/mol] and one s_m across their observables, with one
    relative noise level per curve. Rows hold the observables concatenated in config order
    (chi in config.quantity units, M [muB per ion])."""
    s0, s1 = config.chunk_sets_range(chunk)
    n, k = s1 - s0, config.copies
    specs = config.observables
    t0 = time.perf_counter()
    values = draw_parameters(config, chunk)
    params = dict(zip(config.param_names, values.T))
    clean = [obs.clean_curves(o, config.ion, params, config.unit, backend, config.lebedev_order,
                              config.point_group) for o in specs]
    t1 = time.perf_counter()
    chi_dia, s_m = draw_errors(_generator(config.seed, STREAM_ERRORS, chunk), (n, k),
                               config.sigma_dia, config.sigma_m)
    levels = _noise_levels(config, chunk, (n, k, len(specs)))
    width = sum(len(o["grid"]) for o in specs)
    z = None
    if k and np.any(levels > 0):
        z = _generator(config.seed, STREAM_NOISE, chunk).standard_normal((n, k, width))
    per_set = k + 1
    curves = np.empty((n, per_set, width))
    start = 0
    for j, (spec, c) in enumerate(zip(specs, clean)):
        stop = start + c.shape[1]
        block = curves[:, :, start:stop]
        block[:, 0] = c
        if k:
            block[:, 1:] = obs.augment_observable(spec, c, chi_dia, s_m)
            if z is not None:
                block[:, 1:] *= 1.0 + levels[:, :, j, None] * z[:, :, start:stop]
        if spec["kind"] == "chi":
            block[...] = chi_to_quantity(block, np.asarray(spec["grid"]), config.quantity)
        start = stop
    test_sets = test_set_mask(config)[s0:s1]
    test = np.repeat(test_sets, per_set)
    rows = curves.reshape(n * per_set, width)
    data = ChunkData(
        chunk=chunk, rows=(s0 * per_set, s1 * per_set), curves=rows,
        parameters=np.repeat(values, per_set, axis=0),
        chi_dia=np.concatenate([np.zeros((n, 1)), chi_dia], axis=1).ravel(),
        s_m=np.concatenate([np.ones((n, 1)), s_m], axis=1).ravel(),
        set_index=np.repeat(np.arange(s0, s1, dtype=np.int64), per_set),
        clean=np.tile(np.arange(per_set) == 0, n), test=test, timings={},
        noise_level=np.concatenate([np.zeros((n, 1, len(specs))), levels], axis=1)
                      .reshape(n * per_set, len(specs)))
    train = rows[~test]
    bounds = [(train[:, o["start"]:o["stop"]].min(), train[:, o["start"]:o["stop"]].max())
              if train.size else (np.inf, -np.inf)
              for o in obs.observable_index(specs).values()]
    data.observable_train_min = np.array([b[0] for b in bounds])
    data.observable_train_max = np.array([b[1] for b in bounds])
    data.timings = {"physics_s": t1 - t0, "augmentation_s": time.perf_counter() - t1}
    return data
