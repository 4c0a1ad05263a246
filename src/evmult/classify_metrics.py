"""The figures of a classifier study: test-set metrics with spreads over Poisson
resamples of the test events, paired gains, the weights of augmented training sets and
the equivalent real events of a learning curve."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak
import numpy as np

from evmult.channels import get_channel
from evmult.classifiers.base import balanced_weights
from evmult.errors import InputError
from evmult.features import feature_columns

__all__ = [
    "BOOTSTRAP",
    "METRICS",
    "ROC_EFFICIENCIES",
    "SCORE_BINS",
    "augmented_weights",
    "equivalent_events",
    "feature_matrix",
    "metrics_of",
    "paired_gain",
    "scored",
    "verdict",
    "with_spreads",
]


METRICS = ("auc", "rejection_50", "rejection_80", "accuracy", "f1", "kappa")
"""The test-set figures of every training, in the order the summary prints them."""

BOOTSTRAP = 50


def _rejection(y: np.ndarray, s: np.ndarray, w: np.ndarray, efficiency: float) -> float:
    """1/ε_B at the score that keeps ``efficiency`` of the (weighted) signal."""
    sig, bkg = y == 1, y == 0
    order = np.argsort(-s[sig])
    kept = np.cumsum(w[sig][order]) / w[sig].sum()
    cut = s[sig][order][min(int(np.searchsorted(kept, efficiency)), sig.sum() - 1)]
    eff_b = w[bkg][s[bkg] >= cut].sum() / w[bkg].sum()
    return 1.0 / max(eff_b, 0.5 / bkg.sum())  # no background left: bounded by its count


ROC_EFFICIENCIES = tuple(np.round(np.linspace(0.05, 0.95, 19), 2))
"""The signal efficiencies at which each training's background rejection is kept (the
ROC curve of the figures)."""


def _figures(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, roc_auc_score

    decided = (s >= 0.5).astype(int)
    balanced = balanced_weights(y, w)
    return {
        "auc": float(roc_auc_score(y, s, sample_weight=w)),
        "rejection_50": _rejection(y, s, w, 0.5),
        "rejection_80": _rejection(y, s, w, 0.8),
        "accuracy": float(accuracy_score(y, decided, sample_weight=balanced)),
        "f1": float(f1_score(y, decided, sample_weight=balanced)),
        "kappa": float(cohen_kappa_score(y, decided, sample_weight=balanced)),
    }


def _resampled(
    y: np.ndarray, scores: np.ndarray, weights: np.ndarray, bootstrap: int, seed: int
) -> tuple[dict[str, float], list[dict[str, float]]]:
    """The figures and their values on ``bootstrap`` Poisson resamples of the test
    events; the same ``seed`` draws the same resamples, so two trainings scored on one
    test set are compared resample by resample."""
    rng = np.random.default_rng(seed)
    draws = [_figures(y, scores, weights * rng.poisson(1.0, len(y))) for _ in range(bootstrap)]
    return _figures(y, scores, weights), draws


def _spread(draws: Sequence[float]) -> float:
    return float(np.std(draws, ddof=1)) if len(draws) > 1 else math.nan


def with_spreads(
    value: Mapping[str, float], draws: Sequence[Mapping[str, float]]
) -> dict[str, dict[str, float]]:
    """Each figure's value and its spread over the resamples."""
    return {k: {"value": v, "std": _spread([d[k] for d in draws])} for k, v in value.items()}


