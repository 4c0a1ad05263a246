"""``vae-d`` and ``vae-nf-d``: VAEs with a discriminator (VAE/GAN).

A discriminator D learns to tell real events from decoded ones; its hidden features
D_l give the reconstruction loss ("learned similarity", Larsen et al.) and its
verdict an adversarial loss, so that decoded events become indistinguishable from
real ones instead of blurred towards their mean. Three optimisers, as in the paper
and the Zγ study: the encoder minimises β·KL + L_feat + α·MSE, the decoder
γ·L_feat + α·MSE + L_GAN, the discriminator its cross-entropy on real, reconstructed
and prior-decoded events. ``vae-nf-d`` puts the ``vae-nf`` flow on the latent.

Adversarial training has no loss that must fall, so there is no early stopping: the
models train for ``train.epochs`` (at least ``train.min_steps`` steps) and keep the
last state; the record holds every loss per epoch.

References:
    Larsen et al., arXiv:1512.09300 (VAE/GAN); Goodfellow et al., arXiv:1406.2661.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from evmult.errors import TrainingError
from evmult.models.nn import join_context, mass_column_of, mlp, split_context
from evmult.models.training import autocast, pick_device
from evmult.models.vae import PlainVAE, PlainVAEConfig, PlainVAEModule
from evmult.models.vae_nf import VAENFConfig, VAENFModule

__all__ = ["VAED", "VAENFD", "VAEDConfig", "VAENFDConfig"]


@dataclasses.dataclass(frozen=True)
class VAEDConfig(PlainVAEConfig):
    """Configuration of :class:`VAED`: the plain VAE's, plus

    Args:
        gamma: weight of the discriminator-feature reconstruction loss in the decoder's
            loss (against the adversarial term).
        alpha: weight of the plain squared reconstruction error in the encoder's and
            decoder's losses (keeps early training stable).
        disc_hidden: the discriminator's hidden widths; the last layer's activations
            are the features of the reconstruction loss.
    """

    gamma: float = 1.0
    alpha: float = 0.1
    disc_hidden: tuple[int, ...] = (128, 64)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "disc_hidden", tuple(self.disc_hidden))


@dataclasses.dataclass(frozen=True)
class VAENFDConfig(VAENFConfig, VAEDConfig):
    """Configuration of :class:`VAENFD`: ``vae-nf``'s, plus ``gamma``, ``alpha`` and
    ``disc_hidden`` as in :class:`VAEDConfig`."""


class _Discriminator(nn.Module):
    def __init__(self, features: int, hidden: tuple[int, ...], activation: str) -> None:
        super().__init__()
        self.features = nn.Sequential(mlp([features, *hidden], activation), nn.SiLU())
        self.head = nn.Linear(hidden[-1], 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        return f, self.head(f).squeeze(-1)


class _AdversarialVAE(nn.Module):
    """A VAE module (``posterior``, ``decoder``) and a discriminator."""

    def __init__(self, vae: PlainVAEModule, features: int, cfg: Any) -> None:
        super().__init__()
        self.vae = vae
        self.context = vae.context
        self.disc = _Discriminator(features + vae.context, cfg.disc_hidden, cfg.activation)
        self.beta, self.gamma, self.alpha = cfg.beta, cfg.gamma, cfg.alpha
        self.latent = cfg.latent

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """The VAE's decoder mean (what :class:`~evmult.models.vae.PlainVAE` samples)."""
        return self.vae.decode(z, c)

    def encoder_parameters(self) -> list[nn.Parameter]:
        skip = {id(p) for p in self.vae.decoder.parameters()}
        return [p for p in self.vae.parameters() if id(p) not in skip]

    def loss(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """The three players' losses summed (for checks; training steps each player
        on its own loss)."""
        losses = self.losses(x, w)
        return losses["encoder"] + losses["decoder"] + losses["discriminator"]

    def losses(self, batch: torch.Tensor, w: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three players' losses on one batch (weighted means); the discriminator
        sees each event with its label (a conditional model's context columns)."""
        x, c = split_context(batch, self.context)
        z, kl = self.vae.posterior(batch)
        rec = self.vae.decode(z, c)
        fake = self.vae.decode(torch.randn(len(x), self.latent, device=x.device), c)
        f_real, l_real = self.disc(batch)
        f_rec, l_rec = self.disc(join_context(rec, c))
        _, l_fake = self.disc(join_context(fake, c))
        _, l_rec_d = self.disc(join_context(rec.detach(), c))
        _, l_fake_d = self.disc(join_context(fake.detach(), c))
        ones, zeros = torch.ones_like(l_real), torch.zeros_like(l_real)
        bce = F.binary_cross_entropy_with_logits
        feat = (f_rec - f_real.detach()).pow(2).sum(-1)
        mse = (rec - x).pow(2).sum(-1)
        disc = (
            bce(l_real, ones, reduction="none")
            + 0.5 * bce(l_rec_d, zeros, reduction="none")
            + 0.5 * bce(l_fake_d, zeros, reduction="none")
        )
        gan = bce(l_rec, ones, reduction="none") + bce(l_fake, ones, reduction="none")
        return {
            "encoder": ((self.beta * kl + feat + self.alpha * mse) * w).mean(),
            "decoder": ((self.gamma * feat + self.alpha * mse + gan) * w).mean()
            + self.vae.mmd_term(x, c),
            "discriminator": (disc * w).mean(),
            "mse": (mse * w).mean(),
        }


def _train_adversarial(
    module: _AdversarialVAE,
    x: np.ndarray,
    weights: np.ndarray,
    noise: np.ndarray,
    settings: Any,
    *,
    seed: int,
    progress: bool,
    label: str,
) -> dict[str, Any]:
    """Alternate the three optimisers over ``settings.epochs`` epochs."""
    from tqdm.auto import tqdm

    device = pick_device(settings.device)
    gen = torch.Generator().manual_seed(seed)
    w = np.asarray(weights, np.float64)
    w = w / w.mean() if w.mean() > 0 else np.ones_like(w)
    xt = torch.as_tensor(x, dtype=torch.float32).to(device)
    st = torch.as_tensor(noise, dtype=torch.float32).to(device)
    wt = torch.as_tensor(w, dtype=torch.float32).to(device)
    module.to(device)

    def adamw(params: Any) -> torch.optim.Optimizer:
        return torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)

    opts = {
        "encoder": adamw(module.encoder_parameters()),
        "decoder": adamw(module.vae.decoder.parameters()),
        "discriminator": adamw(module.disc.parameters()),
    }
    groups = {k: [p for g in o.param_groups for p in g["params"]] for k, o in opts.items()}
    steps = math.ceil(len(x) / settings.batch_size)
    epochs = max(settings.epochs, math.ceil(settings.min_steps / steps))
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    for epoch in tqdm(range(epochs), desc=label, disable=not progress, leave=False):
        module.train()
        order = torch.randperm(len(x), generator=gen).to(device)
        totals = dict.fromkeys(("encoder", "decoder", "discriminator", "mse"), 0.0)
        for b in range(steps):
            idx = order[b * settings.batch_size : (b + 1) * settings.batch_size]
            batch = xt[idx] + st[idx] * torch.randn_like(xt[idx])
            with autocast(device, settings.amp):
                losses = module.losses(batch, wt[idx])
            bad = [k for k, v in losses.items() if not torch.isfinite(v)]
            if bad:
                msg = (
                    f"{label}: the {bad[0]} loss became {losses[bad[0]].item()} at epoch "
                    f"{epoch + 1}; lower the learning rate (now {settings.lr:g})"
                )
                raise TrainingError(msg)
            for opt in opts.values():
                opt.zero_grad(set_to_none=True)
            for name in ("encoder", "decoder", "discriminator"):
                grads = torch.autograd.grad(
                    losses[name], groups[name], retain_graph=True, allow_unused=True
                )
                for p, g in zip(groups[name], grads, strict=True):
                    p.grad = g
            for opt in opts.values():
                opt.step()
            for k, v in losses.items():
                totals[k] += v.item() * len(idx)
        history.append({k: v / len(x) for k, v in totals.items()})
    module.to("cpu").eval()
    return {
        "epochs_run": len(history),
        "history": history,
        "seconds": time.perf_counter() - start,
        "device": str(device),
    }


class VAED(PlainVAE):
    """β-VAE + discriminator (VAE/GAN): learned-feature reconstruction and an
    adversarial loss, three optimisers; sampled from the prior."""

    name = "vae-d"
    Config = VAEDConfig
    score_names: ClassVar[tuple[str, ...]] = (*PlainVAE.score_names, "discriminator")

    def _module(self, features: int) -> _AdversarialVAE:  # type: ignore[override]
        mass = mass_column_of(self._fitted(), self.config.mmd)
        vae = PlainVAEModule(features, self.config, mass, self.n_context)
        return _AdversarialVAE(vae, features, self.config)

    def _fit_matrix(
        self, x: np.ndarray, noise: np.ndarray, weights: np.ndarray, *, seed: int, progress: bool
    ) -> dict[str, Any]:
        self.module = self._module(x.shape[1] - self.n_context)  # type: ignore[assignment]
        assert isinstance(self.module, _AdversarialVAE)
        record = _train_adversarial(
            self.module,
            x,
            weights,
            noise,
            self.config.train,
            seed=seed,
            progress=progress,
            label=self.name,
        )
        return {"vae": record}

    def _more_scores(
        self, batch: torch.Tensor, mu: torch.Tensor, wanted: set[str]
    ) -> dict[str, torch.Tensor]:
        assert isinstance(self.module, _AdversarialVAE)
        out = super()._more_scores(batch, mu, wanted)
        if "discriminator" in wanted:
            out["discriminator"] = -self.module.disc(batch)[1]
        return out


class VAENFD(VAED):
    """``vae-nf`` + discriminator: the flow-augmented posterior with learned-feature
    reconstruction and an adversarial loss."""

    name = "vae-nf-d"
    Config = VAENFDConfig

    def _module(self, features: int) -> _AdversarialVAE:  # type: ignore[override]
        mass = mass_column_of(self._fitted(), self.config.mmd)
        vae = VAENFModule(features, self.config, mass, self.n_context)
        return _AdversarialVAE(vae, features, self.config)
