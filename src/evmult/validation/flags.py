"""The flag rules of a validation: when a metric is beyond its real-vs-real floor.

A metric is *flagged* when it is more than :data:`FLAG_FACTOR` times its floor (for the
classifier AUC, the excess over 0.5); per-feature metrics must also leave the floor's
band, set for a :data:`FALSE_FLAG_RATE` chance of any false flag in a whole report on a
perfect generator.
"""

from __future__ import annotations

import math
from typing import Any

from scipy import stats

from evmult.channels import Channel

__all__ = [
    "FALSE_FLAG_RATE",
    "FLAG_FACTOR",
    "NOVELTY_MIN",
    "band_edge",
    "beyond",
    "c2st_flagged",
    "correlation_flagged",
    "peak_flags",
    "ratio",
    "worth_below_training",
]


FLAG_FACTOR = 2.0
"""A metric is flagged when it exceeds this multiple of its real-vs-real floor."""

NOVELTY_MIN = 0.95
"""Novelty ratios below this are flagged (the generator copies its training events)."""

FALSE_FLAG_RATE = 0.05
"""Chance that a report on a perfect generator flags any per-feature metric."""

_PEAK_SIGMAS = 3.0

_HALF_NORMAL_CV = math.sqrt(math.pi / 2 - 1)  # std/mean of |N(0, σ)|, ≈ 0.755


def band_edge(floor: float, spread: float, n_tests: int) -> float:
    """Upper edge of the real-vs-real band: floor + z·spread, with z for a
    :data:`FALSE_FLAG_RATE` chance of any false flag among ``n_tests`` and the spread
    at least that of a half-normal distance (the widest relative spread a distance
    between two samples of one distribution shows), as 20 splits estimate it roughly."""
    z = stats.norm.isf(FALSE_FLAG_RATE / max(n_tests, 1))
    return floor + z * max(spread, _HALF_NORMAL_CV * floor)


def beyond(value: float, floor: float, band: float) -> bool:
    """More than :data:`FLAG_FACTOR` × the floor *and* above the band."""
    if not (math.isfinite(value) and math.isfinite(floor)):
        return False
    return value > FLAG_FACTOR * floor and value > band


def ratio(value: float, floor: float) -> float:
    if not math.isfinite(value):
        return 0.0
    return value / floor if floor > 0 else (math.inf if value > 0 else 0.0)


def c2st_flagged(result: dict[str, Any]) -> bool:
    """The AUC's excess over 0.5 is more than twice the real-vs-real excess, where that
    excess is at least the statistical spread of the mean AUC."""
    n_folds = len(result["folds"])
    noise = 2 * max(result["auc_std"], result["floor_auc_std"]) / math.sqrt(n_folds)
    floor = max(result["floor_auc"] - 0.5, noise)
    return result["auc"] - 0.5 > FLAG_FACTOR * floor


def correlation_flagged(corr: dict[str, float]) -> bool:
    band = band_edge(corr["floor_max_abs"], corr["floor_max_abs_std"], 2)
    return beyond(corr["max_abs"], corr["floor_max_abs"], band)


def peak_flags(peaks: dict[str, dict[str, Any]], channel: Channel) -> list[str]:
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


def worth_below_training(ess: dict[str, Any], n_train: int) -> bool:
    """A measured (not saturated) worth below the training size beyond twice its spread."""
    return not ess["overall_saturated"] and ess["overall"] + 2 * ess["overall_std"] < n_train
