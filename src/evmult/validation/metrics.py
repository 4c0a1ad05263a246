"""Two-sample metrics with event weights: KS, Wasserstein, correlations, a classifier
two-sample test and novelty (memorisation).

Each metric comes with a way to get its *floor*: the value two independent real samples
of the same sizes give. A perfect generator reaches the floor, not zero.

References:
    Otten et al., Nat. Commun. 12, 2985 (arXiv:1901.00875): physicality and holes.
    Lopez-Paz & Oquab, arXiv:1610.06545: classifier two-sample tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "CONSTANT_SPREAD",
    "C2STResult",
    "NoveltyResult",
    "c2st",
    "constant_value",
    "correlation_difference",
    "ks_statistic",
    "novelty",
    "real_vs_real_floor",
    "wasserstein_iqr",
]


CONSTANT_SPREAD = 1e-6
"""A feature whose spread is at most this share of its size (or of 1) is a constant up to
float rounding, e.g. a kaon's mass."""


def constant_value(values: np.ndarray) -> float | None:
    """The value of a feature that is constant up to float rounding (its median), or
    ``None`` for one that varies or has no finite values.

    Example:
        >>> constant_value(np.array([0.493677, 0.493677, 0.493677 + 1e-12, np.nan]))
        0.493677
        >>> constant_value(np.arange(3.0)) is None
        True
    """
    finite = np.asarray(values, np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None
    centre = float(np.median(finite))
    return centre if np.std(finite) <= CONSTANT_SPREAD * max(abs(centre), 1.0) else None


def _clean(values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64)
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != values.shape:
        msg = f"weights have shape {w.shape}, values {values.shape}"
        raise ValueError(msg)
    ok = np.isfinite(values) & np.isfinite(w)
    return values[ok], w[ok]


def _weighted_cdf(values: np.ndarray, weights: np.ndarray, at: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    idx = np.searchsorted(values[order], at, side="right")
    return np.where(idx > 0, cum[np.maximum(idx - 1, 0)], 0.0) / cum[-1]


def ks_statistic(
    a: np.ndarray, b: np.ndarray, wa: np.ndarray | None = None, wb: np.ndarray | None = None
) -> float:
    """Two-sample Kolmogorov–Smirnov statistic sup|F_a − F_b| with event weights.

    NaNs (absent objects) are ignored. Without weights it equals
    ``scipy.stats.ks_2samp(a, b).statistic``.

    Example:
        >>> import numpy as np
        >>> ks_statistic(np.array([0.0, 1.0]), np.array([2.0, 3.0]))
        1.0
    """
    a, wa_ = _clean(a, wa)
    b, wb_ = _clean(b, wb)
    if a.size == 0 or b.size == 0:
        return float("nan")
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(_weighted_cdf(a, wa_, grid) - _weighted_cdf(b, wb_, grid))))


def wasserstein_iqr(
    a: np.ndarray, b: np.ndarray, wa: np.ndarray | None = None, wb: np.ndarray | None = None
) -> float:
    """Wasserstein-1 distance divided by the interquartile range of ``a`` (the reference),
    so that features in GeV and in radians compare on one scale."""
    a, wa_ = _clean(a, wa)
    b, wb_ = _clean(b, wb)
    if a.size == 0 or b.size == 0:
        return float("nan")
    q1, q3 = np.quantile(a, [0.25, 0.75])
    scale = (q3 - q1) or (np.std(a) or 1.0)
    return float(stats.wasserstein_distance(a, b, wa_, wb_) / scale)


