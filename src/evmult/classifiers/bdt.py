"""Gradient-boosted trees: scikit-learn's histogram boosting (NaN handled natively)."""

from __future__ import annotations

import numpy as np

from evmult.classifiers.base import Classifier, balanced_weights

__all__ = ["BDT"]


class BDT(Classifier):
    """``HistGradientBoostingClassifier``: 500 iterations at most, stopped after 20
    without a better loss on a tenth of the training events."""

    name = "bdt"

    def fit(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> BDT:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.model = HistGradientBoostingClassifier(
            max_iter=500,
            learning_rate=0.1,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=20,
            random_state=self.seed,
        ).fit(x, y, sample_weight=balanced_weights(y, weights))
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(x)[:, 1]
