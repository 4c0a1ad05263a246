"""Validation: how close a generated sample is to the simulation, in numbers.

The metrics never import generator code: the generative models are judged with them.
"""

from __future__ import annotations

from evmult.validation.metrics import (
    C2STResult,
    NoveltyResult,
    c2st,
    correlation_difference,
    ks_statistic,
    novelty,
    real_vs_real_floor,
    wasserstein_iqr,
)
from evmult.validation.physics_checks import PeakFit, fit_peak, holes_fraction, physicality

__all__ = [
    "C2STResult",
    "NoveltyResult",
    "PeakFit",
    "c2st",
    "correlation_difference",
    "fit_peak",
    "holes_fraction",
    "ks_statistic",
    "novelty",
    "physicality",
    "real_vs_real_floor",
    "wasserstein_iqr",
]
