"""A random forest (scikit-learn; absent objects as NaN, which its trees split on)."""

from __future__ import annotations

import numpy as np

from evmult.classifiers.base import Classifier, balanced_weights

__all__ = ["RandomForest"]


class RandomForest(Classifier):
    """``RandomForestClassifier``: 200 trees, one thread, each leaf holding at least
    0.1 % of the training weight. A leaf minimum in weight, not in events, makes copies
    that share their event's weight (:func:`evmult.classify.augmented_weights`) train
    as that event would: counted in events, they make the leaves of the copied region
    finer, which looked like a gain from information that copies do not have. It does not
    stop early: every event trains, whatever its group."""

    name = "rf"

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        weights: np.ndarray,
        groups: np.ndarray | None = None,  # noqa: ARG002 (no early stopping: all events train)
    ) -> RandomForest:
        from sklearn.ensemble import RandomForestClassifier

        self.model = RandomForestClassifier(
            n_estimators=200, min_weight_fraction_leaf=1e-3, n_jobs=1, random_state=self.seed
        ).fit(x, y, sample_weight=balanced_weights(y, weights))
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(x)[:, 1]
