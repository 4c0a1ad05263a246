"""An ensemble: several models of one family trained on the same events with different
seeds, each generated event drawn from one of them in turn.

Two trainings of the same model on the same few thousand events, differing only in
their seed, imprint different errors on what they generate: on 2,000 zll events the
worth of one model's events ranges from 0.7× to 1.6× the training sample between seeds
(``docs/amplification.md``). Drawing the events from several members averages those
errors out where they are independent, which a single fit cannot do; errors the
members share (what the training sample itself lacks, or what the family cannot
model) remain. The members share the encoding; the refiner, when used, learns the
ensemble's events as a whole.

Anomaly scores are the members' scores averaged.

Example:
    >>> from evmult.pipeline import fit
    >>> model = fit("zll.parquet", members=5)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from evmult.errors import InputError
from evmult.models.base import Generator, prefixed, split_prefixed
from evmult.models.registry import MODELS

__all__ = ["Ensemble", "EnsembleConfig", "ensemble_of", "member_seed"]

_MEMBER = "member{}."
"""Prefix of a member's tensors in a model file."""


def member_seed(seed: int, member: int) -> int:
    """The training or sampling seed of member ``member`` (member 0: ``seed`` itself,
    so that an ensemble's first member is the single model of that seed)."""
    return seed + 1_000 * member


@dataclasses.dataclass(frozen=True)
class EnsembleConfig:
    """Configuration of an :class:`Ensemble`.

    Args:
        family: the members' model family (a key of :data:`evmult.models.MODELS`).
        members: how many members (at least 2).
        member: the members' configuration (the family's config dataclass, or its
            fields as a dict, as a model file stores it).
    """

    family: str = "flow-vae"
    members: int = 2
    member: Any = None

    def __post_init__(self) -> None:
        family = MODELS.get(self.family)
        if family is None:
            msg = f"unknown model family {self.family!r} for an ensemble"
            raise ValueError(msg)
        if not family.refinable:
            msg = f"an ensemble of {self.family} models is a {self.family} model: it has no seed to vary"
            raise ValueError(msg)
        if self.members < 2:
            msg = f"an ensemble needs at least 2 members, got {self.members}"
            raise ValueError(msg)
        if self.member is None:
            object.__setattr__(self, "member", family.Config())
        elif isinstance(self.member, dict):
            object.__setattr__(self, "member", family.Config(**self.member))


class Ensemble(Generator):
    """:attr:`EnsembleConfig.members` models of one family, trained on the same
    events with the seeds :func:`member_seed` gives; see the module docstring.

    Generated events are shared among the members in a seeded random order, as equally
    as the count allows; the order of the events is that random order, not member
    after member.
    """

    name = "ensemble"
    Config = EnsembleConfig
    config: EnsembleConfig

    def __init__(self, config: EnsembleConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.members: list[Generator] = []

    @property
    def title(self) -> str:
        """``ensemble of K family``."""
        return f"ensemble of {self.config.members} {self.config.family}"

    @property
    def mirrored(self) -> bool:
        """Whether the members were trained on reflected events."""
        return bool(getattr(self.config.member, "mirror", False))

    def _member(self) -> Generator:
        """A new, untrained member sharing this ensemble's encoding."""
        from evmult.models.refiner import RefineSettings

        member = MODELS[self.config.family](
            self.config.member, condition=self.condition, refine=RefineSettings(mode="off")
        )
        member.encoding = self._fitted()
        return member

    def _fit_matrix(
        self, x: np.ndarray, noise: np.ndarray, weights: np.ndarray, *, seed: int, progress: bool
    ) -> dict[str, Any]:
        self.members = []
        records = []
        for k in range(self.config.members):
            member = self._member()
            records.append(
                member._fit_matrix(x, noise, weights, seed=member_seed(seed, k), progress=progress)
            )
            member.latent_pca = member._latent_pca(x, noise, weights, seed=member_seed(seed, k))
            self.members.append(member)
        return {"members": records}

    def _sample_matrix(self, n: int, *, seed: int, context: torch.Tensor) -> np.ndarray:
        k = len(self.members)
        owner = np.random.default_rng([seed, 13]).permutation(n) % k
        out = np.empty((n, self._fitted().n_features), dtype=np.float32)
        for i, member in enumerate(self.members):
            rows = np.flatnonzero(owner == i)
            if rows.size:
                out[rows] = member._sample_matrix(
                    rows.size, seed=member_seed(seed, i), context=context[torch.as_tensor(rows)]
                )
        return out

    def available_scores(self) -> tuple[str, ...]:
        """The scores every member gives (see :meth:`Generator.available_scores`)."""
        return self.members[0].available_scores() if self.members else ()

    def _scores(
        self, x: torch.Tensor, noise: torch.Tensor, wanted: set[str], *, draws: int, seed: int
    ) -> dict[str, np.ndarray]:
        parts = [m._scores(x, noise, wanted, draws=draws, seed=seed) for m in self.members]
        return {name: np.mean([p[name] for p in parts], axis=0) for name in parts[0]}

    def _tensors(self) -> dict[str, torch.Tensor]:
        tensors: dict[str, torch.Tensor] = {}
        for k, member in enumerate(self.members):
            tensors |= prefixed(_MEMBER.format(k), member._learned_tensors())
        return tensors

    def _load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.members = []
        for k in range(self.config.members):
            own, _ = split_prefixed(_MEMBER.format(k), tensors)
            if not own:
                msg = f"no tensors for member {k}"
                raise KeyError(msg)
            member = self._member()
            member._load_learned(own)
            self.members.append(member)


def ensemble_of(family: str, config: Any, members: int, **kwargs: Any) -> Ensemble:
    """An untrained :class:`Ensemble` of ``members`` ``family`` models of ``config``.

    Raises:
        InputError: for fewer than two members or a family without a seed to vary.
    """
    try:
        cfg = EnsembleConfig(family, members, config)
    except ValueError as err:
        raise InputError(str(err)) from None
    return Ensemble(cfg, **kwargs)
