"""Augmented training datasets: configuration, chunked generation, Zarr storage, reading back.

A dataset is n_sets parameter sets drawn in a box (D, E or any Stevens subset), each giving one
clean powder curve (ligandml.powder_susceptibility, computed once per set) plus `copies`
augmented copies carrying experimental errors (ligandml.augmentation: s_m clean + chi_dia, no
second diagonalisation). Everything is stored in physical units (chi: emu/mol, chiT: emu K/mol).

Work is cut into chunks of `chunk_sets` parameter sets. Chunk c draws its parameters and errors
from numpy Generators seeded by (seed, stream, c) only, so a chunk's numbers do not depend on
which process computes it or in which order: that is what makes resuming an interrupted run and
mapping the chunk function over a dask.distributed cluster give exactly the single-process bytes.

Store layout (Zarr v3 group, rows = curves, set-major: row = set_index * (copies + 1) + j,
j = 0 the clean curve, j >= 1 its augmented copies; each storage chunk holds one block of
`chunk_sets` sets with all their copies):

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

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass, field as dc_field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from . import checks
from .augmentation import SIGMA_M_MAX, augment, draw_errors, draw_noise_factors
from .backends import resolve_backend
from .constants import kelvin_per
from .normalization import MinMaxNormalizer
from .parameters import parse_parameter_name, to_stevens_batch

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

FORMAT = "ligandml-dataset/1"
QUANTITIES = ("chi", "chiT")
SAMPLINGS = ("uniform", "sobol")
T_SPACINGS = ("geometric", "linear")
# independent random streams, each keyed further by the chunk index
STREAM_PARAMS, STREAM_ERRORS, STREAM_NOISE, STREAM_SPLIT = 0, 1, 2, 3


class IncompleteDatasetError(RuntimeError):
    """The store exists but not every chunk has been written (an interrupted run)."""


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------

def _default_params() -> dict:
    return {"D": (-10.0, 10.0), "E": (-20.0 / 3.0, 20.0 / 3.0)}


@dataclass
class DatasetConfig:
    """Everything that defines a dataset; defaults are the Er3+ D, E benchmark task of DESIGN.md
    with sigma_dia = 0.002 emu/mol.

    ion: lanthanide name. params: name -> (low, high) sampling range in `unit` ("K", "meV",
    "cm-1"); names "D", "E" or Stevens "B20", "B4-3", ... sampling: "uniform" (independent
    uniform draws) or "sobol" (one scrambled Sobol' sequence over the whole box). seed: int >= 0.
    n_sets: parameter sets. Temperatures [K]: n_T points from T_min to T_max, "geometric" or
    "linear" spacing, or an explicit increasing list T_values (then T_min/T_max/n_T are
    ignored). field: None (exact zero-field chi) or the measuring field [T]. quantity: stored
    curves "chi" [emu/mol] or "chiT" [emu K/mol]. copies: augmented copies per clean curve.
    sigma_dia [emu/mol], sigma_m (dimensionless), noise_rel (relative per-point noise):
    augmentation widths. test_fraction: share of parameter SETS put in the test split.
    chunk_sets: parameter sets per storage chunk (part of the random streams: changing it
    changes the numbers). lebedev_order: orientation grid for a finite field.
    """

    ion: str = "Er3+"
    params: dict = dc_field(default_factory=_default_params)
    unit: str = "K"
    sampling: str = "uniform"
    seed: int = 0
    n_sets: int = 57000
    T_min: float = 2.0
    T_max: float = 300.0
    n_T: int = 128
    T_spacing: str = "geometric"
    T_values: tuple | None = None
    field: float | None = None
    quantity: str = "chi"
    copies: int = 10
    sigma_dia: float = 0.002
    sigma_m: float = 0.0
    noise_rel: float = 0.0
    test_fraction: float = 0.2
    chunk_sets: int = 1000
    lebedev_order: int = 23

    def __post_init__(self):
        self.validate()

    # ---- validation -------------------------------------------------------------------------
    def validate(self) -> "DatasetConfig":
        """Check every field and normalise types; raise ValueError naming the bad field."""
        from .ions import ion as make_ion

        try:
            make_ion(self.ion)
        except ValueError as exc:
            raise ValueError(f"DatasetConfig.ion: {exc}") from None
        try:
            kelvin_per(self.unit)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"DatasetConfig.unit: {exc}") from None
        self.params = self._checked_params(self.params)
        self.sampling = _choice("sampling", self.sampling, SAMPLINGS)
        self.T_spacing = _choice("T_spacing", self.T_spacing, T_SPACINGS)
        self.quantity = _choice("quantity", self.quantity, QUANTITIES)
        self.seed = _integer("seed", self.seed, 0)
        self.n_sets = _integer("n_sets", self.n_sets, 1)
        self.copies = _integer("copies", self.copies, 0)
        self.chunk_sets = _integer("chunk_sets", self.chunk_sets, 1)
        self.lebedev_order = _integer("lebedev_order", self.lebedev_order, 1)
        self.n_T = _integer("n_T", self.n_T, 2)
        self.T_min = _number("T_min", self.T_min)
        self.T_max = _number("T_max", self.T_max)
        if self.T_values is None:
            if self.T_min <= 0:
                raise ValueError(f"DatasetConfig.T_min must be > 0 K, got {self.T_min!r}")
            if self.T_max <= self.T_min:
                raise ValueError(f"DatasetConfig.T_max ({self.T_max!r} K) must be greater than "
                                 f"T_min ({self.T_min!r} K)")
        else:
            try:
                T = checks.temperatures(self.T_values, "DatasetConfig.T_values")
            except ValueError as exc:
                raise ValueError(str(exc)) from None
            if T.size < 2 or np.any(np.diff(T) <= 0):
                raise ValueError("DatasetConfig.T_values must hold at least 2 strictly increasing "
                                 "temperatures [K]")
            self.T_values = tuple(float(t) for t in T)
        try:
            self.field = checks.field(self.field, "DatasetConfig.field")
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        self.sigma_dia = _sigma("sigma_dia", self.sigma_dia)
        self.sigma_m = _sigma("sigma_m", self.sigma_m, SIGMA_M_MAX)
        self.noise_rel = _sigma("noise_rel", self.noise_rel)
        self.test_fraction = _number("test_fraction", self.test_fraction)
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"DatasetConfig.test_fraction must be in [0, 1), got {self.test_fraction!r}")
        if self.n_sets - self.n_test_sets < 1:
            raise ValueError(f"DatasetConfig.test_fraction={self.test_fraction} leaves no training "
                             f"set out of n_sets={self.n_sets}")
        return self

    @staticmethod
    def _checked_params(params) -> dict:
        if not isinstance(params, dict) or not params:
            raise ValueError("DatasetConfig.params must be a non-empty mapping name -> (low, high), "
                             "e.g. {'D': (-10, 10), 'E': (-6.67, 6.67)}")
        out = {}
        for name, rng in params.items():
            name = str(name)
            try:
                parse_parameter_name(name)
            except ValueError as exc:
                raise ValueError(f"DatasetConfig.params: {exc}") from None
            try:
                low, high = (float(v) for v in rng)
            except (TypeError, ValueError):
                raise ValueError(f"DatasetConfig.params[{name!r}] must be a (low, high) pair of "
                                 f"numbers, got {rng!r}") from None
            if not (np.isfinite(low) and np.isfinite(high)):
                raise ValueError(f"DatasetConfig.params[{name!r}] must be finite, got ({low}, {high})")
            if not high > low:
                raise ValueError(f"DatasetConfig.params[{name!r}]: empty or inverted range "
                                 f"(low={low}, high={high}); need low < high")
            out[name] = (low, high)
        try:  # catches "D" together with "B20", or a term given twice
            to_stevens_batch({n: lo for n, (lo, _) in out.items()})
        except ValueError as exc:
            raise ValueError(f"DatasetConfig.params: {exc}") from None
        return out

    # ---- derived quantities -----------------------------------------------------------------
    def temperatures(self) -> np.ndarray:
        """The temperature grid [K], shape (n_T,) (or the explicit T_values)."""
        if self.T_values is not None:
            return np.asarray(self.T_values, dtype=float)
        if self.T_spacing == "geometric":
            return np.geomspace(self.T_min, self.T_max, self.n_T)
        return np.linspace(self.T_min, self.T_max, self.n_T)

    @property
    def param_names(self) -> list[str]:
        """The sampled parameter names, in storage order."""
        return list(self.params)

    @property
    def n_test_sets(self) -> int:
        """Parameter sets in the test split: round(test_fraction * n_sets)."""
        return int(round(self.test_fraction * self.n_sets))

    @property
    def curves_per_set(self) -> int:
        """One clean curve plus `copies` augmented ones."""
        return self.copies + 1

    @property
    def n_curves(self) -> int:
        """Total number of curves, n_sets * (copies + 1)."""
        return self.n_sets * self.curves_per_set

    @property
    def n_chunks(self) -> int:
        """Storage / work chunks of chunk_sets parameter sets each (the last may be shorter)."""
        return -(-self.n_sets // self.chunk_sets)

    def chunk_sets_range(self, chunk: int) -> tuple[int, int]:
        """[first, last) parameter-set indices of chunk `chunk`."""
        if not 0 <= chunk < self.n_chunks:
            raise ValueError(f"chunk index {chunk} outside 0..{self.n_chunks - 1}")
        s0 = chunk * self.chunk_sets
        return s0, min(self.n_sets, s0 + self.chunk_sets)

    # ---- (de)serialisation ------------------------------------------------------------------
    def replace(self, **overrides) -> "DatasetConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict:
        """Plain JSON/TOML-friendly dict (ranges as [low, high] lists)."""
        d = dataclasses.asdict(self)
        d["params"] = {k: [float(lo), float(hi)] for k, (lo, hi) in self.params.items()}
        d["T_values"] = None if self.T_values is None else list(self.T_values)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DatasetConfig":
        """Build from a dict such as to_dict() gives; unknown keys are a ValueError."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"DatasetConfig: unknown field(s) {unknown}; known: {sorted(known)}")
        d = dict(d)
        if "params" in d and isinstance(d["params"], dict):
            d["params"] = {k: tuple(v) if isinstance(v, (list, tuple)) else v
                           for k, v in d["params"].items()}
        return cls(**d)

    def to_toml(self, path) -> None:
        """Write the configuration as TOML (fields that are None are left out)."""
        import tomli_w

        d = {k: v for k, v in self.to_dict().items() if v is not None}
        Path(path).write_text(tomli_w.dumps(d))

    @classmethod
    def from_toml(cls, path, **overrides) -> "DatasetConfig":
        """Read a TOML file written by to_toml (or by hand); `overrides` replace its fields."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"configuration file not found: {path}")
        try:
            d = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
        d.update(overrides)
        return cls.from_dict(d)


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"DatasetConfig.{name} must be one of {allowed}, got {value!r}")
    return value


def _integer(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"DatasetConfig.{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"DatasetConfig.{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _number(name, value):
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"DatasetConfig.{name} must be a number, got {value!r}") from None
    if not np.isfinite(out):
        raise ValueError(f"DatasetConfig.{name} must be finite, got {value!r}")
    return out


def _sigma(name, value, upper=None):
    out = _number(name, value)
    if out < 0:
        raise ValueError(f"DatasetConfig.{name} must be >= 0, got {value!r}")
    if upper is not None and out >= upper:
        raise ValueError(f"DatasetConfig.{name} must be < {upper}, got {value!r}")
    return out


# --------------------------------------------------------------------------------------------
# the chunk function: pure numbers, identical in any process
# --------------------------------------------------------------------------------------------

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
    from .sweeps import powder_susceptibility

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


def write_chunk(group, data: ChunkData) -> dict:
    """Store one chunk's rows, its training min/max, then its done marker (last, so a crash
    mid-write leaves the chunk to be redone). Returns the timings with writing_s added."""
    t0 = time.perf_counter()
    r0, r1 = data.rows
    for name in ("curves", "parameters", "chi_dia", "s_m", "set_index", "clean", "test"):
        group[name][r0:r1] = getattr(data, name)
    train = data.curves[~data.test]
    group["chunk_train_min"][data.chunk] = train.min() if train.size else np.inf
    group["chunk_train_max"][data.chunk] = train.max() if train.size else -np.inf
    group["done"][data.chunk] = True
    return {**data.timings, "writing_s": time.perf_counter() - t0}


def generate_chunk(path: str, config: dict, chunk: int, backend: str = "numpy") -> dict:
    """Compute and store chunk `chunk` of the dataset at `path` (the store must exist).

    The unit of work mapped over dask workers; config is DatasetConfig.to_dict(). Returns the
    chunk's timings [s]."""
    import zarr

    cfg = DatasetConfig.from_dict(config)
    group = zarr.open_group(str(path), mode="r+")
    return write_chunk(group, compute_chunk(cfg, chunk, backend))