def metrics_of(
    y: np.ndarray,
    scores: np.ndarray,
    weights: np.ndarray,
    *,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Every figure of :data:`METRICS` on a test set, with its spread over ``bootstrap``
    Poisson resamples of the test events.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = np.r_[np.zeros(5000), np.ones(5000)]
        >>> s = np.r_[rng.normal(0, 1, 5000), rng.normal(1, 1, 5000)]
        >>> m = metrics_of(y, 1 / (1 + np.exp(-s)), np.ones(10_000))
        >>> abs(m["auc"]["value"] - 0.760) < 3 * m["auc"]["std"]  # Φ(1/√2), one σ apart
        True
    """
    return with_spreads(*_resampled(y, scores, weights, bootstrap, seed))


SCORE_BINS = 40
"""Bins of the test events' score distributions kept per training (scores in [0, 1])."""


def scored(
    y: np.ndarray, scores: np.ndarray, weights: np.ndarray, *, bootstrap: int, seed: int
) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """One training's test-set record and the figures on each resample.

    Returns:
        ``(record, draws)``: ``record`` has ``metrics`` (figure -> ``value``, ``std``),
        ``roc`` (the rejection at each of :data:`ROC_EFFICIENCIES`) and ``scores`` (the
        signal's and the background's normalised score distributions in
        :data:`SCORE_BINS` bins of [0, 1]); ``draws`` are the figures on the resamples
        (the same ``seed``, the same resamples: for paired comparisons).
    """
    value, draws = _resampled(y, scores, weights, bootstrap, seed)
    edges = np.linspace(0.0, 1.0, SCORE_BINS + 1)
    clipped = np.clip(scores, 0.0, 1.0)
    shapes = {}
    for name, sel in (("signal", y == 1), ("background", y == 0)):
        counts = np.histogram(clipped[sel], edges, weights=weights[sel])[0]
        shapes[name] = (counts / max(counts.sum(), 1e-300)).tolist()
    record = {
        "metrics": with_spreads(value, draws),
        "roc": [_rejection(y, scores, weights, e) for e in ROC_EFFICIENCIES],
        "scores": {"edges": edges.tolist(), **shapes},
    }
    return record, draws


def paired_gain(
    own: dict[str, Any],
    base: dict[str, Any],
    own_draws: Sequence[Mapping[str, float]],
    base_draws: Sequence[Mapping[str, float]],
) -> dict[str, dict[str, float]]:
    """Each figure's change from ``base`` to ``own`` (two :func:`scored` records of one
    test set), with its spread over the same resamples."""
    return {
        k: {
            "value": own["metrics"][k]["value"] - base["metrics"][k]["value"],
            "std": _spread([a[k] - b[k] for a, b in zip(own_draws, base_draws, strict=True)]),
        }
        for k in METRICS
    }


def augmented_weights(real_weights: np.ndarray, n_more: int) -> np.ndarray:
    """Weights of real events followed by ``n_more`` generated (or copied) ones that
    share the real events' total: each weighs yield / (n_real + n_more).

    Example:
        >>> augmented_weights(np.full(4, 0.5), 6).tolist() == [0.2] * 10
        True
    """
    n = len(real_weights) + n_more
    return np.full(n, float(np.sum(real_weights)) / n)


def equivalent_events(sizes: Sequence[int], aucs: Sequence[float], auc: float) -> tuple[float, str]:
    """Where a learning curve (AUC at each real size) reaches ``auc``, interpolated in
    log n: ``(events, "")``, or ``(smallest size, "<")`` below the curve and
    ``(largest size, ">")`` above it.

    Example:
        >>> n, bound = equivalent_events([1_000, 4_000], [0.80, 0.84], 0.82)
        >>> round(n), bound  # halfway in AUC: halfway in log n
        (2000, '')
    """
    if auc <= aucs[0]:
        return float(sizes[0]), "<"
    for (n0, a0), (n1, a1) in itertools.pairwise(zip(sizes, aucs, strict=True)):
        if auc == a1:
            return float(n1), ""
        if a0 < auc < a1:
            frac = (auc - a0) / (a1 - a0)
            return float(math.exp(math.log(n0) + frac * (math.log(n1) - math.log(n0)))), ""
    return float(sizes[-1]), ">"


def verdict(gain: Mapping[str, Mapping[str, float]]) -> str:
    """The words for a :func:`paired_gain`: a gain (or a loss) only where it leaves
    twice its spread, the two trainings compared on the same resamples of the test
    events.

    Example:
        >>> verdict({"auc": {"value": 0.01, "std": 0.002}, "rejection_50": {"value": 1, "std": 2}})
        'AUC better by 0.01 ± 0.002, rejection at 50 % no change beyond the spread'
    """
    words = []
    for key, name in (("auc", "AUC"), ("rejection_50", "rejection at 50 %")):
        g = gain[key]
        if g["value"] > 2 * g["std"]:
            words.append(f"{name} better by {g['value']:.3g} ± {g['std']:.2g}")
        elif g["value"] < -2 * g["std"]:
            words.append(f"{name} worse by {-g['value']:.3g} ± {g['std']:.2g}")
        else:
            words.append(f"{name} no change beyond the spread")
    return ", ".join(words)


def feature_matrix(table: ak.Array, channel: str, features: Sequence[str] | None) -> np.ndarray:
    columns = feature_columns(table, get_channel(channel))
    names = list(columns) if features is None else list(features)
    unknown = [n for n in names if n not in columns]
    if unknown:
        msg = f"unknown feature(s) {unknown} for channel {channel}; known: {list(columns)}"
        raise InputError(msg)
    return np.column_stack([columns[n] for n in names])
