"""``ae-latent``: a deterministic autoencoder with a generator in its latent space.

The CMS WZ study compresses the event (7 → 4, 7 → 2, 10 → 5 features) with a plain
autoencoder and generates new events by sampling the latent space with a separate
generator and decoding. Here the encoder and decoder are MLPs trained on the squared
reconstruction error, optionally plus a term that matches every feature's distribution
over the batch (:func:`marginal_distance`), and the latent generator is a normalising
flow (zuko coupling splines) fitted to the encoded training events afterwards.
:meth:`AELatent.reconstruct` gives the reconstruction of given events (the study's
compression test).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import awkward as ak
import numpy as np
import torch
from torch import nn

from evmult.models.base import Generator
from evmult.models.nn import (
    coupling_flow,
    fit_latent_flow,
    join_context,
    mlp,
    sample_flow,
    split_context,
)
from evmult.models.scoring import averaged, mahalanobis
from evmult.models.training import TrainSettings, train

__all__ = ["AELatent", "AELatentConfig", "Autoencoder", "marginal_distance"]


def marginal_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The squared 1-D Wasserstein-2 distances between the columns of two equally long
    batches, summed over columns: each column's sorted values compared pairwise.

    A squared reconstruction error alone pulls a code that cannot carry everything
    towards the mean of what it forgot, so reconstructed distributions come out too
    narrow; this term penalises exactly that, per feature, without asking any event
    to be reconstructed better.

    Example:
        >>> a = torch.tensor([[0.0], [1.0], [2.0]])
        >>> float(marginal_distance(a, a.flip(0)))
        0.0
    """
    return (a.sort(dim=0).values - b.sort(dim=0).values).pow(2).mean(0).sum()


@dataclasses.dataclass(frozen=True)
class AELatentConfig:
    """Configuration of :class:`AELatent`.

    Args:
        latent: dimensions of the code.
        hidden: encoder and (mirrored) decoder hidden widths.
        activation: ``silu``, ``relu``, ``elu`` or ``tanh``.
        prior_type: the latent flow's transforms, ``"spline"`` or ``"affine"``.
        prior_transforms: coupling transforms of the latent flow.
        marginal: weight of :func:`marginal_distance` between the batch's reconstruction
            and the batch (unweighted) beside the squared error; 0 turns it off.
        resonance_coordinate: learn the channel's resonance mass as a coordinate.
        train: optimiser settings of the autoencoder.
        prior_train: optimiser settings of the latent flow.
    """

    latent: int = 4
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "silu"
    prior_type: str = "spline"
    prior_transforms: int = 4
    marginal: float = 0.0
    resonance_coordinate: bool = True
    train: TrainSettings = dataclasses.field(default_factory=TrainSettings)
    prior_train: TrainSettings = dataclasses.field(
        default_factory=lambda: TrainSettings(epochs=60, batch_size=1024, lr=2e-3)
    )

    def __post_init__(self) -> None:
        for name in ("train", "prior_train"):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, TrainSettings(**value))
        object.__setattr__(self, "hidden", tuple(self.hidden))


