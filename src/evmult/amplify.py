"""What a multiplied sample is worth: effective events against generated events.

One measure (:func:`evmult.validation.effective_sample_size`, GANplification, Butter et
al., arXiv:2008.06545) answers two questions:

- :func:`worth_curve`: for a trained model and real events it never saw (the
  reference), how many real events are 1×, 3×, … 100× its training size worth, what
  would infinitely many be worth, and beyond which factor do more events stop adding
  any (the *largest useful factor*)? ``evmult worth`` runs it, and ``--record`` keeps
  the answer in the model file, so that ``evmult multiply`` warns when asked for far
  more (:func:`evmult.output.worth_warning`).
- :func:`amplification_study`: for a channel table and several training sizes, train
  on events drawn at random and measure the worth curve against every event not drawn.
  ``evmult amplify`` runs it and writes JSON, one mplhep figure per training size and
  an HTML table of the amplification per feature.

Features are the channel's 1-D shapes (:func:`evmult.features.feature_columns`: the
objects' kinematics, flavours, counts and resonance masses), in equal-probability bins
of the reference (one bin per value for integer features); features constant up to
float rounding (a kaon's mass) are left out. Absolute azimuths, uniform
by the collision's symmetry and uniform by construction in generated events, are
reported but not counted. A reference of N events cannot resolve a worth above about N:
such values are marked saturated (lower bounds), never reported as measured.

Example:
    >>> from evmult.amplify import amplification_study
    >>> study = amplification_study("zll.parquet", sizes=[2_000])  # doctest: +SKIP
    >>> study.write("amplification/")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from evmult.channels import get_channel
from evmult.errors import EvmultWarning, InputError
from evmult.features import feature_columns
from evmult.io.tables import as_table, event_weights, split_table, table_metadata
from evmult.validation.amplification import (
    EffectiveSize,
    absolute_azimuths,
    effective_sample_size,
)
from evmult.validation.metrics import constant_value

__all__ = [
    "FACTORS",
    "AmplificationStudy",
    "WorthCurve",
    "amplification_study",
    "worth_curve",
]

FACTORS = (1.0, 3.0, 10.0, 30.0, 100.0)
"""Multiplication factors of a worth curve (generated events over training events)."""

_BINS = 10


@dataclasses.dataclass
class WorthCurve:
    """Effective events of one model's samples at several multiplication factors.

    Attributes:
        n_train: the model's training events.
        n_reference: the reference's events (Kish); it resolves worths up to about this.
        bins: equal-probability bins per continuous feature.
        counted: the features that enter the overall figures.
        points: one dict per factor: ``factor``, ``n_generated``, ``effective`` (overall
            effective events), ``effective_std`` (statistical spread), ``saturated``,
            ``amplification`` (effective over training events) and ``per_feature``
            (feature -> amplification) with ``per_feature_saturated``.
        training: the same numbers for the training events themselves (what copies of
            them are worth, whatever their number), or ``None`` where not given.
        asymptotic: what infinitely many events of the model would be worth (from the
            largest sample: the summed noise term over the summed squared bias).
        asymptotic_saturated: whether ``asymptotic`` is only a lower bound.
        largest_useful_factor: beyond this factor more events add less than a tenth
            of what infinitely many would be worth (a lower bound where saturated).
    """

    n_train: int
    n_reference: float
    bins: int
    counted: list[str]
    points: list[dict[str, Any]]
    training: dict[str, Any] | None
    asymptotic: float
    asymptotic_saturated: bool
    largest_useful_factor: float

    @property
    def best(self) -> dict[str, Any]:
        """The point at the smallest factor at or beyond the largest useful one (or the
        largest factor measured): the curve's amplification as the docs quote it."""
        beyond = [p for p in self.points if p["factor"] >= self.largest_useful_factor]
        return beyond[0] if beyond else self.points[-1]

    def record(self) -> dict[str, Any]:
        """What a model file keeps of the curve (``info["worth"]``)."""
        best = self.best
        return {
            "largest_useful_factor": self.largest_useful_factor,
            "lower_bound": self.asymptotic_saturated,
            "asymptotic_amplification": self.asymptotic / self.n_train,
            "amplification": best["amplification"],
            "at_factor": best["factor"],
            "n_reference": self.n_reference,
            "bins": self.bins,
        }


