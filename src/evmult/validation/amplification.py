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

A generator's error has two parts: its bias, which more events do not remove, and the
noise of its N events, (1 − Σp_i²)/N as for real events. So a sample of N generated
events is worth n_eff = N·n_∞ / (N + n_∞), where n_∞ = (1 − Σp_i²) / bias² is what
infinitely many of them would be worth (:attr:`EffectiveSize.asymptotic`). At
N = 9·n_∞ the sample reaches 90 % of that: more events stop adding effective events
(:meth:`EffectiveSize.largest_useful_factor`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "USEFUL_SHARE",
    "EffectiveSize",
    "absolute_azimuths",
    "effective_sample_size",
    "kish_size",
]

_DISCRETE_MAX_VALUES = 25

_NEAR_RESOLUTION = 2.0  # an overall worth above half the reference's resolution is a bound

USEFUL_SHARE = 0.9
"""The largest useful factor is where a sample reaches this share of :attr:`EffectiveSize.asymptotic`."""


def absolute_azimuths(names: Collection[str]) -> list[str]:
    """The features that are absolute azimuths (``*_phi``): uniform by the rotational
    symmetry of the collision, and uniform by construction in generated events, so a
    measure of worth reports them but does not count them.

    Example:
        >>> absolute_azimuths(["lep1_pt", "lep1_phi", "MET_phi", "dphi_12"])
        ['lep1_phi', 'MET_phi']
    """
    return [n for n in names if n.endswith("_phi")]


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
        overall: the summed noise term over the summed squared errors of the counted
            features (a weighted harmonic mean of the per-feature sizes, dominated by
            the worst-modelled features; summing before dividing keeps it unbiased by
            the noise of single features).
        overall_saturated: whether ``overall`` is a lower bound: it is at least half of
            what the reference can resolve (the summed noise over the summed floors of
            the counted features).
        n_generated: effective size of the generated sample (Kish).
        n_reference: effective size of the reference sample (Kish).
        bins: bins per continuous feature.
        counted: the features that enter ``overall`` and ``asymptotic`` (the others,
            e.g. absolute azimuths, are reported per feature only).
        asymptotic: what infinitely many events of this generator would be worth: the
            summed noise term over the summed squared bias (the error less the
            generated sample's own noise).
        asymptotic_saturated: whether ``asymptotic`` is only a lower bound (the bias is
            not resolved above the reference's noise).
        overall_std: the statistical spread of ``overall`` from the multinomial noise
            of both histograms, the features taken as independent (correlated features
            scatter more: repeat the measurement on other draws for the full spread).
    """

    per_feature: dict[str, float]
    saturated: dict[str, bool]
    overall: float
    overall_saturated: bool
    n_generated: float
    n_reference: float
    bins: int
    counted: tuple[str, ...] = ()
    asymptotic: float = math.inf
    asymptotic_saturated: bool = True
    overall_std: float = math.nan

    def amplification(self, n_train: int) -> float:
        """Overall effective size divided by the number of training events."""
        return self.overall / n_train

    def largest_useful_factor(self, n_train: int) -> float:
        """The multiplication factor beyond which more generated events stop adding
        effective events: where the sample reaches :data:`USEFUL_SHARE` of
        :attr:`asymptotic` (N = 9·n_∞), over ``n_train``; a lower bound where
        :attr:`asymptotic_saturated`."""
        return USEFUL_SHARE / (1 - USEFUL_SHARE) * self.asymptotic / n_train


def _edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Interior bin edges: half-integers for discrete features, else the reference's
    quantiles (equal-probability bins); the outer bins are open-ended."""
    uniq = np.unique(reference)
    if uniq.size <= _DISCRETE_MAX_VALUES and np.all(uniq == np.round(uniq)):
        return uniq[:-1] + 0.5
    return np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))


def _probabilities(bins: np.ndarray, weights: np.ndarray, n_bins: int) -> np.ndarray:
    counts = np.bincount(bins, weights, n_bins)
    return counts / counts.sum()


@dataclass(frozen=True)
class _Terms:
    """One feature's squared-error terms, per event of the sample (see the module
    docstring): the noise term (1 − Σp²), the error, the bias and the reference's
    resolution floor, each times the share of events that have the feature."""

    worth: float
    saturated: bool
    noise: float
    error: float
    bias: float
    floor: float
    variance: float