# --------------------------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------------------------

def _compressors():
    from zarr.codecs import BloscCodec

    # lz4 + byte shuffle: fast (about 1 GB/s here) and byte-for-byte deterministic
    return [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")]


def _create_store(path: Path, config: DatasetConfig, backend: str):
    import zarr

    from . import __version__

    group = zarr.open_group(str(path), mode="w-", zarr_format=3)
    rows = config.chunk_sets * config.curves_per_set
    n, n_T, n_chunks = config.n_curves, config.temperatures().size, config.n_chunks
    comp = _compressors()
    group.create_array("T", shape=(n_T,), dtype="float64", compressors=None)[:] = config.temperatures()
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


def _same_config(a: dict, b: dict) -> list[str]:
    canon = lambda d: json.loads(json.dumps(d))  # tuples -> lists, like the stored attrs
    a, b = canon(a), canon(b)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _open_existing(path: Path, config: DatasetConfig, backend: str):
    import zarr

    try:
        group = zarr.open_group(str(path), mode="r+")
    except Exception as exc:  # noqa: BLE001 - anything unreadable is "not a dataset"
        raise ValueError(f"{path} exists and is not a ligandml dataset store ({exc}); "
                         "choose another path") from None
    if group.attrs.get("format") != FORMAT:
        raise ValueError(f"{path} exists and is not a ligandml dataset store; choose another path")
    differ = _same_config(group.attrs["config"], config.to_dict())
    if differ:
        raise ValueError(f"the store at {path} was generated with a different configuration "
                         f"(fields {differ} differ); use another path or overwrite=True")
    if not group.attrs.get("complete") and group.attrs.get("backend") != backend:
        raise ValueError(f"the store at {path} was started with backend "
                         f"{group.attrs.get('backend')!r}; resume it with that backend, not {backend!r}")
    return group


def _prepare_store(path: Path, config: DatasetConfig, backend: str, overwrite: bool):
    if path.exists() and overwrite:
        import zarr

        try:
            fmt = zarr.open_group(str(path), mode="r").attrs.get("format")
        except Exception:  # noqa: BLE001
            fmt = None
        if fmt != FORMAT:
            raise ValueError(f"refusing to overwrite {path}: it is not a ligandml dataset store")
        shutil.rmtree(path)
    if path.exists():
        return _open_existing(path, config, backend)
    return _create_store(path, config, backend)


def _run_local(path, config, todo, backend, bar):
    """Compute the chunks in order in this process; each chunk is written by one background
    thread while the next one is computed (compression and file I/O release the GIL, as does
    the diagonalisation). At most two chunks are held in memory."""
    import zarr
    from concurrent.futures import ThreadPoolExecutor

    group = zarr.open_group(str(path), mode="r+")
    results, pending = [], None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ligandml-write") as writer:
        try:
            for chunk in todo:
                data = compute_chunk(config, chunk, backend)
                if pending is not None:
                    previous, pending = pending, None
                    results.append(previous.result())
                    bar.update(1)
                pending = writer.submit(write_chunk, group, data)
        finally:  # an interruption still finishes (and marks) the chunk being written
            if pending is not None:
                results.append(pending.result())
                bar.update(1)
    return results


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


def _finalize(group, config: DatasetConfig, timings: dict) -> None:
    done = group["done"][:]
    if not done.all():
        missing = int(np.count_nonzero(~done))
        raise IncompleteDatasetError(f"{missing} chunk(s) still missing after the run")
    lo = float(np.min(group["chunk_train_min"][:]))
    hi = float(np.max(group["chunk_train_max"][:]))
    normalizer = MinMaxNormalizer(lo, hi, quantity=config.quantity)
    group.attrs.update({"normalization": normalizer.to_dict(), "timings": timings,
                        "complete": True})


def generate_dataset(config: DatasetConfig, path, backend: str = "auto", client=None,
                     progress: bool = True, overwrite: bool = False) -> "Dataset":
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
    group = _prepare_store(path, config, resolved, overwrite)
    if group.attrs.get("complete"):
        return open_dataset(path)
    done = group["done"][:]
    todo = [int(c) for c in np.flatnonzero(~done)]
    with tqdm(total=len(todo), disable=not progress, unit="chunk",
              desc=f"dataset {path.name}") as bar:
        if client is None:
            results = _run_local(path, config, todo, resolved, bar)
        else:
            results = _run_dask(client, path.resolve(), config, todo, resolved, bar)
    timings = {key: float(sum(r[key] for r in results))
               for key in ("physics_s", "augmentation_s", "writing_s")}
    timings.update({"chunks_run": len(todo), "chunks_resumed_from": int(done.sum()),
                    "workers": "local" if client is None else len(client.scheduler_info()["workers"])})
    timings["wall_s"] = time.perf_counter() - t_start
    _finalize(group, config, timings)
    return open_dataset(path)


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------

@dataclass
class DatasetSplit:
    """The curves of one split ("train" or "test") of a Dataset, as index array and views."""

    name: str
    index: np.ndarray        # row indices into the full dataset
    curves: np.ndarray       # (n, n_T) physical units
    params: object           # pandas DataFrame, rows matching `curves`
    clean: np.ndarray        # (n,) bool

    def __len__(self) -> int:
        return self.index.size


class Dataset:
    """A generated dataset, read from its Zarr store. Arrays are loaded on first access.

    Attributes: config (DatasetConfig), T (n_T,) [K], curves (N, n_T) float64 in the stored
    quantity's physical units (representation "chi" emu/mol or "chiT" emu K/mol), params (pandas
    DataFrame, one row per curve: the parameter columns in config.unit, chi_dia [emu/mol], s_m,
    set_index), clean (N,) bool, split (N,) "train"/"test" (by parameter set: all copies of a
    set are on the same side), normalizer (MinMaxNormalizer fitted on the training split),
    param_names, train / test (DatasetSplit), attrs (the store's attributes).
    """

    def __init__(self, path):
        import zarr

        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"no dataset at {self.path}")
        try:
            self._group = zarr.open_group(str(self.path), mode="r")
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"{self.path} is not a ligandml dataset store ({exc})") from None
        self.attrs = dict(self._group.attrs)
        if self.attrs.get("format") != FORMAT:
            raise ValueError(f"{self.path} is not a ligandml dataset store "
                             f"(format {self.attrs.get('format')!r}, expected {FORMAT!r})")
        if not self.attrs.get("complete"):
            done = self._group["done"][:]
            raise IncompleteDatasetError(
                f"incomplete dataset at {self.path}: {int(done.sum())} of {done.size} chunks "
                "written; rerun generate (`ligandml dataset generate` or generate_dataset with "
                "the same configuration) to resume")
        self.config = DatasetConfig.from_dict(self.attrs["config"])
        self.T = self._group["T"][:]
        self.representation = self.attrs["representation"]
        self.normalizer = MinMaxNormalizer.from_dict(self.attrs["normalization"])

    # ---- metadata ---------------------------------------------------------------------------
    @property
    def param_names(self) -> list[str]:
        """Names of the sampled parameters (columns of params before chi_dia, s_m, set_index)."""
        return list(self._group["parameters"].attrs["names"])

    @property
    def backend(self) -> str:
        return self.attrs["backend"]

    @property
    def version(self) -> str:
        """ligandml version that wrote the store."""
        return self.attrs["ligandml_version"]

    @property
    def timings(self) -> dict:
        return dict(self.attrs.get("timings") or {})

    @property
    def n_curves(self) -> int:
        return int(self._group["curves"].shape[0])

    def __len__(self) -> int:
        return self.n_curves

    def array(self, name: str):
        """The underlying zarr array `name` (for out-of-core reads of large stores)."""
        return self._group[name]

    # ---- data (loaded on first access) ------------------------------------------------------
    @cached_property
    def curves(self) -> np.ndarray:
        return self._group["curves"][:]

    @cached_property
    def clean(self) -> np.ndarray:
        return self._group["clean"][:]

    @cached_property
    def set_index(self) -> np.ndarray:
        return self._group["set_index"][:]

    @cached_property
    def is_test(self) -> np.ndarray:
        """Boolean (N,): True for test-split curves."""
        return self._group["test"][:]

    @cached_property
    def split(self) -> np.ndarray:
        """(N,) array of "train" / "test", split by parameter set."""
        return np.where(self.is_test, "test", "train")

    @cached_property
    def params(self):
        import pandas as pd

        values = self._group["parameters"][:]
        frame = pd.DataFrame(values, columns=self.param_names)
        frame["chi_dia"] = self._group["chi_dia"][:]
        frame["s_m"] = self._group["s_m"][:]
        frame["set_index"] = self.set_index
        return frame

    @property
    def train_index(self) -> np.ndarray:
        return np.flatnonzero(~self.is_test)

    @property
    def test_index(self) -> np.ndarray:
        return np.flatnonzero(self.is_test)

    def subset(self, name: str) -> DatasetSplit:
        """The "train" or "test" split as a DatasetSplit (copies of the arrays)."""
        if name not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {name!r}")
        index = self.test_index if name == "test" else self.train_index
        return DatasetSplit(name, index, self.curves[index],
                            self.params.iloc[index].reset_index(drop=True), self.clean[index])

    @property
    def train(self) -> DatasetSplit:
        return self.subset("train")

    @property
    def test(self) -> DatasetSplit:
        return self.subset("test")

    def normalized_curves(self, index=None) -> np.ndarray:
        """normalizer.transform of the curves (all, or rows `index`)."""
        curves = self.curves if index is None else self.curves[index]
        return self.normalizer.transform(curves)

    def __repr__(self) -> str:
        c = self.config
        return (f"Dataset({str(self.path)!r}: {self.n_curves} curves = {c.n_sets} sets x "
                f"{c.curves_per_set}, {c.ion} {self.param_names}, {self.representation} on "
                f"{self.T.size} T, sigma_dia={c.sigma_dia}, sigma_m={c.sigma_m})")


