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
    assert abs(ess.overall - n) < 2.5 * ess.overall_std
    assert 0.08 < ess.overall_std / ess.overall < 0.25  # about sqrt(2 / (10 features x 9 dof))
    assert not ess.overall_saturated
    assert ess.asymptotic > 3 * n  # no bias resolved: more such events would be worth more
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
    ess = effective_sample_size(reference, shifted, bins=20)
    assert ess.overall == pytest.approx(expected, rel=0.2)
    assert ess.overall < 0.05 * len(shifted["x0"])
    # the bias alone: what infinitely many such events would be worth, whatever their number
    bias_limit = (1 - 1 / 20) / np.sum((q - 1 / 20) ** 2)
    for n in (30_000, 1_000_000):
        part = effective_sample_size(reference, {k: v[:n] for k, v in shifted.items()}, bins=20)
        assert part.asymptotic == pytest.approx(bias_limit, rel=0.2)
        assert not part.asymptotic_saturated
        # N events of it are worth N·n∞ / (N + n∞)
        assert part.overall == pytest.approx(n * bias_limit / (n + bias_limit), rel=0.2)
    # 9·n∞ events reach 90 % of n∞: the largest useful factor over a training size
    assert ess.largest_useful_factor(1_000) == pytest.approx(9 * ess.asymptotic / 1_000)


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
    worth = effective_sample_size({"jet": jet}, {"jet": gen}, bins=20).per_feature["jet"]
    assert worth == pytest.approx(40_000, rel=0.5)


def test_no_usable_feature_is_an_error() -> None:
    with pytest.raises(ValueError, match="enough finite values"):
        effective_sample_size({"x": np.full(100, np.nan)}, {"x": np.ones(10)})


def test_the_spread_covers_the_scatter_of_real_samples(reference: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(8)
    draws = [
        effective_sample_size(reference, {k: rng.normal(size=3_000) for k in reference})
        for _ in range(30)
    ]
    worth = np.array([d.overall for d in draws])
    spread = np.median([d.overall_std for d in draws])
    assert np.mean(worth) == pytest.approx(3_000, rel=0.1)
    assert spread == pytest.approx(np.std(worth), rel=0.4)


def test_copies_of_the_training_events_are_worth_the_training_sample(
    reference: dict[str, np.ndarray],
) -> None:
    rng = np.random.default_rng(9)
    train = {k: rng.normal(size=2_000) for k in reference}
    itself = effective_sample_size(reference, train)
    copies = effective_sample_size(reference, {k: np.tile(v, 10) for k, v in train.items()})
    assert copies.overall == pytest.approx(itself.overall)
    assert copies.overall < 2_000 + 2.5 * itself.overall_std


def test_uncounted_features_are_reported_but_left_out(reference: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(10)
    gen = {k: rng.normal(size=20_000) for k in reference}
    gen["x0"] = rng.uniform(-3, 3, size=20_000)  # a feature modelled badly
    counted = effective_sample_size(reference, gen)
    left_out = effective_sample_size(reference, gen, uncounted=["x0"])
    assert left_out.per_feature["x0"] == pytest.approx(counted.per_feature["x0"])
    assert left_out.per_feature["x0"] < 500
    assert "x0" not in left_out.counted
    assert left_out.counted == tuple(k for k in reference if k != "x0")
    assert left_out.overall > 10 * counted.overall
    with pytest.raises(ValueError, match="enough finite values"):
        effective_sample_size(reference, gen, uncounted=list(reference))
