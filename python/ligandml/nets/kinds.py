"""The model kinds: one class each, registered in ligandml.nets.

  "faithful"  VAE (MLP, latent 3) on the globally min-max normalised curve, then an INN between
              the parameters and [latent, auxiliary z] trained with the losses of Ardizzone et al.
  "vae_cinn"  the same VAE, with a conditional INN on its (standardised) latent
  "cinn"      a conditional INN (FrEIA AllInOneBlocks) from N(0, I) to the parameters, conditioned
              on an embedding of the whole curve standardised per temperature, trained by
              maximum likelihood.
  "nsf"       the same with rational-quadratic spline couplings (a neural spline flow, Durkan et
              al. 2019, the flow of sbi's NPE) as FrEIA modules (ligandml.nets.spline_coupling).

The conditional flows on the whole curve ("cinn", "nsf") can be noise-aware (config.n_noise > 0):
they are then told the relative noise level of each observable (ligandml.nets.noise) and keep the
trained range of levels in the buffers noise_log_lo, noise_log_hi (log10, one per input).

Every kind is a torch Module holding all tensors of a model: its networks plus the buffers of the
preprocessing (feat_*), the parameter standardisation (x_*), the latent standardisation (y_*) and
the reference latents of training curves for the "VAE plot" (ref_*). The buffer and submodule
names are the keys of saved weight files: keep them.
"""
from __future__ import annotations

import math

import torch

from ..preprocessing import CurvePreprocessor
from . import register
from .inn import ConditionalFlow, LatentINN, train_flow, train_latent_inn
from .noise import noise_features
from .vae import VAE, train_vae

#: rows per forward pass when a whole training set goes through a network
CHUNK = 65536


def _chunked(fn, t: torch.Tensor) -> torch.Tensor:
    return torch.cat([fn(t[i:i + CHUNK]) for i in range(0, len(t), CHUNK)])