def _point(ess: EffectiveSize, factor: float, n_train: int) -> dict[str, Any]:
    return {
        "factor": factor,
        "n_generated": ess.n_generated,
        "effective": ess.overall,
        "effective_std": ess.overall_std,
        "saturated": ess.overall_saturated,
        "amplification": ess.overall / n_train,
        "per_feature": {k: v / n_train for k, v in ess.per_feature.items()},
        "per_feature_saturated": dict(ess.saturated),
    }


def _columns(table: ak.Array, channel: str, features: Sequence[str] | None) -> dict[str, Any]:
    columns = feature_columns(table, get_channel(channel))
    if features is None:
        return columns
    unknown = [f for f in features if f not in columns]
    if unknown:
        msg = f"unknown feature(s) {unknown} for channel {channel}; known: {list(columns)}"
        raise InputError(msg)
    return {f: columns[f] for f in features}


def worth_curve(
    model: Any,
    reference: ak.Array | str | Path,
    *,
    factors: Sequence[float] = FACTORS,
    train: ak.Array | str | Path | None = None,
    features: Sequence[str] | None = None,
    bins: int = _BINS,
    seed: int = 0,
) -> WorthCurve:
    """How many real events a model's samples are worth, factor by factor.

    The largest sample is generated once (:func:`evmult.multiply`, the events a file of
    that size would hold); each smaller factor is a random subset of it.

    Args:
        model: a fitted generator or a model file.
        reference: real events of the model's channel that it never saw.
        factors: multiplication factors (generated over training events).
        train: the model's training events, to measure the worth of the training
            sample itself (what copies of it are worth).
        features: feature columns (default: every feature of the channel).
        bins: equal-probability bins per continuous feature.
        seed: generation seed.

    Returns:
        The :class:`WorthCurve`.

    Raises:
        InputError: for an empty factor list, a reference of another channel or
            unknown features.
    """
    from evmult.pipeline import load, multiply

    gen = model if hasattr(model, "sample") else load(model)
    if not factors or min(factors) <= 0:
        msg = f"factors must be positive, got {list(factors)}"
        raise InputError(msg)
    ref = as_table(reference, "reference event table")
    channel = gen.info["channel"]
    if table_metadata(ref).get("channel", channel) != channel:
        msg = f"the reference is of channel {table_metadata(ref)['channel']!r}, the model of {channel!r}"
        raise InputError(msg)
    n_train = int(gen.info["n_train"])
    ref_columns = {
        k: v for k, v in _columns(ref, channel, features).items() if constant_value(v) is None
    }
    uncounted = absolute_azimuths(ref_columns)
    factors = sorted(factors)
    with warnings.catch_warnings():  # measuring the worth is no reason to warn about it
        warnings.simplefilter("ignore", EvmultWarning)
        sample = multiply(gen, n=round(factors[-1] * n_train), seed=seed)
    gen_columns = _columns(sample, channel, list(ref_columns))
    weights = event_weights(sample)
    rng = np.random.default_rng([seed, 17])
    order = rng.permutation(len(sample))

    ref_weights = event_weights(ref)

    def measure(columns: Mapping[str, np.ndarray], w: np.ndarray) -> EffectiveSize:
        return effective_sample_size(
            ref_columns,
            columns,
            reference_weights=ref_weights,
            generated_weights=w,
            bins=bins,
            uncounted=uncounted,
        )

    points, last = [], None
    for factor in factors:
        idx = np.sort(order[: round(factor * n_train)])
        last = measure({k: v[idx] for k, v in gen_columns.items()}, weights[idx])
        points.append(_point(last, factor, n_train))
    assert last is not None
    training = None
    if train is not None:
        t = as_table(train, "training event table")
        itself = measure(_columns(t, channel, list(ref_columns)), event_weights(t))
        training = _point(itself, 1.0, n_train)
    return WorthCurve(
        n_train=n_train,
        n_reference=last.n_reference,
        bins=bins,
        counted=list(last.counted),
        points=points,
        training=training,
        asymptotic=last.asymptotic,
        asymptotic_saturated=last.asymptotic_saturated,
        largest_useful_factor=last.largest_useful_factor(n_train),
    )


