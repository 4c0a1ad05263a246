"""Anomaly scores from a trained generator's networks: the pieces the families share.

Every score is *higher for events less like the training events*. A family lists the
scores it gives in ``Generator.score_names`` and computes them in ``_scores`` on the
encoded matrix (see :meth:`evmult.models.base.Generator.score`); what they mean:

``reco``
    the reconstruction error: the squared distance of an event from its decoded
    posterior mean (an MLP decoder), or the decoder flow's negative log-likelihood of
    the event given its posterior mean (``flow-vae``).
``kl``
    the KL divergence of the event's posterior q(z|x) from the N(0, 1) prior (the
    VAE loss's other half; for ``vae-nf`` the flow's Monte Carlo estimate).
``latent_pca``
    the Mahalanobis distance of the posterior mean from the training events' codes, in
    the principal axes of those codes (the Zγ study's PCA of the latent space).
``latent_density``
    the negative log-density of the posterior mean under the latent flow fitted to the
    training codes (``flow-vae``, ``ae-latent``).
``density``
    the negative evidence lower bound, −log p(x) ≤ this: the decoder flow's likelihood
    with the latent flow as the prior, averaged over posterior draws
    (``flow-vae``; a flow's log-density is the strongest score of the DarkMachines
    unsupervised challenge, Aarrestad et al., arXiv:2105.14027).
``discriminator``
    minus the discriminator's logit of "a training event" (``vae-d``, ``vae-nf-d``,
    ``copula-vae-d``).
``copula``
    the Mahalanobis distance of the posterior mean's normal scores under the Gaussian
    copula the model samples from (``copula-vae``, ``copula-vae-d``).

Scores that average over noise (the dequantisation of discrete columns and the noise
of absent objects that training adds, see :meth:`evmult.encoding.Encoding.encode`) or
over posterior draws use ``draws`` fixed draws, the same for every event: an event
gets the same scores in whatever table it is scored.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

__all__ = [
    "SCORE_BATCH",
    "averaged",
    "fit_pca",
    "fixed_normal",
    "log_normal",
    "mahalanobis",
]

SCORE_BATCH = 8_192
"""Events per network pass when scoring."""


def fixed_normal(seed: int, draw: int, width: int) -> torch.Tensor:
    """The ``draw``-th standard-normal vector of ``width`` entries for ``seed``: the
    same for every event, so an event's score does not depend on the other events."""
    return torch.randn(width, generator=torch.Generator().manual_seed(seed * 1_000_003 + draw))


def averaged(
    x: torch.Tensor,
    noise: torch.Tensor,
    draws: int,
    seed: int,
    fn: Callable[[torch.Tensor, int], dict[str, torch.Tensor]],
) -> dict[str, np.ndarray]:
    """The mean over ``draws`` noise draws of ``fn(noisy, draw)`` (per-row outputs), in
    row batches, without gradients: ``noisy`` is ``x`` plus the training noise of widths
    ``noise`` along the draw's :func:`fixed_normal` vector. Every random number ``fn``
    needs (a posterior draw) comes from :func:`fixed_normal` too, so each event's
    scores depend on that event, ``seed`` and ``draws`` only.
    """
    shifts = [fixed_normal(seed, d, x.shape[1]) for d in range(draws)]
    parts: dict[str, list[np.ndarray]] = {}
    with torch.no_grad():
        for start in range(0, len(x), SCORE_BATCH):
            batch, width = x[start : start + SCORE_BATCH], noise[start : start + SCORE_BATCH]
            total: dict[str, torch.Tensor] = {}
            for d, shift in enumerate(shifts):
                for name, value in fn(batch + width * shift, d).items():
                    total[name] = total.get(name, 0) + value.double() / draws
            for name, value in total.items():
                parts.setdefault(name, []).append(value.numpy())
    return {name: np.concatenate(v) for name, v in parts.items()}


def fit_pca(codes: torch.Tensor, weights: np.ndarray) -> dict[str, torch.Tensor]:
    """The weighted mean, principal axes and variances of latent codes (one per row).

    Returns:
        ``{"mean", "axes", "variances"}``: ``axes`` has one principal axis per column,
        largest variance first; variances are floored at 10⁻⁶ of the largest.
    """
    w = torch.as_tensor(weights, dtype=torch.float64)
    w = w / w.sum()
    z = codes.double()
    mean = (w[:, None] * z).sum(0)
    centred = z - mean
    cov = (w[:, None] * centred).T @ centred
    variances, axes = torch.linalg.eigh(cov)
    order = variances.argsort(descending=True)
    variances, axes = variances[order], axes[:, order]
    floor = 1e-6 * max(float(variances[0]), 1e-12)
    return {
        "mean": mean.float(),
        "axes": axes.float(),
        "variances": variances.clamp_min(floor).float(),
    }


def mahalanobis(z: torch.Tensor, pca: dict[str, torch.Tensor]) -> torch.Tensor:
    """Squared Mahalanobis distance of each row of ``z`` from a :func:`fit_pca` fit."""
    projected = (z - pca["mean"]) @ pca["axes"]
    return (projected.pow(2) / pca["variances"]).sum(-1)


def log_normal(z: torch.Tensor) -> torch.Tensor:
    """Log-density of the standard normal, summed over the last axis."""
    return -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)