def open_dataset(path) -> Dataset:
    """Open a complete dataset store. FileNotFoundError if absent, ValueError if not a ligandml
    dataset, IncompleteDatasetError (a RuntimeError) if a run was interrupted."""
    return Dataset(path)


# --------------------------------------------------------------------------------------------
# inspection: status of a (possibly incomplete) store, summary, figure
# --------------------------------------------------------------------------------------------

def store_status(path) -> dict:
    """Attributes of a dataset store plus chunks_done / n_chunks, without requiring it to be
    complete (for `ligandml dataset info` on an interrupted run)."""
    import zarr

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no dataset at {path}")
    try:
        group = zarr.open_group(str(path), mode="r")
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{path} is not a ligandml dataset store ({exc})") from None
    attrs = dict(group.attrs)
    if attrs.get("format") != FORMAT:
        raise ValueError(f"{path} is not a ligandml dataset store")
    done = group["done"][:]
    attrs.update({"chunks_done": int(done.sum()), "n_chunks": int(done.size),
                  "size_bytes": sum(f.stat().st_size for f in path.rglob("*") if f.is_file())})
    return attrs


def summary(dataset: Dataset) -> dict:
    """Numbers that describe a dataset: counts, split, error statistics, curve range."""
    p = dataset.params
    aug = ~dataset.clean
    counts = {"curves": dataset.n_curves, "sets": dataset.config.n_sets,
              "clean": int(dataset.clean.sum()), "augmented": int(aug.sum()),
              "train_curves": int((~dataset.is_test).sum()), "test_curves": int(dataset.is_test.sum()),
              "train_sets": int((~dataset.is_test[dataset.clean]).sum()),
              "test_sets": int(dataset.is_test[dataset.clean].sum())}
    stats = {}
    if aug.any():
        stats = {"chi_dia_mean": float(p["chi_dia"][aug].mean()),
                 "chi_dia_std": float(p["chi_dia"][aug].std()),
                 "s_m_mean": float(p["s_m"][aug].mean()), "s_m_std": float(p["s_m"][aug].std())}
    ranges = {name: [float(p[name].min()), float(p[name].max())] for name in dataset.param_names}
    return {**counts, **stats, "parameter_ranges": ranges}


