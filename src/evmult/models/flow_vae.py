"""``flow-vae``, the default generator: an MLP encoder q(z|x), a decoder that is a
conditional normalising flow p(x|z) (zuko rational-quadratic splines on coupling
transforms), trained with the β-VAE loss, and a second flow fitted to the aggregate
posterior in latent space that new latent points are drawn from (a two-stage VAE). A
plain VAE's Gaussian decoder blurs every event and its independent noise destroys the
correlations a mass peak is made of; a flow decoder models them, and the latent flow
draws fresh points rather than points around training events.

References:
    Kingma & Welling, arXiv:1312.6114 (VAE); Higgins et al., ICLR 2017 (β-VAE).
    Otten et al., Nat. Commun. 12, 2985 (aggregate posterior, "density buffer").
    Dai & Wipf, arXiv:1903.05789 (two-stage VAE).
    Durkan et al., arXiv:1906.04032 (neural spline flows); Rozet et al., zuko.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from evmult.models.base import Generator
from evmult.models.masses import CandidateMasses, mmd2_columns
from evmult.models.nn import (
    GaussianEncoder,
    around_codes,
    coupling_flow,
    fit_latent_flow,
    join_context,
    kl_normal,
    mass_column_of,
    mmd2,
    posterior_codes,
    sample_flow,
    split_context,
)
from evmult.models.scoring import averaged, fixed_normal, log_normal, mahalanobis
from evmult.models.training import TrainSettings, reflections, train

__all__ = ["FlowVAE", "FlowVAEConfig"]

# Events per decoder pass at generation: spline flows' per-event cost grows with the
# batch (35k ev/s at 4k, 23k at 65k, 1 thread); affine ones peak near 16k (350k ev/s).
_SAMPLE_BATCH = {"spline": 8_192, "autoregressive": 8_192, "affine": 16_384}


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
            symmetric: four mirror images of every event; generated events are
            reflected at random in the same way, so that their distribution has that
            symmetry exactly.
        mmd: weight of an MMD term between the resonance mass of events decoded from
            the batch's latent points and the batch's own (Butter et al.,
            arXiv:1907.03764); 0 turns it off. It samples the decoder once more per
            batch (about twice the training time).
        candidate_mmd: weight of an MMD term between the masses of the resonance
            candidates, the highest-pT pair and triplet among a collection's leading
            slots that every training event fills (tt̄'s W and top candidates from its
            four leading jets), of events decoded from the batch's latent points and
            of the batch's own (:class:`evmult.models.masses.CandidateMasses`); 0
            turns it off. Like ``mmd``, it samples the decoder once more per batch.
        mmd_widths: Gaussian kernel widths of the MMD terms, in standardised units.
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
    candidate_mmd: float = 0.0
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
        self.candidate_mmd = cfg.candidate_mmd
        self.masses: CandidateMasses | None = None  # set for training (needs the events)

    def loss(self, batch: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x, c = split_context(batch, self.context)
        mu, log_var = self.encoder(batch)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        decoded = self.decoder(join_context(z, c))
        loss = ((-decoded.log_prob(x) + self.beta * kl_normal(mu, log_var)) * w).mean()
        if self.mass_column is None and self.masses is None:
            return loss
        sample = decoded.rsample()
        if self.mass_column is not None:
            j = self.mass_column
            loss = loss + self.mmd * mmd2(sample[:, j], x[:, j], self.mmd_widths)
        if self.masses is not None:
            generated, real = self.masses(sample), self.masses(x)
            loss = loss + self.candidate_mmd * mmd2_columns(generated, real, self.mmd_widths)
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
    score_names: ClassVar[tuple[str, ...]] = (
        "density",
        "reco",
        "kl",
        "latent_pca",
        "latent_density",
    )

    def __init__(self, config: FlowVAEConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.module: _FlowVAEModule | None = None
        self.prior: nn.Module | None = None
        self.codes: torch.Tensor | None = None
        self.code_labels: torch.Tensor | None = None

    def _build(self, features: int) -> None:
        cfg = self.config
        c = self.n_context
        self.module = _FlowVAEModule(features, cfg, mass_column_of(self._fitted(), cfg.mmd), c)
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
        if cfg.candidate_mmd > 0:
            features = split_context(x, self.n_context)[0]
            self.module.masses = CandidateMasses(
                self._fitted(), features, split_context(noise, self.n_context)[0]
            )
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

    def available_scores(self) -> tuple[str, ...]:
        """As :meth:`Generator.available_scores`; ``density`` and ``latent_density``
        need a latent density: the flow prior (``density`` also takes the N(0, 1) one),
        not the ``aggregate`` one of the fast preset."""
        prior = self.config.prior
        drop = {"flow": set(), "normal": {"latent_density"}}.get(
            prior, {"density", "latent_density"}
        )
        return tuple(n for n in super().available_scores() if n not in drop)

    def _codes(self, x: torch.Tensor) -> torch.Tensor:
        assert self.module is not None
        return self.module.encoder(x)[0]

    def _scores(
        self, x: torch.Tensor, noise: torch.Tensor, wanted: set[str], *, draws: int, seed: int
    ) -> dict[str, np.ndarray]:
        assert self.module is not None
        module, prior, pca = self.module, self.prior, self.latent_pca

        def latent_log_prob(z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            if prior is None:
                return log_normal(z)
            return prior(c if c.shape[-1] else None).log_prob(z)

        def scores(batch: torch.Tensor, draw: int) -> dict[str, torch.Tensor]:
            events, c = split_context(batch, self.n_context)
            mu, log_var = module.encoder(batch)
            out = {}
            if "reco" in wanted:
                out["reco"] = -module.decoder(join_context(mu, c)).log_prob(events)
            if "kl" in wanted:
                out["kl"] = kl_normal(mu, log_var)
            if "density" in wanted:
                sigma = (0.5 * log_var).exp()
                eps = fixed_normal(seed + 1, draw, mu.shape[1]).expand_as(mu)
                z = mu + sigma * eps
                log_q = log_normal(eps) - sigma.log().sum(-1)
                log_px = module.decoder(join_context(z, c)).log_prob(events)
                out["density"] = -(log_px + latent_log_prob(z, c) - log_q)
            if "latent_density" in wanted:
                out["latent_density"] = -latent_log_prob(mu, c)
            if pca is not None and "latent_pca" in wanted:
                out["latent_pca"] = mahalanobis(mu, pca)
            return out

        return averaged(x, noise, draws, seed, scores)

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
