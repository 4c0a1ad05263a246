"""Validation metrics on samples with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evmult.validation import (
    c2st,
    correlation_difference,
    ks_statistic,
    novelty,
    real_vs_real_floor,
    wasserstein_iqr,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_ks_matches_scipy_unweighted(rng: np.random.Generator) -> None:
    a, b = rng.normal(size=3000), rng.normal(0.1, 1.2, size=2000)
    assert ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)


def test_ks_of_a_shift_is_the_expected_value(rng: np.random.Generator) -> None:
    # sup |Φ(x) − Φ(x − δ)| = 2Φ(δ/2) − 1
    delta = 0.5
    a, b = rng.normal(size=200_000), rng.normal(delta, size=200_000)
    assert ks_statistic(a, b) == pytest.approx(2 * stats.norm.cdf(delta / 2) - 1, abs=0.005)


def test_ks_weights_equal_repetition(rng: np.random.Generator) -> None:
    a = rng.normal(size=500)
    b = rng.normal(size=400)
    w = rng.integers(1, 4, size=500)
    assert ks_statistic(a, b, wa=w) == pytest.approx(ks_statistic(np.repeat(a, w), b), abs=1e-12)


def test_ks_ignores_nan_and_identical_samples_sit_at_the_floor(rng: np.random.Generator) -> None:
    ref = rng.exponential(size=40_000)
    other = rng.exponential(size=10_000)
    other[::10] = np.nan  # absent objects
    ks = ks_statistic(ref, other)
    floor = real_vs_real_floor(ref, None, 9_000, ks_statistic)
    # both are draws of the same KS distribution at n ≈ 10k: ~ 0.87 / sqrt(n/2) ≈ 0.012
    assert ks < 3 * floor
    assert 0.003 < floor < 0.03


def test_wasserstein_is_scaled_by_the_iqr(rng: np.random.Generator) -> None:
    a = rng.normal(size=100_000)
    iqr = 2 * stats.norm.ppf(0.75)
    assert wasserstein_iqr(a, a + 1.0) == pytest.approx(1.0 / iqr, rel=0.02)
    assert wasserstein_iqr(100 * a, 100 * a + 100) == pytest.approx(1.0 / iqr, rel=0.02)


def test_correlation_change_shows_up(rng: np.random.Generator) -> None:
    cov = [[1.0, 0.6], [0.6, 1.0]]
    a = rng.multivariate_normal([0, 0], np.eye(2), size=20_000)
    b = rng.multivariate_normal([0, 0], cov, size=20_000)
    ca, cb, summary = correlation_difference(a, b)
    assert ca[0, 1] == pytest.approx(0.0, abs=0.03)
    assert cb[0, 1] == pytest.approx(0.6, abs=0.03)
    assert summary["max_abs"] == pytest.approx(0.6, abs=0.04)
    _, cs, _ = correlation_difference(a, b, method="spearman")
    assert cs[0, 1] == pytest.approx(6 / np.pi * np.arcsin(0.3), abs=0.03)  # Spearman of a Gaussian


def test_c2st_same_distribution_is_half_and_a_shift_is_seen(rng: np.random.Generator) -> None:
    a = rng.normal(size=(4_000, 3))
    b = rng.normal(size=(4_000, 3))
    same = c2st(a, b, folds=3, max_iter=50)
    assert same.auc == pytest.approx(0.5, abs=0.03)
    shifted = b.copy()
    shifted[:, 1] += 1.0
    # the Bayes-optimal AUC for a unit shift of one Gaussian feature is Φ(1/√2) ≈ 0.76
    seen = c2st(a, shifted, folds=3, max_iter=50)
    assert seen.auc == pytest.approx(stats.norm.cdf(1 / np.sqrt(2)), abs=0.03)
    assert len(seen.folds) == 3


def test_c2st_handles_nan_features(rng: np.random.Generator) -> None:
    a = rng.normal(size=(3_000, 2))
    b = rng.normal(size=(3_000, 2))
    a[rng.random(3_000) < 0.5, 1] = np.nan  # half the events lack the object
    assert c2st(a, b, folds=3, max_iter=50).auc > 0.7  # the missing-object pattern differs


def test_novelty_sees_copies(rng: np.random.Generator) -> None:
    train = rng.normal(size=(5_000, 4))
    holdout = rng.normal(size=(5_000, 4))
    fresh = novelty(train, rng.normal(size=(5_000, 4)), holdout)
    assert fresh.ratio == pytest.approx(1.0, abs=0.08)
    assert fresh.near_copy_fraction < 0.01
    copies = novelty(train, train[rng.integers(0, 5_000, 5_000)], holdout)
    assert copies.ratio == pytest.approx(0.0, abs=1e-9)
    assert copies.near_copy_fraction == 1.0


@pytest.mark.slow
def test_two_halves_of_real_zll_sit_at_the_floor(shared) -> None:
    from evmult.channels import get_channel
    from evmult.coffea import extract
    from evmult.features import feature_columns

    table = extract([shared("delphes/delphes_zll.root")], "zll")
    cols = feature_columns(table, get_channel("zll"))
    x = np.column_stack(list(cols.values()))
    perm = np.random.default_rng(1).permutation(len(x))
    a, b = x[perm[: len(x) // 2]], x[perm[len(x) // 2 :]]
    result = c2st(a, b, folds=3, max_iter=100)
    assert result.auc == pytest.approx(0.5, abs=0.02)
    names = list(cols)
    for i, name in enumerate(names):
        floor = real_vs_real_floor(a[:, i], None, len(b), ks_statistic, seed=i)
        assert ks_statistic(a[:, i], b[:, i]) < 3 * floor + 0.005, name
    # a 5 % smearing of the leading lepton's pT alone (mll kept) is seen by the classifier
    smeared = b.copy()
    lep = names.index("lep1_pt")
    smeared[:, lep] *= np.random.default_rng(2).normal(1.0, 0.05, len(b))
    mll = names.index("mll")
    assert ks_statistic(a[:, mll], smeared[:, mll]) < 0.02  # mll itself was not touched
    assert c2st(a, smeared, folds=3, max_iter=100).auc > result.auc + 0.015