def plot_dataset(dataset: Dataset, out=None, n_examples: int = 4, max_points: int = 4000):
    """A 2x2 overview figure: sample curves (chiT, clean vs augmented copies), parameter
    coverage (first two parameters, train vs test), histograms of chi_dia and s_m of the
    augmented curves. Saved to `out` (PNG, PDF...) when given; returns the matplotlib Figure."""
    import matplotlib

    if out is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    c = dataset.config
    per_set, T = c.curves_per_set, dataset.T
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    ax = axes[0, 0]
    curves_arr = dataset.array("curves")
    sets = np.linspace(0, c.n_sets - 1, min(n_examples, c.n_sets)).astype(int)
    names = dataset.param_names
    values = dataset.array("parameters")
    for i, s in enumerate(sets):
        block = curves_arr[s * per_set:(s + 1) * per_set]
        chiT = block if dataset.representation == "chiT" else block * T
        colour = f"C{i}"
        label = ", ".join(f"{n}={v:.2f}" for n, v in zip(names, values[s * per_set]))
        ax.plot(T, chiT[1:].T, color=colour, lw=0.6, alpha=0.45)
        ax.plot(T, chiT[0], color=colour, lw=2.0, label=label + f" {c.unit}")
    ax.set_xscale("log")
    ax.set_xlabel("T (K)")
    ax.set_ylabel(r"$\chi T$ (emu K mol$^{-1}$)")
    ax.set_title(f"clean (thick) and {c.copies} augmented copies (thin)")
    ax.legend(fontsize=7, loc="lower right")

    ax = axes[0, 1]
    clean_rows = np.flatnonzero(dataset.clean)
    pick = clean_rows[np.linspace(0, clean_rows.size - 1, min(max_points, clean_rows.size)).astype(int)]
    params = dataset.params.iloc[pick]
    test = dataset.is_test[pick]
    if len(names) >= 2:
        for mask, lab, col in ((~test, "train", "C0"), (test, "test", "C3")):
            ax.scatter(params[names[0]][mask], params[names[1]][mask], s=3, alpha=0.5,
                       color=col, label=f"{lab} ({int(mask.sum())} shown)")
        ax.set_ylabel(f"{names[1]} ({c.unit})")
        ax.legend(fontsize=8, markerscale=3)
    else:
        ax.hist(params[names[0]], bins=40, color="C0")
        ax.set_ylabel("parameter sets")
    ax.set_xlabel(f"{names[0]} ({c.unit})")
    ax.set_title(f"parameter coverage: {c.n_sets} sets, {c.sampling} sampling")

    aug = ~dataset.clean
    for ax, col, unit, sigma, centre in ((axes[1, 0], "chi_dia", "emu/mol", c.sigma_dia, 0.0),
                                         (axes[1, 1], "s_m", "", c.sigma_m, 1.0)):
        data = dataset.params[col].to_numpy()[aug]
        if data.size and np.ptp(data) > 0:
            ax.hist(data, bins=60, density=True, color="0.6", label=f"{data.size} copies")
            x = np.linspace(data.min(), data.max(), 200)
            ax.plot(x, np.exp(-0.5 * ((x - centre) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi)),
                    color="C3", label=f"N({centre:g}, {sigma:g})")
            ax.legend(fontsize=8)
            ax.set_ylabel("density")
        else:
            ax.text(0.5, 0.5, f"{col} = {centre:g} for every curve\n(sigma = {sigma:g})",
                    ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel(f"{col} ({unit})" if unit else col)
        ax.set_title(f"{col} of the augmented copies")
    fig.suptitle(f"{dataset.path.name}: {c.ion}, {dataset.n_curves} curves "
                 f"({dataset.representation}, {T.size} T from {T[0]:g} to {T[-1]:g} K"
                 + (f", B = {c.field:g} T)" if c.field else ", zero field)"))
    fig.tight_layout()
    if out is not None:
        fig.savefig(out, dpi=110)
    return fig
