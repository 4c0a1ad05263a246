"""``copula-vae`` and ``copula-vae-d``: VAEs whose latent space is sampled through a copula.

The Zγ study's "CVAE": the latent space is mapped onto the unit cube by the marginal
distribution functions of the encoded training events, a copula (uniform marginals that
keep only the dependence between the latent dimensions). New latent points come from a
Gaussian copula fitted to the encoded events' normal scores, mapped back through each
dimension's empirical quantiles, and are decoded. So the marginals of the latent codes
are reproduced exactly whatever shape they have, where the N(0, 1) prior assumes one.

Encoder and decoder are trained separately as well: first the VAE (encoder and decoder
together), then the decoder alone on the frozen encoder's codes (``decoder_train``), so
that it learns exactly the latent points it will be given. ``copula-vae-d`` is ``vae-d``
(discriminator, three optimisers) sampled through the copula; its decoder keeps its
adversarial training (``decoder_train.epochs = 0``). Conditional models fit one copula
per label.

References:
    Sklar (1959); the Zγ generative study this project builds on ("CVAE").
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch

from evmult.models.nn import join_context, split_context
from evmult.models.training import TrainSettings, train
from evmult.models.vae import PlainVAE, PlainVAEConfig
from evmult.models.vae_d import VAED, VAEDConfig

__all__ = [
    "CopulaVAE",
    "CopulaVAEConfig",
    "CopulaVAED",
    "CopulaVAEDConfig",
    "fit_copula",
    "sample_copula",
]

_NORMAL = torch.distributions.Normal(0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class CopulaVAEConfig(PlainVAEConfig):
    """Configuration of :class:`CopulaVAE`: the plain VAE's, plus

    Args:
        quantiles: points of each latent dimension's empirical quantile function.
        decoder_train: optimiser settings of the second phase, the decoder alone on
            the frozen encoder's codes (``epochs=0`` skips it).
    """

    quantiles: int = 512
    decoder_train: TrainSettings = dataclasses.field(
        default_factory=lambda: TrainSettings(epochs=30, patience=5)
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.decoder_train, dict):
            object.__setattr__(self, "decoder_train", TrainSettings(**self.decoder_train))
        if self.quantiles < 2:
            msg = f"quantiles must be at least 2, got {self.quantiles}"
            raise ValueError(msg)


@dataclasses.dataclass(frozen=True)
class CopulaVAEDConfig(CopulaVAEConfig, VAEDConfig):
    """Configuration of :class:`CopulaVAED`: ``vae-d``'s plus ``quantiles`` and
    ``decoder_train`` (off by default: the decoder keeps its adversarial training)."""

    decoder_train: TrainSettings = dataclasses.field(
        default_factory=lambda: TrainSettings(epochs=0)
    )


def fit_copula(
    codes: torch.Tensor, labels: torch.Tensor, n_labels: int, quantiles: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per label: each latent dimension's quantiles and the Cholesky factor of the
    normal scores' correlation matrix (a Gaussian copula).

    Args:
        codes: (n, k) latent points of the training events.
        labels: (n,) label of each (zeros for an unconditional model).
        n_labels: number of labels.
        quantiles: quantile points per dimension.

    Returns:
        ``(q, chol)`` of shapes (labels, quantiles, k) and (labels, k, k).
    """
    k = codes.shape[1]
    probs = torch.linspace(0.0, 1.0, quantiles, dtype=torch.float64)
    q = torch.empty(n_labels, quantiles, k)
    chol = torch.empty(n_labels, k, k)
    for label in range(n_labels):
        z = codes[labels == label].double()
        q[label] = torch.quantile(z, probs, dim=0).float()
        ranks = z.argsort(0).argsort(0).double()
        scores = _NORMAL.icdf((ranks + 1) / (len(z) + 1))
        corr = torch.corrcoef(scores.T) if len(z) > 2 and k > 1 else torch.eye(k)
        corr = torch.nan_to_num(corr.reshape(k, k)) + 1e-6 * torch.eye(k)
        chol[label] = torch.linalg.cholesky(corr).float()
    return q, chol


