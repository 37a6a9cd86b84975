"""The model kinds: one class each, registered in ligandml.nets.

  "faithful"  VAE (MLP, latent 3) on the globally min-max normalised curve, then an INN between
              the parameters and [latent, auxiliary z] trained with the losses of Ardizzone et al.
  "vae_cinn"  the same VAE, with a conditional INN on its (standardised) latent
  "cinn"      a conditional INN (FrEIA AllInOneBlocks) from N(0, I) to the parameters, conditioned
              on an embedding of the whole curve standardised per temperature, trained by
              maximum likelihood.

Every kind is a torch Module holding all tensors of a model: its networks plus the buffers of the
preprocessing (feat_*), the parameter standardisation (x_*), the latent standardisation (y_*) and
the reference latents of training curves for the "VAE plot" (ref_*). The buffer and submodule
names are the keys of saved weight files: keep them.
"""
from __future__ import annotations

import torch

from ..preprocessing import CurvePreprocessor
from . import register
from .inn import ConditionalFlow, LatentINN, train_flow, train_latent_inn
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

    def __init__(self, config, n_T: int, n_x: int):
        super().__init__()
        self.config = config
        n_latent = self.build(n_T, n_x)
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

    def raw_latent(self, features: torch.Tensor) -> torch.Tensor:
        """Unstandardised latent points (batch, n_latent) of preprocessed curves."""
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

    def latent(self, features: torch.Tensor) -> torch.Tensor:
        """Standardised latent point(s) of preprocessed curves."""
        return (self.raw_latent(features) - self.y_mean) / self.y_std

    def set_latent_scale(self, raw: torch.Tensor) -> None:
        """y_mean, y_std from raw latents of the training curves."""
        self.y_mean.copy_(raw.mean(0))
        self.y_std.copy_(raw.std(0).clamp_min(1e-6))


class _WithVAE(ModelNet):
    """Kinds whose latent is the mean of a VAE encoder."""

    has_vae = True

    def raw_latent(self, features):
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
    """A conditional INN on the whole curve, standardised per temperature; its latent is the
    curve embedding of the flow."""

    default_preprocessing = "standard"

    def build(self, n_T, n_x):
        c = self.config
        self.flow = ConditionalFlow(n_x, n_T, c.n_cond, c.embed_hidden, c.flow_blocks, c.flow_hidden,
                                    c.clamp)
        return c.n_cond

    def raw_latent(self, features):
        return self.flow.embed(features)

    def sample_x(self, latent, n, generator=None):
        return self.flow.sample(latent * self.y_std + self.y_mean, n, generator)

    def train_networks(self, trainer, f_tr, x_tr, f_te, x_te, vae_ready=False):
        train_flow(trainer, self.flow, f_tr, x_tr, f_te, x_te, self.config.x_noise)
        with torch.no_grad():
            self.set_latent_scale(_chunked(self.flow.embed, f_tr))
