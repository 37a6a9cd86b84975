"""The model container (InverseModel): configuration, preprocessing, save/load and predict.

A model is a folder holding
    weights.safetensors   every tensor (network weights, normalisation statistics, and the latents +
                          parameters of a subsample of training curves for the "VAE plot")
    model.json            architecture and training configuration, the ion, temperature grid and
                          field, the dataset configuration and normaliser, training metrics and the
                          package version
    history.csv, losses.png   validation/training losses per epoch (written by training)
Loading reads the JSON and the safetensors file only: no code is executed.

Every model kind of ligandml.nets (ModelConfig.kind: "faithful" VAE + Ardizzone INN, "vae_cinn"
VAE + conditional INN, "cinn" conditional INN on the whole curve) shares the container: the kind's
network class holds the differences, so nothing here asks which kind it holds.
"""
from __future__ import annotations

import json
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .curves import per_ion_chi
from .error_model import chi_to_quantity
from .nets import KINDS, kind_class  # noqa: F401  (KINDS: the kinds a ModelConfig accepts)
from .nets.kinds import ModelNet
from .preprocessing import check_excess

#: where the model shipped with the package lives
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "default"
WEIGHTS_FILE, CONFIG_FILE = "weights.safetensors", "model.json"
#: the integrity record of a model folder: sha256 of the weights file and of every model.json field
INTEGRITY_FILE = "integrity.json"
#: model.json fields a user may edit after saving (policy and notes, not what the weights mean)
UNSIGNED_FIELDS = ("metrics", "ood_warn", "ood_fail")
FORMAT_VERSION = 1
#: the columns of a dataset's parameter table that are not model parameters
NON_PARAMETER_COLUMNS = ("set_index",)
NUISANCE_COLUMNS = ("chi_dia", "s_m")


@dataclass
class ModelConfig:
    """Architecture and preprocessing of a model (every field is saved with the model)."""
    kind: str = "faithful"                 # "faithful" (VAE + Ardizzone INN), "vae_cinn", "cinn", "nsf"
    preprocessing: str = ""                # "minmax" | "standard" | "log_standard"; "" = kind's default
    # VAE (faithful)
    latent: int = 3
    vae_hidden: tuple = (256, 128)
    beta: float = 1e-4                     # KL weight against the summed squared error
    # latent INN (faithful)
    n_z: int = 3
    inn_width: int = 8
    inn_blocks: int = 6
    inn_hidden: int = 128
    lambda_fit: float = 3.0
    lambda_latent: float = 300.0
    lambda_rev: float = 400.0
    lambda_pad: float = 0.0                # optional: x-side padding from fresh z kept at zero (off:
                                           # not among the published losses, no gain measured)
    mmd_widths: tuple = (0.2, 0.5, 0.9, 1.3)
    pad_noise: float = 1e-3
    y_noise: float = 1e-3
    # conditional flow (cinn)
    n_cond: int = 32
    embed_hidden: tuple = (256, 256)
    flow_blocks: int = 8
    flow_hidden: int = 128
    clamp: float = 2.0
    x_noise: float = 0.005                 # cinn: Gaussian jitter on standardised x while training
                                           # (dequantises the exact chi_dia = 0 of clean curves)
    # cinn / nsf: noise conditioning, embedding, spline couplings (nsf)
    n_noise: int = 0                       # noise-level inputs: 0 = not told the noise; 1 = one
                                           # curve; n_obs = one per observable (nets/noise.py)
    embedding: str = "mlp"                 # curve embedding: "mlp" or "conv" (1-D conv over T)
    spline_bins: int = 8                   # nsf: bins of each rational-quadratic spline
    spline_tail: float = 4.0               # nsf: splines on [-tail, tail] (standardised x), identity outside
    # VAE-plot reference: how many training curves keep their latents + parameters
    n_reference: int = 20000

    def __post_init__(self):
        kind = kind_class(self.kind)  # ValueError for an unknown kind
        if not self.preprocessing:
            self.preprocessing = kind.default_preprocessing
        if self.preprocessing not in ("minmax", "standard", "log_standard"):
            raise ValueError(f"unknown preprocessing {self.preprocessing!r}")
        for name in ("vae_hidden", "mmd_widths", "embed_hidden"):
            setattr(self, name, tuple(getattr(self, name)))
        if int(self.n_noise) != self.n_noise or self.n_noise < 0:
            raise ValueError(f"n_noise must be an integer >= 0, got {self.n_noise!r}")
        self.n_noise = int(self.n_noise)
        if self.embedding not in ("mlp", "conv"):
            raise ValueError(f"embedding must be 'mlp' or 'conv', got {self.embedding!r}")
        if int(self.spline_bins) != self.spline_bins or self.spline_bins < 1:
            raise ValueError(f"spline_bins must be a positive integer, got {self.spline_bins!r}")
        if not (np.isfinite(self.spline_tail) and self.spline_tail > 0):
            raise ValueError(f"spline_tail must be finite and > 0, got {self.spline_tail!r}")

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown ModelConfig keys: {sorted(unknown)}")
        return cls(**d)


