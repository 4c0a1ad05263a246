"""Variational autoencoders: the default flow-decoder VAE and the plain β-VAE baseline.

``flow-vae`` (the default generator): an MLP encoder q(z|x), a decoder that is a
conditional normalising flow p(x|z) (zuko rational-quadratic splines on coupling
transforms), trained with the β-VAE loss, and a second flow fitted to the aggregate
posterior in latent space that new latent points are drawn from (a two-stage VAE). A
plain VAE's Gaussian decoder blurs every event and its independent noise destroys the
correlations a mass peak is made of; a flow decoder models them, and the latent flow
draws fresh points rather than points around training events.

``vae`` (baseline): the plain β-VAE, loss (1 − β)·MSE + β·KL with β = 0.001 (the
DarkMachines study's best), sampled from the N(0, 1) prior through the decoder mean.

References:
    Kingma & Welling, arXiv:1312.6114 (VAE); Higgins et al., ICLR 2017 (β-VAE).
    Otten et al., Nat. Commun. 12, 2985 (aggregate posterior, "density buffer").
    Dai & Wipf, arXiv:1903.05789 (two-stage VAE).
    Durkan et al., arXiv:1906.04032 (neural spline flows); Rozet et al., zuko.
"""

from __future__ import annotations

import dataclasses
import itertools
from functools import partial
from typing import Any

import numpy as np
import torch
import zuko
from torch import nn
from zuko.transforms import MonotonicRQSTransform

from evmult.errors import InputError
from evmult.models.base import Generator, join_context, split_context
from evmult.models.training import TrainSettings, reflections, train

__all__ = [
    "FlowVAE",
    "FlowVAEConfig",
    "GaussianEncoder",
    "PlainVAE",
    "PlainVAEConfig",
    "PlainVAEModule",
    "around_codes",
    "coupling_flow",
    "fit_latent_flow",
    "kl_normal",
    "mass_column_of",
    "mlp",
    "mmd2",
    "pick_rows",
    "posterior_codes",
    "sample_flow",
]