def sample_copula(q: torch.Tensor, chol: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Latent points of the given labels from the copula of :func:`fit_copula` (uses
    torch's global generator)."""
    n, k = len(labels), q.shape[2]
    g = torch.einsum("nij,nj->ni", chol[labels], torch.randn(n, k))
    position = _NORMAL.cdf(g) * (q.shape[1] - 1)
    low = position.floor().long().clamp(0, q.shape[1] - 2)
    frac = position - low
    table = q[labels]  # (n, quantiles, k)
    below = table.gather(1, low[:, None, :]).squeeze(1)
    above = table.gather(1, (low + 1)[:, None, :]).squeeze(1)
    return below + frac * (above - below)


def copula_distance(
    z: torch.Tensor, q: torch.Tensor, chol: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Squared Mahalanobis distance of latent points under the copula of
    :func:`fit_copula`: each coordinate's normal score (its quantile in its label's
    table, through Φ⁻¹), decorrelated with the label's Cholesky factor. Beyond a
    table's ends the score goes on linearly (in units of the table's width over the
    normal scores it spans), so far outliers keep their order."""
    table = q[labels]  # (n, quantiles, k)
    knots = table.shape[1]
    low = ((table < z[:, None, :]).sum(1) - 1).clamp(0, knots - 2)
    below = table.gather(1, low[:, None, :]).squeeze(1)
    above = table.gather(1, (low + 1)[:, None, :]).squeeze(1)
    frac = ((z - below) / (above - below).clamp_min(1e-12)).clamp(0, 1)
    edge = 0.5 / (knots - 1)
    u = ((low + frac) / (knots - 1)).clamp(edge, 1 - edge)
    first, last = table[:, 0, :], table[:, -1, :]
    span = 2 * float(_NORMAL.icdf(torch.tensor(1 - edge)))
    scale = (last - first).clamp_min(1e-12) / span
    beyond = (z - last).clamp_min(0) - (first - z).clamp_min(0)
    g = _NORMAL.icdf(u) + beyond / scale
    white = torch.linalg.solve_triangular(chol[labels], g[..., None], upper=False)
    return white.squeeze(-1).pow(2).sum(-1)


class _CopulaSampling:
    """What both copula families add to their VAE: the decoder phase, the copula fit
    and sampling, and its tensors. Mixed in before a :class:`PlainVAE` subclass."""

    config: Any
    module: Any
    n_context: int
    _training_labels: Any
    _vae: Any
    score_names: ClassVar[tuple[str, ...]] = (*PlainVAE.score_names, "copula")

    def _fit_matrix(
        self, x: np.ndarray, noise: np.ndarray, weights: np.ndarray, *, seed: int, progress: bool
    ) -> dict[str, Any]:
        record = super()._fit_matrix(x, noise, weights, seed=seed, progress=progress)  # type: ignore[misc]
        vae = self._vae()
        gen = torch.Generator().manual_seed(seed + 1)
        noisy = torch.as_tensor(x) + torch.as_tensor(noise) * torch.randn(x.shape, generator=gen)
        with torch.no_grad():
            codes = vae.encoder(noisy)[0]
        labels = self._training_labels(x)
        if labels is None:
            labels = torch.zeros(len(x), dtype=torch.long)
        if self.config.decoder_train.epochs > 0:
            record["decoder"] = self._train_decoder(
                noisy, codes, weights, seed=seed, progress=progress
            )
        self.copula = fit_copula(codes, labels, max(self.n_context, 1), self.config.quantiles)
        return record

    def _train_decoder(
        self,
        noisy: torch.Tensor,
        codes: torch.Tensor,
        weights: np.ndarray,
        *,
        seed: int,
        progress: bool,
    ) -> dict[str, Any]:
        """The decoder alone, on the frozen encoder's posterior means."""
        vae = self._vae()
        latent = codes.shape[1]
        data = torch.cat([codes, noisy], dim=1).numpy()

        def loss(batch: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            z, events = batch[:, :latent], batch[:, latent:]
            x, c = split_context(events, vae.context)
            return ((vae.decode(z, c) - x).pow(2).sum(-1) * w).mean()

        return train(
            vae.decoder,
            loss,
            data,
            weights,
            self.config.decoder_train,
            seed=seed + 2,
            progress=progress,
            label="decoder",
        )

    @torch.no_grad()
    def _sample_matrix(self, n: int, *, seed: int, context: torch.Tensor) -> np.ndarray:
        q, chol = self.copula
        labels = context.argmax(-1) if context.shape[-1] else torch.zeros(n, dtype=torch.long)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            z = sample_copula(q, chol, labels)
        return self._vae().decoder(join_context(z, context)).numpy()

    def _more_scores(
        self, batch: torch.Tensor, mu: torch.Tensor, wanted: set[str]
    ) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = super()._more_scores(batch, mu, wanted)  # type: ignore[misc]
        if "copula" in wanted:
            q, chol = self.copula
            context = split_context(batch, self.n_context)[1]
            labels = (
                context.argmax(-1) if self.n_context else torch.zeros(len(mu), dtype=torch.long)
            )
            out["copula"] = copula_distance(mu, q, chol, labels)
        return out

    def _tensors(self) -> dict[str, torch.Tensor]:
        tensors = super()._tensors()  # type: ignore[misc]
        q, chol = self.copula
        return {f"vae.{k}": v for k, v in tensors.items()} | {"copula_q": q, "copula_chol": chol}

    def _load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        super()._load_tensors({k[4:]: v for k, v in tensors.items() if k.startswith("vae.")})  # type: ignore[misc]
        self.copula = (tensors["copula_q"], tensors["copula_chol"])


class CopulaVAE(_CopulaSampling, PlainVAE):
    """The β-VAE sampled through a Gaussian copula of its latent codes, decoder
    retrained on the frozen encoder (the Zγ study's "CVAE")."""

    name = "copula-vae"
    Config = CopulaVAEConfig


class CopulaVAED(_CopulaSampling, VAED):
    """``vae-d`` (VAE + discriminator) sampled through a Gaussian copula of its latent
    codes."""

    name = "copula-vae-d"
    Config = CopulaVAEDConfig
    score_names: ClassVar[tuple[str, ...]] = (*VAED.score_names, "copula")