#: a curve measured more than this [T] away from the model's training field is refused
FIELD_TOL_T = 0.1
#: the relative noise level a noise-aware model assumes when predict is given none (1 % per point;
#: the geometric centre of the trained range when 1 % lies outside it)
DEFAULT_PREDICT_NOISE = 0.01


def parse_noise(value):
    """A relative noise level from 0.005, "0.005" or "0.5%" (dimensionless, 0.01 = 1 % per point),
    or a list of them (one per observable; also "0.5%,1%"). ValueError for anything else or a level <= 0."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [parse_noise(v) for v in value]
    text = str(value).strip()
    if "," in text:  # one level per observable: "0.5%,1%"
        return [parse_noise(v) for v in text.split(",")]
    try:
        level = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"noise must be a relative level like 0.005 or 0.5%, got {value!r}") from None
    if not (np.isfinite(level) and level > 0):
        raise ValueError(f"noise must be a relative level > 0 (0.005 or 0.5%), got {value!r}")
    return level


# ----------------------------------------------------------------------------- networks
def build_net(config: ModelConfig, n_T: int, n_x: int) -> ModelNet:
    """A fresh network of config.kind (ligandml.nets) for n_T curve points and n_x parameters."""
    return kind_class(config.kind)(config, n_T, n_x)


# ----------------------------------------------------------------------------- input handling
def prepare_curve(T, chi, T_model, quantity: str = "chi", ions_per_formula: float = 1.0,
                  min_overlap: float = 0.9, min_points: int = 8) -> tuple[np.ndarray, dict]:
    """Put a measured curve on the model's temperature grid.

    T [K] and chi (emu/mol per formula unit; emu K/mol if quantity="chiT") are 1-D arrays of equal
    length. Returns (chi per ion on T_model [emu/mol], info dict). T must be strictly monotonic
    (decreasing is reversed); NaN/inf, non-positive T, fewer than min_points points, or less than
    min_overlap of the model grid inside the measured range raise ValueError. Model temperatures
    inside the measured range are interpolated (linear in log T on chi*T); the few outside it
    (at most 1 - min_overlap) are extrapolated from the nearest measured end, with a warning.
    """
    T, chi_ion = per_ion_chi(T, chi, quantity, ions_per_formula)
    if T.size < min_points:
        raise ValueError(f"the input curve has {T.size} points; at least {min_points} are needed")
    dT = np.diff(T)
    if np.all(dT < 0):
        T, chi_ion = T[::-1], chi_ion[::-1]
    elif not np.all(dT > 0):
        raise ValueError("temperatures must be strictly monotonic (sorted, without repeats); "
                         "sort the curve or average repeated points first")
    chiT = chi_ion * T
    T_model = np.asarray(T_model, dtype=float)
    inside = (T_model >= T[0] * (1 - 1e-9)) & (T_model <= T[-1] * (1 + 1e-9))
    overlap = inside.mean()
    if overlap < min_overlap:
        raise ValueError(
            f"the measured range {T[0]:.3g}-{T[-1]:.3g} K covers only {overlap:.0%} of the model grid "
            f"({T_model[0]:.3g}-{T_model[-1]:.3g} K); at least {min_overlap:.0%} is needed")
    logT = np.log(T)
    chiT_model = np.interp(np.log(T_model), logT, chiT)
    if not inside.all():
        warnings.warn(f"{(~inside).sum()} of {T_model.size} model temperatures lie outside the measured "
                      f"range {T[0]:.3g}-{T[-1]:.3g} K and were extrapolated (constant chi*T)",
                      UserWarning, stacklevel=3)
    return chiT_model / T_model, {"overlap": float(overlap), "n_extrapolated": int((~inside).sum())}


# ----------------------------------------------------------------------------- the model
class InverseModel:
    """A trained inverse model (any kind of ligandml.nets): predict(T, chi) -> Posterior.
    See the module docstring."""

    def __init__(self, net: ModelNet, *, T, ion: str, field, quantity: str, param_names,
                 dataset_config: dict | None = None, dataset_normalizer: dict | None = None,
                 train_config: dict | None = None, metrics: dict | None = None,
                 ood_warn: float = 0.05, ood_fail: float = 100.0, observables: dict | None = None):
        self.net = net.eval()
        self.config = net.config
        self.T = np.asarray(T, dtype=float)
        self.ion_name, self.field, self.quantity = ion, field, quantity
        self.param_names = list(param_names)
        self.dataset_config = dataset_config or {}
        self.dataset_normalizer = dataset_normalizer or {}
        self.train_config = train_config or {}
        self.metrics = metrics or {}
        self.ood_warn, self.ood_fail = float(ood_warn), float(ood_fail)
        #: None (one powder chi(T) on T) or the observable index {name: {kind, direction, grid,
        #: field | temperature, start, stop, unit, grid_unit}} of a multi-observable model, whose
        #: T is then every observable's grid concatenated (K for chi, T for M)
        self.observables = observables or None

    @property
    def observable_names(self) -> list[str]:
        """The names predict(observables=...) takes, in column order ([] for a single-curve model)."""
        from .model_observables import observable_names
        return observable_names(self.observables) if self.observables else []

    @property
    def point_group(self) -> str | None:
        """The point group of the training parameters (dataset configuration), or None."""
        return self.dataset_config.get("point_group")

    @property
    def ion(self):
        from .ions import ion as make_ion
        return make_ion(self.ion_name)

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    # -- preprocessing -------------------------------------------------------------------------
    def curves_to_model_quantity(self, chi: np.ndarray) -> np.ndarray:
        """chi [emu/mol] on the model grid -> the quantity the model was trained on."""
        return chi_to_quantity(chi, self.T, self.quantity)

    def _features(self, chi_grid: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(self.curves_to_model_quantity(np.atleast_2d(chi_grid)), dtype=torch.float32,
                            device=self.device)
        with torch.no_grad():
            return self.net.features(x)

    def check_distribution(self, features: torch.Tensor, force: bool = False) -> float:
        """Compare a preprocessed curve with the per-temperature range [lo, hi] of the training
        curves. Returns the excess: the largest distance outside the range, in units of the range
        width (0 inside). Warns (OutOfDistributionWarning) above ood_warn, raises ValueError above
        ood_fail (e.g. wrong units) unless force (then it only warns)."""
        excess = float(self.net.preprocessor.excess(features.detach()).max())
        check_excess(excess, self.ood_warn, np.inf if force else self.ood_fail, stacklevel=4)
        return excess

    # -- inference -------------------------------------------------------------------------------
    def encode(self, chi_grid, noise=None) -> np.ndarray:
        """Standardised latent points (n, n_latent) of curves chi [emu/mol per ion] on the model
        grid; noise: their relative noise level(s) for a noise-aware model (see noise_levels)."""
        feats = self._features(chi_grid)
        nz = self._noise_input(self.noise_levels(noise)[0], len(feats))
        with torch.no_grad():
            return self.net.latent(feats, nz).cpu().numpy()

    # -- noise level -----------------------------------------------------------------------------
    @property
    def noise_range(self) -> tuple:
        """The trained (lo, hi) relative noise levels, one pair per noise input; () when the model
        is not told the noise (config.n_noise = 0)."""
        return self.net.noise_range

    def noise_levels(self, noise=None, force: bool = False) -> tuple[np.ndarray | None, bool]:
        """The relative noise level(s) (n_noise,) to tell the network, and whether they were
        assumed. noise: a level (0.005 or "0.5%", for every observable) or one per observable;
        None on a noise-aware model assumes DEFAULT_PREDICT_NOISE (1 %) with a one-line warning.
        A model without noise input returns (None, False) for noise=None and refuses a level;
        a level outside the trained range is refused (ValueError) unless force (then a warning)."""
        n = self.net.n_noise
        if n == 0:
            if noise is not None:
                raise ValueError("this model was trained without a noise input (n_noise = 0) and takes "
                                 "no noise level; leave out noise= (CLI --noise) or use a noise-aware model")
            return None, False
        ranges = np.array(self.noise_range)
        assumed = noise is None
        if assumed:
            inside = (ranges[:, 0] <= DEFAULT_PREDICT_NOISE) & (DEFAULT_PREDICT_NOISE <= ranges[:, 1])
            levels = np.where(inside, DEFAULT_PREDICT_NOISE, np.sqrt(ranges[:, 0] * ranges[:, 1]))
            warnings.warn("no noise level given: assuming " + ", ".join(f"{v:.3g}" for v in levels * 100)
                          + " % relative noise per point; give your estimate with noise= (CLI --noise 0.5%)",
                          UserWarning, stacklevel=3)
            return levels, True
        levels = np.atleast_1d(np.asarray(parse_noise(noise), dtype=float))
        if levels.size == 1:
            levels = np.full(n, levels[0])
        if levels.shape != (n,):
            raise ValueError(f"the model takes {n} noise level(s) (one per observable), got {levels.size}")
        out = (levels < ranges[:, 0] * (1 - 1e-6)) | (levels > ranges[:, 1] * (1 + 1e-6))
        if out.any():
            k = int(np.flatnonzero(out)[0])
            msg = (f"noise level {levels[k]:.3g} ({levels[k] * 100:.3g} %) lies outside the range the model "
                   f"was trained on, {ranges[k, 0] * 100:.3g}-{ranges[k, 1] * 100:.3g} %")
            if not force:
                raise ValueError(msg + " (force=True, CLI --force, goes on anyway)")
            warnings.warn(msg + "; going on (force): the posterior is an extrapolation", UserWarning,
                          stacklevel=3)
        return levels, False

    def _noise_input(self, levels, n_curves: int):
        """Noise features (n_curves, n_noise) of the levels (n_noise,), or None without noise input."""
        if levels is None:
            return None
        lev = torch.as_tensor(np.asarray(levels, dtype=np.float32), device=self.device)
        with torch.no_grad():
            return self.net.noise_features(lev.reshape(1, -1).expand(n_curves, -1))

    def sample_parameters(self, latent, n_samples: int, seed=None) -> pd.DataFrame:
        """n_samples parameter sets (physical units: K, emu/mol, 1) for one latent point."""
        gen = None
        if seed is not None:
            gen = torch.Generator(device=self.device).manual_seed(int(seed))
        lat = torch.as_tensor(np.asarray(latent, dtype=np.float32), device=self.device)
        with torch.no_grad():
            x = self.net.sample_x(lat, int(n_samples), gen) * self.net.x_std + self.net.x_mean
        return pd.DataFrame(x.cpu().numpy().astype(float), columns=self.param_names)

    def check_field(self, field_T, force: bool = False) -> None:
        """Refuse (ValueError naming both) a curve measured at field_T [T] (None: not recorded)
        when the model was trained at another field (None = zero field), unless force."""
        if field_T is None:
            return
        model_T = 0.0 if self.field is None else float(self.field)
        if abs(float(field_T) - model_T) > FIELD_TOL_T and not force:
            trained = "zero field" if self.field is None else f"{model_T:g} T"
            raise ValueError(f"the curve was measured at {float(field_T):.4g} T but the model was trained "
                             f"at {trained}; use a model trained at {float(field_T):.4g} T, or pass "
                             "force=True (CLI --force)")

    def predict(self, T=None, chi=None, n_samples: int = 1000, seed=None, quantity: str = "chi",
                ions_per_formula: float = 1.0, field=None, force: bool = False, noise=None,
                observables=None):
        """Posterior of the parameters for one measured curve, or, for a multi-observable model,
        for several (observables={name: (x, y)}, see predict_observables).

        T [K]; chi [emu/mol per formula unit] (quantity="chi") or chi*T [emu K/mol]
        (quantity="chiT"); ions_per_formula divides the molar values to per-ion values. field:
        the measuring field [T] when known (refused when the model was trained at another
        field). The curve must be plausible for the model's ion (ligandml.plausibility: units,
        chi vs chiT, ions per formula, sign, ion); force=True goes on anyway. The curve is
        interpolated onto the model grid (see prepare_curve). noise: the curve's relative
        measurement noise per point (0.005 or "0.5%"; one per observable for a multi-observable
        model), told to a noise-aware model (config.n_noise > 0); None assumes 1 % with a warning;
        a level outside the trained range is refused unless force; a model without noise input
        refuses it (see noise_levels). Returns a Posterior with n_samples
        samples (D, E [K] and the nuisance chi_dia [emu/mol], s_m when the model has them);
        post.prior_box_report() says whether the model fails for this curve.
        """
        from .plausibility import check_plausible

        if self.observables or observables is not None:
            if T is not None or chi is not None:
                raise ValueError("give either (T, chi) for a single-curve model or observables= for a "
                                 "multi-observable model, not both")
            return self.predict_observables(observables, n_samples=n_samples, seed=seed,
                                            quantity=quantity, ions_per_formula=ions_per_formula,
                                            force=force, noise=noise)
        if T is None or chi is None:
            raise ValueError("predict needs the measured curve: T [K] and chi")
        if int(n_samples) < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        chi_grid, info = prepare_curve(T, chi, self.T, quantity, ions_per_formula)
        self.check_field(field, force)
        check_plausible(T, chi, self.ion, quantity=quantity, ions_per_formula=ions_per_formula,
                        force=force)
        levels, assumed = self.noise_levels(noise, force)
        with _one_cpu_thread(self.device):
            feats = self._features(chi_grid)
            excess = self.check_distribution(feats, force)
            with torch.no_grad():
                latent = self.net.latent(feats, self._noise_input(levels, 1))[0]
            samples = self.sample_parameters(latent.cpu().numpy(), n_samples, seed)
        from .posterior import Posterior
        return Posterior(samples=samples, latent=latent.cpu().numpy(), T=self.T.copy(), chi_input=chi_grid,
                         ion=self.ion, field=self.field, model=self,
                         info={**info, "ood_excess": excess, "n_samples": int(n_samples),
                               "kind": self.config.kind,
                               **({} if levels is None else {"noise": levels.tolist(),
                                                             "noise_assumed": assumed})})

    def predict_observables(self, observables: dict, n_samples: int = 1000, seed=None,
                            quantity: str = "chi", ions_per_formula: float = 1.0,
                            force: bool = False, noise=None):
        """Posterior of the parameters given every observable of a multi-observable model at once.

        observables: {name: (x, y)}, one entry per name of model.observable_names: chi(T)
        observables as (T [K], chi [emu/mol per formula unit], or chi*T [emu K/mol] with
        quantity="chiT"), M(H) observables as (B [T], M [muB per formula unit]). Each curve is put
        on the model's grid (chi as prepare_curve; M interpolated linearly in the field, ends
        extrapolated). A missing or unknown name is a ValueError naming it. ions_per_formula
        divides every curve to per-ion values. noise: for a noise-aware model, the relative
        noise per point of each observable: one level for all (0.005 or "0.5%"), a sequence in
        observable_names order, or a dict {name: level}; None assumes 1 % with a warning (see
        noise_levels). Returns a Posterior whose .observables are the model's observables and
        whose .chi_input holds the curves on the grids in physical units (chi [emu/mol], M
        [muB/ion]), concatenated (.observed: by name).
        """
        from .model_observables import prepare_observables

        if not self.observables:
            raise ValueError("this model takes one chi(T) curve: call predict(T, chi); "
                             "observables= is for multi-observable models")
        if int(n_samples) < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        row, physical, info = prepare_observables(observables, self.observables, self.quantity,
                                                  ions_per_formula, quantity)
        if isinstance(noise, dict):
            from .model_observables import check_names
            check_names(noise, self.observables)
            noise = [parse_noise(noise[n]) for n in self.observable_names]
        if noise is not None and self.net.n_noise == 1 and np.ndim(noise) and np.size(noise) > 1:
            raise ValueError(f"this model takes one noise level for all observables, got {np.size(noise)}")
        levels, assumed = self.noise_levels(noise, force)
        with _one_cpu_thread(self.device):
            x = torch.as_tensor(row[None], dtype=torch.float32, device=self.device)
            with torch.no_grad():
                feats = self.net.features(x)
            excess = self.check_distribution(feats, force)
            with torch.no_grad():
                latent = self.net.latent(feats, self._noise_input(levels, 1))[0]
            samples = self.sample_parameters(latent.cpu().numpy(), n_samples, seed)
        from .posterior import Posterior
        return Posterior(samples=samples, latent=latent.cpu().numpy(), T=self.T.copy(), chi_input=physical,
                         ion=self.ion, field=None, model=self, observable_index=self.observables,
                         info={"observables": info, "ood_excess": excess, "n_samples": int(n_samples),
                               "kind": self.config.kind,
                               **({} if levels is None else {"noise": levels.tolist(),
                                                             "noise_assumed": assumed})})

    def reference_set(self) -> tuple[np.ndarray, pd.DataFrame]:
        """(latents (n, n_latent), parameters DataFrame) of the stored training-curve subsample."""
        return (self.net.ref_latent.cpu().numpy(),
                pd.DataFrame(self.net.ref_params.cpu().numpy().astype(float), columns=self.param_names))

    # -- files -----------------------------------------------------------------------------------
    def description(self) -> dict:
        """The model.json content; "observables" (the observable index) only for a
        multi-observable model, so single-curve model files stay as they were."""
        from . import __version__
        d = {"format_version": FORMAT_VERSION, "package_version": __version__,
             "model_config": self.config.to_dict(), "train_config": self.train_config,
             "ion": self.ion_name, "field": self.field, "quantity": self.quantity,
             "T": self.T.tolist(), "param_names": self.param_names,
             "dataset_config": self.dataset_config, "dataset_normalizer": self.dataset_normalizer,
             "metrics": self.metrics, "ood_warn": self.ood_warn, "ood_fail": self.ood_fail}
        if self.observables:
            d["observables"] = self.observables
        return d

    def save(self, path) -> Path:
        """Write weights.safetensors, model.json and integrity.json (the sha256 of the weights
        file and of each model.json field but metrics/ood_warn/ood_fail) into the folder `path`
        (created). Non-finite weights are refused (ValueError)."""
        from safetensors.torch import save_file
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        _check_finite(state, "the model to save")
        save_file(state, str(path / WEIGHTS_FILE))
        description = json.loads(json.dumps(_jsonable(self.description())))
        (path / CONFIG_FILE).write_text(json.dumps(description, indent=1))
        write_integrity(path, description)
        return path

    @classmethod
    def load(cls, path=None, device=None) -> "InverseModel":
        """Load a model folder (None: the default model shipped in the package). Reads JSON and
        safetensors only; never executes code. Verified, not trusted: the weights' and
        model.json's sha256 must match integrity.json (a folder without one, saved by an older
        ligandml, loads with a warning that it is unverified), every model.json field must agree
        with the weights' shapes and with the dataset configuration, and non-finite weights are
        refused. ood_warn / ood_fail come from model.json. ValueError naming the cause."""
        from safetensors.torch import load_file
        path = shipped_model_path(path)
        cfg_file, w_file = path / CONFIG_FILE, path / WEIGHTS_FILE
        if not cfg_file.is_file() or not w_file.is_file():
            raise FileNotFoundError(f"{path} is not a ligandml model folder (needs {CONFIG_FILE} and "
                                    f"{WEIGHTS_FILE})")
        try:
            d = json.loads(cfg_file.read_text())
        except ValueError as exc:
            raise ValueError(f"{cfg_file}: not valid JSON ({exc})") from None
        if not isinstance(d, dict) or d.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{cfg_file}: unsupported model format "
                             f"{d.get('format_version') if isinstance(d, dict) else d!r}")
        check_integrity(path, d)
        try:
            state = load_file(str(w_file))
        except Exception as exc:  # noqa: BLE001 - a damaged file is a bad input, not a crash
            raise ValueError(f"{w_file}: not a readable safetensors file ({exc})") from None
        _check_finite(state, str(w_file))
        config = ModelConfig.from_dict(d["model_config"])
        check_description(d, state, cfg_file)
        net = build_net(config, len(d["T"]), len(d["param_names"]))
        # the reference buffers are sized by the file
        net.ref_latent = state["ref_latent"].clone()
        net.ref_params = state["ref_params"].clone()
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()
            raise ValueError(f"{path}: the weights do not fit the architecture in {CONFIG_FILE} "
                             f"({' '.join(line.strip() for line in first[:3])})") from None
        dev = torch.device(device) if device is not None else torch.device("cpu")
        return cls(net.to(dev), T=d["T"], ion=d["ion"], field=d["field"], quantity=d["quantity"],
                   param_names=d["param_names"], dataset_config=d.get("dataset_config"),
                   dataset_normalizer=d.get("dataset_normalizer"), train_config=d.get("train_config"),
                   metrics=d.get("metrics"), ood_warn=d.get("ood_warn", 0.05),
                   ood_fail=d.get("ood_fail", 100.0), observables=d.get("observables"))


# ----------------------------------------------------------------------------- integrity
def _sha256_file(path: Path) -> str:
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _field_digests(description: dict) -> dict:
    """sha256 of the canonical JSON of each signed model.json field (all but UNSIGNED_FIELDS)."""
    import hashlib
    return {k: hashlib.sha256(json.dumps(v, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
            for k, v in description.items() if k not in UNSIGNED_FIELDS}


def write_integrity(path, description: dict | None = None) -> Path:
    """Write integrity.json into the model folder `path`: the sha256 of weights.safetensors and
    of each model.json field except metrics/ood_warn/ood_fail (those may be edited). description:
    the model.json content (read from the folder when None). Returns the file's path."""
    path = Path(path)
    if description is None:
        description = json.loads((path / CONFIG_FILE).read_text())
    record = {"algorithm": "sha256", "weights": _sha256_file(path / WEIGHTS_FILE),
              "model_json_fields": _field_digests(description)}
    out = path / INTEGRITY_FILE
    out.write_text(json.dumps(record, indent=1, sort_keys=True))
    return out


