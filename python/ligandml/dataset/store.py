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
    chunk_sha256   (n_chunks, K, 32) uint8, the sha256 of each of the chunk's K records
                   (CHECKSUMMED: its rows of every per-curve array, then its train min/max),
                   written after the data and before the done marker

Root attributes: format, config, seed, ligandml version, backend, timings, normalisation and the
`complete` flag (set only after every chunk is written); config_sha256 (written at creation: the
attributes that define the dataset) and, once complete, chunk_checksums (one hex digest per chunk)
and attrs_sha256 (every root attribute and the parameter names/unit). verify_store recomputes
all of them from the arrays: nothing in a store is trusted.

A store is created in a temporary folder beside `path` and renamed into place, so a kill during
creation never leaves a half-made store at `path`; two writers racing to create the same store
both end up writing into the one that won (the chunks are deterministic).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..normalization import MinMaxNormalizer
from .chunks import ChunkData
from .config import DatasetConfig

FORMAT = "ligandml-dataset/1"
#: the per-curve arrays, in the order a chunk writes them
ROW_ARRAYS = ("curves", "parameters", "chi_dia", "s_m", "set_index", "clean", "test")
#: the records of a chunk that carry a sha256 (its rows of each per-curve array, its train min/max)
CHECKSUMMED = ROW_ARRAYS + ("train_minmax",)
CHECKSUM_ARRAY = "chunk_sha256"
#: root attributes that define a dataset, fixed at creation (config_sha256 covers them)
DEFINING_ATTRS = ("format", "config", "seed", "backend", "representation", "n_chunks",
                  "checksums")
#: every array a store holds (what a folder left by an interrupted creation may contain)
STORE_ARRAYS = ROW_ARRAYS + ("T", "done", "chunk_train_min", "chunk_train_max", CHECKSUM_ARRAY)
#: the arrays of a multi-observable store (dataset.observable_store) and their extra records
OBSERVABLE_ARRAYS = ("noise_level", "chunk_obs_train_min", "chunk_obs_train_max")
OBSERVABLE_RECORDS = ("noise_level", "obs_train_minmax")


def checksummed(config: DatasetConfig) -> tuple[str, ...]:
    """The names of a chunk's checksummed records for this configuration."""
    return CHECKSUMMED + (OBSERVABLE_RECORDS if config.observables is not None else ())


def store_arrays(config: DatasetConfig) -> tuple[str, ...]:
    """Every array a store of this configuration holds."""
    return STORE_ARRAYS + (OBSERVABLE_ARRAYS if config.observables is not None else ())


class IncompleteDatasetError(RuntimeError):
    """The store exists but not every chunk has been written (an interrupted run)."""


class DamagedDatasetError(ValueError):
    """The store does not verify: a chunk is damaged or missing behind a done marker, or its
    attributes disagree with its arrays or with their recorded checksums."""


def open_store(path, mode: str = "r", complete: bool = False, _retry_finalizing: int = 10):
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
        if done.all() and _retry_finalizing:
            # every chunk is written: another generator on this store is finalizing it (two
            # writers' attribute files replace each other; a read can fall between them)
            time.sleep(0.2)
            return open_store(path, mode, complete, _retry_finalizing - 1)
        raise IncompleteDatasetError(
            f"incomplete dataset at {path}: {int(done.sum())} of {done.size} chunks written; rerun "
            "generate (`ligandml dataset generate` or generate_dataset with the same configuration) "
            "to resume")
    return group


