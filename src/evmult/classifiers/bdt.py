"""Gradient-boosted trees: scikit-learn's histogram boosting (NaN handled natively)."""

from __future__ import annotations

import numpy as np

from evmult.classifiers.base import Classifier, balanced_weights, held_out

__all__ = ["BDT"]


class BDT(Classifier):
    """``HistGradientBoostingClassifier``: 500 iterations at most, stopped after 20
    without a better loss on a tenth of the training events, copies held out with their
    event (:func:`~evmult.classifiers.base.held_out`)."""

    name = "bdt"

    def fit(
        self, x: np.ndarray, y: np.ndarray, weights: np.ndarray, groups: np.ndarray | None = None
    ) -> BDT:
        from sklearn.ensemble import HistGradientBoostingClassifier

        x, y, w = np.asarray(x), np.asarray(y), balanced_weights(y, weights)
        val = held_out(y, groups, 0.1, self.seed)
        self.model = HistGradientBoostingClassifier(
            max_iter=500,
            learning_rate=0.1,
            early_stopping=bool(val.any()),
            n_iter_no_change=20,
            random_state=self.seed,
        ).fit(
            x[~val],
            y[~val],
            sample_weight=w[~val],
            **(
                {"X_val": x[val], "y_val": y[val], "sample_weight_val": w[val]} if val.any() else {}
            ),
        )
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(x)[:, 1]