@dataclasses.dataclass
class AmplificationStudy:
    """Worth curves of one model family trained on random subsets of a table.

    Attributes:
        channel: the table's channel.
        setup: model, settings, sizes, factors, bins, repeats, seed and sources.
        curves: training size -> one :class:`WorthCurve` per repeat (another random
            draw of the training events and another training seed each).
        train_seconds: training size -> training time of each repeat.
    """

    channel: str
    setup: dict[str, Any]
    curves: dict[int, list[WorthCurve]]
    train_seconds: dict[int, list[float]]

    def summary(self) -> list[dict[str, Any]]:
        """One row per training size: mean and spread (over repeats, or the
        statistical one for a single repeat) of the amplification at every factor,
        of the training sample itself, of the asymptote, and the largest useful
        factor."""
        rows = []
        for size, curves in self.curves.items():
            row: dict[str, Any] = {"n_train": size, "repeats": len(curves), "factors": {}}
            for i, point in enumerate(curves[0].points):
                amps = np.array([c.points[i]["amplification"] for c in curves])
                row["factors"][point["factor"]] = {
                    "amplification": float(amps.mean()),
                    "spread": _spread(amps, [c.points[i] for c in curves], size),
                    "saturated": any(c.points[i]["saturated"] for c in curves),
                }
            if curves[0].training is not None:
                amps = np.array([c.training["amplification"] for c in curves])  # type: ignore[index]
                row["training"] = {
                    "amplification": float(amps.mean()),
                    "spread": _spread(amps, [c.training for c in curves], size),  # type: ignore[misc]
                }
            row["asymptotic_amplification"] = float(np.mean([c.asymptotic for c in curves])) / size
            row["asymptotic_saturated"] = any(c.asymptotic_saturated for c in curves)
            row["largest_useful_factor"] = float(
                np.median([c.largest_useful_factor for c in curves])
            )
            row["resolution"] = min(c.n_reference for c in curves) / size
            best = [c.best for c in curves]
            row["at_useful_factor"] = {
                "factor": best[0]["factor"],
                "amplification": float(np.mean([b["amplification"] for b in best])),
                "per_feature": {
                    k: float(np.mean([b["per_feature"][k] for b in best]))
                    for k in best[0]["per_feature"]
                },
                "saturated": any(b["saturated"] for b in best),
            }
            rows.append(row)
        return rows

    @property
    def text(self) -> str:
        """The headline per training size, as ``evmult amplify`` prints it."""
        lines = [f"{self.channel}: {self.setup['model']} worth against the events not trained on"]
        for row in self.summary():
            best = row["at_useful_factor"]
            worst = min(
                (k for k in best["per_feature"] if k in self.curves[row["n_train"]][0].counted),
                key=lambda k: best["per_feature"][k],
            )
            bound = "≥ " if best["saturated"] else ""
            train = row.get("training")
            itself = f"; the training sample itself ×{train['amplification']:.2f}" if train else ""
            lines.append(
                f"  {row['n_train']:>7,} train: ×{best['factor']:g} generated worth "
                f"{bound}{best['amplification']:.2f}× the training events "
                f"(worst {worst} {best['per_feature'][worst]:.2f}){itself}; largest useful "
                f"factor {row['largest_useful_factor']:.2g}"
                + (" (lower bound)" if row["asymptotic_saturated"] else "")
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict: setup, summary and every curve."""
        return {
            "channel": self.channel,
            "setup": self.setup,
            "summary": self.summary(),
            "curves": {str(k): [dataclasses.asdict(c) for c in v] for k, v in self.curves.items()},
            "train_seconds": {str(k): v for k, v in self.train_seconds.items()},
        }


def _spread(amps: np.ndarray, points: Sequence[Mapping[str, Any]], size: int) -> float:
    if len(amps) > 1:
        return float(np.std(amps, ddof=1))
    return float(points[0]["effective_std"]) / size


def amplification_study(
    table: ak.Array | str | Path,
    *,
    sizes: Sequence[int] = (1_000, 3_000, 10_000),
    factors: Sequence[float] = FACTORS,
    model: str = "flow-vae",
    settings: Mapping[str, Any] | None = None,
    repeats: int = 1,
    features: Sequence[str] | None = None,
    bins: int = _BINS,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> AmplificationStudy:
    """Train on random subsets of ``table`` and measure what the generated events are
    worth against every event not drawn.

    Args:
        table: an event table (or its path).
        sizes: training sizes; each must leave at least as many events as reference.
        factors: multiplication factors of each worth curve.
        model: model family.
        settings: as for :func:`evmult.fit` (``preset``, ``refine``, ``train.epochs`` …).
        repeats: draws of the training events per size (seeds ``seed``, ``seed + 1`` …),
            whose scatter is the spread the summary quotes.
        features: feature columns (default: every feature of the channel).
        bins: equal-probability bins per continuous feature.
        seed: seed of the first draw, its training and its generation.
        progress: called with one line per step (e.g. ``print``).

    Returns:
        The :class:`AmplificationStudy`.

    Raises:
        InputError: for a size that leaves fewer reference than training events, or
            fewer than one repeat.
    """
    from evmult.pipeline import fit

    data = as_table(table)
    sizes = sorted(int(s) for s in sizes)
    if repeats < 1 or not sizes:
        msg = f"need at least one size and one repeat, got sizes {sizes}, repeats {repeats}"
        raise InputError(msg)
    if 2 * sizes[-1] > len(data):
        msg = (
            f"the table has {len(data):,} events: a training size of {sizes[-1]:,} leaves "
            "fewer reference events than training events; choose smaller sizes"
        )
        raise InputError(msg)
    say = progress or (lambda _line: None)
    settings = dict(settings or {})
    curves: dict[int, list[WorthCurve]] = {}
    seconds: dict[int, list[float]] = {}
    title = model
    for size in sizes:
        for r in range(repeats):
            train, reference = split_table(data, n=size, seed=seed + r)
            say(f"{size:,} train, draw {r + 1}/{repeats}: training {model}")
            start = time.perf_counter()
            gen = fit(train, model=model, seed=seed + r, **settings)
            seconds.setdefault(size, []).append(time.perf_counter() - start)
            title = gen.title
            curve = worth_curve(
                gen,
                reference,
                factors=factors,
                train=train,
                features=features,
                bins=bins,
                seed=seed + r + 1,
            )
            curves.setdefault(size, []).append(curve)
            best = curve.best
            say(
                f"{size:,} train, draw {r + 1}/{repeats}: ×{best['factor']:g} worth "
                f"{best['amplification']:.2f}× the training events, largest useful factor "
                f"{curve.largest_useful_factor:.2g} ({seconds[size][-1]:.0f} s training)"
            )
    meta = table_metadata(data)
    setup = {
        "model": title,
        "settings": settings,
        "sizes": sizes,
        "factors": sorted(factors),
        "bins": bins,
        "repeats": repeats,
        "seed": seed,
        "n_table": len(data),
        "features": list(features) if features else None,
        "sources": meta.get("sources", []),
    }
    return AmplificationStudy(meta.get("channel", "?"), setup, curves, seconds)
