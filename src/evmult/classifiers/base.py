"""The interface every classifier of :mod:`evmult.classifiers` has."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

__all__ = ["Classifier", "balanced_weights", "held_out"]


def balanced_weights(y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weights rescaled so both classes carry the same total, with mean 1.

    Example:
        >>> balanced_weights(np.array([1, 0, 0, 0]), np.ones(4)).tolist()
        [2.0, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666]
    """
    w = np.asarray(weights, dtype=np.float64).copy()
    for label in (0, 1):
        sel = y == label
        total = w[sel].sum()
        if total > 0:
            w[sel] *= 0.5 * len(w) / total
    return w


def held_out(y: np.ndarray, groups: np.ndarray | None, fraction: float, seed: int) -> np.ndarray:
    """Which events to hold out for early stopping: ``fraction`` of each class's groups.

    Events of one group (an event and its copies) are held out together, so that no copy
    of a held-out event trains and early stopping sees overtraining on copies as it
    would on the events. Without ``groups`` every event is its own group; group numbers
    are per class.

    Example:
        >>> y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
        >>> held_out(y, np.array([0, 1, 0, 1, 2, 3, 4, 5]), 0.5, seed=0).tolist()
        [True, False, True, False, False, False, True, True]
    """
    y = np.asarray(y)
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    rng = np.random.default_rng(seed)
    held = np.zeros(len(y), dtype=bool)
    for label in (0, 1):
        of_class = y == label
        ids = np.unique(groups[of_class])
        n = min(len(ids) - 1, max(1, round(fraction * len(ids)))) if len(ids) > 1 else 0
        held |= of_class & np.isin(groups, rng.choice(ids, size=n, replace=False))
    return held


class Classifier(ABC):
    """``fit(x, y, weights)`` then ``score(x)``; see :mod:`evmult.classifiers`."""

    name: ClassVar[str]

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    @abstractmethod
    def fit(
        self, x: np.ndarray, y: np.ndarray, weights: np.ndarray, groups: np.ndarray | None = None
    ) -> Classifier:
        """Learn events ``x`` of class ``y`` (1 signal) with event ``weights``; classes
        are balanced (:func:`balanced_weights`). Classifiers that stop early hold out
        events by ``groups`` (:func:`held_out`: a copy shares its event's group).
        Returns ``self``."""

    @abstractmethod
    def score(self, x: np.ndarray) -> np.ndarray:
        """The signal probability of each event."""
