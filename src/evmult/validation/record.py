"""The numbers of one validation (:class:`ValidationReport`) and their text summary."""

from __future__ import annotations

import dataclasses
from typing import Any

from evmult.io.tables import json_safe
from evmult.validation.flags import ratio, worth_below_training

__all__ = ["ValidationReport", "worth_text"]


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
        worst = max(self.features, key=lambda f: ratio(f["ks"], f["ks_floor"]))
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
            lines.append(worth_text(self.effective_size, self.inputs))
        lines.append(f"{len(self.flags)} flag(s)" + (":" if self.flags else ""))
        lines += [f"  - {f}" for f in self.flags]
        return "\n".join(lines)


def worth_text(ess: dict[str, Any], inputs: dict[str, dict[str, Any]]) -> str:
    """The worth in words: effective events, their spread, the amplification, whether
    that is fewer than the training sample, and how far more events would help."""
    bound = "≥ " if ess["overall_saturated"] else ""
    text = f"worth {bound}{ess['overall']:,.0f} ± {ess['overall_std']:,.0f} real events"
    amp = ess.get("amplification")
    if amp is not None:
        n_train = inputs["train"]["n"]
        text += f", {amp:.2f}× the {n_train:,} training events"
        if worth_below_training(ess, n_train):
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
