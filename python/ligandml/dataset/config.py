"""Dataset configuration: DatasetConfig, everything that defines a dataset, and its validation.

Defaults are the Er3+ D, E benchmark task of DESIGN.md. A configuration is checked field by
field on construction (ValueError naming the field) and round-trips through dicts and TOML.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field as dc_field
from pathlib import Path

import numpy as np

from .. import checks
from ..augmentation import SIGMA_M_MAX
from ..constants import kelvin_per
from ..parameters import parse_parameter_name, to_stevens_batch

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (pyproject installs tomli there)
    import tomli as tomllib

QUANTITIES = ("chi", "chiT")
SAMPLINGS = ("uniform", "sobol")
T_SPACINGS = ("geometric", "linear")


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
        from ..ions import ion as make_ion

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
