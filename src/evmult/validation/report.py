"""The validation report: every metric of a generated sample next to its floor.

:func:`validate` compares a generated event table with real events of the same channel
(events the generator never saw) and, optionally, with its training events (novelty) and
a large reference sample (effective sample size). It returns a
:class:`ValidationReport` and, given a directory, writes ``metrics.json``, the figures
and ``report.html``. This is what ``evmult validate`` runs.

A metric is *flagged* when it is more than twice its real-vs-real floor: the value two
independent real samples of the same sizes give (for the classifier AUC, the excess over
0.5; see :data:`FLAG_FACTOR`). Per-feature metrics must also leave the floor's band,
set for a 5 % chance of any false flag in a whole report on a perfect generator
(:data:`FALSE_FLAG_RATE`): the Kolmogorov critical value for KS, the spread over random
real splits for Wasserstein and correlations. Without the band, discrete features
(flavour, jet counts), whose distances scatter widely around their mean, would raise
false alarms. Novelty below :data:`NOVELTY_MIN`, unphysical generated
events, holes beyond the real-vs-real band, shifted peaks and a generated sample worth
fewer real events than its training sample (beyond the measurement's spread) are
flagged too.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import awkward as ak
import numpy as np
from scipy import stats

from evmult._version import __version__
from evmult.channels import Channel, get_channel
from evmult.errors import InputError
from evmult.features import derived_columns, feature_columns, feature_label
from evmult.io.tables import as_table, event_weights, json_safe, table_metadata
from evmult.validation.amplification import absolute_azimuths, effective_sample_size, kish_size
from evmult.validation.metrics import (
    CONSTANT_SPREAD,
    c2st,
    constant_value,
    correlation_difference,
    ks_statistic,
    novelty,
    wasserstein_iqr,
)
from evmult.validation.physics_checks import fit_peak, holes_fraction, physicality

__all__ = [
    "FALSE_FLAG_RATE",
    "FLAG_FACTOR",
    "FLOOR_REPEATS",
    "NOVELTY_MIN",
    "PAGE_STYLE",
    "ValidationReport",
    "validate",
]

FLAG_FACTOR = 2.0
"""A metric is flagged when it exceeds this multiple of its real-vs-real floor."""

NOVELTY_MIN = 0.95
"""Novelty ratios below this are flagged (the generator copies its training events)."""

FALSE_FLAG_RATE = 0.05
"""Chance that a report on a perfect generator flags any per-feature metric."""

FLOOR_REPEATS = 20
"""Random real-vs-real splits whose mean and spread give each per-feature floor."""

PAGE_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1400px}\n"
    "table{border-collapse:collapse;margin-bottom:1em}\n"
    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}\n"
    "figure{display:inline-block;margin:4px}"
)
"""The style every evmult HTML page shares (reports, studies)."""

_MIN_EVENTS = 50
_PEAK_SIGMAS = 3.0
_CORRELATION_COVERAGE = 0.99

TableLike: TypeAlias = ak.Array | str | Path


@dataclasses.dataclass
class ValidationReport:
    """The numbers of one validation; ``dataclasses.asdict`` of it is ``metrics.json``.

    Attributes:
        channel: channel name.
        inputs: sample role (``real``, ``generated``, ``train``, ``reference``) -> source
            (a path, or ``"<array>"``), number of events and sum of weights.
        features: one dict per feature: ``name``, ``n_real``, ``n_generated``, ``ks``,
            ``ks_floor``, ``ks_floor_std``, ``ks_band``, ``w1_iqr``, ``w1_iqr_floor``,
            ``w1_iqr_floor_std``, ``w1_iqr_band``, ``flagged``.
        c2st: classifier two-sample test: ``auc``, ``auc_std``, ``folds``, the
            real-vs-real ``floor_auc``/``floor_auc_std``, the ``features`` used and
            the number of events per class.
        correlations: ``pearson``/``spearman`` -> ``max_abs``, ``mean_abs`` of the
            difference and their floors (``floor_max_abs``, ``floor_max_abs_std`` ...),
            plus the ``features`` used (those present in ≥ 99 % of real events).
        physicality: check -> fraction of valid events in ``real`` and ``generated``.
        holes: 2-D histogram (``x:y``) -> empty-bin fraction of ``real`` (the mean
            over disjoint random halves) and ``generated`` (random subsets of the same
            size), the real halves' spread ``real_std`` and ``band`` (flagged above
            it), the ``events`` per histogram and the bins per axis.
        peaks: mass -> Gaussian-core fit (``position``, ``width`` and errors, GeV) of
            ``real`` and ``generated``, or ``error``.
        novelty: nearest-training-event distance ratio and near-copy fraction (with
            training events only), on the rotation-invariant features (absolute φ left
            out, ΔR and Δφ of the leading pair added).
        effective_size: effective number of real events per feature and overall
            (absolute azimuths not counted), its statistical spread, what infinitely
            many generated events would be worth (``asymptotic``), measured against
            ``reference`` (or ``real``), and with training events the amplification
            over the training size and the ``largest_useful_factor``.
        flags: one line per metric beyond its floor.
        figures: file names of the figures (PNG, a PDF beside each).
        constants: features constant in the real sample up to float rounding (e.g. a
            kaon's mass): left out of the distances, where rounding noise would decide
            the KS and the classifier; their ``value`` and the generated sample's
            largest relative ``deviation`` from it (flagged above 1e-6).
    """

    channel: str
    inputs: dict[str, dict[str, Any]]
    features: list[dict[str, Any]]
    c2st: dict[str, Any]
    correlations: dict[str, Any]
    physicality: dict[str, dict[str, float]]
    holes: dict[str, dict[str, float]]
    peaks: dict[str, dict[str, Any]]
    novelty: dict[str, float] | None = None
    effective_size: dict[str, Any] | None = None
    flags: list[str] = dataclasses.field(default_factory=list)
    figures: list[str] = dataclasses.field(default_factory=list)
    constants: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (NaN becomes ``null``)."""
        return json_safe(dataclasses.asdict(self))

    @property
    def text(self) -> str:
        """A short text summary: the headline numbers and the flags."""
        c = self.c2st
        lines = [
            (
                f"channel {self.channel}: {self.inputs['real']['n']:,} real vs "
                f"{self.inputs['generated']['n']:,} generated events"
            ),
            (
                f"classifier AUC {c['auc']:.4f} ± {c['auc_std']:.4f} "
                f"(real vs real {c['floor_auc']:.4f})"
            ),
        ]
        worst = max(self.features, key=lambda f: _ratio(f["ks"], f["ks_floor"]))
        lines.append(
            f"largest KS/floor: {worst['name']} KS {worst['ks']:.4f} (floor "
            f"{worst['ks_floor']:.4f}, band up to {worst['ks_band']:.4f})"
        )
        for method, corr in self.correlations.items():
            if method != "features":
                lines.append(
                    f"{method} correlation difference: max {corr['max_abs']:.3f} "
                    f"(floor {corr['floor_max_abs']:.3f})"
                )
        if self.novelty:
            lines.append(
                f"novelty ratio {self.novelty['ratio']:.3f}, near copies "
                f"{self.novelty['near_copy_fraction']:.2%}"
            )
        if self.effective_size:
            lines.append(_worth_text(self.effective_size, self.inputs))
        lines.append(f"{len(self.flags)} flag(s)" + (":" if self.flags else ""))
        lines += [f"  - {f}" for f in self.flags]
        return "\n".join(lines)


def _worth_text(ess: dict[str, Any], inputs: dict[str, dict[str, Any]]) -> str:
    """The worth in words: effective events, their spread, the amplification, whether
    that is fewer than the training sample, and how far more events would help."""
    bound = "≥ " if ess["overall_saturated"] else ""
    text = f"worth {bound}{ess['overall']:,.0f} ± {ess['overall_std']:,.0f} real events"
    amp = ess.get("amplification")
    if amp is not None:
        n_train = inputs["train"]["n"]
        text += f", {amp:.2f}× the {n_train:,} training events"
        if _worth_below_training(ess, n_train):
            text += ": fewer than the training sample itself, so they add no statistics"
        useful = ess["largest_useful_factor"]
        more = "≥ " if ess["asymptotic_saturated"] else ""
        text += (
            f"; infinitely many would be worth {more}{ess['asymptotic']:,.0f} "
            f"(largest useful factor {more}×{useful:.2g})"
        )
    if ess["overall_saturated"]:
        text += f" (the {ess['reference']} sample resolves no more)"
    return text


def _worth_below_training(ess: dict[str, Any], n_train: int) -> bool:
    """A measured (not saturated) worth below the training size beyond twice its spread."""
    return not ess["overall_saturated"] and ess["overall"] + 2 * ess["overall_std"] < n_train


def _ratio(value: float, floor: float) -> float:
    if not math.isfinite(value):
        return 0.0
    return value / floor if floor > 0 else (math.inf if value > 0 else 0.0)


def _load(table: TableLike, role: str) -> tuple[ak.Array, str]:
    source = "<array>" if isinstance(table, ak.Array) else str(Path(table))
    return as_table(table, f"{role} event table"), source


@dataclasses.dataclass
class _Sample:
    """One event table's features as float64 columns, with weights."""

    table: ak.Array
    source: str
    columns: dict[str, np.ndarray]
    weights: np.ndarray

    @classmethod
    def of(cls, loaded: tuple[ak.Array, str], role: str, channel: Channel) -> _Sample:
        array, source = loaded
        if len(array) < _MIN_EVENTS:
            msg = f"{source}: the {role} sample has {len(array)} events; need {_MIN_EVENTS}"
            raise InputError(msg)
        columns = feature_columns(array, channel) | derived_columns(array, channel)
        return cls(array, source, columns, event_weights(array))

    def matrix(self, names: Sequence[str]) -> np.ndarray:
        return np.column_stack([self.columns[n] for n in names])

    def info(self) -> dict[str, Any]:
        return {"source": self.source, "n": len(self.table), "sum_weights": self.weights.sum()}


def _channel_of(loaded: dict[str, tuple[ak.Array, str]], channel: str | None) -> Channel:
    if channel is not None:
        return get_channel(channel)
    names = {}
    for role, (array, source) in loaded.items():
        name = table_metadata(array).get("channel")
        if not name:
            msg = f"{source}: the {role} table names no channel; pass channel=..."
            raise InputError(msg)
        names[role] = (name, source)
    (real_name, real_src), (gen_name, gen_src) = names["real"], names["generated"]
    if real_name != gen_name:
        msg = (
            f"channels differ: {real_src} is {real_name!r}, {gen_src} is {gen_name!r}; "
            "validate samples of one channel"
        )
        raise InputError(msg)
    return get_channel(real_name)


def _floor(
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


_HALF_NORMAL_CV = math.sqrt(math.pi / 2 - 1)  # std/mean of |N(0, σ)|, ≈ 0.755


def _band(floor: float, spread: float, n_tests: int) -> float:
    """Upper edge of the real-vs-real band: floor + z·spread, with z for a
    :data:`FALSE_FLAG_RATE` chance of any false flag among ``n_tests`` and the spread
    at least that of a half-normal distance (the widest relative spread a distance
    between two samples of one distribution shows), as 20 splits estimate it roughly."""
    z = stats.norm.isf(FALSE_FLAG_RATE / max(n_tests, 1))
    return floor + z * max(spread, _HALF_NORMAL_CV * floor)


def _beyond(value: float, floor: float, band: float) -> bool:
    """More than :data:`FLAG_FACTOR` × the floor *and* above the band."""
    if not (math.isfinite(value) and math.isfinite(floor)):
        return False
    return value > FLAG_FACTOR * floor and value > band


def _absent_feature(missing: bool) -> dict[str, Any]:
    """The distances of a feature one sample (or both) never has: maximal, flagged."""
    nan = math.nan
    return {
        "ks": 1.0 if missing else 0.0,
        "w1_iqr": math.inf if missing else 0.0,
        **{f"{k}_{x}": nan for k in ("ks", "w1_iqr") for x in ("floor", "floor_std", "band")},
        "flagged": missing,
    }


def _feature_metrics(
    real: _Sample, gen: _Sample, names: Sequence[str], rng: np.random.Generator
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
            rows.append(row | _absent_feature(missing))
            continue
        for key, statistic in (("ks", ks_statistic), ("w1_iqr", wasserstein_iqr)):
            floor, spread = _floor(r, real.weights, sizes, statistic, rng)
            row[key] = statistic(r, g, real.weights, gen.weights)
            row[f"{key}_floor"] = floor
            row[f"{key}_floor_std"] = spread
        row["ks_band"] = ks_crit * math.sqrt(1 / sizes[0] + 1 / sizes[1])
        row["w1_iqr_band"] = _band(row["w1_iqr_floor"], row["w1_iqr_floor_std"], n_tests)
        row["flagged"] = any(
            _beyond(row[k], row[f"{k}_floor"], row[f"{k}_band"]) for k in ("ks", "w1_iqr")
        )
        rows.append(row)
    return rows


def _subsample(
    x: np.ndarray, w: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    if len(x) <= n:
        return x, w
    idx = rng.choice(len(x), n, replace=False)
    return x[idx], w[idx]


def _c2st(
    real: _Sample,
    gen: _Sample,
    names: Sequence[str],
    *,
    folds: int,
    max_events: int,
    seed: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    n = min(len(real.weights), len(gen.weights), max_events)  # balanced classes
    xr, wr = _subsample(real.matrix(names), real.weights, n, rng)
    xg, wg = _subsample(gen.matrix(names), gen.weights, n, rng)
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


def _c2st_flagged(result: dict[str, Any]) -> bool:
    """The AUC's excess over 0.5 is more than twice the real-vs-real excess, where that
    excess is at least the statistical spread of the mean AUC."""
    n_folds = len(result["folds"])
    noise = 2 * max(result["auc_std"], result["floor_auc_std"]) / math.sqrt(n_folds)
    floor = max(result["floor_auc"] - 0.5, noise)
    return result["auc"] - 0.5 > FLAG_FACTOR * floor


def _correlations(
    real: _Sample, gen: _Sample, names: Sequence[str], rng: np.random.Generator
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


def _correlation_flagged(corr: dict[str, float]) -> bool:
    band = _band(corr["floor_max_abs"], corr["floor_max_abs_std"], 2)
    return _beyond(corr["max_abs"], corr["floor_max_abs"], band)


def _holes_of(
    sample: _Sample, idx: np.ndarray, pair: Sequence[str], edges: Sequence[np.ndarray]
) -> float:
    x, y = (sample.columns[c][idx] for c in pair)
    return holes_fraction(x, y, (edges[0], edges[1]))


def _holes(
    real: _Sample, gen: _Sample, names: Sequence[str], rng: np.random.Generator
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
                    _holes_of(real, perm[:n], pair, edges),
                    _holes_of(real, perm[n : 2 * n], pair, edges),
                )
            )
        generated = [
            _holes_of(gen, rng.choice(len(gen.table), n, replace=False), pair, edges)
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


def _constants(real: _Sample, gen: _Sample, names: Sequence[str]) -> dict[str, dict[str, float]]:
    out = {}
    for name in names:
        centre = constant_value(real.columns[name])
        if centre is not None:
            scale = max(abs(centre), 1.0)
            generated = gen.columns[name][np.isfinite(gen.columns[name])]
            deviation = float(np.max(np.abs(generated - centre))) / scale if generated.size else 0.0
            out[name] = {"value": centre, "deviation": deviation}
    return out


def _peaks(real: _Sample, gen: _Sample, channel: Channel) -> dict[str, dict[str, Any]]:
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


def _peak_flags(peaks: dict[str, dict[str, Any]], channel: Channel) -> list[str]:
    """Shifted or widened peaks; only resonances with an expected mass have one (the
    Gaussian core of a continuum such as m3l or mT is reported, never flagged)."""
    flags = []
    resonant = {r.name for r in channel.resonances if r.expected is not None}
    for name, fits in peaks.items():
        if name not in resonant:
            continue
        real, gen = fits["real"], fits["generated"]
        if "error" in gen and "error" not in real:
            flags.append(f"{name}: no peak found in the generated sample ({gen['error']})")
            continue
        if "error" in real or "error" in gen:
            continue
        for key in ("position", "width"):
            delta = gen[key] - real[key]
            err = math.hypot(real[f"{key}_error"], gen[f"{key}_error"])
            if abs(delta) > _PEAK_SIGMAS * err:
                flags.append(
                    f"{name} peak {key} {gen[key]:.4g} vs {real[key]:.4g} ({delta / err:+.1f} σ)"
                )
    return flags


def _flags(report: ValidationReport) -> list[str]:
    flags = []
    for f in report.features:
        if f["flagged"] and not min(f["n_real"], f["n_generated"]):
            empty = "generated" if f["n_generated"] == 0 else "real"
            flags.append(f"{f['name']}: never present in the {empty} sample")
            continue
        for key in ("ks", "w1_iqr"):
            if _beyond(f[key], f[f"{key}_floor"], f[f"{key}_band"]):
                flags.append(
                    f"{f['name']}: {key} {f[key]:.4f} is {_ratio(f[key], f[f'{key}_floor']):.1f}×"
                    f" its floor {f[f'{key}_floor']:.4f} (band up to {f[f'{key}_band']:.4f})"
                )
    c = report.c2st
    if _c2st_flagged(c):
        flags.append(
            f"classifier AUC {c['auc']:.4f} ± {c['auc_std']:.4f} vs real-vs-real "
            f"{c['floor_auc']:.4f}"
        )
    for method in ("pearson", "spearman"):
        corr = report.correlations[method]
        if _correlation_flagged(corr):
            flags.append(
                f"{method} correlations: max |Δ| {corr['max_abs']:.3f} vs floor "
                f"{corr['floor_max_abs']:.3f}"
            )
    for check, v in report.physicality.items():
        if v["generated"] < v["real"] - 1e-3:
            flags.append(
                f"physicality {check}: {v['generated']:.2%} of generated events pass, "
                f"{v['real']:.2%} of real"
            )
    for pair, v in report.holes.items():
        if v["generated"] > v["band"]:
            flags.append(
                f"holes in {pair}: {v['generated']:.1%} of bins empty, real {v['real']:.1%} "
                f"± {v['real_std']:.1%} (band up to {v['band']:.1%})"
            )
    ess = report.effective_size
    if ess and ess.get("amplification") is not None:
        n_train = report.inputs["train"]["n"]
        if _worth_below_training(ess, n_train):
            flags.append(
                f"worth {ess['overall']:,.0f} ± {ess['overall_std']:,.0f} real events, "
                f"{ess['amplification']:.2f}× the {n_train:,} training events: fewer than "
                "the training sample itself"
            )
    flags += _peak_flags(report.peaks, get_channel(report.channel))
    for name, c in report.constants.items():
        if c["deviation"] > CONSTANT_SPREAD:
            flags.append(
                f"{name}: constant {c['value']:.6g} in real events, generated ones "
                f"deviate by up to {c['deviation']:.2g} (relative)"
            )
    nov = report.novelty
    if nov is not None and nov["ratio"] < NOVELTY_MIN:
        flags.append(
            f"novelty ratio {nov['ratio']:.3f} < {NOVELTY_MIN}: generated events sit closer "
            f"to training events than fresh real events do ({nov['near_copy_fraction']:.1%} "
            "near copies)"
        )
    return flags


def validate(
    real: TableLike,
    generated: TableLike,
    *,
    train: TableLike | None = None,
    reference: TableLike | None = None,
    outdir: str | Path | None = None,
    channel: str | None = None,
    features: Sequence[str] | None = None,
    folds: int = 5,
    max_events: int = 50_000,
    seed: int = 0,
) -> ValidationReport:
    """Compare a generated sample with real events of the same channel.

    Args:
        real: real events the generator never saw (an event table or its path).
        generated: generated events.
        train: the generator's training events; enables the novelty (memorisation)
            check and the amplification factor.
        reference: a large real sample for the effective sample size; ``real`` when
            omitted (effective sizes then saturate at its size).
        outdir: directory for ``metrics.json``, ``report.html`` and ``figures/``.
        channel: channel name; read from the tables' metadata when omitted.
        features: feature columns to use (default: every feature, mass and derived
            quantity of the channel).
        folds: folds of the classifier two-sample test.
        max_events: at most this many events per class in the classifier test (both
            classes are subsampled to the smaller size).
        seed: seed of every random split and subsample.

    Returns:
        The :class:`ValidationReport`.

    Raises:
        InputError: on missing files, channels that differ, samples with fewer than 50
            events, non-finite weights or unknown feature names.
    """
    loaded = {"real": _load(real, "real"), "generated": _load(generated, "generated")}
    ch = _channel_of(loaded, channel)
    rng = np.random.default_rng(seed)
    r = _Sample.of(loaded["real"], "real", ch)
    g = _Sample.of(loaded["generated"], "generated", ch)
    names = list(features) if features else list(r.columns)
    unknown = [n for n in names if n not in r.columns]
    if unknown:
        msg = f"unknown feature(s) {unknown} for channel {ch.name}; known: {list(r.columns)}"
        raise InputError(msg)
    constants = _constants(r, g, names)
    names = [n for n in names if n not in constants]
    inputs = {"real": r.info(), "generated": g.info()}
    c2st_result = _c2st(r, g, names, folds=folds, max_events=max_events, seed=seed, rng=rng)
    correlations, matrices = _correlations(r, g, names, rng)
    phys_real = physicality(r.table, ch, reference=r.table)
    phys_gen = physicality(g.table, ch, reference=r.table)
    report = ValidationReport(
        channel=ch.name,
        inputs=inputs,
        features=_feature_metrics(r, g, names, rng),
        c2st=c2st_result,
        correlations=correlations,
        physicality={k: {"real": phys_real[k], "generated": phys_gen[k]} for k in phys_gen},
        holes=_holes(r, g, names, rng),
        peaks=_peaks(r, g, ch),
    )
    t = None
    if train is not None:
        t = _Sample.of(_load(train, "train"), "train", ch)
        inputs["train"] = t.info()
        # rotation-invariant features: a generator that re-draws the global azimuth of
        # copied events must not look new
        invariant = [n for n in names if not n.endswith("_phi")]
        invariant += [n for n in ("dphi_12", "dR_12") if n in r.columns and n not in invariant]
        nov = novelty(t.matrix(invariant), g.matrix(invariant), r.matrix(invariant), seed=seed)
        report.novelty = dataclasses.asdict(nov)
    ref = r if reference is None else _Sample.of(_load(reference, "reference"), "reference", ch)
    if reference is not None:
        inputs["reference"] = ref.info()
    ess = effective_sample_size(
        {n: ref.columns[n] for n in names},
        {n: g.columns[n] for n in names},
        reference_weights=ref.weights,
        generated_weights=g.weights,
        uncounted=absolute_azimuths(names),
    )
    report.effective_size = dataclasses.asdict(ess) | {
        "reference": "reference" if reference is not None else "real",
        "amplification": ess.amplification(len(t.table)) if t is not None else None,
        "largest_useful_factor": (
            ess.largest_useful_factor(len(t.table)) if t is not None else None
        ),
    }
    report.constants = constants
    report.flags = _flags(report)
    if outdir is not None:
        _write(report, Path(outdir), r, g, t, ch, matrices)
    return report


def _write(
    report: ValidationReport,
    outdir: Path,
    real: _Sample,
    gen: _Sample,
    train: _Sample | None,
    channel: Channel,
    matrices: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    from evmult.plotting import plot_comparison, plot_correlations

    figures = outdir / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    others = {"training": (train.columns, train.weights)} if train is not None else {}
    masses = {r.name for r in channel.resonances}
    for row in report.features:
        name = row["name"]
        png = plot_comparison(
            (real.columns[name], real.weights),
            (gen.columns[name], gen.weights),
            name,
            feature_label(name, channel),
            figures / f"{name}.png",
            others={k: (cols[name], w) for k, (cols, w) in others.items()},
            title="Generated",
            bins=100 if name in masses else 50,
        )
        report.figures.append(f"figures/{png.name}")
    for method, (cr, cg) in matrices.items():
        png = plot_correlations(
            cr,
            cg,
            report.correlations["features"],
            figures / f"correlations_{method}.png",
            method=method.capitalize(),
        )
        report.figures.append(f"figures/{png.name}")
    (outdir / "metrics.json").write_text(json.dumps(report.to_dict(), indent=1))
    (outdir / "report.html").write_text(_html(report))


def _cell(value: float | None, digits: str = ".4f") -> str:
    return "—" if value is None or not math.isfinite(value) else format(value, digits)


def _html(report: ValidationReport) -> str:
    esc = html.escape
    c = report.c2st
    ess = report.effective_size or {}
    rows = [
        (
            "classifier AUC (0.5 = indistinguishable)",
            f"{c['auc']:.4f} ± {c['auc_std']:.4f}",
            f"{c['floor_auc']:.4f}",
            _c2st_flagged(c),
        )
    ]
    for method in ("pearson", "spearman"):
        corr = report.correlations[method]
        rows.append(
            (
                f"{method} correlations, max |Δ|",
                f"{corr['max_abs']:.4f}",
                f"{corr['floor_max_abs']:.4f} ± {corr['floor_max_abs_std']:.4f}",
                _correlation_flagged(corr),
            )
        )
    worst = max(report.features, key=lambda f: _ratio(f["ks"], f["ks_floor"]))
    rows.append(
        (
            f"largest KS ({worst['name']})",
            _cell(worst["ks"]),
            f"{_cell(worst['ks_floor'])} (band {_cell(worst['ks_band'])})",
            worst["flagged"],
        )
    )
    if report.novelty:
        nov = report.novelty
        rows.append(
            (
                "novelty (1 = as new as fresh real events)",
                f"{nov['ratio']:.3f}",
                "1",
                nov["ratio"] < NOVELTY_MIN,
            )
        )
    if ess:
        below = ess.get("amplification") is not None and _worth_below_training(
            ess, report.inputs["train"]["n"]
        )
        rows.append(
            (
                f"worth in real events (vs {ess['reference']})",
                _worth_text(ess, report.inputs).removeprefix("worth "),
                f"{ess['n_generated']:,.0f} generated",
                below,
            )
        )
    headline = "".join(
        f'<tr class="{"flag" if bad else "ok"}"><td>{esc(name)}</td><td>{esc(value)}</td>'
        f"<td>{esc(floor)}</td><td>{'flagged' if bad else 'ok'}</td></tr>"
        for name, value, floor, bad in rows
    )
    per_ess = ess.get("per_feature", {})
    features = "".join(
        f'<tr class="{"flag" if f["flagged"] else "ok"}"><td>{esc(f["name"])}</td>'
        f"<td>{f['n_real']:,}</td><td>{f['n_generated']:,}</td>"
        f"<td>{_cell(f['ks'])}</td><td>{_cell(f['ks_floor'])}</td><td>{_cell(f['ks_band'])}</td>"
        f"<td>{_cell(f['w1_iqr'])}</td><td>{_cell(f['w1_iqr_floor'])}</td>"
        f"<td>{_cell(f['w1_iqr_band'])}</td>"
        f"<td>{_cell(per_ess.get(f['name']), ',.0f')}</td></tr>"
        for f in report.features
    )
    peaks = ""
    for name, fits in report.peaks.items():
        cells = "".join(
            f"<td>{esc(fits[role]['error'])}</td><td></td>"
            if "error" in fits[role]
            else f"<td>{fits[role]['position']:.5g} ± {fits[role]['position_error']:.2g}</td>"
            f"<td>{fits[role]['width']:.4g} ± {fits[role]['width_error']:.2g}</td>"
            for role in ("real", "generated")
        )
        peaks += f"<tr><td>{esc(name)}</td>{cells}</tr>"
    phys = "".join(
        f"<tr><td>{esc(k)}</td><td>{v['real']:.4%}</td><td>{v['generated']:.4%}</td></tr>"
        for k, v in report.physicality.items()
    )
    holes = "".join(
        f'<tr class="{"flag" if v["generated"] > v["band"] else "ok"}"><td>{esc(k)}</td>'
        f"<td>{v['real']:.2%} ± {v['real_std']:.2%}</td><td>{v['band']:.2%}</td>"
        f"<td>{v['generated']:.2%}</td><td>{v['events']:,}</td><td>{v['bins_per_axis']}²</td></tr>"
        for k, v in report.holes.items()
    )
    inputs = "".join(
        f"<tr><td>{esc(role)}</td><td><code>{esc(str(i['source']))}</code></td>"
        f"<td>{i['n']:,}</td><td>{i['sum_weights']:.6g}</td></tr>"
        for role, i in report.inputs.items()
    )
    flags = "".join(f"<li>{esc(f)}</li>" for f in report.flags) or "<li>none</li>"
    figures = "".join(
        f'<figure><a href="{esc(p)}"><img src="{esc(p)}" alt="{esc(p)}"></a></figure>'
        for p in report.figures
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>evmult validation: {esc(report.channel)}</title>
<style>{PAGE_STYLE}
td:first-child{{text-align:left}} tr.flag td{{background:#fdd}} img{{width:380px}}</style></head>
<body><h1>Validation of generated <code>{esc(report.channel)}</code> events</h1>
<p>evmult {esc(__version__)}. A metric is flagged when it exceeds {FLAG_FACTOR:g}× its
real-vs-real floor (the value two independent real samples of the same sizes give; for
the AUC, the excess over 0.5) and leaves the floor's band (set for a
{FALSE_FLAG_RATE:.0%} chance of any false flag in this report for a perfect generator).
Novelty below {NOVELTY_MIN} is flagged.</p>
<h2>Inputs</h2><table><tr><th>sample</th><th>source</th><th>events</th>
<th>sum of weights</th></tr>{inputs}</table>
<h2>Summary</h2><table><tr><th>metric</th><th>value</th><th>floor</th><th></th></tr>
{headline}</table>
<h2>Flags</h2><ul>{flags}</ul>
<h2>Per feature</h2><table><tr><th>feature</th><th>n real</th><th>n generated</th>
<th>KS</th><th>KS floor</th><th>KS band</th><th>W1/IQR</th><th>W1/IQR floor</th>
<th>W1/IQR band</th>
<th>worth (events)</th></tr>{features}</table>
<h2>Mass peaks (Gaussian core)</h2><table><tr><th>mass</th><th>real position</th>
<th>real width</th><th>generated position</th><th>generated width</th></tr>{peaks}</table>
<h2>Physicality</h2><table><tr><th>check</th><th>real</th><th>generated</th></tr>{phys}
</table>
<h2>Holes (empty bins, equal sizes)</h2><table><tr><th>histogram</th>
<th>real halves</th><th>band</th><th>generated</th><th>events</th><th>bins</th></tr>{holes}
</table>
<h2>Figures</h2>{figures}
</body></html>
"""
