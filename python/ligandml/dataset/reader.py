"""Reading a generated dataset back: Dataset (arrays loaded on first access), its train/test
splits, open_dataset and a numeric summary."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..normalization import MinMaxNormalizer
from .config import DatasetConfig
from .store import DamagedDatasetError, open_store, verify_store


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

    def __init__(self, path, verify: bool = True):
        self.path = Path(path)
        group = open_store(self.path)
        if verify:
            report = verify_store(group)
            if not report.ok:
                if report.damaged or report.problems or report.stale_record:
                    raise DamagedDatasetError(report.message())
                open_store(self.path, complete=True)  # IncompleteDatasetError: resume it
        self._group = open_store(self.path, complete=True)
        self.attrs = dict(self._group.attrs)
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
        """The physics backend that computed the curves ("numpy" or "julia")."""
        return self.attrs["backend"]

    @property
    def version(self) -> str:
        """ligandml version that wrote the store."""
        return self.attrs["ligandml_version"]

    @property
    def timings(self) -> dict:
        """Seconds spent in physics, augmentation and writing (summed over chunks) and wall."""
        return dict(self.attrs.get("timings") or {})

    @property
    def n_curves(self) -> int:
        """Number of curves N (n_sets * (copies + 1))."""
        return int(self._group["curves"].shape[0])

    def __len__(self) -> int:
        return self.n_curves

    def array(self, name: str):
        """The underlying zarr array `name` (for out-of-core reads of large stores)."""
        return self._group[name]

    # ---- data (loaded on first access) ------------------------------------------------------
    @cached_property
    def curves(self) -> np.ndarray:
        """(N, n_T) curves in the stored quantity's units (chi emu/mol or chiT emu K/mol)."""
        return self._group["curves"][:]

    @cached_property
    def clean(self) -> np.ndarray:
        """(N,) bool: True for the clean curve of each set, False for its augmented copies."""
        return self._group["clean"][:]

    @cached_property
    def set_index(self) -> np.ndarray:
        """(N,) int64: the parameter set each curve comes from."""
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
        """DataFrame, one row per curve: parameters [config.unit], chi_dia [emu/mol], s_m, set_index."""
        import pandas as pd

        values = self._group["parameters"][:]
        frame = pd.DataFrame(values, columns=self.param_names)
        frame["chi_dia"] = self._group["chi_dia"][:]
        frame["s_m"] = self._group["s_m"][:]
        frame["set_index"] = self.set_index
        return frame

    @property
    def train_index(self) -> np.ndarray:
        """Row indices of the training curves."""
        return np.flatnonzero(~self.is_test)

    @property
    def test_index(self) -> np.ndarray:
        """Row indices of the test curves."""
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
        """The training split (copies of its arrays)."""
        return self.subset("train")

    @property
    def test(self) -> DatasetSplit:
        """The test split (copies of its arrays)."""
        return self.subset("test")

    def __repr__(self) -> str:
        c = self.config
        return (f"Dataset({str(self.path)!r}: {self.n_curves} curves = {c.n_sets} sets x "
                f"{c.curves_per_set}, {c.ion} {self.param_names}, {self.representation} on "
                f"{self.T.size} T, sigma_dia={c.sigma_dia}, sigma_m={c.sigma_m})")


def open_dataset(path, verify: bool = True) -> Dataset:
    """Open a complete dataset store, verified first (verify_store: every chunk's sha256, the
    attributes against the arrays, the completion record; one read of the whole store).
    FileNotFoundError if absent, ValueError if not a ligandml dataset, IncompleteDatasetError
    (a RuntimeError) if a run was interrupted, DamagedDatasetError (a ValueError naming the
    chunks or attributes) if it does not verify. verify=False skips the checksums (the
    complete flag is still required)."""
    return Dataset(path, verify=verify)


def summary(dataset: Dataset) -> dict:
    """Numbers that describe a dataset: counts, split, mean/std of chi_dia [emu/mol] and s_m over
    the augmented copies, and each parameter's range [config.unit]."""
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
