"""``vae-nf``: the β-VAE with a normalising flow on its Gaussian latent (VAE+NF).

The encoder's Gaussian sample z₀ ~ q₀(z|x) is pushed through an invertible flow,
z_K = f(z₀), before decoding, so that the posterior q_K(z|x) can take shapes a
Gaussian cannot (Rezende & Mohamed's flow-augmented posterior, used as "VAE+NF" in
the Zγ study this project builds on). The KL term becomes the single-sample estimate
log q₀(z₀) − log|det ∂f/∂z₀| − log p(z_K). Generation decodes z ~ N(0, 1) as the plain
VAE does; the decoder has learned on prior-like latent points.

References:
    Rezende & Mohamed, arXiv:1505.05770 (variational inference with flows);
    Papamakarios et al., arXiv:1705.07057 (MAF); Rozet et al., zuko.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import zuko

from evmult.models.nn import coupling_flow, mass_column_of
from evmult.models.vae import PlainVAE, PlainVAEConfig, PlainVAEModule

__all__ = ["VAENF", "VAENFConfig", "VAENFModule"]

_LOG_2PI = math.log(2 * math.pi)


@dataclasses.dataclass(frozen=True)
class VAENFConfig(PlainVAEConfig):
    """Configuration of :class:`VAENF`: the plain VAE's, plus

    Args:
        flow_type: the latent flow: ``"maf"`` (masked affine autoregressive),
            ``"spline"`` (rational-quadratic coupling) or ``"affine"`` (RealNVP).
        flow_transforms: length of the latent flow.
        flow_hidden: hidden widths of its networks.
    """

    flow_type: str = "maf"
    flow_transforms: int = 4
    flow_hidden: tuple[int, ...] = (64, 64)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "flow_hidden", tuple(self.flow_hidden))
        if self.flow_type not in {"maf", "spline", "affine"}:
            msg = f"unknown flow_type {self.flow_type!r}; choose maf, spline or affine"
            raise ValueError(msg)


def _latent_flow(cfg: VAENFConfig) -> zuko.flows.Flow:
    if cfg.flow_type == "maf":
        return zuko.flows.MAF(
            cfg.latent, transforms=cfg.flow_transforms, hidden_features=cfg.flow_hidden
        )
    return coupling_flow(cfg.latent, 0, cfg.flow_transforms, cfg.flow_hidden, kind=cfg.flow_type)


class VAENFModule(PlainVAEModule):
    """The plain VAE module with a flow on its posterior draws."""

    def __init__(
        self, features: int, cfg: VAENFConfig, mass_column: int | None, context: int = 0
    ) -> None:
        super().__init__(features, cfg, mass_column, context)
        self.flow = _latent_flow(cfg)

    def posterior(
        self, batch: torch.Tensor, eps: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """z_K = f(z₀), z₀ ~ q₀(z|x, c) (of the standard-normal ``eps``, drawn when not
        given), and the single-sample KL estimate."""
        mu, log_var = self.encoder(batch)
        eps = torch.randn_like(mu) if eps is None else eps
        z0 = mu + eps * (0.5 * log_var).exp()
        log_q0 = -0.5 * (eps.pow(2) + log_var + _LOG_2PI).sum(-1)
        zk, ladj = self.flow.transform().call_and_ladj(z0)
        log_p = -0.5 * (zk.pow(2) + _LOG_2PI).sum(-1)
        return zk, log_q0 - ladj - log_p


class VAENF(PlainVAE):
    """The β-VAE with a normalising flow on its Gaussian latent (VAE+NF)."""

    name = "vae-nf"
    Config = VAENFConfig

    def _module(self, features: int) -> VAENFModule:
        return VAENFModule(
            features, self.config, mass_column_of(self._fitted(), self.config.mmd), self.n_context
        )
