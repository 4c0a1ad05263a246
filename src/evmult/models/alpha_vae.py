"""``alpha-vae``: the β-VAE sampled around encoded training events (the "variator").

The DarkMachines generative study trains the plain β-VAE of :mod:`evmult.models.vae`
and generates by encoding every training event, drawing a latent point from its
posterior with the width scaled by α, and decoding it: close to the training events
for small α (α = 0.2 was its best), the prior's blur for α → ∞. The validation
report's novelty tells how close to copies that comes.

References:
    Otten et al., Nat. Commun. 12, 2985 (density information buffer);
    the DarkMachines unsupervised-generation study (α-scaled posterior sampling).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from evmult.models.nn import around_codes, posterior_codes
from evmult.models.vae import PlainVAE, PlainVAEConfig

__all__ = ["AlphaVAE", "AlphaVAEConfig"]


@dataclasses.dataclass(frozen=True)
class AlphaVAEConfig(PlainVAEConfig):
    """Configuration of :class:`AlphaVAE`: the plain VAE's, plus

    Args:
        alpha: scale of the posterior widths when sampling around training events.
    """

    alpha: float = 0.2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.alpha < 0:
            msg = f"alpha must be non-negative, got {self.alpha}"
            raise ValueError(msg)


class AlphaVAE(PlainVAE):
    """The β-VAE sampled around encoded training events, posterior widths × α."""

    name = "alpha-vae"
    Config = AlphaVAEConfig

    def __init__(self, config: AlphaVAEConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.codes: torch.Tensor | None = None
        self.code_labels: torch.Tensor | None = None

    def _fit_matrix(
        self, x: np.ndarray, noise: np.ndarray, weights: np.ndarray, *, seed: int, progress: bool
    ) -> dict[str, Any]:
        record = super()._fit_matrix(x, noise, weights, seed=seed, progress=progress)
        assert self.module is not None
        gen = torch.Generator().manual_seed(seed + 1)
        self.codes = posterior_codes(self.module.encoder, x, noise, gen)
        self.code_labels = self._training_labels(x)
        return record

    @torch.no_grad()
    def _sample_matrix(self, n: int, *, seed: int, context: torch.Tensor) -> np.ndarray:
        assert self.module is not None
        assert self.codes is not None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            z = around_codes(
                self.codes, n, self.config.alpha, pool=self.code_labels, context=context
            )
        return self.module.decode(z, context).numpy()

    def _tensors(self) -> dict[str, torch.Tensor]:
        assert self.codes is not None
        tensors = {f"vae.{k}": v for k, v in super()._tensors().items()} | {"codes": self.codes}
        if self.code_labels is not None:
            tensors["code_labels"] = self.code_labels
        return tensors

    def _load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        super()._load_tensors({k[4:]: v for k, v in tensors.items() if k.startswith("vae.")})
        self.codes = tensors["codes"]
        self.code_labels = tensors.get("code_labels")
