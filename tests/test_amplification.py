"""Effective sample size (GANplification) on samples with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from evmult.validation import effective_sample_size


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {f"x{i}": rng.normal(size=500_000) for i in range(10)}


@pytest.mark.parametrize("n", [2_000, 20_000])
def test_a_real_sample_is_worth_its_size(reference: dict[str, np.ndarray], n: int) -> None:
    rng = np.random.default_rng(n)
    real = {k: rng.normal(size=n) for k in reference}
    ess = effective_sample_size(reference, real)
    assert ess.overall == pytest.approx(n, rel=0.25)
    assert not ess.overall_saturated
    assert ess.n_generated == n
    assert ess.n_reference == 500_000


def test_a_biased_generator_is_worth_what_its_bias_allows(
    reference: dict[str, np.ndarray],
) -> None:
    # 10^6 events shifted by 0.05 sigma: the bias, not the size, limits their worth.
    # Expected: (1 - 1/B) / sum_i (q_i - p_i)^2 over B = 20 equal-probability bins.
    rng = np.random.default_rng(3)
    shifted = {k: rng.normal(0.05, size=1_000_000) for k in reference}
    edges = np.quantile(rng.normal(size=10_000_000), np.linspace(0, 1, 21)[1:-1])
    from scipy import stats

    q = np.diff(np.r_[0.0, stats.norm.cdf(edges - 0.05), 1.0])
    expected = (1 - 1 / 20) / np.sum((q - 1 / 20) ** 2 + (1 - 1 / 20) / 1_000_000)
    ess = effective_sample_size(reference, shifted)
    assert ess.overall == pytest.approx(expected, rel=0.2)
    assert ess.overall < 0.05 * len(shifted["x0"])


def test_weights_count_as_repetition() -> None:
    rng = np.random.default_rng(5)
    ref = {"x": rng.exponential(size=200_000)}
    values = rng.exponential(size=3_000)
    w = rng.integers(1, 4, size=3_000).astype(float)
    weighted = effective_sample_size(ref, {"x": values}, generated_weights=w)
    repeated = effective_sample_size(ref, {"x": np.repeat(values, w.astype(int))})
    assert weighted.per_feature["x"] == pytest.approx(repeated.per_feature["x"])
    assert weighted.n_generated == pytest.approx(w.sum() ** 2 / np.sum(w**2))


def test_saturation_and_absent_objects() -> None:
    rng = np.random.default_rng(6)
    ref = {"x": rng.normal(size=5_000)}
    ess = effective_sample_size(ref, {"x": ref["x"].copy()})  # the reference itself
    assert ess.saturated["x"]
    assert ess.overall_saturated
    assert ess.per_feature["x"] == pytest.approx(5_000)
    # a second jet present in a quarter of the events: counted in events, not in jets
    jet = rng.normal(size=400_000)
    jet[rng.random(400_000) > 0.25] = np.nan
    gen = rng.normal(size=40_000)
    gen[rng.random(40_000) > 0.25] = np.nan
    worth = effective_sample_size({"jet": jet}, {"jet": gen}).per_feature["jet"]
    assert worth == pytest.approx(40_000, rel=0.5)


def test_no_usable_feature_is_an_error() -> None:
    with pytest.raises(ValueError, match="enough finite values"):
        effective_sample_size({"x": np.full(100, np.nan)}, {"x": np.ones(10)})