class Autoencoder(nn.Module):
    """The deterministic autoencoder of :class:`AELatent`, usable alone on any
    standardised matrix (``benchmarks/bench_autoencoder.py`` does).

    Args:
        features: input (and output) columns.
        cfg: widths, code size, activation and the :func:`marginal_distance` weight.
        context: one-hot label columns appended to the input (given to both halves).
    """

    def __init__(self, features: int, cfg: AELatentConfig, context: int = 0) -> None:
        super().__init__()
        self.context = context
        self.marginal = cfg.marginal
        self.encoder = mlp([features + context, *cfg.hidden, cfg.latent], cfg.activation)
        self.decoder = mlp([cfg.latent + context, *reversed(cfg.hidden), features], cfg.activation)

    def reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        """Encode and decode events (with their context columns, if any)."""
        _, c = split_context(batch, self.context)
        return self.decoder(join_context(self.encoder(batch), c))

    def loss(self, batch: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x, _ = split_context(batch, self.context)
        rec = self.reconstruct(batch)
        loss = ((rec - x).pow(2).sum(-1) * w).mean()
        if self.marginal:
            loss = loss + self.marginal * marginal_distance(rec, x)
        return loss


class AELatent(Generator):
    """A deterministic autoencoder; new events decode points of a flow fitted to the
    training events' codes."""

    name = "ae-latent"
    Config = AELatentConfig
    score_names: ClassVar[tuple[str, ...]] = ("reco", "latent_pca", "latent_density")

    def __init__(self, config: AELatentConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.module: Autoencoder | None = None
        self.prior: nn.Module | None = None

    def _build(self, features: int) -> None:
        cfg = self.config
        self.module = Autoencoder(features, cfg, self.n_context)
        self.prior = coupling_flow(
            cfg.latent, self.n_context, cfg.prior_transforms, (64, 64), kind=cfg.prior_type
        )

    def _fit_matrix(
        self, x: np.ndarray, noise: np.ndarray, weights: np.ndarray, *, seed: int, progress: bool
    ) -> dict[str, Any]:
        cfg = self.config
        self._build(x.shape[1] - self.n_context)
        assert self.module is not None
        assert self.prior is not None
        record = {
            "ae": train(
                self.module,
                self.module.loss,
                x,
                weights,
                cfg.train,
                noise=noise,
                seed=seed,
                progress=progress,
                label=self.name,
            )
        }
        gen = torch.Generator().manual_seed(seed + 1)
        draws = 4
        noisy = (
            np.repeat(x, draws, axis=0)
            + np.repeat(noise, draws, axis=0)
            * torch.randn((draws * len(x), x.shape[1]), generator=gen).numpy()
        )
        with torch.no_grad():
            codes = self.module.encoder(torch.as_tensor(noisy, dtype=torch.float32)).numpy()
        context = split_context(noisy, self.n_context)[1] if self.n_context else None
        record["prior"] = fit_latent_flow(
            self.prior,
            codes,
            np.repeat(weights, draws),
            cfg.prior_train,
            seed=seed + 1,
            progress=progress,
            context=context,
        )
        return record

    @torch.no_grad()
    def _sample_matrix(self, n: int, *, seed: int, context: torch.Tensor) -> np.ndarray:
        assert self.module is not None
        assert self.prior is not None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            z = sample_flow(self.prior, n, context)
        return self.module.decoder(join_context(z, context)).numpy()

    def _codes(self, x: torch.Tensor) -> torch.Tensor:
        assert self.module is not None
        return self.module.encoder(x)

    def _scores(
        self, x: torch.Tensor, noise: torch.Tensor, wanted: set[str], *, draws: int, seed: int
    ) -> dict[str, np.ndarray]:
        assert self.module is not None
        assert self.prior is not None
        module, prior, pca = self.module, self.prior, self.latent_pca

        def scores(batch: torch.Tensor, _draw: int) -> dict[str, torch.Tensor]:
            events, c = split_context(batch, self.n_context)
            code = module.encoder(batch)
            out = {}
            if "reco" in wanted:
                out["reco"] = (module.decoder(join_context(code, c)) - events).pow(2).sum(-1)
            if "latent_density" in wanted:
                out["latent_density"] = -prior(c if self.n_context else None).log_prob(code)
            if pca is not None and "latent_pca" in wanted:
                out["latent_pca"] = mahalanobis(code, pca)
            return out

        return averaged(x, noise, draws, seed, scores)

    @torch.no_grad()
    def reconstruct(self, table: ak.Array) -> ak.Array:
        """Encode and decode events: the autoencoder's reconstruction of ``table``."""
        encoding = self._fitted()
        assert self.module is not None
        x = encoding.transform(table, rng=np.random.default_rng(0))
        labels = encoding.label_index(table) if self.n_context else None
        if labels is not None:
            x = np.hstack([x, np.eye(self.n_context, dtype=np.float32)[labels]])
        out = self.module.reconstruct(torch.as_tensor(x)).numpy()
        return encoding.inverse(out, rng=np.random.default_rng(1), labels=labels)

    def _tensors(self) -> dict[str, torch.Tensor]:
        assert self.module is not None
        assert self.prior is not None
        return {f"ae.{k}": v for k, v in self.module.state_dict().items()} | {
            f"prior.{k}": v for k, v in self.prior.state_dict().items()
        }

    def _load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self._build(self._fitted().n_features)
        assert self.module is not None
        assert self.prior is not None
        self.module.load_state_dict({k[3:]: v for k, v in tensors.items() if k.startswith("ae.")})
        self.prior.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("prior.")})
        self.module.eval()