def real_vs_real_floor(
    reference: np.ndarray,
    weights: np.ndarray | None,
    n_other: int,
    statistic: Callable[..., float],
    *,
    seed: int = 0,
) -> float:
    """The value ``statistic`` takes between two disjoint random halves of the reference.

    The halves have the sizes of the comparison being judged, where the reference is
    large enough: ``min(n_ref // 2, n_other)`` events each.

    Args:
        reference: the real sample (one feature).
        weights: its weights, or ``None``.
        n_other: the size of the sample compared with the reference.
        statistic: e.g. :func:`ks_statistic` (called as ``statistic(a, b, wa, wb)``).
        seed: seed of the random split.
    """
    rng = np.random.default_rng(seed)
    n = min(len(reference) // 2, n_other)
    perm = rng.permutation(len(reference))
    i, j = perm[:n], perm[n : 2 * n]
    w = np.ones(len(reference)) if weights is None else np.asarray(weights)
    return statistic(reference[i], reference[j], w[i], w[j])


def correlation_difference(
    a: np.ndarray, b: np.ndarray, *, method: str = "pearson"
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Correlation matrices of two samples (events × features) and their difference.

    Rows with a NaN are dropped per sample (absent objects). Features that are constant
    in a sample get zero correlation.

    Args:
        a: reference sample, shape (n, k).
        b: compared sample, shape (m, k).
        method: ``"pearson"`` or ``"spearman"``.

    Returns:
        (corr_a, corr_b, {"max_abs": ..., "mean_abs": ...}) where the summary runs over
        the off-diagonal elements of ``corr_b - corr_a``.
    """

    def corr(x: np.ndarray) -> np.ndarray:
        x = x[np.all(np.isfinite(x), axis=1)]
        if method == "spearman":
            x = np.apply_along_axis(stats.rankdata, 0, x)
        elif method != "pearson":
            msg = f"unknown correlation method {method!r}"
            raise ValueError(msg)
        std = x.std(axis=0)
        z = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
        c = z.T @ z / max(len(z), 1)
        np.fill_diagonal(c, 1.0)
        return c

    ca, cb = corr(np.asarray(a, float)), corr(np.asarray(b, float))
    off = ~np.eye(ca.shape[0], dtype=bool)
    diff = np.abs(cb - ca)[off]
    summary = {
        "max_abs": float(diff.max()) if diff.size else 0.0,
        "mean_abs": float(diff.mean()) if diff.size else 0.0,
    }
    return ca, cb, summary


@dataclass(frozen=True)
class C2STResult:
    """Classifier two-sample test: ROC AUC over k folds (0.5 = indistinguishable)."""

    auc: float
    auc_std: float
    folds: tuple[float, ...]


def c2st(
    real: np.ndarray,
    generated: np.ndarray,
    *,
    real_weights: np.ndarray | None = None,
    generated_weights: np.ndarray | None = None,
    folds: int = 5,
    seed: int = 0,
    max_iter: int = 200,
) -> C2STResult:
    """Train a gradient-boosted classifier to tell ``real`` from ``generated``.

    scikit-learn's ``HistGradientBoostingClassifier`` handles NaN (absent objects)
    natively. Weights are normalised so both classes carry the same total weight; pass
    samples of equal size (and uniform weights) where possible, as the classifier fits
    far faster without per-event weights.

    Args:
        real: shape (n, k).
        generated: shape (m, k).
        real_weights: event weights of ``real``.
        generated_weights: event weights of ``generated``.
        folds: number of stratified folds.
        seed: seed of the fold split and the classifier.
        max_iter: boosting iterations.

    Returns:
        Mean and standard deviation of the held-out ROC AUC over the folds.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    x = np.vstack([real, generated]).astype(np.float64)
    y = np.r_[np.zeros(len(real)), np.ones(len(generated))]
    wr = np.ones(len(real)) if real_weights is None else np.asarray(real_weights, float)
    wg = (
        np.ones(len(generated))
        if generated_weights is None
        else np.asarray(generated_weights, float)
    )
    w = np.r_[wr / wr.sum(), wg / wg.sum()] * len(x) / 2
    # equal weights are left out: weighted binning makes the fit ~20× slower
    uniform = np.allclose(w, w[0])
    aucs = []
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in split.split(x, y):
        clf = HistGradientBoostingClassifier(
            max_iter=max_iter, random_state=seed, early_stopping=True
        )
        clf.fit(x[train], y[train], sample_weight=None if uniform else w[train])
        score = clf.predict_proba(x[test])[:, 1]
        aucs.append(
            float(roc_auc_score(y[test], score, sample_weight=None if uniform else w[test]))
        )
    return C2STResult(float(np.mean(aucs)), float(np.std(aucs)), tuple(aucs))


@dataclass(frozen=True)
class NoveltyResult:
    """How new generated events are compared with fresh real ones.

    Attributes:
        ratio: median distance of generated events to their nearest training event,
            divided by the same for held-out real events (1 = as new as fresh data,
            0 = copies of training events).
        near_copy_fraction: fraction of generated events closer to a training event than
            1 % of the held-out median distance.
        generated_median: median nearest-training distance of generated events.
        holdout_median: the same for held-out real events.
    """

    ratio: float
    near_copy_fraction: float
    generated_median: float
    holdout_median: float


def novelty(
    train: np.ndarray,
    generated: np.ndarray,
    holdout: np.ndarray,
    *,
    max_events: int = 20_000,
    seed: int = 0,
) -> NoveltyResult:
    """Memorisation check: nearest-training-event distances, generated vs held-out real.

    Features are standardised with the training sample's mean and spread; NaNs (absent
    objects) are replaced by a value outside every feature's range, so that events with
    and without an object are far apart. A two-sample test against holdout cannot see a
    generator that copies its training events; this can.

    Args:
        train: the events the generator learned from, shape (n, k).
        generated: generated events, shape (m, k).
        holdout: real events never trained on, shape (h, k).
        max_events: at most this many generated and held-out events are used.
        seed: seed of that subsampling.
    """
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    mean = np.nanmean(train, axis=0)
    std = np.nanstd(train, axis=0)
    # constant features (up to float rounding, e.g. a particle's mass) get unit scale
    std = np.where(std > 1e-6 * np.maximum(np.abs(mean), 1.0), std, 1.0)

    def prep(x: np.ndarray) -> np.ndarray:
        if len(x) > max_events:
            x = x[rng.choice(len(x), max_events, replace=False)]
        z = (np.asarray(x, float) - mean) / std
        return np.where(np.isfinite(z), z, -10.0)

    nn = NearestNeighbors(n_neighbors=1).fit(prep(train))
    d_gen = nn.kneighbors(prep(generated))[0][:, 0]
    d_hold = nn.kneighbors(prep(holdout))[0][:, 0]
    med_gen, med_hold = float(np.median(d_gen)), float(np.median(d_hold))
    return NoveltyResult(
        ratio=med_gen / med_hold if med_hold > 0 else float("nan"),
        near_copy_fraction=float(np.mean(d_gen < 0.01 * med_hold)),
        generated_median=med_gen,
        holdout_median=med_hold,
    )
