"""The networks the model families share: MLPs, the Gaussian encoder, coupling flows
(zuko), the latent flow of a two-stage VAE, MMD, and the context columns of a
conditional model's matrices."""

from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
import zuko
from torch import nn
from torch.distributions import Transform
from zuko.transforms import MonotonicRQSTransform

from evmult.encoding import Encoding
from evmult.errors import InputError
from evmult.models.training import TrainSettings, train

__all__ = [
    "GaussianEncoder",
    "around_codes",
    "coupling_flow",
    "fit_latent_flow",
    "join_context",
    "kl_normal",
    "mass_column_of",
    "mlp",
    "mmd2",
    "pick_rows",
    "posterior_codes",
    "sample_flow",
    "split_context",
]


_Batch = TypeVar("_Batch", np.ndarray, torch.Tensor)


def split_context(batch: _Batch, context: int) -> tuple[_Batch, _Batch]:
    """``(x, c)``: a training batch without and with only its last ``context`` columns
    (a conditional model's one-hot labels travel as the matrix's last columns)."""
    cut = batch.shape[-1] - context
    return batch[..., :cut], batch[..., cut:]


def join_context(z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``z`` with the context columns ``c`` appended (a no-op for an empty context)."""
    return torch.cat([z, c], dim=-1) if c.shape[-1] else z


_ACTIVATIONS = {"silu": nn.SiLU, "relu": nn.ReLU, "elu": nn.ELU, "tanh": nn.Tanh}


def mlp(sizes: list[int], activation: str) -> nn.Sequential:
    """Linear layers of ``sizes`` with ``activation`` between them (none at the end).

    Raises:
        ValueError: for an unknown activation.
    """
    if activation not in _ACTIVATIONS:
        msg = f"unknown activation {activation!r}; choose one of {sorted(_ACTIVATIONS)}"
        raise ValueError(msg)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class GaussianEncoder(nn.Module):
    """q(z|x) = N(μ(x), σ(x)²)."""

    def __init__(self, features: int, latent: int, hidden: tuple[int, ...], activation: str):
        super().__init__()
        self.net = mlp([features, *hidden, 2 * latent], activation)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_var = self.net(x).chunk(2, dim=-1)
        return mu, log_var.clamp(-12.0, 8.0)


def _simplex(unconstrained: torch.Tensor, scale: float) -> torch.Tensor:
    """Bin fractions from unconstrained values, bounded as zuko bounds them (|x| below
    1/``scale``, so ``exp`` cannot overflow) and normalised with ``exp`` and a sum:
    torch's softmax over an 8-wide last axis took 5× as long on one CPU thread."""
    e = torch.exp(unconstrained / (1 + scale * unconstrained.abs()))
    return F.pad(e / e.sum(dim=-1, keepdim=True), (1, 0), value=0)


class SplineTransform(MonotonicRQSTransform):
    """zuko's monotonic rational-quadratic spline (Durkan et al., arXiv:1906.04032), the
    same map to float rounding, built faster.

    Building the spline from its network's output was two thirds of the default
    model's generation time on tt̄, most of it in the bin softmax (:func:`_simplex`).
    """

    def __init__(
        self,
        widths: torch.Tensor,
        heights: torch.Tensor,
        derivatives: torch.Tensor,
        bound: float = 5.0,
        slope: float = 1e-3,
        **kwargs: Any,
    ) -> None:
        Transform.__init__(self, **kwargs)
        log_slope = abs(math.log(slope))
        derivatives = derivatives / (1 + derivatives.abs() / log_slope)
        self.horizontal = bound * (2 * torch.cumsum(_simplex(widths, 2 / log_slope), -1) - 1)
        self.vertical = bound * (2 * torch.cumsum(_simplex(heights, 2 / log_slope), -1) - 1)
        self.derivatives = torch.exp(F.pad(derivatives, (1, 1), value=0))


class _CheckeredCoupling(zuko.transforms.CouplingTransform):
    """zuko's coupling transform for a checkered mask (every other feature), its halves
    taken and put back by strided slices instead of index gathers and scatters (a
    sixth of the fast preset's sampling time on tt̄); the same map."""

    def __init__(self, meta: Any, mask: torch.Tensor) -> None:
        super().__init__(meta, mask)
        self.first = int(not bool(mask[0]))  # of the features the network reads

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x[..., self.first :: 2], x[..., 1 - self.first :: 2]

    def merge(self, x_a: torch.Tensor, x_b: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        x = x_a.new_empty(shape)
        x[..., self.first :: 2] = x_a
        x[..., 1 - self.first :: 2] = x_b
        return x


class _CheckeredGeneralCoupling(zuko.flows.coupling.GeneralCouplingTransform):
    """zuko's coupling layer, its transform a :class:`_CheckeredCoupling`."""

    def forward(self, c: torch.Tensor | None = None) -> Transform:
        return _CheckeredCoupling(partial(self.meta, c), self.mask)


def _checkered_flow(features: int, context: int, transforms: int, **kwargs: Any) -> zuko.flows.Flow:
    """zuko's ``NICE`` (alternating checkered masks, a standard normal base) built of
    :class:`_CheckeredGeneralCoupling` layers: the same parameters under the same names."""
    layers = [
        _CheckeredGeneralCoupling(
            features=features, context=context, mask=torch.arange(features) % 2 == i % 2, **kwargs
        )
        for i in range(transforms)
    ]
    base = zuko.flows.UnconditionalDistribution(
        zuko.distributions.DiagNormal,
        loc=torch.zeros(features),
        scale=torch.ones(features),
        buffer=True,
    )
    return zuko.flows.Flow(layers, base)


def coupling_flow(
    features: int,
    context: int,
    transforms: int,
    hidden: tuple[int, ...],
    *,
    kind: str = "spline",
    bins: int = 8,
) -> zuko.flows.Flow:
    """A normalising flow of coupling transforms on alternating halves of the features.

    ``kind="spline"``: monotonic rational-quadratic splines (neural spline flow);
    ``kind="affine"``: affine maps (RealNVP), less expressive and several times faster;
    ``kind="autoregressive"``: zuko's fully autoregressive ``NSF`` (masked networks),
    the most expressive and one network pass per feature to sample (slow).
    Each transform evaluates its network once, for half of the features, in both
    directions; zuko's ``NSF(passes=2)`` evaluates it over all features once per pass,
    which made sampling 5× slower here (6k vs 34k events/s, 21 features, 1 thread).

    Raises:
        ValueError: for an unknown ``kind``.
    """
    if kind == "affine":
        return _checkered_flow(features, context, transforms, hidden_features=hidden)
    if kind == "autoregressive":
        return zuko.flows.NSF(
            features, context=context, transforms=transforms, bins=bins, hidden_features=hidden
        )
    if kind != "spline":
        msg = f"unknown flow kind {kind!r}; choose spline, affine or autoregressive"
        raise ValueError(msg)
    return _checkered_flow(
        features,
        context,
        transforms,
        univariate=partial(SplineTransform, slope=1e-3),
        shapes=[(bins,), (bins,), (bins - 1,)],
        hidden_features=hidden,
    )


def mmd2(a: torch.Tensor, b: torch.Tensor, widths: tuple[float, ...]) -> torch.Tensor:
    """Squared maximum mean discrepancy of two 1-D samples, Gaussian kernels summed
    over ``widths`` (biased estimator; Gretton et al. 2012)."""

    def kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        d2 = (x[:, None] - y[None, :]).pow(2)
        return sum((torch.exp(-0.5 * d2 / w**2) for w in widths), torch.zeros(())).mean()

    return kernel(a, a) + kernel(b, b) - 2 * kernel(a, b)


def mass_column_of(encoding: Encoding, weight: float) -> int | None:
    """The encoded column of the resonance coordinate the MMD term compares, if used.

    Raises:
        InputError: if an MMD weight is set and the encoding has no resonance coordinate.
    """
    if weight <= 0:
        return None
    if not encoding.resonance:
        msg = (
            f"mmd needs a resonance mass as a coordinate; channel {encoding.channel!r} "
            "has none (or resonance_coordinate is off)"
        )
        raise InputError(msg)
    return [c.name for c in encoding.columns].index(encoding.resonance)


def _flow_context(c: torch.Tensor) -> torch.Tensor | None:
    """The context a zuko flow takes: ``None`` for an unconditional one."""
    return c if c.shape[-1] else None


def sample_flow(flow: zuko.flows.Flow, n: int, context: torch.Tensor) -> torch.Tensor:
    """``n`` draws of a (possibly conditional) flow, one per row of ``context``."""
    if context.shape[-1]:
        return flow(context).sample()
    return flow().sample((n,))


def pick_rows(pool: torch.Tensor, n: int, context: torch.Tensor) -> torch.Tensor:
    """Indices of ``n`` random training events, each of the label its one-hot
    ``context`` row asks for; ``pool`` holds the training events' labels (uses torch's
    global generator)."""
    wanted = context.argmax(-1)
    idx = torch.empty(n, dtype=torch.long)
    for label in wanted.unique():
        rows = (pool == label).nonzero().squeeze(-1)
        where = wanted == label
        idx[where] = rows[torch.randint(0, len(rows), (int(where.sum()),))]
    return idx


@torch.no_grad()
def posterior_codes(
    encoder: nn.Module, x: np.ndarray, noise: np.ndarray, gen: torch.Generator
) -> torch.Tensor:
    """μ and σ of q(z|x) for every training event (one dequantisation draw), stacked
    as a (2, n, latent) tensor: the "density information buffer" of Otten et al."""
    noisy = torch.as_tensor(x) + torch.as_tensor(noise) * torch.randn(x.shape, generator=gen)
    mu, log_var = encoder(noisy)
    return torch.stack([mu, (0.5 * log_var).exp()])


def fit_latent_flow(
    flow: zuko.flows.Flow,
    z: np.ndarray,
    weights: np.ndarray,
    settings: TrainSettings,
    *,
    seed: int,
    progress: bool,
    context: np.ndarray | None = None,
) -> dict[str, Any]:
    """Maximum-likelihood fit of a flow to latent points (the second stage of a
    two-stage model), conditioned on ``context`` (one row per point) when given;
    returns the training record."""
    width = 0 if context is None else context.shape[1]

    def loss(batch: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        points, c = split_context(batch, width)
        return -(flow(_flow_context(c)).log_prob(points) * w).mean()

    data = z if context is None else np.hstack([z, context]).astype(np.float32)
    return train(
        flow, loss, data, weights, settings, seed=seed, progress=progress, label="latent flow"
    )


def around_codes(
    codes: torch.Tensor,
    n: int,
    scale: float,
    *,
    pool: torch.Tensor | None = None,
    context: torch.Tensor | None = None,
) -> torch.Tensor:
    """``n`` latent points drawn around random training events' posterior means, with
    their posterior widths times ``scale`` (uses torch's global generator); with
    ``pool`` (the training events' labels) and ``context``, around events of each
    row's label."""
    if pool is None or context is None:
        idx = torch.randint(0, codes.shape[1], (n,))
    else:
        idx = pick_rows(pool, n, context)
    return codes[0][idx] + scale * codes[1][idx] * torch.randn(n, codes.shape[2])


def kl_normal(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) summed over latent dimensions."""
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(-1)
