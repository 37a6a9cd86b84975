"""Invertible networks built with FrEIA: the latent INN of the VAE-INN and a conditional flow.

LatentINN (the faithful configuration, Ardizzone et al., ICLR 2019, "Analyzing Inverse Problems
with Invertible Neural Networks"): an unconditional INN of width W between
    x-side  [x, 0_pad]                  (x = standardised parameters D, E and nuisances)
    y-side  [z, 0_pad, y]               (y = standardised VAE latent, z ~ N(0, I) auxiliary)
trained with: forward fit of y (MSE), MMD on (z, y) against N(0, I) x data, backward MMD on x
(z drawn fresh), and reconstruction of x from the perturbed forward output. Blocks:
GLOWCouplingBlock + PermuteRandom (FrEIA's GIN blocks do in-place updates that break backward
passes on PyTorch 2 and are not used).

ConditionalFlow (the "cinn" and "nsf" kinds): a normalising flow x <-> z ~ N(0, I) of
AllInOneBlocks (soft permutations; coupling="allinone") or rational-quadratic spline couplings
(Durkan et al. 2019, ligandml.nets.spline_coupling; coupling="spline") conditioned on an
embedding of the whole preprocessed curve, trained by maximum likelihood; its embedding net
(an MLP, or 1-D convolutions over the temperature axis then an MLP) is trained jointly. With
n_noise > 0 the flow is also told the curve's noise level(s) (ligandml.nets.noise): the noise
features enter the embedding and are appended to the condition.
"""
from __future__ import annotations

import FrEIA.framework as Ff
import FrEIA.modules as Fm
import numpy as np
import torch
from torch import nn

from .vae import mlp


def _subnet_factory(hidden: int, layers: int = 2):
    """FrEIA subnet constructor: MLP c_in -> hidden (x layers) -> c_out, last layer zero-initialised
    so every coupling block starts as the identity."""
    def make(c_in: int, c_out: int) -> nn.Module:
        net = mlp(c_in, (hidden,) * layers, c_out)
        nn.init.zeros_(net[-1].weight)
        nn.init.zeros_(net[-1].bias)
        return net
    return make


