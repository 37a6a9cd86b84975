"""The variational autoencoder of the VAE-INN: an MLP encoder and decoder over a preprocessed curve.

The curve (n_T values, already normalised, e.g. global min-max to [0, 1]) is encoded to a Gaussian
q(y | curve) with mean and log-variance of size `latent`; the decoder maps y back to the curve.
Loss per curve: sum of squared errors + beta * KL(q || N(0, I)) (Kingma & Welling, 2014).
"""
from __future__ import annotations

import torch
from torch import nn


def mlp(n_in: int, hidden: tuple[int, ...], n_out: int, activation=nn.ReLU) -> nn.Sequential:
    """A plain multilayer perceptron n_in -> hidden... -> n_out (no activation on the output)."""
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h), activation()]
        width = h
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """MLP VAE: encode(curve) -> (mean, logvar), decode(y) -> curve. Curves are (batch, n_in)."""

    def __init__(self, n_in: int, latent: int = 3, hidden: tuple[int, ...] = (256, 128)):
        super().__init__()
        if latent < 1 or n_in < 1:
            raise ValueError(f"VAE needs n_in >= 1 and latent >= 1, got {n_in}, {latent}")
        self.n_in, self.latent = n_in, latent
        self.encoder = mlp(n_in, tuple(hidden), 2 * latent)
        self.decoder = mlp(latent, tuple(reversed(hidden)), n_in)

    def encode(self, curve: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(y | curve), each (batch, latent)."""
        out = self.encoder(curve)
        return out[:, : self.latent], out[:, self.latent:].clamp(-20.0, 10.0)

    def decode(self, y: torch.Tensor) -> torch.Tensor:
        """Reconstructed (preprocessed) curve, (batch, n_in)."""
        return self.decoder(y)

    def forward(self, curve: torch.Tensor):
        mean, logvar = self.encode(curve)
        y = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        return self.decode(y), mean, logvar


def vae_loss(recon: torch.Tensor, curve: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor,
             beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, reconstruction, KL), each averaged over the batch; reconstruction is the summed
    squared error over temperatures, KL the analytic KL(N(mean, exp(logvar)) || N(0, I))."""
    rec = ((recon - curve) ** 2).sum(dim=1).mean()
    kl = (-0.5 * (1 + logvar - mean ** 2 - logvar.exp()).sum(dim=1)).mean()
    return rec + beta * kl, rec, kl


def train_vae(trainer, vae: VAE, f_tr: torch.Tensor, f_te: torch.Tensor, beta: float) -> float:
    """The "vae" training phase on preprocessed curves f_tr (validation f_te), through
    trainer.run (ligandml.training.Trainer). Returns the best validation loss."""
    seed = trainer.config.seed

    def step(idx):
        recon, mean, logvar = vae(f_tr[idx])
        return vae_loss(recon, f_tr[idx], mean, logvar, beta)[0], {}

    def val():
        vae.eval()
        with torch.no_grad():
            torch.manual_seed(seed + 1)
            recon, mean, logvar = vae(f_te)
            tot, rec, kl = vae_loss(recon, f_te, mean, logvar, beta)
        vae.train()
        return float(tot), {"recon": float(rec), "kl": float(kl)}

    return trainer.run("vae", vae, step, val, len(f_tr), trainer.config.vae_epochs)
