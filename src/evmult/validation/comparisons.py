"""The comparisons of a validation: each metric of a generated sample against real
events, with its real-vs-real floor (the value two independent real samples of the
same sizes give) and band.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import awkward as ak
import numpy as np
from scipy import stats

from evmult.channels import Channel
from evmult.errors import InputError
from evmult.features import derived_columns, feature_columns
from evmult.io.tables import event_weights
from evmult.validation.amplification import kish_size
from evmult.validation.flags import FALSE_FLAG_RATE, band_edge, beyond
from evmult.validation.metrics import (
    c2st,
    constant_value,
    correlation_difference,
    ks_statistic,
    wasserstein_iqr,
)
from evmult.validation.physics_checks import fit_peak, holes_fraction

__all__ = [
    "FLOOR_REPEATS",
    "Sample",
    "constant_features",
    "correlation_metrics",
    "feature_metrics",
    "hole_metrics",
    "peak_fits",
    "run_c2st",
]


FLOOR_REPEATS = 20
"""Random real-vs-real splits whose mean and spread give each per-feature floor."""

MIN_EVENTS = 50

_CORRELATION_COVERAGE = 0.99


@dataclasses.dataclass
class Sample:
    """One event table's features as float64 columns, with weights."""

    table: ak.Array
    source: str
    columns: dict[str, np.ndarray]
    weights: np.ndarray

    @classmethod
    def of(cls, loaded: tuple[ak.Array, str], role: str, channel: Channel) -> Sample:
        array, source = loaded
        if len(array) < MIN_EVENTS:
            msg = f"{source}: the {role} sample has {len(array)} events; need {MIN_EVENTS}"
            raise InputError(msg)
        columns = feature_columns(array, channel) | derived_columns(array, channel)
        return cls(array, source, columns, event_weights(array))

    def matrix(self, names: Sequence[str]) -> np.ndarray:
        return np.column_stack([self.columns[n] for n in names])

    def info(self) -> dict[str, Any]:
        return {"source": self.source, "n": len(self.table), "sum_weights": self.weights.sum()}