# ----------------------------------------------------------------------------- faithful INN
class LatentINN(nn.Module):
    """Unconditional INN between [x, pad] and [z, pad, y]; see the module docstring."""

    def __init__(self, n_x: int, n_y: int, n_z: int, width: int, n_blocks: int = 6,
                 hidden: int = 128, clamp: float = 2.0, seed: int = 0):
        super().__init__()
        if width < max(n_x, n_y + n_z) or width < 2:
            raise ValueError(f"INN width {width} must be >= max(n_x={n_x}, n_y+n_z={n_y + n_z}) and >= 2")
        self.n_x, self.n_y, self.n_z, self.width = n_x, n_y, n_z, width
        self.net = Ff.SequenceINN(width)
        for k in range(n_blocks):
            self.net.append(Fm.GLOWCouplingBlock, subnet_constructor=_subnet_factory(hidden), clamp=clamp)
            self.net.append(Fm.PermuteRandom, seed=seed + k)

    def forward_x(self, x_padded: torch.Tensor) -> torch.Tensor:
        """[x, pad] -> [z, pad, y] (batch, width)."""
        return self.net(x_padded, jac=False)[0]

    def inverse_y(self, yz_padded: torch.Tensor) -> torch.Tensor:
        """[z, pad, y] -> [x, pad] (batch, width)."""
        return self.net(yz_padded, rev=True, jac=False)[0]

    def pad_x(self, x: torch.Tensor, noise: float = 0.0) -> torch.Tensor:
        pad = noise * torch.randn(x.shape[0], self.width - self.n_x, device=x.device, dtype=x.dtype)
        return torch.cat([x, pad], dim=1)

    def assemble_y(self, z: torch.Tensor, y: torch.Tensor, noise: float = 0.0) -> torch.Tensor:
        n_pad = self.width - self.n_y - self.n_z
        pad = noise * torch.randn(y.shape[0], n_pad, device=y.device, dtype=y.dtype)
        return torch.cat([z, pad, y], dim=1)

    @torch.no_grad()
    def sample(self, y: torch.Tensor, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples of x for one latent point y (shape (n_y,) or (1, n_y)); returns (n, n_x)."""
        y = y.reshape(1, -1).expand(n, -1)
        z = torch.randn(n, self.n_z, generator=generator, device=y.device, dtype=y.dtype)
        return self.inverse_y(self.assemble_y(z, y))[:, : self.n_x]


def mmd_multiscale(a: torch.Tensor, b: torch.Tensor, widths=(0.2, 0.5, 0.9, 1.3)) -> torch.Tensor:
    """Biased MMD^2 between samples a and b (batch, d) with inverse multiquadratic kernels
    k(r) = w^2 / (w^2 + r^2) summed over the widths w (Ardizzone et al.)."""
    aa, bb, ab = a @ a.T, b @ b.T, a @ b.T
    ra, rb = aa.diag().unsqueeze(0), bb.diag().unsqueeze(0)
    daa, dbb, dab = ra.T + ra - 2 * aa, rb.T + rb - 2 * bb, ra.T + rb - 2 * ab
    total = torch.zeros((), device=a.device, dtype=a.dtype)
    for w in widths:
        w2 = w * w
        total = total + (w2 / (w2 + daa)).mean() + (w2 / (w2 + dbb)).mean() - 2 * (w2 / (w2 + dab)).mean()
    return total


def ardizzone_losses(inn: LatentINN, x: torch.Tensor, y: torch.Tensor, *, lambda_fit: float = 3.0,
                     lambda_latent: float = 300.0, lambda_rev: float = 400.0, lambda_pad: float = 0.0,
                     pad_noise: float = 1e-3,
                     y_noise: float = 1e-3, mmd_widths=(0.2, 0.5, 0.9, 1.3)) -> dict[str, torch.Tensor]:
    """The four losses of Ardizzone et al. for a batch of (standardised) x and y.

    Returns dict with "fit" (forward MSE on [pad, y]), "latent" (MMD of (z, y) vs (N(0,I), y)),
    "rev" (MMD of x from fresh z vs x), "recon" (MSE of x from the perturbed forward output),
    "pad" (mean square of the x-side padding produced from fresh z: without it the INN hides the
    information about y in the padding, and samples drawn with fresh z ignore y) and "total"
    (weighted sum).
    """
    n_x, n_y, n_z = inn.n_x, inn.n_y, inn.n_z
    batch = x.shape[0]
    x_pad = inn.pad_x(x, pad_noise)
    y_noisy = y + y_noise * torch.randn_like(y)
    out = inn.forward_x(x_pad)
    fit = ((out[:, n_z:] - torch.cat([torch.zeros_like(out[:, n_z:-n_y]), y_noisy], 1)) ** 2).mean()
    z_normal = torch.randn(batch, n_z, device=x.device, dtype=x.dtype)
    latent = mmd_multiscale(torch.cat([out[:, :n_z], out[:, -n_y:].detach()], 1),
                            torch.cat([z_normal, y_noisy], 1), mmd_widths)
    z_pert = out[:, :n_z].detach() + y_noise * torch.randn(batch, n_z, device=x.device, dtype=x.dtype)
    x_recon = inn.inverse_y(inn.assemble_y(z_pert, y_noisy, pad_noise))
    recon = ((x_recon - x_pad) ** 2).mean()
    x_rand_padded = inn.inverse_y(inn.assemble_y(torch.randn_like(z_normal), y_noisy, pad_noise))
    rev = mmd_multiscale(x_rand_padded[:, :n_x], x, mmd_widths)
    pad = (x_rand_padded[:, n_x:] ** 2).mean() if inn.width > n_x else torch.zeros_like(rev)
    total = lambda_fit * (fit + recon) + lambda_latent * latent + lambda_rev * rev + lambda_pad * pad
    return {"total": total, "fit": fit, "latent": latent, "rev": rev, "recon": recon, "pad": pad}


# ----------------------------------------------------------------------------- conditional flow
class ConvEmbedding(nn.Module):
    """Curve embedding with 1-D convolutions over the temperature axis: the first n_T inputs
    (the curve, ordered by temperature) go through `channels` Conv1d layers (kernel 5, stride 2,
    ReLU), the flattened maps and the remaining inputs (noise features) through an MLP."""

    def __init__(self, n_T: int, n_extra: int, hidden, n_out: int, channels=(16, 32, 32)):
        super().__init__()
        self.n_T = n_T
        layers, c_in, length = [], 1, n_T
        for c in channels:
            layers += [nn.Conv1d(c_in, c, kernel_size=5, stride=2, padding=2), nn.ReLU()]
            c_in, length = c, (length + 1) // 2
        self.conv = nn.Sequential(*layers)
        self.head = mlp(c_in * length + n_extra, tuple(hidden), n_out)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        curve, extra = inputs[:, : self.n_T], inputs[:, self.n_T:]
        maps = self.conv(curve.unsqueeze(1)).flatten(1)
        return self.head(torch.cat([maps, extra], dim=1))


class ConditionalFlow(nn.Module):
    """x <-> z ~ N(0, I) conditioned on embed([curve features, noise features]) and the noise
    features; see the module docstring. coupling: "allinone" | "spline"; embedding: "mlp" | "conv";
    n_noise: noise-level inputs (0: none)."""

    def __init__(self, n_x: int, n_features: int, n_cond: int = 32, embed_hidden=(256, 256),
                 n_blocks: int = 8, hidden: int = 128, clamp: float = 2.0, *, coupling: str = "allinone",
                 n_noise: int = 0, embedding: str = "mlp", spline_bins: int = 8,
                 spline_tail: float = 4.0, seed: int = 0):
        super().__init__()
        if n_x < 2:
            raise ValueError(f"ConditionalFlow needs at least 2 parameters, got {n_x}")
        if n_noise < 0:
            raise ValueError(f"n_noise must be >= 0, got {n_noise}")
        self.n_x, self.n_features, self.n_cond, self.n_noise = n_x, n_features, n_cond, n_noise
        if embedding == "mlp":
            self.embed = mlp(n_features + n_noise, tuple(embed_hidden), n_cond)
        elif embedding == "conv":
            self.embed = ConvEmbedding(n_features, n_noise, embed_hidden, n_cond)
        else:
            raise ValueError(f"embedding must be 'mlp' or 'conv', got {embedding!r}")
        n_c = n_cond + n_noise
        if coupling == "allinone":
            self.net = Ff.SequenceINN(n_x)
            for _ in range(n_blocks):
                self.net.append(Fm.AllInOneBlock, cond=0, cond_shape=(n_c,),
                                subnet_constructor=_subnet_factory(hidden), affine_clamping=clamp,
                                permute_soft=True)
        elif coupling == "spline":
            from .spline_coupling import spline_inn
            self.net = spline_inn(n_x, n_blocks=n_blocks, n_cond=n_c, hidden=hidden, bins=spline_bins,
                                  tail_bound=spline_tail, seed=seed)
        else:
            raise ValueError(f"coupling must be 'allinone' or 'spline', got {coupling!r}")

    def condition(self, features: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The flow's condition (batch, n_cond + n_noise) from curve features and, for a
        noise-aware flow, noise features (batch, n_noise) (ligandml.nets.noise.noise_features)."""
        if self.n_noise == 0:
            if noise is not None and noise.numel():
                raise ValueError("this flow has no noise input")
            return self.embed(features)
        if noise is None or noise.shape[-1] != self.n_noise:
            raise ValueError(f"this flow needs {self.n_noise} noise feature(s) per curve")
        return torch.cat([self.embed(torch.cat([features, noise], dim=1)), noise], dim=1)

    def nll(self, x: torch.Tensor, features: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Mean negative log-likelihood per sample (nats, up to the constant), standardised x."""
        z, log_jac = self.net(x, c=[self.condition(features, noise)])
        return (0.5 * (z ** 2).sum(dim=1) - log_jac).mean()

    @torch.no_grad()
    def sample(self, cond: torch.Tensor, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples of x given one condition cond (n_cond + n_noise,); returns (n, n_x)."""
        c = cond.reshape(1, -1).expand(n, -1)
        z = torch.randn(n, self.n_x, generator=generator, device=c.device, dtype=c.dtype)
        return self.net(z, c=[c], rev=True, jac=False)[0]


# ----------------------------------------------------------------------------- training phases
def train_latent_inn(trainer, inn: LatentINN, x_tr, y_tr, x_te, y_te, config) -> float:
    """The "inn" phase: Ardizzone losses with the weights of `config` (a ModelConfig) on
    standardised parameters x and latents y, through trainer.run. Returns the best validation loss."""
    tc, c = trainer.config, config
    kw = dict(lambda_fit=c.lambda_fit, lambda_latent=c.lambda_latent, lambda_rev=c.lambda_rev,
              lambda_pad=c.lambda_pad, pad_noise=c.pad_noise, y_noise=c.y_noise, mmd_widths=c.mmd_widths)

    def step(idx):
        return ardizzone_losses(inn, x_tr[idx], y_tr[idx], **kw)["total"], {}

    def val():
        n = min(len(x_te), 4 * tc.batch_size)
        parts = {k: 0.0 for k in ("total", "fit", "latent", "rev", "recon", "pad")}
        chunks = 0
        with torch.no_grad():
            torch.manual_seed(tc.seed + 3)
            for i in range(0, n - tc.batch_size + 1, tc.batch_size):
                out = ardizzone_losses(inn, x_te[i:i + tc.batch_size], y_te[i:i + tc.batch_size], **kw)
                for k in parts:
                    parts[k] += float(out[k])
                chunks += 1
        parts = {k: v / max(chunks, 1) for k, v in parts.items()}
        return parts.pop("total"), parts

    return trainer.run("inn", inn, step, val, len(x_tr), tc.inn_epochs,
                       samples_per_epoch=tc.inn_samples_per_epoch)


def _inputs(source, idx) -> tuple:
    """(features,) or (features, noise features) of rows idx from a tensor or an indexable source
    returning such a tuple (ligandml.nets.noise.NoisyCurveBatches)."""
    out = source[idx]
    return out if isinstance(out, tuple) else (out,)


def train_flow(trainer, flow: ConditionalFlow, c_tr, x_tr, c_te, x_te, jitter: float) -> float:
    """The "flow" phase: maximum likelihood of standardised parameters x given conditions c
    (curve features or latents: a tensor, or a source of (features, noise features) batches),
    with Gaussian jitter of sd `jitter` on x while training."""

    def step(idx):
        x = x_tr[idx]
        return flow.nll(x + jitter * torch.randn_like(x), *_inputs(c_tr, idx)), {}

    def val():
        with torch.no_grad():
            v = float(np.mean([float(flow.nll(x_te[i:i + 4096], *_inputs(c_te, slice(i, i + 4096))))
                               for i in range(0, len(x_te), 4096)]))
        return v, {}

    return trainer.run("flow", flow, step, val, len(c_tr), trainer.config.flow_epochs)
