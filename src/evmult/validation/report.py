"""The validation report: every metric of a generated sample next to its floor.

:func:`validate` compares a generated event table with real events of the same channel
(events the generator never saw) and, optionally, with its training events (novelty) and
a large reference sample (effective sample size). It returns a
:class:`ValidationReport` and, given a directory, writes ``metrics.json``, the figures
and ``report.html``. This is what ``evmult validate`` runs.

A metric is *flagged* when it is more than twice its real-vs-real floor: the value two
independent real samples of the same sizes give (for the classifier AUC, the excess over
0.5; see :data:`~evmult.validation.flags.FLAG_FACTOR`). Per-feature metrics must also
leave the floor's band, set for a 5 % chance of any false flag in a whole report on a
perfect generator (:data:`~evmult.validation.flags.FALSE_FLAG_RATE`): the Kolmogorov
critical value for KS, the spread over random real splits for Wasserstein and
correlations. Without the band, discrete features (flavour, jet counts), whose
distances scatter widely around their mean, would raise false alarms. Novelty below
:data:`~evmult.validation.flags.NOVELTY_MIN`, unphysical generated events, holes beyond
the real-vs-real band, shifted peaks and a generated sample worth fewer real events
than its training sample (beyond the measurement's spread) are flagged too.

The work is shared: :mod:`~evmult.validation.comparisons` (the metrics against their
floors), :mod:`~evmult.validation.flags` (when a metric is flagged),
:mod:`~evmult.validation.record` (the report's numbers and text),
:mod:`~evmult.validation.html` (its page).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TypeAlias

import awkward as ak
import numpy as np

from evmult.channels import Channel, get_channel
from evmult.errors import InputError
from evmult.features import feature_label
from evmult.io.tables import as_table, table_metadata
from evmult.validation.amplification import absolute_azimuths, effective_sample_size
from evmult.validation.comparisons import (
    Sample,
    constant_features,
    correlation_metrics,
    feature_metrics,
    hole_metrics,
    peak_fits,
    run_c2st,
)
from evmult.validation.flags import (
    NOVELTY_MIN,
    beyond,
    c2st_flagged,
    correlation_flagged,
    peak_flags,
    ratio,
    worth_below_training,
)
from evmult.validation.html import report_html
from evmult.validation.metrics import CONSTANT_SPREAD, novelty
from evmult.validation.physics_checks import physicality
from evmult.validation.record import ValidationReport

__all__ = ["validate"]


TableLike: TypeAlias = ak.Array | str | Path


def _load(table: TableLike, role: str) -> tuple[ak.Array, str]:
    source = "<array>" if isinstance(table, ak.Array) else str(Path(table))
    return as_table(table, f"{role} event table"), source


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


def _flags(report: ValidationReport) -> list[str]:
    flags = []
    for f in report.features:
        if f["flagged"] and not min(f["n_real"], f["n_generated"]):
            empty = "generated" if f["n_generated"] == 0 else "real"
            flags.append(f"{f['name']}: never present in the {empty} sample")
            continue
        for key in ("ks", "w1_iqr"):
            if beyond(f[key], f[f"{key}_floor"], f[f"{key}_band"]):
                flags.append(
                    f"{f['name']}: {key} {f[key]:.4f} is {ratio(f[key], f[f'{key}_floor']):.1f}×"
                    f" its floor {f[f'{key}_floor']:.4f} (band up to {f[f'{key}_band']:.4f})"
                )
    c = report.c2st
    if c2st_flagged(c):
        flags.append(
            f"classifier AUC {c['auc']:.4f} ± {c['auc_std']:.4f} vs real-vs-real "
            f"{c['floor_auc']:.4f}"
        )
    for method in ("pearson", "spearman"):
        corr = report.correlations[method]
        if correlation_flagged(corr):
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
        if worth_below_training(ess, n_train):
            flags.append(
                f"worth {ess['overall']:,.0f} ± {ess['overall_std']:,.0f} real events, "
                f"{ess['amplification']:.2f}× the {n_train:,} training events: fewer than "
                "the training sample itself"
            )
    flags += peak_flags(report.peaks, get_channel(report.channel))
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
    r = Sample.of(loaded["real"], "real", ch)
    g = Sample.of(loaded["generated"], "generated", ch)
    names = list(features) if features else list(r.columns)
    unknown = [n for n in names if n not in r.columns]
    if unknown:
        msg = f"unknown feature(s) {unknown} for channel {ch.name}; known: {list(r.columns)}"
        raise InputError(msg)
    constants = constant_features(r, g, names)
    names = [n for n in names if n not in constants]
    inputs = {"real": r.info(), "generated": g.info()}
    c2st_result = run_c2st(r, g, names, folds=folds, max_events=max_events, seed=seed, rng=rng)
    correlations, matrices = correlation_metrics(r, g, names, rng)
    phys_real = physicality(r.table, ch, reference=r.table)
    phys_gen = physicality(g.table, ch, reference=r.table)
    report = ValidationReport(
        channel=ch.name,
        inputs=inputs,
        features=feature_metrics(r, g, names, rng),
        c2st=c2st_result,
        correlations=correlations,
        physicality={k: {"real": phys_real[k], "generated": phys_gen[k]} for k in phys_gen},
        holes=hole_metrics(r, g, names, rng),
        peaks=peak_fits(r, g, ch),
    )
    t = None
    if train is not None:
        t = Sample.of(_load(train, "train"), "train", ch)
        inputs["train"] = t.info()
        # rotation-invariant features: a generator that re-draws the global azimuth of
        # copied events must not look new
        invariant = [n for n in names if not n.endswith("_phi")]
        invariant += [n for n in ("dphi_12", "dR_12") if n in r.columns and n not in invariant]
        nov = novelty(t.matrix(invariant), g.matrix(invariant), r.matrix(invariant), seed=seed)
        report.novelty = dataclasses.asdict(nov)
    ref = r if reference is None else Sample.of(_load(reference, "reference"), "reference", ch)
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
    real: Sample,
    gen: Sample,
    train: Sample | None,
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
    (outdir / "report.html").write_text(report_html(report))
