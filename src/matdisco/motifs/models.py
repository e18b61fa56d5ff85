"""Variational autoencoder of normalised Gram entries (the LightningModule), built from config or loaded.

Input x (B, P): normalised upper-triangle Gram entries (P = 36 for 8 neighbours). The encoder
(Linear layers through ``hidden_dims``, tanh) gives the mean and log-variance of a ``latent_dim`` Gaussian; the
decoder mirrors it. Loss per batch = mean squared error over entries + beta_t * KL, with the KL
summed over latent dimensions and averaged over the batch, and beta_t = beta * min(1, (epoch + 1)
/ beta_warmup_epochs) (linear warm-up; no warm-up when ``beta_warmup_epochs`` is 0).

With ``shell_sizes`` (e.g. [4, 4]: bonded first shell, then second shell) the reconstruction term is
permutation-invariant within shells: the MSE against the true entries relabelled by the best of the
within-shell permutations (4! x 4! = 576), per environment. Without it the labels are fixed.
``invariant_encoder`` (needs ``shell_sizes``) makes the encoder see no labels either: its last hidden
layer is averaged over the input relabelled by every within-shell permutation (group averaging), so
environments that differ only by labels get the same latent point.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from torch import nn

from matdisco.core.errors import ConfigError, InputError
from matdisco.core.training import instantiate_model, load_module
from matdisco.motifs.environments import GramNormaliser, entry_permutations, n_neighbours_from_entries
from matdisco.motifs.geometry import shell_permutations


def mlp(sizes: Sequence[int], final_activation: bool) -> nn.Sequential:
    """Linear layers between consecutive ``sizes`` with tanh after each (after the last if asked)."""
    layers: list[nn.Module] = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if final_activation or k < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def reconstruction_mse(
    reconstruction: torch.Tensor, target: torch.Tensor, entry_perms: torch.Tensor | None
) -> torch.Tensor:
    """Per-environment MSE (B,) over entries (B, P); with ``entry_perms`` (n_perm, P), the minimum over
    the target relabelled by each row (a permutation-invariant loss), otherwise labels fixed."""
    if entry_perms is None:
        return torch.mean((reconstruction - target) ** 2, dim=1)
    relabelled = target[:, entry_perms]  # (B, n_perm, P)
    return torch.mean((reconstruction[:, None, :] - relabelled) ** 2, dim=2).min(dim=1).values


class MotifVAE(pl.LightningModule):
    """VAE P -> hidden_dims -> (mu, log sigma^2) in R^latent_dim -> reversed hidden_dims -> P.

    ``normaliser`` (a :class:`~matdisco.motifs.environments.GramNormaliser` dict) is stored in the
    hyper-parameters so the checkpoint carries the statistics its inputs were normalised with.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dims: Sequence[int] = (28, 18),
        latent_dim: int = 8,
        beta: float = 0.01,
        beta_warmup_epochs: int = 10,
        lr: float = 1e-3,
        normaliser: dict | None = None,
        shell_sizes: Sequence[int] | None = None,
        invariant_encoder: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        hidden = [int(h) for h in hidden_dims]
        self.encoder = mlp([input_dim, *hidden], final_activation=True)
        self.to_mu = nn.Linear(hidden[-1], latent_dim)
        self.to_logvar = nn.Linear(hidden[-1], latent_dim)
        self.decoder = mlp([latent_dim, *reversed(hidden), input_dim], final_activation=False)
        if shell_sizes and sum(int(k) for k in shell_sizes) != n_neighbours_from_entries(input_dim):
            raise ConfigError(
                f"model.shell_sizes {list(shell_sizes)} must add up to the {n_neighbours_from_entries(input_dim)} neighbours "
                f"of the {input_dim} Gram entries (data.n_neighbours)"
            )
        labels = shell_permutations(tuple(int(k) for k in shell_sizes)) if shell_sizes else None
        self.register_buffer("label_perms", None if labels is None else torch.as_tensor(labels), persistent=False)
        self.register_buffer(
            "entry_perms", None if labels is None else torch.as_tensor(entry_permutations(labels)), persistent=False
        )
        if invariant_encoder and labels is None:
            raise ConfigError("model.invariant_encoder needs model.shell_sizes (the label blocks it averages over)")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance (B, latent_dim) of q(z | x) for x (B, P); label-blind with ``invariant_encoder``."""
        if self.hparams.get("invariant_encoder", False):
            h = self.encoder(x[:, self.entry_perms]).mean(dim=1)
        else:
            h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Normalised Gram entries (B, P) from latent points z (B, latent_dim)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction (B, P) from a reparameterised sample, with mu and log-variance (B, latent_dim)."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar

    def beta_now(self) -> float:
        """KL weight of the current epoch (linear warm-up to ``beta``)."""
        warmup = int(self.hparams.beta_warmup_epochs)
        scale = 1.0 if warmup <= 0 else min(1.0, (self.current_epoch + 1) / warmup)
        return float(self.hparams.beta) * scale

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Reconstruction MSE, KL (summed over latent dimensions, batch mean) and total loss."""
        reconstruction, mu, logvar = self(x)
        recon = reconstruction_mse(reconstruction, x, self.entry_perms).mean()
        kl = torch.mean(-0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1))
        return {"recon": recon, "kl": kl, "loss": recon + self.beta_now() * kl}

    def training_step(self, batch, batch_idx):
        """One optimisation step; logs train/loss, train/recon, train/kl, beta."""
        losses = self.losses(batch[0])
        for name, value in losses.items():
            self.log(f"train/{name}", value, on_step=False, on_epoch=True, batch_size=len(batch[0]))
        self.log("beta", self.beta_now(), on_step=False, on_epoch=True)
        return losses["loss"]

    def validation_step(self, batch, batch_idx):
        """Logs val/loss, val/recon, val/kl (val/loss is what early stopping watches)."""
        losses = self.losses(batch[0])
        for name, value in losses.items():
            self.log(f"val/{name}", value, on_step=False, on_epoch=True, batch_size=len(batch[0]))

    def configure_optimizers(self):
        """Adam with the configured learning rate."""
        return torch.optim.Adam(self.parameters(), lr=float(self.hparams.lr))


def build_module(model_cfg: DictConfig, input_dim: int, normaliser: GramNormaliser) -> MotifVAE:
    """The VAE of ``model_cfg`` (the section ``model``) for ``input_dim`` Gram entries, carrying the normaliser's
    statistics."""
    return instantiate_model(model_cfg, input_dim=input_dim, normaliser=normaliser.to_dict())


def load_trained(path: Path, n_neighbours: int) -> tuple[MotifVAE, GramNormaliser]:
    """The trained model at ``path`` (``motifs.data.model_path``) and the normaliser stored in it, which must be for
    ``n_neighbours`` neighbours (``data.n_neighbours``)."""
    if not path.is_file():
        raise InputError("model checkpoint does not exist", str(path), "the output of the train step")
    model, _ = load_module(path)
    normaliser = GramNormaliser.from_dict(model.hparams.normaliser)
    if normaliser.n_neighbours != n_neighbours:
        raise InputError(
            f"model was trained on {normaliser.n_neighbours} neighbours, but data.n_neighbours is {n_neighbours}",
            str(path),
            "a model trained on environments of the same data settings (run the train step with them first)",
        )
    return model, normaliser