def floor_of(
    values: np.ndarray,
    weights: np.ndarray,
    sizes: tuple[float, float],
    statistic: Callable[..., float],
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Mean and spread of ``statistic`` over random real-vs-real halves, scaled to
    ``sizes``.

    Both KS and Wasserstein distances between samples of one distribution shrink as
    sqrt(1/n_a + 1/n_b) (effective sizes); the halves' values are rescaled by that.
    """
    ok = np.isfinite(values)
    v, w = values[ok], weights[ok]
    half = len(v) // 2
    if half < 10 or min(sizes) <= 0:
        return math.nan, math.nan
    results, scales = [], []
    for _ in range(FLOOR_REPEATS):
        perm = rng.permutation(len(v))
        i, j = perm[:half], perm[half : 2 * half]
        results.append(statistic(v[i], v[j], w[i], w[j]))
        scales.append(1 / kish_size(w[i], half) + 1 / kish_size(w[j], half))
    scale = math.sqrt((1 / sizes[0] + 1 / sizes[1]) / np.mean(scales))
    return float(np.mean(results) * scale), float(np.std(results, ddof=1) * scale)


def absent_feature(missing: bool) -> dict[str, Any]:
    """The distances of a feature one sample (or both) never has: maximal, flagged."""
    nan = math.nan
    return {
        "ks": 1.0 if missing else 0.0,
        "w1_iqr": math.inf if missing else 0.0,
        **{f"{k}_{x}": nan for k in ("ks", "w1_iqr") for x in ("floor", "floor_std", "band")},
        "flagged": missing,
    }


def feature_metrics(
    real: Sample, gen: Sample, names: Sequence[str], rng: np.random.Generator
) -> list[dict[str, Any]]:
    """KS and W1/IQR per feature with their floors and bands.

    The KS band is the Kolmogorov distribution's critical value at the family-wise
    false-flag rate (exact for continuous features, conservative for discrete ones); the
    W1 band comes from the spread of the real-vs-real splits.
    """
    n_tests = 2 * len(names)
    ks_crit = stats.kstwobign.isf(FALSE_FLAG_RATE / n_tests)
    rows = []
    for name in names:
        r, g = real.columns[name], gen.columns[name]
        rok, gok = np.isfinite(r), np.isfinite(g)
        sizes = (kish_size(real.weights[rok], rok.sum()), kish_size(gen.weights[gok], gok.sum()))
        row: dict[str, Any] = {
            "name": name,
            "n_real": int(rok.sum()),
            "n_generated": int(gok.sum()),
        }
        if min(sizes) <= 0:  # e.g. a generator that never makes a second jet
            missing = bool(rok.sum()) != bool(gok.sum())
            rows.append(row | absent_feature(missing))
            continue
        for key, statistic in (("ks", ks_statistic), ("w1_iqr", wasserstein_iqr)):
            floor, spread = floor_of(r, real.weights, sizes, statistic, rng)
            row[key] = statistic(r, g, real.weights, gen.weights)
            row[f"{key}_floor"] = floor
            row[f"{key}_floor_std"] = spread
        row["ks_band"] = ks_crit * math.sqrt(1 / sizes[0] + 1 / sizes[1])
        row["w1_iqr_band"] = band_edge(row["w1_iqr_floor"], row["w1_iqr_floor_std"], n_tests)
        row["flagged"] = any(
            beyond(row[k], row[f"{k}_floor"], row[f"{k}_band"]) for k in ("ks", "w1_iqr")
        )
        rows.append(row)
    return rows


def subsample(
    x: np.ndarray, w: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    if len(x) <= n:
        return x, w
    idx = rng.choice(len(x), n, replace=False)
    return x[idx], w[idx]


def run_c2st(
    real: Sample,
    gen: Sample,
    names: Sequence[str],
    *,
    folds: int,
    max_events: int,
    seed: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    n = min(len(real.weights), len(gen.weights), max_events)  # balanced classes
    xr, wr = subsample(real.matrix(names), real.weights, n, rng)
    xg, wg = subsample(gen.matrix(names), gen.weights, n, rng)
    result = c2st(xr, xg, real_weights=wr, generated_weights=wg, folds=folds, seed=seed)
    perm = rng.permutation(len(xr))
    half = len(xr) // 2
    a, b = perm[:half], perm[half : 2 * half]
    floor = c2st(
        xr[a], xr[b], real_weights=wr[a], generated_weights=wr[b], folds=folds, seed=seed + 1
    )
    return {
        "auc": result.auc,
        "auc_std": result.auc_std,
        "folds": list(result.folds),
        "floor_auc": floor.auc,
        "floor_auc_std": floor.auc_std,
        "n_real": len(xr),
        "n_generated": len(xg),
        "features": list(names),
    }


def correlation_metrics(
    real: Sample, gen: Sample, names: Sequence[str], rng: np.random.Generator
) -> tuple[dict[str, Any], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Correlation differences over the features (nearly) every real event has."""
    used = [
        n
        for n in names
        if np.isfinite(real.columns[n]).mean() >= _CORRELATION_COVERAGE
        and np.nanstd(real.columns[n]) > 0
    ]
    if len(used) < 2:
        msg = (
            f"correlations need two features that at least {_CORRELATION_COVERAGE:.0%} of "
            f"the real events have and that vary; of {', '.join(names)} only "
            f"{', '.join(used) or 'none'} qualify: add such features"
        )
        raise InputError(msg)
    xr, xg = real.matrix(used), gen.matrix(used)
    half = len(xr) // 2
    scale = math.sqrt((1 / len(xr) + 1 / len(xg)) / (2 / half))
    splits = [rng.permutation(len(xr)) for _ in range(FLOOR_REPEATS)]
    out: dict[str, Any] = {"features": used}
    matrices = {}
    for method in ("pearson", "spearman"):
        cr, cg, diff = correlation_difference(xr, xg, method=method)
        floors = [
            correlation_difference(xr[p[:half]], xr[p[half : 2 * half]], method=method)[2]
            for p in splits
        ]
        out[method] = diff
        for key in ("max_abs", "mean_abs"):
            values = np.array([f[key] for f in floors]) * scale
            out[method] |= {f"floor_{key}": values.mean(), f"floor_{key}_std": values.std(ddof=1)}
        matrices[method] = (cr, cg)
    return out, matrices


def holes_of(
    sample: Sample, idx: np.ndarray, pair: Sequence[str], edges: Sequence[np.ndarray]
) -> float:
    x, y = (sample.columns[c][idx] for c in pair)
    return holes_fraction(x, y, (edges[0], edges[1]))


def hole_metrics(
    real: Sample, gen: Sample, names: Sequence[str], rng: np.random.Generator
) -> dict[str, dict[str, float]]:
    """Empty-bin fractions in φ₁ vs φ₂ and η₁ vs η₂ of the two leading objects, with the
    real-vs-real band: disjoint random halves of the real sample give the fraction a
    perfect generator shows at that size, and its spread."""
    out = {}
    n = min(len(real.table) // 2, len(gen.table))
    per_axis = int(np.clip(math.sqrt(n / 10), 5, 50))
    pairs = [
        pair
        for suffix in ("_phi", "_eta")
        if len(pair := [c for c in names if c.endswith(suffix) and not c.startswith("MET")][:2])
        == 2
    ]
    z = stats.norm.isf(FALSE_FLAG_RATE / max(len(pairs), 1))
    for pair in pairs:
        edges = []
        for c in pair:
            lo, hi = np.nanquantile(real.columns[c], [0.001, 0.999])
            edges.append(np.linspace(lo, hi, per_axis + 1))

        halves = []
        for _ in range(FLOOR_REPEATS // 2):
            perm = rng.permutation(len(real.table))
            halves.append(
                (
                    holes_of(real, perm[:n], pair, edges),
                    holes_of(real, perm[n : 2 * n], pair, edges),
                )
            )
        generated = [
            holes_of(gen, rng.choice(len(gen.table), n, replace=False), pair, edges)
            for _ in range(3)
        ]
        # the two halves of a split are independent (those of different splits overlap):
        # E[(a - b)²] = 2σ²
        a, b = np.array(halves).T
        spread = float(np.sqrt(np.mean((a - b) ** 2) / 2))
        real_mean = float(np.mean(halves))
        out[f"{pair[0]}:{pair[1]}"] = {
            "real": real_mean,
            "generated": float(np.mean(generated)),
            "real_std": spread,
            "band": real_mean + z * max(spread, 1 / per_axis**2),
            "events": n,
            "bins_per_axis": per_axis,
        }
    return out


def constant_features(
    real: Sample, gen: Sample, names: Sequence[str]
) -> dict[str, dict[str, float]]:
    out = {}
    for name in names:
        centre = constant_value(real.columns[name])
        if centre is not None:
            scale = max(abs(centre), 1.0)
            generated = gen.columns[name][np.isfinite(gen.columns[name])]
            deviation = float(np.max(np.abs(generated - centre))) / scale if generated.size else 0.0
            out[name] = {"value": centre, "deviation": deviation}
    return out


def peak_fits(real: Sample, gen: Sample, channel: Channel) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for res in channel.resonances:
        fits: dict[str, Any] = {}
        for role, sample in (("real", real), ("generated", gen)):
            try:
                fits[role] = dataclasses.asdict(fit_peak(sample.columns[res.name], sample.weights))
            except (ValueError, RuntimeError) as err:
                fits[role] = {"error": str(err)}
        out[res.name] = fits
    return out