def _terms(
    reference: np.ndarray, generated: np.ndarray, wr: np.ndarray, wg: np.ndarray, bins: int
) -> _Terms:
    """The terms of one feature's finite values, ``wr``/``wg`` being every event's weight."""
    rok, gok = np.isfinite(reference), np.isfinite(generated)
    wr_ok, wg_ok = wr[rok], wg[gok]
    edges = _edges(reference[rok], bins)
    p = _probabilities(np.searchsorted(edges, reference[rok], side="right"), wr_ok, len(edges) + 1)
    q = _probabilities(np.searchsorted(edges, generated[gok], side="right"), wg_ok, len(edges) + 1)
    present = float(wr_ok.sum() / wr.sum())  # values per event
    n_ref, n_gen = kish_size(wr_ok, len(wr_ok)), kish_size(wg_ok, len(wg_ok))
    noise = 1.0 - float(np.sum(p**2))  # n × expected squared distance of n values
    ref_noise = noise / n_ref
    mse = float(np.sum((q - p) ** 2)) - ref_noise
    error = max(mse, ref_noise) * present  # squared error per event of the sample
    bias = max(mse - noise / n_gen, 0.0) * present
    # Var Σ(q − p)² = 2 tr C² + 4 dᵀCd, with C the two histograms' multinomial
    # covariance and d their true difference (the observed one's dᵀCd exceeds it by tr C²)
    cov = (np.diag(q) - np.outer(q, q)) / n_gen + (np.diag(p) - np.outer(p, p)) / n_ref
    trace = float(np.sum(cov**2))
    variance = (2 * trace + 4 * max(float((q - p) @ cov @ (q - p)) - trace, 0.0)) * present**2
    return _Terms(
        noise / error, mse <= ref_noise, noise, error, bias, ref_noise * present, variance
    )


def effective_sample_size(
    reference: Mapping[str, np.ndarray],
    generated: Mapping[str, np.ndarray],
    *,
    reference_weights: np.ndarray | None = None,
    generated_weights: np.ndarray | None = None,
    bins: int = 10,
    uncounted: Collection[str] = (),
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
        uncounted: features measured and reported but left out of the overall
            figures (e.g. :func:`absolute_azimuths`).

    Returns:
        The :class:`EffectiveSize`.

    Raises:
        ValueError: if no counted feature has enough finite values.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> ref = {f"x{i}": rng.normal(size=400_000) for i in range(8)}
        >>> real = {f"x{i}": rng.normal(size=5_000) for i in range(8)}
        >>> ess = effective_sample_size(ref, real)
        >>> abs(ess.overall - 5_000) < 2 * ess.overall_std  # worth about its size
        True
    """
    n_ref = len(next(iter(reference.values())))
    n_gen = len(next(iter(generated.values())))
    wr = np.ones(n_ref) if reference_weights is None else np.asarray(reference_weights, np.float64)
    wg = np.ones(n_gen) if generated_weights is None else np.asarray(generated_weights, np.float64)
    terms: dict[str, _Terms] = {}
    for name, ref_values in reference.items():
        r = np.asarray(ref_values, np.float64)
        g = np.asarray(generated[name], np.float64)
        if np.isfinite(r).sum() >= bins and np.isfinite(g).any():
            terms[name] = _terms(r, g, wr, wg, bins)
    counted = tuple(n for n in terms if n not in set(uncounted))
    if not counted:
        msg = "no feature has enough finite values to measure an effective sample size"
        raise ValueError(msg)
    noise = sum(terms[n].noise for n in counted)
    error = sum(terms[n].error for n in counted)
    bias = sum(terms[n].bias for n in counted)
    floor = sum(terms[n].floor for n in counted)
    overall = noise / error
    return EffectiveSize(
        per_feature={n: t.worth for n, t in terms.items()},
        saturated={n: t.saturated for n, t in terms.items()},
        overall=overall,
        overall_saturated=error <= _NEAR_RESOLUTION * floor,
        n_generated=kish_size(generated_weights, n_gen),
        n_reference=kish_size(reference_weights, n_ref),
        bins=bins,
        counted=counted,
        asymptotic=noise / max(bias, floor),
        asymptotic_saturated=bias <= floor,
        overall_std=overall * math.sqrt(sum(terms[n].variance for n in counted)) / error,
    )
