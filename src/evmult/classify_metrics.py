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
from evmult.errors import InputError
from evmult.features import feature_columns

__all__ = [
    "BOOTSTRAP",
    "METRICS",
    "ROC_EFFICIENCIES",
    "SCORE_BINS",
    "SIGNAL_GENERATORS",
    "augmented_weights",
    "check_repeats",
    "equivalent_events",
    "feature_matrix",
    "folded",
    "metrics_of",
    "paired_gain",
    "repeats_note",
    "scored",
    "verdict",
    "with_spreads",
]


METRICS = ("auc", "rejection_50", "rejection_80", "accuracy", "f1", "kappa")
"""The test-set figures of every training, in the order the summary prints them."""

BOOTSTRAP = 50

SIGNAL_GENERATORS = ("conditional", "per-value")
"""How a parameterised study multiplies the signal at several values (see
:func:`evmult.classify_parameterised.parameterised_study`); here, without torch, for the
command line."""


def _background_efficiency(y: np.ndarray, s: np.ndarray, w: np.ndarray, efficiency: float) -> float:
    """ε_B at the score that keeps ``efficiency`` of the (weighted) signal."""
    sig, bkg = y == 1, y == 0
    order = np.argsort(-s[sig])
    kept = np.cumsum(w[sig][order]) / w[sig].sum()
    cut = s[sig][order][min(int(np.searchsorted(kept, efficiency)), sig.sum() - 1)]
    return _passing(bkg, s, w, cut)


def _rejection(y: np.ndarray, parts: Parts, w: np.ndarray, efficiency: float) -> float:
    """1/ε_B at ``efficiency`` of the signal, ε_B the parts' mean (as over their
    background events pooled, for folds of equal size); bounded by half a background
    event of the test set (every one of which is in one part) where none is left."""
    eff_b = float(
        np.mean([_background_efficiency(y[idx], s, w[idx], efficiency) for idx, s in parts])
    )
    return 1.0 / max(eff_b, 0.5 / int(np.sum(y == 0)))


ROC_EFFICIENCIES = tuple(np.round(np.linspace(0.05, 0.95, 19), 2))
"""The signal efficiencies at which each training's background rejection is kept (the
ROC curve of the figures)."""

Parts = list[tuple[np.ndarray, np.ndarray]]
"""A test set's parts: each the test events one classifier scored and its scores (see
:func:`folded`)."""


def folded(scores: np.ndarray, folds: np.ndarray | None = None) -> Parts:
    """The parts of a test set that one classifier (``folds`` ``None``, ``scores`` one
    per test event) or K classifiers (``scores`` of shape (K, events)) scored.

    With K classifiers, each trained without one fold of the background, ``folds`` gives
    each test event's fold: the fold's classifier alone scores that background event,
    and every classifier scores the events of fold −1 (the signal, held out of all K).

    Example:
        >>> parts = folded(np.array([[0.9, 0.1, 0.7], [0.8, 0.6, 0.2]]), np.array([-1, 0, 1]))
        >>> [(idx.tolist(), s.tolist()) for idx, s in parts]
        [([0, 1], [0.9, 0.1]), ([0, 2], [0.8, 0.2])]
    """
    if folds is None:
        return [(np.arange(len(scores)), scores)]
    parts = []
    for k, row in enumerate(np.atleast_2d(scores)):
        idx = np.flatnonzero((folds == -1) | (folds == k))
        parts.append((idx, row[idx]))
    return parts


def _figures(y: np.ndarray, parts: Parts, w: np.ndarray) -> dict[str, float]:
    """Every figure of :data:`METRICS` on a test set's parts, as over their events pooled
    (folds of equal size): the AUC is the parts' mean; the rejections are those of the
    mean background efficiency; accuracy, F1 and Cohen's κ at a score of 0.5, with the
    classes weighted equally, follow from the mean true and false positive rates
    (accuracy (1 + TPR − FPR) / 2, F1 2·TPR / (1 + TPR + FPR), κ TPR − FPR)."""
    from sklearn.metrics import roc_auc_score

    auc, tpr, fpr = np.mean(
        [
            (
                roc_auc_score(y[idx], s, sample_weight=w[idx]),
                _passing(y[idx] == 1, s, w[idx]),
                _passing(y[idx] == 0, s, w[idx]),
            )
            for idx, s in parts
        ],
        axis=0,
    )
    return {
        "auc": float(auc),
        "rejection_50": _rejection(y, parts, w, 0.5),
        "rejection_80": _rejection(y, parts, w, 0.8),
        "accuracy": float((1.0 + tpr - fpr) / 2),
        "f1": float(2 * tpr / (1.0 + tpr + fpr)),
        "kappa": float(tpr - fpr),
    }


def _passing(sel: np.ndarray, s: np.ndarray, w: np.ndarray, cut: float = 0.5) -> float:
    """The (weighted) share of the ``sel`` events that score ``cut`` or more."""
    return float(w[sel][s[sel] >= cut].sum() / w[sel].sum())


