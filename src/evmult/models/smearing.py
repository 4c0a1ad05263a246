"""The smearing multiplier: the trivial baseline every generator must beat.

Each training event is copied as often as needed and each copy's object pT, η and mass
and the MET are multiplied by independent N(1, σ) factors (σ = 0.05), as in Otten et
al.'s baseline. It reproduces the training sample closely, and is no new information:
its novelty is low and its pT order is broken where smearing swaps two objects.

References:
    Otten et al., Nat. Commun. 12, 2985 (arXiv:1901.00875).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import awkward as ak
import numpy as np
import torch

from evmult.models.base import Generator
from evmult.models.nn import split_context

__all__ = ["SmearingConfig", "SmearingMultiplier"]


@dataclasses.dataclass(frozen=True)
class SmearingConfig:
    """Configuration of :class:`SmearingMultiplier`.

    Args:
        width: standard deviation of the multiplicative N(1, width) factors.
    """

    width: float = 0.05


class SmearingMultiplier(Generator):
    """Copies of the training events with multiplicative Gaussian smearing (a baseline,
    never refined)."""

    name = "smearing"
    Config = SmearingConfig
    refinable = False

    def __init__(self, config: SmearingConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.events: np.ndarray | None = None

    def _encoding_options(self) -> dict[str, Any]:
        return {"resonance_coordinate": False}

    def _fit_matrix(
        self,
        x: np.ndarray,
        noise: np.ndarray,  # noqa: ARG002 (copies are decoded exactly)
        weights: np.ndarray,  # noqa: ARG002
        *,
        seed: int,  # noqa: ARG002
        progress: bool,  # noqa: ARG002
    ) -> dict[str, Any]:
        self.events = x
        return {}

    def _sample_matrix(self, n: int, *, seed: int, context: torch.Tensor) -> np.ndarray:
        assert self.events is not None
        rng = np.random.default_rng([seed, 2])
        pool = np.arange(len(self.events))
        training = self._training_labels(self.events)
        if training is not None and n:  # copies of training events of the label asked for
            labels = context.argmax(-1).unique()
            assert len(labels) == 1, "Generator.sample draws one label at a time"
            pool = pool[(training == labels[0]).numpy()]
        copies = -(-n // len(pool))
        idx = np.concatenate([pool[rng.permutation(len(pool))] for _ in range(copies)] or [pool])
        return split_context(self.events[idx[:n]], self.n_context)[0]

    def sample(
        self,
        n: int,
        *,
        seed: int = 0,
        yield_: float | None = None,
        label: str | Mapping[str, int] | None = None,
    ) -> ak.Array:
        """Copies of training events, smeared; see :meth:`Generator.sample`."""
        table = super().sample(n, seed=seed, yield_=yield_, label=label)
        rng = np.random.default_rng([seed, 3])
        width = self.config.width

        def smear(values: ak.Array) -> ak.Array:
            flat = ak.flatten(values, axis=None)
            factor = rng.normal(1.0, width, len(flat)).astype(np.float32)
            if values.ndim == 1:
                return values * factor
            return values * ak.unflatten(factor, ak.num(values))

        out = table
        for field in ak.fields(table):
            obj = table[field]
            if field == "MET":
                out = ak.with_field(out, ak.with_field(obj, smear(obj.pt), "pt"), field)
            elif "eta" in ak.fields(obj):
                for f in ("pt", "eta", "mass"):
                    obj = ak.with_field(obj, smear(obj[f]), f)
                out = ak.with_field(out, obj, field)
        return ak.Array(out, attrs=table.attrs)

    def _tensors(self) -> dict[str, torch.Tensor]:
        assert self.events is not None
        return {"events": torch.as_tensor(self.events)}

    def _load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.events = tensors["events"].numpy()