def _compressors():
    from zarr.codecs import BloscCodec

    # lz4 + byte shuffle: fast (about 1 GB/s here) and byte-for-byte deterministic
    return [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")]


def _sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _canonical(obj) -> bytes:
    """Canonical JSON bytes of attribute values (tuples -> lists, sorted keys)."""
    return json.dumps(json.loads(json.dumps(obj)), sort_keys=True, separators=(",", ":")).encode()


def record_digest(values: np.ndarray) -> bytes:
    """The 32-byte sha256 of one record: dtype, shape and the C-order bytes of `values`."""
    a = np.ascontiguousarray(values)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.digest()


def chunk_digests(rows: dict, train_min: float, train_max: float, observables=None) -> np.ndarray:
    """(K, 32) uint8: the sha256 of each checksummed record of a chunk. rows: array name -> the
    chunk's rows, in the dtype the store holds; train_min/max: its training-curve extremes;
    observables: None, or (noise_level rows, per-observable train min, train max) of a
    multi-observable store."""
    records = [rows[name] for name in ROW_ARRAYS] + [np.array([train_min, train_max], "float64")]
    if observables is not None:
        noise, obs_min, obs_max = observables
        records += [np.asarray(noise, "float64"), np.concatenate([np.asarray(obs_min, "float64"),
                                                                  np.asarray(obs_max, "float64")])]
    return np.frombuffer(b"".join(record_digest(r) for r in records), np.uint8).reshape(-1, 32)


def _defining_digest(attrs: dict) -> str:
    return _sha256_hex(_canonical({k: attrs.get(k) for k in DEFINING_ATTRS}))


def _attrs_digest(group, attrs: dict | None = None) -> str:
    """sha256 of every root attribute (but attrs_sha256) and the parameters' names and unit;
    attrs: the root attributes to digest (default: the group's own)."""
    attrs = dict(group.attrs) if attrs is None else attrs
    attrs = {k: v for k, v in attrs.items() if k != "attrs_sha256"}
    par = dict(group["parameters"].attrs)
    return _sha256_hex(_canonical({"root": attrs, "parameters": par}))


def _remove_stale_creations(path: Path) -> None:
    """Delete temporary creation folders of `path` left by processes that no longer run."""
    for tmp in path.parent.glob(f".{path.name}.creating-*"):
        try:
            pid = int(tmp.name.rsplit("-", 2)[-2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
        except (ValueError, IndexError, PermissionError, OSError):
            continue


def create_store(path: Path, config: DatasetConfig, backend: str):
    """Create the empty store of `config` at `path`; return its group, or None when another
    writer created `path` first. `backend` ("numpy" or "julia") is recorded: a resume must use
    the same one. The store is built in a temporary folder beside `path` and renamed into place,
    so `path` never holds a half-created store."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_creations(path)
    tmp = path.parent / f".{path.name}.creating-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        _build_store(tmp, config, backend)
        try:
            os.rename(tmp, path)  # atomic; replaces at most an empty folder
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                return None  # another writer won the race
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    import zarr

    return zarr.open_group(str(path), mode="r+")


def _build_store(path: Path, config: DatasetConfig, backend: str) -> None:
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
    records = checksummed(config)
    group.create_array(CHECKSUM_ARRAY, shape=(n_chunks, len(records), 32),
                       chunks=(1, len(records), 32), dtype="uint8", compressors=None,
                       fill_value=0)
    from .observable_store import add_observable_arrays

    add_observable_arrays(group, config)  # part of the atomic creation
    attrs = {
        "format": FORMAT, "config": config.to_dict(), "seed": config.seed,
        "ligandml_version": __version__, "backend": backend, "representation": config.quantity,
        "n_chunks": n_chunks, "complete": False, "timings": None, "normalization": None,
        "checksums": {"algorithm": "sha256", "records": list(records),
                      "parameters": {"names": config.param_names, "unit": config.unit}},
    }
    attrs["config_sha256"] = _defining_digest(json.loads(json.dumps(attrs)))
    group.attrs.update(attrs)


def _differing_fields(a: dict, b: dict) -> list[str]:
    canon = lambda d: json.loads(json.dumps(d))  # tuples -> lists, like the stored attrs
    a, b = canon(a), canon(b)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _abandoned_creation(path: Path) -> bool:
    """True when `path` is what an interrupted creation (by an earlier ligandml) left: an empty
    folder, or a Zarr group without attributes holding nothing but store arrays."""
    if not path.is_dir():
        return False
    entries = {e.name for e in path.iterdir()}
    if not entries <= set(STORE_ARRAYS) | set(OBSERVABLE_ARRAYS) | {"zarr.json"}:
        return False
    meta = path / "zarr.json"
    if meta.is_file():
        try:
            found = json.loads(meta.read_text())
        except (ValueError, OSError):
            return False
        if found.get("node_type") != "group" or found.get("attributes", {}).get("format"):
            return False
    return True


def _remove(path: Path) -> None:
    """Take `path` out of the way atomically (rename), then delete it; tolerant of a concurrent
    writer doing the same."""
    trash = path.parent / f".{path.name}.removing-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def prepare_store(path: Path, config: DatasetConfig, backend: str, overwrite: bool):
    """The group to generate `config` into: a new store, or the existing one at `path` when it
    holds the same configuration (a resume, or a complete store). overwrite=True first deletes
    an existing ligandml store (and refuses anything else). A folder left by an interrupted
    creation is replaced. ValueError when the existing store has another configuration, or is
    incomplete and was started with another backend."""
    for _ in range(3):  # a concurrent writer may create or remove the store meanwhile
        if path.exists() and _abandoned_creation(path):
            _remove(path)
        if not path.exists():
            group = create_store(path, config, backend)
            if group is not None:
                return group
            continue  # another writer created it first: join that store
        try:
            group = open_store(path, mode="r" if overwrite else "r+")
        except FileNotFoundError:
            continue
        except ValueError as exc:
            if overwrite:
                raise ValueError(f"refusing to overwrite {path}: {exc}") from None
            raise ValueError(f"{exc}; choose another path") from None
        if overwrite:
            _remove(path)
            overwrite = False
            continue
        differ = _differing_fields(group.attrs["config"], config.to_dict())
        if differ:
            raise ValueError(f"the store at {path} was generated with a different configuration "
                             f"(fields {differ} differ); use another path or overwrite=True")
        if not group.attrs.get("complete") and group.attrs.get("backend") != backend:
            raise ValueError(f"the store at {path} was started with backend "
                             f"{group.attrs.get('backend')!r}; resume it with that backend, not {backend!r}")
        return group
    raise RuntimeError(f"could not create or open the store at {path}: other writers kept "
                       "replacing it")


def write_chunk(group, data: ChunkData) -> dict:
    """Store one chunk's rows, its training min/max, the sha256 of each, then its done marker
    (last, so a crash mid-write leaves the chunk to be redone). Returns the timings [s] with
    writing_s added."""
    t0 = time.perf_counter()
    r0, r1 = data.rows
    rows = {}
    for name in ROW_ARRAYS:
        array = group[name]
        rows[name] = np.asarray(getattr(data, name), dtype=array.dtype)
        array[r0:r1] = rows[name]
    train = data.curves[~data.test]
    lo = float(train.min()) if train.size else np.inf
    hi = float(train.max()) if train.size else -np.inf
    group["chunk_train_min"][data.chunk] = lo
    group["chunk_train_max"][data.chunk] = hi
    observables = None
    if getattr(data, "noise_level", None) is not None:
        observables = (data.noise_level, data.observable_train_min, data.observable_train_max)
    group[CHECKSUM_ARRAY][data.chunk] = chunk_digests(rows, lo, hi, observables)
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
    digests = group[CHECKSUM_ARRAY][:]
    record = {"normalization": normalizer.to_dict(), "timings": timings,
              "chunk_checksums": [_sha256_hex(d.tobytes()) for d in digests], "complete": True}
    final = json.loads(json.dumps({**dict(group.attrs), **record}))  # as the store will hold them
    # one attribute write: no reader (another process's verify) sees complete without its digest
    group.attrs.update({**record, "attrs_sha256": _attrs_digest(group, final)})


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


@dataclass
class VerifyReport:
    """What verify_store found. missing: chunks without a done marker; damaged: chunk -> why
    (unreadable, or a record whose sha256 differs from the one written with it); problems: the
    attributes or layout disagreeing with the arrays (not repaired by a rerun); stale_record:
    the completion record (complete flag, normalisation, checksum list, attrs_sha256) disagrees
    with the verified chunks (a rerun of generate recomputes it); train_min/max: the extremes of
    the training curves actually stored."""

    path: str
    n_chunks: int = 0
    complete: bool = False
    missing: list = field(default_factory=list)
    damaged: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    stale_record: list = field(default_factory=list)
    train_min: float = np.inf
    train_max: float = -np.inf

    @property
    def ok(self) -> bool:
        """True for a complete store whose every chunk, attribute and record verifies."""
        return (self.complete and not self.missing and not self.damaged and not self.problems
                and not self.stale_record)

    def lines(self) -> list[str]:
        """One line per finding, naming the chunk or attribute."""
        out = [f"problem: {p}" for p in self.problems]
        out += [f"chunk {c}: damaged ({why})" for c, why in sorted(self.damaged.items())]
        if self.missing:
            out.append(f"chunks missing (not written): {_ranges(self.missing)}")
        out += [f"record: {p}" for p in self.stale_record]
        return out

    def message(self) -> str:
        """A one-paragraph verdict for an error message."""
        if self.ok:
            return f"{self.path}: verified ({self.n_chunks} chunks)"
        return (f"{self.path} does not verify: " + "; ".join(self.lines())
                + ". Rerun `ligandml dataset generate` with the same configuration and --out to "
                "recompute damaged or missing chunks" + ("" if not self.problems else
                                                         ", or regenerate it with --overwrite"))


def _ranges(indices) -> str:
    """'0-3, 7' for [0, 1, 2, 3, 7]."""
    out, start, prev = [], None, None
    for i in list(indices) + [None]:
        if start is not None and (i is None or i != prev + 1):
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if i is not None and start is None:
            start = i
        prev = i
    return ", ".join(out)


def _check_layout(group, config: DatasetConfig, report: VerifyReport) -> bool:
    """Attributes against the arrays: shapes, temperatures, parameter names/unit, quantity,
    chunk count and the creation checksum. False when the arrays cannot be read chunk-wise."""
    attrs = dict(group.attrs)
    problems = report.problems
    missing_arrays = [a for a in store_arrays(config) if a not in group]
    if CHECKSUM_ARRAY in missing_arrays:
        problems.append("no chunk checksums (written by a ligandml before they existed); "
                        "regenerate it with --overwrite")
    if missing_arrays:
        problems.append(f"arrays missing: {missing_arrays}")
        return False
    if not attrs.get("config_sha256"):
        problems.append("no config_sha256 (written by a ligandml before it existed); "
                        "regenerate it with --overwrite")
    elif attrs["config_sha256"] != _defining_digest(attrs):
        problems.append("the defining attributes (config, seed, backend, representation, "
                        "n_chunks, checksums) were edited after the store was created "
                        "(config_sha256 differs)")
    n, n_T, P = config.n_curves, config.columns().size, len(config.params)
    expect = {"curves": (n, n_T), "parameters": (n, P), "T": (n_T,), "done": (config.n_chunks,),
              CHECKSUM_ARRAY: (config.n_chunks, len(checksummed(config)), 32),
              **{a: (n,) for a in ROW_ARRAYS if a not in ("curves", "parameters")}}
    if config.observables is not None:
        n_obs = len(config.observables)
        expect.update({"noise_level": (n, n_obs), "chunk_obs_train_min": (config.n_chunks, n_obs),
                       "chunk_obs_train_max": (config.n_chunks, n_obs)})
    for name, shape in expect.items():
        if tuple(group[name].shape) != shape:
            problems.append(f"array {name} has shape {tuple(group[name].shape)}, the config "
                            f"implies {shape}")
    if problems and any("shape" in p for p in problems):
        return False
    if not np.array_equal(group["T"][:], config.columns()):
        problems.append("the stored grid T (temperatures, or fields of M(H)) differs from the config's")
    par = dict(group["parameters"].attrs)
    if list(par.get("names", [])) != config.param_names:
        problems.append(f"parameter names {par.get('names')} differ from the config's "
                        f"{config.param_names}")
    if par.get("unit") != config.unit:
        problems.append(f"parameter unit {par.get('unit')!r} differs from the config's {config.unit!r}")
    if attrs.get("representation") != config.quantity:
        problems.append(f"representation {attrs.get('representation')!r} differs from the "
                        f"config's quantity {config.quantity!r}")
    if attrs.get("n_chunks") != config.n_chunks:
        problems.append(f"n_chunks {attrs.get('n_chunks')!r} differs from the config's {config.n_chunks}")
    return True


def _check_chunk(group, config: DatasetConfig, chunk: int, report: VerifyReport) -> None:
    """Read the chunk's rows, recompute each record's sha256 and compare with the stored one."""
    per_set = config.curves_per_set
    s0, s1 = config.chunk_sets_range(chunk)
    r0, r1 = s0 * per_set, s1 * per_set
    try:
        rows = {name: group[name][r0:r1] for name in ROW_ARRAYS}
        lo = float(group["chunk_train_min"][chunk])
        hi = float(group["chunk_train_max"][chunk])
        stored = group[CHECKSUM_ARRAY][chunk]
        observables = None
        if config.observables is not None:
            observables = (group["noise_level"][r0:r1], group["chunk_obs_train_min"][chunk],
                           group["chunk_obs_train_max"][chunk])
    except Exception as exc:  # noqa: BLE001 - a chunk that does not decompress is damaged
        report.damaged[chunk] = f"unreadable: {type(exc).__name__}: {exc}"
        return
    found = chunk_digests(rows, lo, hi, observables)
    records = checksummed(config)
    bad = [records[i] for i in range(len(records)) if not np.array_equal(found[i], stored[i])]
    if bad:
        report.damaged[chunk] = f"checksum mismatch in {', '.join(bad)}"
        return
    train = rows["curves"][~rows["test"]]
    if train.size and (train.min() != lo or train.max() != hi):
        report.damaged[chunk] = "train min/max disagree with its curves"
        return
    if train.size:
        report.train_min = min(report.train_min, lo)
        report.train_max = max(report.train_max, hi)


def _check_record(group, config: DatasetConfig, report: VerifyReport) -> None:
    """The completion record against the verified chunks: complete flag, checksum list,
    normalisation (min/max of the stored training curves) and attrs_sha256."""
    attrs = dict(group.attrs)
    stale = report.stale_record
    if not report.complete:
        return
    if report.missing:
        stale.append(f"marked complete but {len(report.missing)} chunk(s) are not written")
    if attrs.get("attrs_sha256") != _attrs_digest(group):
        stale.append("the attributes differ from those recorded at completion (attrs_sha256)")
    recorded = attrs.get("chunk_checksums") or []
    digests = group[CHECKSUM_ARRAY][:]
    if len(recorded) != config.n_chunks:
        stale.append("the completed store's checksum list is missing or has the wrong length")
    else:
        for c in range(config.n_chunks):
            if c not in report.damaged and recorded[c] != _sha256_hex(digests[c].tobytes()):
                report.damaged[c] = "chunk checksums differ from the completed store's list"
    norm = attrs.get("normalization") or {}
    if norm.get("quantity") != config.quantity:
        stale.append(f"normalisation quantity {norm.get('quantity')!r} differs from the stored "
                     f"quantity {config.quantity!r}")
    if not report.damaged and not report.missing and (
            norm.get("min") != report.train_min or norm.get("max") != report.train_max):
        stale.append(f"normalisation min/max {norm.get('min')}/{norm.get('max')} differ from the "
                     f"stored training curves' {report.train_min}/{report.train_max}")


def verify_store(path_or_group, progress: bool = False) -> VerifyReport:
    """Check a dataset store against itself, reading every chunk: each done chunk's records
    must match the sha256 written with them (a deleted chunk file reads as fill values and a
    flipped byte fails to decompress or changes values: both are reported damaged, naming the
    chunk), the attributes must agree with the arrays (shapes, temperatures, parameter
    names/unit, quantity, the creation checksum), and a complete store's record (checksum list,
    normalisation = min/max of the stored training curves, attrs_sha256) must match. Returns a
    VerifyReport (report.ok). FileNotFoundError / ValueError as for open_store."""
    group = open_store(path_or_group) if isinstance(path_or_group, (str, Path)) else path_or_group
    report = VerifyReport(path=str(getattr(group.store, "root", path_or_group)))
    attrs = dict(group.attrs)
    report.complete = bool(attrs.get("complete"))
    try:
        config = DatasetConfig.from_dict(attrs.get("config") or {})
    except (ValueError, TypeError) as exc:
        report.problems.append(f"the config attribute is not a valid DatasetConfig ({exc})")
        return report
    report.n_chunks = config.n_chunks
    if not _check_layout(group, config, report):
        return report
    try:
        done = group["done"][:]
    except Exception as exc:  # noqa: BLE001
        report.problems.append(f"the done markers are unreadable ({exc})")
        return report
    from tqdm.auto import tqdm

    for chunk in tqdm(range(config.n_chunks), disable=not progress, unit="chunk", desc="verify"):
        if not done[chunk]:
            report.missing.append(chunk)
        else:
            _check_chunk(group, config, chunk, report)
    _check_record(group, config, report)
    return report
