"""A torch MLP on standardised inputs; absent objects (NaN) become 0 plus a flag."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from evmult.classifiers.base import Classifier, balanced_weights, held_out
from evmult.models.training import TrainSettings, train

__all__ = ["MLP"]


class MLP(Classifier):
    """Two hidden layers of 64 (SiLU), weighted binary cross-entropy, AdamW with a
    one-cycle schedule and early stopping on a tenth of the training events, copies held
    out with their event (:func:`~evmult.classifiers.base.held_out`; the loop of
    :func:`evmult.models.training.train`)."""

    name = "nn"
    hidden = (64, 64)
    settings = TrainSettings(epochs=100, patience=10, min_steps=1000, device="cpu")

    def _inputs(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, np.float64) - self.mean) / self.std
        absent = np.isnan(z[:, self.flagged])
        return np.hstack([np.nan_to_num(z, nan=0.0), absent]).astype(np.float32)

    def fit(
        self, x: np.ndarray, y: np.ndarray, weights: np.ndarray, groups: np.ndarray | None = None
    ) -> MLP:
        x = np.asarray(x, np.float64)
        self.mean = np.nan_to_num(np.nanmean(x, axis=0))
        self.std = np.nan_to_num(np.nanstd(x, axis=0), nan=1.0)
        self.std[self.std == 0] = 1.0
        self.flagged = np.flatnonzero(np.isnan(x).any(axis=0))
        inputs = self._inputs(x)
        torch.manual_seed(self.seed)
        layers: list[nn.Module] = []
        width = inputs.shape[1]
        for h in self.hidden:
            layers += [nn.Linear(width, h), nn.SiLU()]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))
        bce = nn.BCEWithLogitsLoss(reduction="none")

        def loss(batch: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            return (bce(self.net(batch[:, :-1]).squeeze(-1), batch[:, -1]) * w).mean()

        data = np.hstack([inputs, np.asarray(y, np.float32)[:, None]])
        holdout = held_out(y, groups, self.settings.val_fraction, self.seed)
        train(
            self.net,
            loss,
            data,
            balanced_weights(y, weights),
            self.settings,
            holdout=holdout,
            seed=self.seed,
        )
        return self

    @torch.no_grad()
    def score(self, x: np.ndarray) -> np.ndarray:
        logits = self.net(torch.as_tensor(self._inputs(x))).squeeze(-1)
        return torch.sigmoid(logits).double().numpy()
