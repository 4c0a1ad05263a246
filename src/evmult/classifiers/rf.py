"""A random forest (scikit-learn; absent objects as NaN, which its trees split on)."""

from __future__ import annotations

import numpy as np

from evmult.classifiers.base import Classifier, balanced_weights

__all__ = ["RandomForest"]


class RandomForest(Classifier):
    """``RandomForestClassifier``: 200 trees, at least 20 events per leaf (smoother
    scores than fully grown trees, which rank events worse), one thread."""

    name = "rf"

    def fit(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> RandomForest:
        from sklearn.ensemble import RandomForestClassifier

        self.model = RandomForestClassifier(
            n_estimators=200, min_samples_leaf=20, n_jobs=1, random_state=self.seed
        ).fit(x, y, sample_weight=balanced_weights(y, weights))
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(x)[:, 1]
