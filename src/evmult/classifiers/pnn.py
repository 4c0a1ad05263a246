"""A parameterised network (Baldi et al., arXiv:1601.07913): the MLP with the signal's
parameter (e.g. a resonance mass) as one more input."""

from __future__ import annotations

import numpy as np

from evmult.classifiers.nn import MLP
from evmult.errors import InputError

__all__ = ["PNN"]


class PNN(MLP):
    """The :class:`~evmult.classifiers.nn.MLP` whose last input column is the parameter.

    In training, signal events carry their sample's value there and background events
    NaN: each background event is then shown once at every signal value, weighted by
    that value's share of the signal weight, so the background's parameter follows the
    signal's and the network cannot tell the classes by the parameter alone. In scoring,
    every event carries the value of the hypothesis tested; values between those
    trained on are interpolated by the network.
    """

    name = "pnn"

    def fit(
        self, x: np.ndarray, y: np.ndarray, weights: np.ndarray, groups: np.ndarray | None = None
    ) -> PNN:
        x, y, w = np.asarray(x, np.float64), np.asarray(y), np.asarray(weights, np.float64)
        g = np.arange(len(y)) if groups is None else np.asarray(groups)
        param = x[:, -1]
        sig, bkg = y == 1, y == 0
        if not np.isfinite(param[sig]).all():
            msg = "every signal event of a pnn needs its parameter value in the last column"
            raise InputError(msg)
        values = np.unique(param[sig])
        share = np.array([w[sig][param[sig] == v].sum() for v in values]) / w[sig].sum()
        rows = [x[sig]]
        labels = [y[sig]]
        weight = [w[sig]]
        group = [g[sig]]  # a background event at every value is one group
        for value, fraction in zip(values, share, strict=True):
            copy = x[bkg].copy()
            copy[:, -1] = value
            rows.append(copy)
            labels.append(y[bkg])
            weight.append(w[bkg] * fraction)
            group.append(g[bkg])
        super().fit(
            np.vstack(rows), np.concatenate(labels), np.concatenate(weight), np.concatenate(group)
        )
        self.values = values
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if not np.isfinite(x[:, -1]).all():
            msg = "a pnn scores events at a parameter value: give it in the last column"
            raise InputError(msg)
        return super().score(x)