def check_integrity(path: Path, description: dict) -> None:
    """Compare the weights file and model.json of the folder `path` with integrity.json.
    ValueError naming what differs; a one-line UserWarning when the folder has no record."""
    record_file = path / INTEGRITY_FILE
    if not record_file.is_file():
        warnings.warn(f"{path} has no {INTEGRITY_FILE} (saved by an older ligandml): its weights and "
                      f"{CONFIG_FILE} are unverified", UserWarning, stacklevel=4)
        return
    try:
        record = json.loads(record_file.read_text())
        weights, signed = record["weights"], dict(record["model_json_fields"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{record_file}: not a valid integrity record ({exc})") from None
    if _sha256_file(path / WEIGHTS_FILE) != weights:
        raise ValueError(f"{path / WEIGHTS_FILE} does not match the sha256 recorded in "
                         f"{INTEGRITY_FILE}: the weights are damaged or were replaced")
    found = _field_digests(description)
    edited = sorted(k for k in set(found) | set(signed) if found.get(k) != signed.get(k))
    if edited:
        raise ValueError(f"{path / CONFIG_FILE}: field(s) {edited} differ from those saved with the "
                         f"weights ({INTEGRITY_FILE}); only {list(UNSIGNED_FIELDS)} may be edited")


def _check_finite(state: dict, where: str) -> None:
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(f"{where}: non-finite (NaN or inf) values in tensor(s) {bad[:5]}"
                         + (f" and {len(bad) - 5} more" if len(bad) > 5 else ""))


def _tensor_len(state: dict, name: str):
    return int(state[name].shape[-1]) if name in state and state[name].dim() else None


def check_description(d: dict, state: dict, where) -> None:
    """Every model.json field against the weights and against each other: the temperature grid
    (positive, increasing, as long as the input layer), param_names (unique, as many as the
    output width, physical names in the dataset configuration's order followed by nuisances
    chi_dia/s_m), ion, field and quantity (matching the dataset configuration and normaliser),
    ood_warn <= ood_fail (positive). ValueError naming the field."""
    from .ions import ion as make_ion
    for key in ("model_config", "T", "ion", "field", "quantity", "param_names"):
        if key not in d:
            raise ValueError(f"{where}: missing field {key!r}")
    T = np.asarray(d["T"], dtype=float)
    if d.get("observables"):
        _check_observables(d["observables"], T, where)
    elif T.ndim != 1 or T.size < 2 or not np.all(np.isfinite(T)) or np.any(T <= 0) or np.any(np.diff(T) <= 0):
        raise ValueError(f"{where}: T must be a strictly increasing list of positive temperatures [K]")
    n_T = _tensor_len(state, "feat_shift")
    if n_T is not None and n_T != T.size:
        raise ValueError(f"{where}: T has {T.size} temperatures but the weights take {n_T}")
    names = d["param_names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise ValueError(f"{where}: param_names must be a list of distinct names, got {names!r}")
    n_x = _tensor_len(state, "x_mean")
    if n_x is not None and n_x != len(names):
        raise ValueError(f"{where}: param_names has {len(names)} names but the weights output {n_x} parameters")
    try:
        make_ion(d["ion"])
    except ValueError as exc:
        raise ValueError(f"{where}: ion: {exc}") from None
    if d["quantity"] not in ("chi", "chiT"):
        raise ValueError(f"{where}: quantity must be 'chi' or 'chiT', got {d['quantity']!r}")
    warn, fail = d.get("ood_warn", 0.05), d.get("ood_fail", 100.0)
    try:
        warn, fail = float(warn), float(fail)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: ood_warn/ood_fail must be numbers, got {warn!r}/{fail!r}") from None
    if not (np.isfinite(warn) and warn >= 0 and fail >= warn):
        raise ValueError(f"{where}: need 0 <= ood_warn <= ood_fail, got ood_warn={warn}, ood_fail={fail}")
    _check_against_dataset(d, T, names, where)


def _check_observables(index, T: np.ndarray, where) -> None:
    """A multi-observable model's index against its T (the grids concatenated in column order)."""
    if not isinstance(index, dict):
        raise ValueError(f"{where}: observables must be a mapping name -> description")
    try:
        order = sorted(index, key=lambda n: index[n]["start"])
        grids = [np.asarray(index[n]["grid"], dtype=float) for n in order]
        spans = [(int(index[n]["start"]), int(index[n]["stop"])) for n in order]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: observables: malformed entry ({exc})") from None
    stop = 0
    for n, (a, b), g in zip(order, spans, grids):
        if a != stop or b - a != g.size or index[n].get("kind") not in ("chi", "M"):
            raise ValueError(f"{where}: observables: entry {n!r} does not fit the column layout")
        stop = b
    if T.ndim != 1 or stop != T.size or not np.allclose(np.concatenate(grids), T, rtol=1e-12):
        raise ValueError(f"{where}: T differs from the observables' grids concatenated")


def _check_against_dataset(d: dict, T: np.ndarray, names: list, where) -> None:
    """The model's ion, field, quantity, T grid and param_names against its dataset_config and
    dataset_normalizer (when recorded)."""
    cfg, norm = d.get("dataset_config") or {}, d.get("dataset_normalizer") or {}
    if cfg:
        for key in ("ion", "field", "quantity"):
            if key in cfg and cfg[key] != d[key]:
                raise ValueError(f"{where}: {key} {d[key]!r} differs from the dataset configuration's "
                                 f"{cfg[key]!r}")
        expected = list(cfg.get("params") or {}) + [c for c in NUISANCE_COLUMNS if c in names]
        if isinstance(cfg.get("params"), dict) and names != expected:
            raise ValueError(f"{where}: param_names {names} do not match the dataset configuration's "
                             f"parameters {list(cfg['params'])} (in that order, then chi_dia/s_m)")
        try:
            from .dataset import DatasetConfig
            grid = DatasetConfig.from_dict(cfg).columns()
        except (ValueError, TypeError):
            grid = None
        if grid is not None and (grid.size != T.size or not np.allclose(grid, T, rtol=1e-12)):
            raise ValueError(f"{where}: T differs from the dataset configuration's temperature grid")
    if norm and norm.get("quantity") not in (None, d["quantity"]):
        raise ValueError(f"{where}: dataset_normalizer quantity {norm.get('quantity')!r} differs from "
                         f"quantity {d['quantity']!r}")


def _jsonable(obj):
    """Recursively convert numpy/tuple values for json.dumps."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    return obj


@contextmanager
def _one_cpu_thread(device: torch.device):
    """The networks are small: on CPU one thread is fastest, and several threads on a busy machine
    are ~10-100x slower. Restores the previous setting."""
    if device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


#: the former name, kept for code written against it
VAEINNModel = InverseModel


def shipped_models() -> list[str]:
    """Names of the models shipped in the package ("default", "er-d3d", ...)."""
    root = DEFAULT_MODEL_DIR.parent
    return sorted(p.parent.name for p in root.glob(f"*/{CONFIG_FILE}"))


def shipped_model_path(path) -> Path:
    """The folder of a model: None or "default" -> the shipped D, E model; the name of another
    shipped model (e.g. "er-d3d") -> its folder in the package, unless a folder of that name
    exists in the working directory; anything else -> Path(path)."""
    if path is None:
        return DEFAULT_MODEL_DIR
    p = Path(path)
    if isinstance(path, str) and p.name == path and not p.exists():
        shipped = DEFAULT_MODEL_DIR.parent / path
        if (shipped / CONFIG_FILE).is_file():
            return shipped
    return p


def load_model(path=None, device=None) -> InverseModel:
    """Load a trained model folder; path=None (or "default") loads the default model shipped
    with ligandml (Er3+, D and E, zero field, sigma_dia = 0.002 emu/mol); "er-d3d" the shipped
    Er3+ D3d model over B20, B40, B43, B60, B63, B66 [K] from the four "crystal" observables
    (shipped_models() lists them). Never executes code from the files."""
    return InverseModel.load(path, device)
