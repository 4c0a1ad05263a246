"""``vae``, the baseline: the plain β-VAE, loss (1 − β)·MSE + β·KL with β = 0.001 (the
DarkMachines study's best), sampled from the N(0, 1) prior through the decoder mean.
Its module and configuration are the base of the seed studies' variants (α-VAE,
VAE+D, VAE+NF, copula VAE).

References:
    Kingma & Welling, arXiv:1312.6114 (VAE); Higgins et al., ICLR 2017 (β-VAE).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from evmult.models.base import Generator
from evmult.models.nn import (
    GaussianEncoder,
    join_context,
    kl_normal,
    mass_column_of,
    mlp,
    mmd2,
    split_context,
)
from evmult.models.scoring import averaged, fixed_normal, mahalanobis
from evmult.models.training import TrainSettings, train

__all__ = ["PlainVAE", "PlainVAEConfig", "PlainVAEModule"]


@dataclasses.dataclass(frozen=True)
class PlainVAEConfig:
    """Configuration of :class:`PlainVAE` (the baseline).

    Args:
        latent: latent dimensions.
        hidden: encoder and (mirrored) decoder hidden widths.
        activation: ``silu``, ``relu``, ``elu`` or ``tanh``.
        beta: the loss is (1 − β)·MSE + β·KL.
        resonance_coordinate: learn the channel's resonance mass as a coordinate.
        mmd: weight of an MMD term between the resonance mass decoded from prior draws
            and the batch's (Butter et al., arXiv:1907.03764); 0 turns it off.
        mmd_widths: Gaussian kernel widths of the MMD term, in standardised units.
        train: optimiser settings.
    """

    latent: int = 8
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "silu"
    beta: float = 0.001
    resonance_coordinate: bool = True
    mmd: float = 0.0
    mmd_widths: tuple[float, ...] = (0.02, 0.1, 0.5)
    train: TrainSettings = dataclasses.field(default_factory=TrainSettings)

    def __post_init__(self) -> None:
        if isinstance(self.train, dict):
            object.__setattr__(self, "train", TrainSettings(**self.train))
        for name in ("hidden", "mmd_widths"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


class PlainVAEModule(nn.Module):
    """Encoder q(z|x, c), MLP decoder p(x|z, c), the (1 − β)·MSE + β·KL loss and the
    MMD term; ``c`` is the one-hot label of a conditional model (``context`` columns,
    the last of every batch), absent otherwise."""

    def __init__(
        self, features: int, cfg: PlainVAEConfig, mass_column: int | None, context: int = 0
    ) -> None:
        super().__init__()
        self.context = context
        self.encoder = GaussianEncoder(features + context, cfg.latent, cfg.hidden, cfg.activation)
        self.decoder = mlp([cfg.latent + context, *reversed(cfg.hidden), features], cfg.activation)
        self.beta = cfg.beta
        self.encoder_latent = cfg.latent
        self.mmd, self.mmd_widths, self.mass_column = cfg.mmd, cfg.mmd_widths, mass_column

    def posterior(
        self, batch: torch.Tensor, eps: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparametrised draw z ~ q(z|x, c) (of the standard-normal ``eps``, drawn
        when not given) and the KL divergence to the prior."""
        mu, log_var = self.encoder(batch)
        eps = torch.randn_like(mu) if eps is None else eps
        z = mu + eps * (0.5 * log_var).exp()
        return z, kl_normal(mu, log_var)

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """The decoder's mean for latent points ``z`` of labels ``c``."""
        return self.decoder(join_context(z, c))

    def loss(self, batch: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x, c = split_context(batch, self.context)
        z, kl = self.posterior(batch)
        mse = (self.decode(z, c) - x).pow(2).sum(-1)
        loss = (((1 - self.beta) * mse + self.beta * kl) * w).mean()
        return loss + self.mmd_term(x, c)

    def mmd_term(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor | float:
        """The weighted MMD between the resonance mass of prior draws and the batch's."""
        if self.mass_column is None:
            return 0.0
        j = self.mass_column
        prior = self.decode(torch.randn(len(x), self.encoder_latent, device=x.device), c)[:, j]
        return self.mmd * mmd2(prior, x[:, j], self.mmd_widths)


class PlainVAE(Generator):
    """The plain β-VAE baseline, sampled from the N(0, 1) prior through the decoder
    mean: what the VAE literature starts from, and what the default must beat."""

    name = "vae"
    Config = PlainVAEConfig
    score_names: ClassVar[tuple[str, ...]] = ("reco", "kl", "latent_pca")

    def __init__(self, config: PlainVAEConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.module: PlainVAEModule | None = None

    def _module(self, features: int) -> PlainVAEModule:
        return PlainVAEModule(
            features, self.config, mass_column_of(self._fitted(), self.config.mmd), self.n_context
        )

    def _fit_matrix(
        self, x: np.ndarray, noise: np.ndarray, weights: np.ndarray, *, seed: int, progress: bool
    ) -> dict[str, Any]:
        self.module = self._module(x.shape[1] - self.n_context)
        return {
            "vae": train(
                self.module,
                self.module.loss,
                x,
                weights,
                self.config.train,
                noise=noise,
                seed=seed,
                progress=progress,
                label=self.name,
            )
        }

    @torch.no_grad()
    def _sample_matrix(self, n: int, *, seed: int, context: torch.Tensor) -> np.ndarray:
        assert self.module is not None
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.config.latent, generator=gen)
        return self.module.decode(z, context).numpy()

    def _vae(self) -> PlainVAEModule:
        """The VAE module (inside the adversarial module of a variant with a
        discriminator)."""
        assert self.module is not None
        return getattr(self.module, "vae", self.module)

    def _codes(self, x: torch.Tensor) -> torch.Tensor:
        return self._vae().encoder(x)[0]

    def _scores(
        self, x: torch.Tensor, noise: torch.Tensor, wanted: set[str], *, draws: int, seed: int
    ) -> dict[str, np.ndarray]:
        vae, pca = self._vae(), self.latent_pca

        def scores(batch: torch.Tensor, draw: int) -> dict[str, torch.Tensor]:
            events, c = split_context(batch, self.n_context)
            mu = vae.encoder(batch)[0]
            out = {}
            if "reco" in wanted:
                out["reco"] = (vae.decode(mu, c) - events).pow(2).sum(-1)
            if "kl" in wanted:
                eps = fixed_normal(seed + 1, draw, mu.shape[1]).expand_as(mu)
                out["kl"] = vae.posterior(batch, eps)[1]
            if pca is not None and "latent_pca" in wanted:
                out["latent_pca"] = mahalanobis(mu, pca)
            return out | self._more_scores(batch, mu, wanted)

        return averaged(x, noise, draws, seed, scores)

    def _more_scores(
        self,
        batch: torch.Tensor,  # noqa: ARG002
        mu: torch.Tensor,  # noqa: ARG002
        wanted: set[str],  # noqa: ARG002
    ) -> dict[str, torch.Tensor]:
        """The scores ``wanted`` that a variant adds, for a batch with posterior means
        ``mu`` (the discriminator's, the copula's)."""
        return {}

    def _tensors(self) -> dict[str, torch.Tensor]:
        assert self.module is not None
        return dict(self.module.state_dict())

    def _load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.module = self._module(self._fitted().n_features)
        self.module.load_state_dict(tensors)
        self.module.eval()
