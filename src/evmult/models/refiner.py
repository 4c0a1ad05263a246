"""Classifier refinement: keep a generator's events with the odds that a classifier
gives them of being training events.

A small network learns to tell the generator's events from its training events (the
DCTR idea of Andreassen and Nachman, arXiv:1907.08209, applied to generated events as
in Diefenbacher et al., arXiv:2009.03796). Its odds estimate the density ratio
r(x) = p_train(x) / p_generated(x). At sampling, an event is kept with probability
min(r, cap) / cap (rejection sampling, as in discriminator rejection sampling, Azadi et
al., arXiv:1810.06758): the kept events follow the training density where r ≤ cap,
and keep unit weights, so yields and downstream code are unchanged.

The classifier sees what the model learns (the encoded coordinates, which do not depend
on the event's global azimuth) and what a physicist checks: the channel's resonance
masses and the system pT, ΔR and Δφ of the leading pair
(:func:`evmult.features.derived_columns`). It is trained only on training events, so
the held-out events of a validation stay unseen.

Example:
    >>> from evmult.models.refiner import RefineSettings
    >>> RefineSettings().mode
    'auto'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import awkward as ak
import numpy as np
import torch
from torch import nn

from evmult.channels import get_channel
from evmult.encoding import Encoding
from evmult.errors import InputError
from evmult.models.training import TrainSettings, per_label_weights, train

__all__ = ["MODES", "RefineSettings", "Refiner", "describe", "refiner_features"]

MODES = ("auto", "on", "off")
"""``auto``: refine where the classifier tells generated from training events (its
held-out AUC reaches :attr:`RefineSettings.min_auc`); ``on``: always; ``off``: never."""


@dataclasses.dataclass(frozen=True)
class RefineSettings:
    """How a generator is refined after training (see the module docstring).

    Args:
        mode: one of :data:`MODES`.
        multiple: generated events per training event that the classifier learns.
        max_generated: at most this many generated events (but never fewer than the
            training events).
        hidden: hidden widths of the classifier.
        quantile: the density ratio is capped at this quantile of the generated
            events' ratios: higher follows the training density more closely and keeps
            fewer events (at 0.9, at least a tenth of them).
        min_auc: ``auto`` refines only where the classifier's AUC on held-out training
            and generated events reaches this.
        holdout: share of the classifier's events kept out of its training, for that
            AUC.
        train: the classifier's :class:`~evmult.models.training.TrainSettings`.
    """

    mode: str = "auto"
    multiple: int = 10
    max_generated: int = 100_000
    hidden: tuple[int, ...] = (64, 64)
    quantile: float = 0.9
    min_auc: float = 0.6
    holdout: float = 0.2
    train: TrainSettings = dataclasses.field(
        default_factory=lambda: TrainSettings(
            epochs=100, batch_size=256, weight_decay=1e-2, patience=15, val_fraction=0.2
        )
    )

    def __post_init__(self) -> None:
        if isinstance(self.train, dict):  # from a model file's JSON header
            object.__setattr__(self, "train", TrainSettings(**self.train))
        object.__setattr__(self, "hidden", tuple(self.hidden))
        if self.mode not in MODES:
            msg = f"refine mode {self.mode!r} is not one of {', '.join(MODES)}"
            raise InputError(msg)
        if not 0 < self.quantile <= 1 or not 0 < self.holdout < 1 or self.multiple < 1:
            msg = (
                f"refine settings out of range: quantile {self.quantile} (0, 1], holdout "
                f"{self.holdout} (0, 1), multiple {self.multiple} ≥ 1"
            )
            raise InputError(msg)


def describe(record: Mapping[str, Any]) -> str:
    """One line on a trained refiner, from its :attr:`Refiner.record` (as a model file
    or a leaderboard row keeps it): its AUC and the share of events it keeps.

    Example:
        >>> describe({"auc": 0.7361, "applied": True, "acceptance": 0.305})
        'AUC 0.736 generated vs training events, applied: keeps 30% of generated events'
    """
    verdict = (
        f"applied: keeps {record['acceptance']:.0%} of generated events"
        if record["applied"]
        else "not needed"
    )
    return f"AUC {record['auc']:.3f} generated vs training events, {verdict}"


def refiner_features(
    encoding: Encoding, table: ak.Array, labels: np.ndarray | None = None
) -> np.ndarray:
    """What the refiner's classifier sees of each event (float32 matrix).

    The noiseless encoded matrix (:meth:`Encoding.encode`), the channel's resonance
    masses and the derived pair columns as log(1 + value) (Δφ as it is), NaN (too few
    objects) as 0 with an indicator column, and a conditional model's label one-hot.

    Args:
        encoding: the generator's fitted encoding.
        table: events of its channel.
        labels: label index per event (conditional models), else ``None``.
    """
    from evmult.features import derived_columns
    from evmult.physics import channel_masses

    channel = get_channel(encoding.channel)
    columns = [encoding.encode(table)[0].astype(np.float64)]
    physics = channel_masses(table, channel) | derived_columns(table, channel)
    for name, values in physics.items():
        v = values if name == "dphi_12" else np.log1p(np.clip(values, 0.0, None))
        missing = ~np.isfinite(v)
        columns += [np.where(missing, 0.0, v)[:, None], missing[:, None] * 1.0]
    if labels is not None:
        columns.append(np.eye(len(encoding.labels))[labels])
    return np.hstack(columns).astype(np.float32)


class Refiner(nn.Module):
    """The trained classifier and the cap of its density ratio.

    Args:
        n_inputs: width of :func:`refiner_features`.
        hidden: hidden widths.

    Attributes:
        record: what :meth:`fit` measured (``auc``, ``applied``, ``cap``, ``acceptance``,
            events, seconds); saved in the model file.
    """

    def __init__(self, n_inputs: int, hidden: tuple[int, ...] = (64, 64)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_inputs
        for h in hidden:
            layers += [nn.Linear(width, h), nn.SiLU()]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.log_cap: torch.Tensor
        self.register_buffer("mean", torch.zeros(n_inputs))
        self.register_buffer("std", torch.ones(n_inputs))
        self.register_buffer("log_cap", torch.zeros(()))
        self.record: dict[str, Any] = {}

    @property
    def applied(self) -> bool:
        """Whether sampling rejects events (``auto`` may decide it is not needed)."""
        return bool(self.record.get("applied"))

    @torch.no_grad()
    def log_ratio(self, features: np.ndarray) -> np.ndarray:
        """log p_train / p_generated of each event (from :func:`refiner_features`)."""
        x = (torch.as_tensor(features) - self.mean) / self.std
        return -self.net(x).squeeze(-1).double().numpy()

    def acceptance(self, features: np.ndarray) -> np.ndarray:
        """Each event's probability to be kept: min(r, cap) / cap."""
        return self._kept(self.log_ratio(features))

    def _kept(self, log_ratio: np.ndarray) -> np.ndarray:
        return np.exp(np.minimum(log_ratio - float(self.log_cap), 0.0))

    @classmethod
    def fit(
        cls,
        train_features: np.ndarray,
        train_weights: np.ndarray,
        generated_features: np.ndarray,
        settings: RefineSettings,
        *,
        seed: int,
        progress: bool = False,
        labels: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Refiner:
        """Train the classifier, measure its held-out AUC and set the cap.

        Args:
            train_features: :func:`refiner_features` of the training events.
            train_weights: their event weights (negative ones count as 0).
            generated_features: those of ``settings.multiple`` × as many generated
                events.
            settings: the :class:`RefineSettings`.
            seed: seed of the split and the classifier's training.
            progress: show a progress bar.
            labels: for a conditional model, the label index of each training and
                each generated event. The training weights of every label are then
                scaled to that label's share of the generated events: a model makes
                the labels in proportion to their training events, whatever their
                weights (the weights keep the yields), so the classifier must not
                learn a label's weight as a density ratio.
        """
        from sklearn.metrics import roc_auc_score

        x = np.vstack([train_features, generated_features])
        y = np.r_[np.zeros(len(train_features)), np.ones(len(generated_features))]
        index = np.zeros(len(train_features), int) if labels is None else labels[0]
        # (a label of only negative weights counts its events)
        wt = per_label_weights(np.clip(np.asarray(train_weights, np.float64), 0.0, None), index)
        if labels is not None:  # each label's total: its share of the generated events
            k = int(max(index.max(), labels[1].max())) + 1
            share = np.bincount(labels[1], minlength=k) / len(labels[1])
            wt *= (share / np.maximum(np.bincount(index, minlength=k), 1))[index]
        # both classes carry the same total weight
        w = np.r_[wt / wt.sum(), np.full(len(generated_features), 1 / len(generated_features))]
        w *= len(w) / 2
        refiner = cls(x.shape[1], settings.hidden)
        refiner.mean = torch.as_tensor(x.mean(0), dtype=torch.float32)
        spread = x.std(0)
        refiner.std = torch.as_tensor(np.where(spread > 0, spread, 1.0), dtype=torch.float32)
        order = np.random.default_rng(seed).permutation(len(x))
        n_test = round(settings.holdout * len(x))
        test, fit_idx = order[:n_test], order[n_test:]
        xy = np.hstack([x, y[:, None]]).astype(np.float32)

        def loss(batch: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
            inputs = (batch[:, :-1] - refiner.mean) / refiner.std
            logits = refiner.net(inputs).squeeze(-1)
            return nn.functional.binary_cross_entropy_with_logits(
                logits, batch[:, -1], weight=weights
            )

        history = train(
            refiner,
            loss,
            xy[fit_idx],
            w[fit_idx],
            settings.train,
            seed=seed,
            progress=progress,
            label="refiner",
        )
        log_r = refiner.log_ratio(x[test].astype(np.float32))
        auc = float(roc_auc_score(y[test], -log_r, sample_weight=w[test]))
        generated = refiner.log_ratio(generated_features)
        refiner.log_cap = torch.tensor(float(np.quantile(generated, settings.quantile)))
        applied = settings.mode == "on" or (settings.mode == "auto" and auc >= settings.min_auc)
        refiner.record = {
            "mode": settings.mode,
            "auc": auc,
            "applied": applied,
            "cap": math.exp(float(refiner.log_cap)),
            "acceptance": float(refiner._kept(generated).mean()),
            "n_train": len(train_features),
            "n_generated": len(generated_features),
            "epochs_run": history["epochs_run"],
            "seconds": history["seconds"],
            "device": history["device"],
        }
        return refiner
