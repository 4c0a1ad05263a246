"""The interface every classifier of :mod:`evmult.classifiers` has."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

__all__ = ["Classifier", "balanced_weights"]


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


class Classifier(ABC):
    """``fit(x, y, weights)`` then ``score(x)``; see :mod:`evmult.classifiers`."""

    name: ClassVar[str]

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    @abstractmethod
    def fit(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> Classifier:
        """Learn events ``x`` of class ``y`` (1 signal) with event ``weights``; classes
        are balanced (:func:`balanced_weights`). Returns ``self``."""

    @abstractmethod
    def score(self, x: np.ndarray) -> np.ndarray:
        """The signal probability of each event."""
