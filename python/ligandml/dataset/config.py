"""Dataset configuration: DatasetConfig, everything that defines a dataset, and its validation.

Defaults are the Er3+ D, E benchmark task of DESIGN.md. A configuration is checked field by
field on construction (ValueError naming the field) and round-trips through dicts and TOML.
Named presets: DatasetConfig.preset("er-de") (the defaults) and DatasetConfig.preset("er-d3d",
observables="powder" | "crystal") (the higher-order task of DESIGN.md).

Two layouts. Without `observables` (the D, E task): one powder chi(T) per sample on
temperatures() at `field`, exactly as before. With `observables` (a list of dicts, see
dataset.observables): every sample holds all of them, concatenated along the columns of
`curves`, with per-curve noise levels and per-observable normalisation (dataset.observable_store).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field as dc_field
from pathlib import Path

import numpy as np

from .. import checks
from ..augmentation import SIGMA_M_MAX
from ..benchmark_task import DE_BOX
from ..constants import kelvin_per
from ..error_model import QUANTITIES
from ..parameters import parse_parameter_name, to_stevens_batch
from .observables import check_observables, chi_observable, magnetization_observable
from .priors import PRIORS, SCALE_AWARE_WIDTH_K, scale_aware_box
from .structure_prior import KERSE2_ERSE6, check_structure

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (pyproject installs tomli there)
    import tomli as tomllib

SAMPLINGS = ("uniform", "sobol")
T_SPACINGS = ("geometric", "linear")


def _default_params() -> dict:
    return dict(DE_BOX)


#: the er-d3d grids of DESIGN.md: chi at 1 T on 64 geometric temperatures 2-300 K [K], and
#: M(H) at 2 K on 27 fields 0.2-5.4 T in steps of 0.2 T [T]
ER_D3D_TEMPERATURES = np.geomspace(2.0, 300.0, 64)
ER_D3D_FIELDS = np.round(0.2 * np.arange(1, 28), 12)
ER_D3D_CHI_FIELD, ER_D3D_M_TEMPERATURE = 1.0, 2.0
PRESETS = ("er-de", "er-d3d")
OBSERVABLE_SETS = ("powder", "crystal")


def er_d3d_observables(observables: str = "powder") -> list[dict]:
    """The er-d3d observable set of DESIGN.md: "powder" (chi at 1 T on 64 temperatures, M(H) at
    2 K on 27 fields) or "crystal" (the same for H along z and H in the plane: four curves)."""
    if observables not in OBSERVABLE_SETS:
        raise ValueError(f"er-d3d observables must be one of {OBSERVABLE_SETS}, got {observables!r}")
    directions = ("powder",) if observables == "powder" else ("z", "plane")
    chi = [chi_observable(ER_D3D_TEMPERATURES, ER_D3D_CHI_FIELD, d) for d in directions]
    mag = [magnetization_observable(ER_D3D_FIELDS, ER_D3D_M_TEMPERATURE, d) for d in directions]
    return chi + mag


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
    changes the numbers). lebedev_order: orientation grid for a finite field (None: the
    symmetry-folded grid ligandml.finite_field.powder_grid picks).

    Generalisation (defaults keep the D, E task byte for byte): point_group: Schoenflies name;
    then params may be None (the group's free parameters, ligandml.allowed_parameters) and
    names it forbids are refused. prior: "box" (the ranges of params) or "scale-aware" (each
    B_k^q uniform on +-prior_width / max|eig(O_k^q)|, prior_width W in kelvin; only the names of
    params count, the ranges are computed). observables: None (one powder chi(T), the D, E
    layout) or a list of observable dicts (dataset.observables; then T_*, n_T, field are
    unused). noise_range: (low, high) relative noise levels drawn log-uniformly per curve and
    stored (observables only; else noise_rel is the one fixed level).

    prior="structure" (dataset.structure_prior): Newman's superposition model around the geometry
    in `structure` (a dict: polyhedron + distance [angstrom] + angle [deg], or ligand positions;
    intrinsic parameter ranges b2/b4/b6 [K], power laws t2/t4/t6, jitters, residual as a
    fraction of the scale-aware half-width, random_equivalent), projected onto point_group's
    allowed set, plus a Gaussian residual, inside the scale-aware box of width prior_width,
    whose ranges are the recorded params. point_group defaults to the polyhedron's; params must
    be None (or left at its default) or the group's allowed names. Defaults are written out on validation.
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
    lebedev_order: int | None = 23
    point_group: str | None = None
    prior: str = "box"
    prior_width: float = SCALE_AWARE_WIDTH_K
    observables: tuple | None = None
    noise_range: tuple | None = None
    structure: dict | None = None

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
        self._check_generalisation()
        self.params = self._checked_params(self._resolved_params())
        self.sampling = _choice("sampling", self.sampling, SAMPLINGS)
        self.T_spacing = _choice("T_spacing", self.T_spacing, T_SPACINGS)
        self.quantity = _choice("quantity", self.quantity, QUANTITIES)
        self.seed = _integer("seed", self.seed, 0)
        self.n_sets = _integer("n_sets", self.n_sets, 1)
        self.copies = _integer("copies", self.copies, 0)
        self.chunk_sets = _integer("chunk_sets", self.chunk_sets, 1)
        if self.lebedev_order == "auto":  # how TOML (no null) spells None
            self.lebedev_order = None
        if self.lebedev_order is not None:
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
        self.noise_range = self._checked_noise_range()
        self.test_fraction = _number("test_fraction", self.test_fraction)
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"DatasetConfig.test_fraction must be in [0, 1), got {self.test_fraction!r}")
        if self.n_sets - self.n_test_sets < 1:
            raise ValueError(f"DatasetConfig.test_fraction={self.test_fraction} leaves no training "
                             f"set out of n_sets={self.n_sets}")
        return self

    def _check_generalisation(self) -> None:
        """point_group, prior, prior_width, observables (before params, which may depend on them)."""
        if self.point_group is not None:
            from ..symmetry import allowed_parameters

            try:
                allowed = allowed_parameters(str(self.point_group))
            except ValueError as exc:
                raise ValueError(f"DatasetConfig.point_group: {exc}") from None
            if allowed.ratios:
                raise ValueError(f"DatasetConfig.point_group: {self.point_group} ties parameters by "
                                 f"fixed ratios {allowed.ratios}; tied sampling is not supported")
            self.point_group = str(self.point_group)
        self.prior = _choice("prior", self.prior, PRIORS)
        self.prior_width = _number("prior_width", self.prior_width)
        if self.prior_width <= 0:
            raise ValueError(f"DatasetConfig.prior_width must be > 0 K, got {self.prior_width!r}")
        if self.observables is not None:
            self.observables = check_observables(self.observables)
        self._check_structure()

    def _check_structure(self) -> None:
        """structure: required by prior="structure" (which fixes point_group), refused otherwise."""
        if self.prior != "structure":
            if self.structure is not None:
                raise ValueError(f"DatasetConfig.structure is used by prior='structure' only "
                                 f"(prior is {self.prior!r})")
            return
        if self.structure is None:
            raise ValueError("DatasetConfig.structure: prior='structure' needs a geometry, e.g. "
                             "structure={'polyhedron': 'trigonal-octahedron', 'distance': 2.857, "
                             "'angle': 56.95, 'ligand': 'Se'}")
        if self.sampling != "uniform":
            raise ValueError("DatasetConfig.sampling: prior='structure' draws its own sets; "
                             "sampling must be 'uniform'")
        self.structure, group = check_structure(self.structure, self.ion, self.point_group)
        from ..symmetry import allowed_parameters

        if allowed_parameters(group).ratios:
            raise ValueError(f"DatasetConfig.point_group: {group} ties parameters by fixed ratios; "
                             f"tied sampling is not supported")
        self.point_group = group

    def _resolved_params(self):
        """params with the point group's free names filled in (params None) and the
        scale-aware ranges computed; names the point group forbids are refused."""
        params = self.params
        if params is None:
            if self.point_group is None:
                return _default_params()
            from ..symmetry import allowed_parameters

            params = list(allowed_parameters(self.point_group).free)
        if self.prior == "structure":
            return self._structure_box(params)
        if isinstance(params, (list, tuple)):
            if self.prior != "scale-aware":
                raise ValueError("DatasetConfig.params: a list of names needs prior='scale-aware' "
                                 "(or give name -> (low, high) ranges)")
            params = {str(n): None for n in params}
        if not isinstance(params, dict) or not params:
            return params  # _checked_params says what is wrong
        if self.point_group is not None:
            from ..symmetry import allowed_parameters

            allowed = allowed_parameters(self.point_group).names
            bad = [n for n in params if n not in allowed]
            if bad:
                raise ValueError(f"DatasetConfig.params: {bad} not allowed by point group "
                                 f"{self.point_group} (allowed: {list(allowed)})")
        if self.prior == "scale-aware":
            for name in params:
                try:
                    parse_parameter_name(str(name))
                except ValueError as exc:
                    raise ValueError(f"DatasetConfig.params: {exc}") from None
            return scale_aware_box(self.ion, list(params), self.prior_width, self.unit)
        return params

    def _structure_box(self, params) -> dict:
        """The support of the structure prior: the scale-aware box over the allowed names."""
        from ..symmetry import allowed_parameters

        allowed = list(allowed_parameters(self.point_group).free)
        if params == _default_params():  # params left at the D, E default: the allowed set
            params = None
        if params is not None:
            names = [str(n) for n in params] if isinstance(params, (dict, list, tuple)) else None
            if names is None or sorted(names) != sorted(allowed):
                raise ValueError(f"DatasetConfig.params: prior='structure' samples every allowed "
                                 f"parameter of {self.point_group} ({allowed}); give params=None")
            allowed = names
        return scale_aware_box(self.ion, allowed, self.prior_width, self.unit)

    def _checked_noise_range(self):
        if self.noise_range is None:
            return None
        if self.observables is None:
            raise ValueError("DatasetConfig.noise_range needs observables (per-curve levels are "
                             "stored there); the single-curve layout takes noise_rel")
        if self.noise_rel:
            raise ValueError("DatasetConfig.noise_range and noise_rel are exclusive: give one")
        try:
            low, high = (float(v) for v in self.noise_range)
        except (TypeError, ValueError):
            raise ValueError(f"DatasetConfig.noise_range must be a (low, high) pair, got "
                             f"{self.noise_range!r}") from None
        if not (np.isfinite(high) and 0 < low <= high):
            raise ValueError(f"DatasetConfig.noise_range needs 0 < low <= high, got "
                             f"({low!r}, {high!r})")
        return (low, high)

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

    def columns(self) -> np.ndarray:
        """The x value of each stored column: temperatures() [K] in the single-curve layout;
        with observables their grids concatenated in order (K for chi, T for M)."""
        if self.observables is None:
            return self.temperatures()
        return np.concatenate([np.asarray(o["grid"], dtype=float) for o in self.observables])

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
        d["observables"] = None if self.observables is None else [dict(o) for o in self.observables]
        d["noise_range"] = None if self.noise_range is None else list(self.noise_range)
        return d

    @classmethod
    def preset(cls, name: str, observables: str = "powder", **overrides) -> "DatasetConfig":
        """A named configuration of DESIGN.md, with `overrides` replacing fields.

        "er-de": the Er3+ D, E task (the defaults). "er-d3d": Er3+ on a D3d site, B20, B40, B43,
        B60, B63, B66 [K] in the scale-aware box (W = 200 K), chi_dia ~ N(0, 0.002) emu/mol,
        s_m ~ N(1, 0.02), noise levels log-uniform in [0.2 %, 5 %], 200,000 sets, observables
        "powder" or "crystal" (er_d3d_observables). With prior="structure" and no `structure`,
        the ErSe6 octahedron of KErSe2 (dataset.structure_prior.KERSE2_ERSE6)."""
        if name == "er-de":
            return cls(**overrides)
        if name == "er-d3d":
            base = dict(ion="Er3+", point_group="D3d", params=None, prior="scale-aware",
                        prior_width=SCALE_AWARE_WIDTH_K, unit="K", n_sets=200_000,
                        observables=er_d3d_observables(observables), sigma_dia=0.002,
                        sigma_m=0.02, noise_range=(0.002, 0.05), lebedev_order=None)
            if overrides.get("prior") == "structure" and overrides.get("structure") is None:
                base["structure"] = dict(KERSE2_ERSE6)
                overrides = {k: v for k, v in overrides.items() if k != "structure"}
            return cls(**{**base, **overrides})
        raise ValueError(f"unknown dataset preset {name!r}; known: {PRESETS}")

    @classmethod
    def from_dict(cls, d: dict) -> "DatasetConfig":
        """Build from a dict such as to_dict() gives; unknown keys are a ValueError."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"DatasetConfig: unknown field(s) {unknown}; known: {sorted(known)}")
        d = dict(d)
        if isinstance(d.get("observables"), list):
            d["observables"] = tuple(d["observables"])
        if "params" in d and isinstance(d["params"], dict):
            d["params"] = {k: tuple(v) if isinstance(v, (list, tuple)) else v
                           for k, v in d["params"].items()}
        return cls(**d)

    def to_toml(self, path) -> None:
        """Write the configuration as TOML (fields that are None are left out)."""
        import tomli_w

        Path(path).write_text(tomli_w.dumps(self.to_toml_dict()))

    def to_toml_dict(self) -> dict:
        """to_dict() without the None fields (TOML has no null); lebedev_order None is "auto"."""
        d = self.to_dict()
        if d["lebedev_order"] is None:
            d["lebedev_order"] = "auto"
        return {k: v for k, v in d.items() if v is not None}

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
