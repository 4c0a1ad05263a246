"""Validation: how close a generated sample is to the simulation, in numbers.

The metrics never import generator code: the generative models are judged with them.
"""

from __future__ import annotations

from evmult.validation.amplification import EffectiveSize, effective_sample_size, kish_size
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
from evmult.validation.record import ValidationReport
from evmult.validation.report import validate

__all__ = [
    "C2STResult",
    "EffectiveSize",
    "NoveltyResult",
    "PeakFit",
    "ValidationReport",
    "c2st",
    "correlation_difference",
    "effective_sample_size",
    "fit_peak",
    "holes_fraction",
    "kish_size",
    "ks_statistic",
    "novelty",
    "physicality",
    "real_vs_real_floor",
    "validate",
    "wasserstein_iqr",
]
