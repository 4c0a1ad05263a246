"""Classifiers of signal against background, all with one interface.

``make(name, seed)`` returns an unfitted classifier; ``fit(x, y, weights)`` learns
events ``x`` (n × features, NaN for absent objects) of class ``y`` (1 signal, 0
background) with event weights, each class carrying the same total weight in training;
``score(x)`` is the signal probability. Fixed seeds give the same classifier.

* ``bdt``: gradient-boosted trees (scikit-learn ``HistGradientBoostingClassifier``)
* ``rf``: a random forest (scikit-learn ``RandomForestClassifier``)
* ``nn``: a torch MLP on standardised inputs, absent objects flagged
* ``pnn``: the MLP with the signal's parameter (a mass) as its last input column

Example:
    >>> import numpy as np
    >>> from evmult.classifiers import make
    >>> rng = np.random.default_rng(0)
    >>> x = np.r_[rng.normal(0, 1, (500, 2)), rng.normal(2, 1, (500, 2))]
    >>> y = np.r_[np.zeros(500), np.ones(500)]
    >>> bdt = make("bdt", seed=1).fit(x, y, np.ones(1000))
    >>> bool(bdt.score(np.array([[3.0, 3.0]]))[0] > 0.9)
    True
"""

from __future__ import annotations

from evmult.classifiers.base import Classifier, balanced_weights
from evmult.classifiers.bdt import BDT
from evmult.classifiers.nn import MLP
from evmult.classifiers.pnn import PNN
from evmult.classifiers.rf import RandomForest
from evmult.errors import InputError

__all__ = ["CLASSIFIERS", "PARAMETERISED", "Classifier", "balanced_weights", "make"]

CLASSIFIERS: dict[str, type[Classifier]] = {c.name: c for c in (BDT, RandomForest, MLP, PNN)}
"""Classifier name -> class."""

PARAMETERISED = frozenset({"pnn"})
"""Classifiers that take the signal parameter as an input (one for every value)."""


def make(name: str, *, seed: int = 0) -> Classifier:
    """An unfitted classifier of the given name.

    Raises:
        InputError: for an unknown name.
    """
    if name not in CLASSIFIERS:
        msg = f"unknown classifier {name!r}; known: {', '.join(CLASSIFIERS)}"
        raise InputError(msg)
    return CLASSIFIERS[name](seed=seed)