_ACTIVATIONS = {"silu": nn.SiLU, "relu": nn.ReLU, "elu": nn.ELU, "tanh": nn.Tanh}
# Events per decoder pass at generation: spline flows' per-event cost grows with the
# batch (35k ev/s at 4k, 23k at 65k, 1 thread); affine ones peak near 16k (350k ev/s).
_SAMPLE_BATCH = {"spline": 8_192, "autoregressive": 8_192, "affine": 16_384}


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
        return zuko.flows.RealNVP(
            features, context=context, transforms=transforms, hidden_features=hidden
        )
    if kind == "autoregressive":
        return zuko.flows.NSF(
            features, context=context, transforms=transforms, bins=bins, hidden_features=hidden
        )
    if kind != "spline":
        msg = f"unknown flow kind {kind!r}; choose spline, affine or autoregressive"
        raise ValueError(msg)
    return zuko.flows.NICE(
        features,
        context=context,
        transforms=transforms,
        univariate=partial(MonotonicRQSTransform, slope=1e-3),
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


def mass_column_of(generator: Generator, weight: float) -> int | None:
    """The encoded column of the resonance coordinate the MMD term compares, if used.

    Raises:
        InputError: if an MMD weight is set and the encoding has no resonance coordinate.
    """
    if weight <= 0:
        return None
    encoding = generator._fitted()
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


@dataclasses.dataclass(frozen=True)
class FlowVAEConfig:
    """Configuration of :class:`FlowVAE` (the default generator).

    Args:
        latent: latent dimensions.
        hidden: encoder hidden-layer widths.
        activation: ``silu``, ``relu``, ``elu`` or ``tanh``.
        beta: weight of the KL term.
        flow_type: the decoder flow's transforms: ``"spline"`` (rational-quadratic
            splines on coupling transforms), ``"affine"`` (RealNVP, for the ``fast``
            preset) or ``"autoregressive"`` (masked autoregressive splines, slow to
            sample).
        flow_transforms: coupling transforms of the decoder flow.
        flow_bins: spline bins per transform.
        flow_hidden: hidden widths of the decoder flow's networks.
        prior: where latent points come from at generation: ``"flow"`` (a flow fitted to
            the aggregate posterior), ``"normal"`` (the N(0, 1) prior) or
            ``"aggregate"`` (around encoded training events, Otten et al.; lowers
            novelty).
        prior_transforms: coupling transforms of the latent flow.
        prior_type: the latent flow's transforms, ``"spline"`` or ``"affine"``.
        resonance_coordinate: learn the channel's resonance mass as a coordinate.
        mirror: train on events reflected at random (η → −η and, independently,
            Δφ → −Δφ; :meth:`evmult.encoding.Encoding.mirror`) where the acceptance is
            symmetric: four mirror images of every event.
        mmd: weight of an MMD term between the resonance mass of events decoded from
            the batch's latent points and the batch's own (Butter et al.,
            arXiv:1907.03764); 0 turns it off. It samples the decoder once more per
            batch (about twice the training time).
        mmd_widths: Gaussian kernel widths of the MMD term, in standardised units.
        train: optimiser settings of the VAE.
        prior_train: optimiser settings of the latent flow.
    """

    latent: int = 4
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "silu"
    beta: float = 1.0
    flow_type: str = "spline"
    flow_transforms: int = 4
    flow_bins: int = 8
    flow_hidden: tuple[int, ...] = (128, 128)
    prior: str = "flow"
    prior_transforms: int = 3
    prior_type: str = "spline"
    resonance_coordinate: bool = True
    mirror: bool = False
    mmd: float = 0.0
    mmd_widths: tuple[float, ...] = (0.02, 0.1, 0.5)
    train: TrainSettings = dataclasses.field(
        default_factory=lambda: TrainSettings(epochs=100, patience=20)
    )
    prior_train: TrainSettings = dataclasses.field(
        default_factory=lambda: TrainSettings(epochs=60, batch_size=1024, lr=2e-3)
    )

    def __post_init__(self) -> None:
        for name in ("train", "prior_train"):  # from JSON, these arrive as dicts
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, TrainSettings(**value))
        for name in ("hidden", "flow_hidden", "mmd_widths"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.prior not in {"flow", "normal", "aggregate"}:
            msg = f"unknown prior {self.prior!r}; choose flow, normal or aggregate"
            raise ValueError(msg)


class _FlowVAEModule(nn.Module):
    def __init__(
        self, features: int, cfg: FlowVAEConfig, mass_column: int | None, context: int = 0
    ) -> None:
        super().__init__()
        self.context = context
        self.encoder = GaussianEncoder(features + context, cfg.latent, cfg.hidden, cfg.activation)
        self.decoder = coupling_flow(
            features,
            cfg.latent + context,
            cfg.flow_transforms,
            cfg.flow_hidden,
            kind=cfg.flow_type,
            bins=cfg.flow_bins,
        )
        self.beta = cfg.beta
        self.mmd, self.mmd_widths, self.mass_column = cfg.mmd, cfg.mmd_widths, mass_column

    def loss(self, batch: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x, c = split_context(batch, self.context)
        mu, log_var = self.encoder(batch)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        decoded = self.decoder(join_context(z, c))
        loss = ((-decoded.log_prob(x) + self.beta * kl_normal(mu, log_var)) * w).mean()
        if self.mass_column is not None:
            j = self.mass_column
            loss = loss + self.mmd * mmd2(decoded.rsample()[:, j], x[:, j], self.mmd_widths)
        return loss


class FlowVAE(Generator):
    """The default generator: a VAE whose decoder is a conditional spline flow, with a
    latent flow prior fitted to the aggregate posterior. See the module docstring.

    Usage, with ``table`` an event table from ``evmult extract``::

        model = FlowVAE(latent=4).fit(table, seed=1)
        events = model.sample(100_000, seed=2)
    """

    name = "flow-vae"
    Config = FlowVAEConfig

    def __init__(self, config: FlowVAEConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.module: _FlowVAEModule | None = None
        self.prior: nn.Module | None = None
        self.codes: torch.Tensor | None = None
        self.code_labels: torch.Tensor | None = None

    def _build(self, features: int) -> None:
        cfg = self.config
        c = self.n_context
        self.module = _FlowVAEModule(features, cfg, mass_column_of(self, cfg.mmd), c)
        if cfg.prior == "flow":
            self.prior = coupling_flow(
                cfg.latent, c, cfg.prior_transforms, (64, 64), kind=cfg.prior_type
            )

    def _fit_matrix(
        self, x: np.ndarray, noise: np.ndarray, weights: np.ndarray, *, seed: int, progress: bool
    ) -> dict[str, Any]:
        cfg = self.config
        self._build(x.shape[1] - self.n_context)
        assert self.module is not None
        mirror = self._fitted().mirror() if cfg.mirror else None
        record = {
            "vae": train(
                self.module,
                self.module.loss,
                x,
                weights,
                cfg.train,
                noise=noise,
                augment=None if mirror is None else reflections(mirror),
                seed=seed,
                progress=progress,
                label="flow-vae",
            )
        }
        gen = torch.Generator().manual_seed(seed + 1)
        self.codes = posterior_codes(self.module.encoder, x, noise, gen)
        context = split_context(x, self.n_context)[1]
        self.code_labels = self._training_labels(x)
        if self.prior is not None:
            draws = 4
            mu, sigma = self.codes[0].repeat(draws, 1), self.codes[1].repeat(draws, 1)
            z = mu + sigma * torch.randn(mu.shape, generator=gen)
            record["prior"] = fit_latent_flow(
                self.prior,
                z.numpy(),
                np.tile(weights, draws),
                cfg.prior_train,
                seed=seed + 1,
                progress=progress,
                context=np.tile(context, (draws, 1)) if self.n_context else None,
            )
        return record

    @torch.no_grad()
    def _latent(self, n: int, context: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        if cfg.prior == "flow":
            assert self.prior is not None
            return sample_flow(self.prior, n, context)
        if cfg.prior == "aggregate":
            assert self.codes is not None
            return around_codes(self.codes, n, 1.0, pool=self.code_labels, context=context)
        return torch.randn(n, cfg.latent)

    @torch.no_grad()
    def _sample_matrix(self, n: int, *, seed: int, context: torch.Tensor) -> np.ndarray:
        assert self.module is not None
        out: list[np.ndarray] = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            batch = _SAMPLE_BATCH[self.config.flow_type]
            for start in range(0, n, batch):
                c = context[start : start + batch]
                z = self._latent(len(c), c)
                out.append(self.module.decoder(join_context(z, c)).sample().numpy())
        return np.concatenate(out) if out else np.empty((0, self._fitted().n_features), np.float32)

    def _tensors(self) -> dict[str, torch.Tensor]:
        assert self.module is not None
        assert self.codes is not None
        tensors = {f"vae.{k}": v for k, v in self.module.state_dict().items()}
        if self.prior is not None:
            tensors |= {f"prior.{k}": v for k, v in self.prior.state_dict().items()}
        tensors["codes"] = self.codes
        if self.code_labels is not None:
            tensors["code_labels"] = self.code_labels
        return tensors

    def _load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self._build(self._fitted().n_features)
        assert self.module is not None
        self.module.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("vae.")})
        if self.prior is not None:
            self.prior.load_state_dict(
                {k[6:]: v for k, v in tensors.items() if k.startswith("prior.")}
            )
        self.codes = tensors["codes"]
        self.code_labels = tensors.get("code_labels")
        self.module.eval()


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

    def posterior(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparametrised draw z ~ q(z|x, c) and the KL divergence to the prior."""
        mu, log_var = self.encoder(batch)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
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

    def __init__(self, config: PlainVAEConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.module: PlainVAEModule | None = None

    def _module(self, features: int) -> PlainVAEModule:
        return PlainVAEModule(
            features, self.config, mass_column_of(self, self.config.mmd), self.n_context
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

    def _tensors(self) -> dict[str, torch.Tensor]:
        assert self.module is not None
        return dict(self.module.state_dict())

    def _load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.module = self._module(self._fitted().n_features)
        self.module.load_state_dict(tensors)
        self.module.eval()