class ModelNet(torch.nn.Module):
    """Base of the model kinds. Subclasses give build, raw_latent, sample_x and train_networks."""

    kind = ""                          # set by @register
    default_preprocessing = "minmax"
    has_vae = False
    supports_noise = False             # may be told the curves' noise levels (config.n_noise > 0)

    def __init__(self, config, n_T: int, n_x: int):
        super().__init__()
        self.config = config
        n_noise = int(getattr(config, "n_noise", 0))
        if n_noise and not self.supports_noise:
            raise ValueError(f"model kind {self.kind!r} takes no noise input (n_noise must be 0); "
                             "noise-aware kinds: cinn, nsf")
        n_latent = self.build(n_T, n_x)
        if n_noise:  # only then: the weight files of models without noise input keep their keys
            # log10 of the trained range of relative noise levels, per noise input
            self.register_buffer("noise_log_lo", torch.full((n_noise,), -3.0))
            self.register_buffer("noise_log_hi", torch.full((n_noise,), math.log10(0.03)))
        # preprocessing: features = (g(curve) - shift) / scale, per temperature (or global)
        self.register_buffer("feat_shift", torch.zeros(n_T))
        self.register_buffer("feat_scale", torch.ones(n_T))
        # per-temperature range of the training features (for the out-of-distribution check)
        self.register_buffer("feat_lo", torch.zeros(n_T))
        self.register_buffer("feat_hi", torch.ones(n_T))
        self.register_buffer("x_mean", torch.zeros(n_x))
        self.register_buffer("x_std", torch.ones(n_x))
        self.register_buffer("y_mean", torch.zeros(n_latent))
        self.register_buffer("y_std", torch.ones(n_latent))
        self.register_buffer("ref_latent", torch.zeros(0, n_latent))
        self.register_buffer("ref_params", torch.zeros(0, n_x))

    # -- what each kind defines ----------------------------------------------------------------
    def build(self, n_T: int, n_x: int) -> int:
        """Create the networks for n_T curve points and n_x parameters; return the latent size."""
        raise NotImplementedError

    def raw_latent(self, features: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Unstandardised latent points (batch, n_latent) of preprocessed curves (and, for a
        noise-aware kind, their noise features (batch, n_noise))."""
        raise NotImplementedError

    def sample_x(self, latent: torch.Tensor, n: int, generator=None) -> torch.Tensor:
        """n standardised parameter samples (n, n_x) for one standardised latent point."""
        raise NotImplementedError

    def train_networks(self, trainer, f_tr, x_tr, f_te, x_te, vae_ready: bool = False) -> None:
        """Run this kind's training phases on features f and standardised parameters x (train and
        validation), through trainer.run; afterwards y_mean and y_std hold the latent scale."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------------
    @property
    def preprocessor(self) -> CurvePreprocessor:
        """The preprocessing of this model, on its buffers (torch tensors)."""
        return CurvePreprocessor(self.config.preprocessing, self.feat_shift, self.feat_scale,
                                 self.feat_lo, self.feat_hi)

    def set_preprocessor(self, pre: CurvePreprocessor) -> None:
        """Copy shift and scale (and lo, hi when set) into the buffers."""
        for name, value in (("feat_shift", pre.shift), ("feat_scale", pre.scale),
                            ("feat_lo", pre.lo), ("feat_hi", pre.hi)):
            if value is not None:
                getattr(self, name).copy_(torch.as_tensor(value, dtype=torch.float32))

    def features(self, curves: torch.Tensor) -> torch.Tensor:
        """Preprocess curves (batch, n_T) in the model's quantity into network inputs."""
        return self.preprocessor.features(curves)

    def latent(self, features: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Standardised latent point(s) of preprocessed curves; noise: their noise features
        (noise_features), required by a noise-aware model and refused by any other."""
        return (self.raw_latent(features, noise) - self.y_mean) / self.y_std

    @property
    def n_noise(self) -> int:
        """Number of noise-level inputs (0: the model is not told the noise)."""
        return int(getattr(self.config, "n_noise", 0))

    @property
    def noise_range(self) -> tuple:
        """The trained (lo, hi) relative noise levels, one pair per noise input (empty: none)."""
        if not self.n_noise:
            return ()
        return tuple((float(10 ** a), float(10 ** b))
                     for a, b in zip(self.noise_log_lo.tolist(), self.noise_log_hi.tolist()))

    def noise_features(self, levels: torch.Tensor) -> torch.Tensor:
        """Network inputs (batch, n_noise) of relative noise levels (batch, n_noise), > 0."""
        return noise_features(levels, self.noise_log_lo, self.noise_log_hi)

    def set_latent_scale(self, raw: torch.Tensor) -> None:
        """y_mean, y_std from raw latents of the training curves."""
        self.y_mean.copy_(raw.mean(0))
        self.y_std.copy_(raw.std(0).clamp_min(1e-6))


class _WithVAE(ModelNet):
    """Kinds whose latent is the mean of a VAE encoder."""

    has_vae = True

    def raw_latent(self, features, noise=None):
        return self.vae.encode(features)[0]

    def reuse_vae(self, other: ModelNet) -> None:
        """Take the VAE and the curve preprocessing (shift, scale) of another trained model."""
        self.vae.load_state_dict(other.vae.state_dict())
        self.feat_shift.copy_(other.feat_shift)
        self.feat_scale.copy_(other.feat_scale)

    def _vae_then_latents(self, trainer, f_tr, f_te, vae_ready):
        """Train the VAE (unless reused), fix the latent scale; standardised latents (train, val)."""
        if not vae_ready:
            train_vae(trainer, self.vae, f_tr, f_te, self.config.beta)
        with torch.no_grad():
            y_tr, y_te = _chunked(self.raw_latent, f_tr), _chunked(self.raw_latent, f_te)
            self.set_latent_scale(y_tr)
            return (y_tr - self.y_mean) / self.y_std, (y_te - self.y_mean) / self.y_std


@register("faithful")
class VAELatentINN(_WithVAE):
    """The paper's VAE-INN: VAE (latent 3) + an unconditional INN trained with Ardizzone's losses."""

    def build(self, n_T, n_x):
        c = self.config
        self.vae = VAE(n_T, c.latent, c.vae_hidden)
        self.inn = LatentINN(n_x, c.latent, c.n_z, c.inn_width, c.inn_blocks, c.inn_hidden, c.clamp)
        return c.latent

    def sample_x(self, latent, n, generator=None):
        return self.inn.sample(latent, n, generator)

    def train_networks(self, trainer, f_tr, x_tr, f_te, x_te, vae_ready=False):
        y_tr, y_te = self._vae_then_latents(trainer, f_tr, f_te, vae_ready)
        train_latent_inn(trainer, self.inn, x_tr, y_tr, x_te, y_te, self.config)


@register("vae_cinn")
class VAEConditionalINN(_WithVAE):
    """The same VAE, with a conditional INN on its standardised latent."""

    def build(self, n_T, n_x):
        c = self.config
        self.vae = VAE(n_T, c.latent, c.vae_hidden)
        self.flow = ConditionalFlow(n_x, c.latent, c.n_cond, c.embed_hidden, c.flow_blocks, c.flow_hidden,
                                    c.clamp)
        return c.latent

    def sample_x(self, latent, n, generator=None):
        return self.flow.sample(self.flow.embed(latent.reshape(1, -1)), n, generator)

    def train_networks(self, trainer, f_tr, x_tr, f_te, x_te, vae_ready=False):
        y_tr, y_te = self._vae_then_latents(trainer, f_tr, f_te, vae_ready)
        train_flow(trainer, self.flow, y_tr, x_tr, y_te, x_te, self.config.x_noise)


@register("cinn")
class ConditionalINN(ModelNet):
    """A conditional INN (AllInOneBlocks) on the whole curve, standardised per temperature; its
    latent is the flow's condition (the curve embedding, then the noise features if any)."""

    default_preprocessing = "standard"
    supports_noise = True
    coupling = "allinone"

    def build(self, n_T, n_x):
        c = self.config
        self.flow = ConditionalFlow(n_x, n_T, c.n_cond, c.embed_hidden, c.flow_blocks, c.flow_hidden,
                                    c.clamp, coupling=self.coupling, n_noise=c.n_noise,
                                    embedding=c.embedding, spline_bins=c.spline_bins,
                                    spline_tail=c.spline_tail)
        return c.n_cond + c.n_noise

    def raw_latent(self, features, noise=None):
        return self.flow.condition(features, noise)

    def sample_x(self, latent, n, generator=None):
        return self.flow.sample(latent * self.y_std + self.y_mean, n, generator)

    def train_networks(self, trainer, f_tr, x_tr, f_te, x_te, vae_ready=False):
        train_flow(trainer, self.flow, f_tr, x_tr, f_te, x_te, self.config.x_noise)
        with torch.no_grad():
            if isinstance(f_tr, torch.Tensor):
                raw = _chunked(self.flow.condition, f_tr)
            else:  # noisy batches: one draw of up to CHUNK training curves
                raw = self.flow.condition(*f_tr[torch.arange(min(len(f_tr), CHUNK))])
            self.set_latent_scale(raw)


@register("nsf")
class NeuralSplineFlow(ConditionalINN):
    """A neural spline flow (rational-quadratic spline couplings, Durkan et al. 2019, as FrEIA
    modules) on the whole curve, standardised per temperature; otherwise as "cinn"."""

    coupling = "spline"
