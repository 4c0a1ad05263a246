"""How many real events a generated sample is worth (GANplification).

A generated sample of N events is not worth N real events: its histograms carry the
generator's bias on top of their statistical noise. Following Butter et al.,
"GANplification" (SciPost Phys. 10, 139, arXiv:2008.06545), the worth is measured
against a large reference sample that stands in for the truth: the *effective sample
size* is the number of real events whose histogram of a feature would be as close to the
truth as the generated one is.

In equal-probability bins of the reference (probabilities p_i), a real sample of n
events has an expected squared distance Σ(p̂_i − p_i)² = (1 − Σp_i²)/n. The generated
histogram's distance to the reference, less the reference's own expected noise, gives
its mean squared error; solving for n gives the effective size. It cannot be resolved
beyond the reference's own size: such values are reported as saturated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["EffectiveSize", "effective_sample_size", "kish_size"]

_DISCRETE_MAX_VALUES = 25


def kish_size(weights: np.ndarray | None, n: int) -> float:
    """Kish's effective number of events, (Σw)²/Σw², or ``n`` when unweighted."""
    if weights is None:
        return float(n)
    w = np.asarray(weights, dtype=np.float64)
    return float(w.sum() ** 2 / np.sum(w**2)) if np.any(w) else 0.0


@dataclass(frozen=True)
class EffectiveSize:
    """Effective sample size of a generated sample, per feature and overall.

    Attributes:
        per_feature: feature -> effective number of real *events* (a feature present
            in a fraction f of events, e.g. a second jet, has its value count divided
            by f), capped at the reference's size where saturated.
        saturated: feature -> whether the value only is a lower bound (the generated
            histogram is as close to the reference as the reference's own noise allows).
        overall: the summed noise term over the summed squared errors of all features
            (a weighted harmonic mean of the per-feature sizes, dominated by the
            worst-modelled features; summing before dividing keeps it unbiased by the
            noise of single features).
        overall_saturated: whether ``overall`` is a lower bound (some feature saturated).
        n_generated: effective size of the generated sample (Kish).
        n_reference: effective size of the reference sample (Kish).
        bins: bins per continuous feature.
    """

    per_feature: dict[str, float]
    saturated: dict[str, bool]
    overall: float
    overall_saturated: bool
    n_generated: float
    n_reference: float
    bins: int

    def amplification(self, n_train: int) -> float:
        """Overall effective size divided by the number of training events."""
        return self.overall / n_train


def _edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Interior bin edges: half-integers for discrete features, else the reference's
    quantiles (equal-probability bins); the outer bins are open-ended."""
    uniq = np.unique(reference)
    if uniq.size <= _DISCRETE_MAX_VALUES and np.all(uniq == np.round(uniq)):
        return uniq[:-1] + 0.5
    return np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))


def _probabilities(values: np.ndarray, weights: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), weights, len(edges) + 1)
    return counts / counts.sum()


def effective_sample_size(
    reference: Mapping[str, np.ndarray],
    generated: Mapping[str, np.ndarray],
    *,
    reference_weights: np.ndarray | None = None,
    generated_weights: np.ndarray | None = None,
    bins: int = 20,
) -> EffectiveSize:
    """Effective sample size of ``generated`` measured against a large ``reference``.

    NaN values (absent objects) are dropped per feature; the fraction of events that
    have an object is seen by the count features (e.g. ``nJet``).

    Args:
        reference: feature -> values of the large real sample (never trained on).
        generated: feature -> values of the generated sample (same keys).
        reference_weights: event weights of the reference.
        generated_weights: event weights of the generated sample.
        bins: equal-probability bins per continuous feature; discrete features get one
            bin per value.

    Returns:
        The :class:`EffectiveSize`.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> ref = {f"x{i}": rng.normal(size=400_000) for i in range(8)}
        >>> real = {f"x{i}": rng.normal(size=5_000) for i in range(8)}
        >>> ess = effective_sample_size(ref, real)
        >>> 4_000 < ess.overall < 6_250  # a real sample of 5,000 is worth about 5,000
        True
    """
    wr_all = None if reference_weights is None else np.asarray(reference_weights, np.float64)
    wg_all = None if generated_weights is None else np.asarray(generated_weights, np.float64)
    per_feature: dict[str, float] = {}
    saturated: dict[str, bool] = {}
    total_noise = total_error = 0.0
    for name, ref_values in reference.items():
        r = np.asarray(ref_values, np.float64)
        g = np.asarray(generated[name], np.float64)
        rok, gok = np.isfinite(r), np.isfinite(g)
        if rok.sum() < bins or not gok.any():
            continue
        wr = np.ones(len(r)) if wr_all is None else wr_all
        wg = np.ones(gok.sum()) if wg_all is None else wg_all[gok]
        edges = _edges(r[rok], bins)
        p = _probabilities(r[rok], wr[rok], edges)
        q = _probabilities(g[gok], wg, edges)
        present = float(wr[rok].sum() / wr.sum())  # values per event
        n_ref_f = kish_size(wr[rok], int(rok.sum()))
        noise = 1.0 - float(np.sum(p**2))  # n × expected squared distance of n values
        ref_noise = noise / n_ref_f
        mse = float(np.sum((q - p) ** 2)) - ref_noise
        saturated[name] = mse <= ref_noise
        error = max(mse, ref_noise) * present  # squared error per event of the sample
        per_feature[name] = float(noise / error)
        total_noise += noise
        total_error += error
    if not per_feature:
        msg = "no feature has enough finite values to measure an effective sample size"
        raise ValueError(msg)
    return EffectiveSize(
        per_feature=per_feature,
        saturated=saturated,
        overall=total_noise / total_error,
        overall_saturated=any(saturated.values()),
        n_generated=kish_size(wg_all, len(next(iter(generated.values())))),
        n_reference=kish_size(wr_all, len(next(iter(reference.values())))),
        bins=bins,
    )