def _resampled(
    y: np.ndarray, parts: Parts, weights: np.ndarray, bootstrap: int, seed: int
) -> tuple[dict[str, float], list[dict[str, float]]]:
    """The figures and their values on ``bootstrap`` Poisson resamples of the test
    events; the same ``seed`` draws the same resamples, so two trainings scored on one
    test set are compared resample by resample."""
    rng = np.random.default_rng(seed)
    draws = [_figures(y, parts, weights * rng.poisson(1.0, len(y))) for _ in range(bootstrap)]
    return _figures(y, parts, weights), draws


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
    return with_spreads(*_resampled(y, folded(scores), weights, bootstrap, seed))


SCORE_BINS = 40
"""Bins of the test events' score distributions kept per training (scores in [0, 1])."""


def scored(
    y: np.ndarray,
    scores: np.ndarray,
    weights: np.ndarray,
    *,
    bootstrap: int,
    seed: int,
    folds: np.ndarray | None = None,
) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """One training's test-set record and the figures on each resample.

    ``scores`` are one classifier's, or with ``folds`` those of K classifiers each
    trained without one fold of the background (:func:`folded`): every figure is then
    the K folds' average, the rejections over the background of every fold. With one
    more leading axis they are R repeats of the training (other classifier seeds; one
    repeat is the training alone):
    the figures are then the repeats' average, and each spread adds to the test
    events' that of the repeats' mean (``std_training``, the repeats' standard
    deviation over √R), which one training cannot show.

    Returns:
        ``(record, draws)``: ``record`` has ``metrics`` (figure -> ``value``, ``std``
        and, with repeats, ``std_training``; then also ``repeats``, each repeat's figures),
        ``roc`` (the rejection at each of :data:`ROC_EFFICIENCIES`) and ``scores`` (the
        signal's and the background's normalised score distributions in
        :data:`SCORE_BINS` bins of [0, 1]); ``draws`` are the figures on the resamples
        (the same ``seed``, the same resamples: for paired comparisons).
    """
    scores = np.asarray(scores)
    single = scores.ndim == (1 if folds is None else 2)
    repeats = [folded(r, folds) for r in (scores[None] if single else scores)]
    parts = [part for repeat in repeats for part in repeat]
    value, draws = _resampled(y, parts, weights, bootstrap, seed)
    edges = np.linspace(0.0, 1.0, SCORE_BINS + 1)
    shapes = {}
    for name, label in (("signal", 1), ("background", 0)):
        counts = np.zeros(SCORE_BINS)
        for idx, s in parts:
            mine = y[idx] == label
            counts += np.histogram(np.clip(s[mine], 0.0, 1.0), edges, weights=weights[idx][mine])[0]
        shapes[name] = (counts / max(counts.sum(), 1e-300)).tolist()
    roc = [_rejection(y, parts, weights, e) for e in ROC_EFFICIENCIES]
    record: dict[str, Any] = {
        "metrics": with_spreads(value, draws),
        "roc": roc,
        "scores": {"edges": edges.tolist(), **shapes},
    }
    if len(repeats) > 1:  # the spread of the repeats' mean joins that of the test events
        record["repeats"] = [_figures(y, repeat, weights) for repeat in repeats]
        for k, m in record["metrics"].items():
            m["std_training"] = _spread([r[k] for r in record["repeats"]]) / math.sqrt(len(repeats))
            m["std"] = math.hypot(m["std"], m["std_training"])
    return record, draws


def paired_gain(
    own: dict[str, Any],
    base: dict[str, Any],
    own_draws: Sequence[Mapping[str, float]],
    base_draws: Sequence[Mapping[str, float]],
) -> dict[str, dict[str, float]]:
    """Each figure's change from ``base`` to ``own`` (two :func:`scored` records of one
    test set), with its spread over the same resamples and, where both trainings were
    repeated, that of the repeats' mean change (``std_training``) added."""
    gain = {}
    for k in METRICS:
        change = {
            "value": own["metrics"][k]["value"] - base["metrics"][k]["value"],
            "std": _spread([a[k] - b[k] for a, b in zip(own_draws, base_draws, strict=True)]),
        }
        if "repeats" in own and "repeats" in base:
            pairs = zip(own["repeats"], base["repeats"], strict=True)
            changes = [a[k] - b[k] for a, b in pairs]
            change["std_training"] = _spread(changes) / math.sqrt(len(changes))
            change["std"] = math.hypot(change["std"], change["std_training"])
        gain[k] = change
    return gain


def check_repeats(repeats: int) -> None:
    """Refuse a number of classifier trainings per training set below 1.

    Raises:
        InputError: for anything but a whole number of at least 1.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        msg = f"repeats must be a whole number of at least 1, got {repeats!r}"
        raise InputError(msg)


def repeats_note(repeats: int) -> str:
    """What a study's summary says of repeated trainings (nothing for one).

    Example:
        >>> repeats_note(3)
        '; each classifier trained 3 times, averaged, their spread in every ±'
    """
    return (
        f"; each classifier trained {repeats} times, averaged, their spread in every ±"
        if repeats > 1
        else ""
    )


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
