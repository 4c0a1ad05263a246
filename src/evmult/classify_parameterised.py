"""A signal at several parameter values (e.g. resonance masses): the parameterised
network against one classifier per value, with and without multiplied events.

:func:`parameterised_study` is the search for a resonance of unknown mass (Baldi et al.,
arXiv:1601.07913), asked the multiplication question (``evmult classify --signal
FILE=VALUE ...`` runs it):

1. Each signal table's test share and the background's (``test_fraction``) are held
   out; neither the generators nor the classifiers see them.
2. Per value, ``size`` real signal events (default: all left) are the training signal.
3. Trainings: ``real``; ``signal+generated`` (per value, ``factor`` × its training
   signal events generated, sharing its yield, by one generator that learns every
   value's training signal conditioned on the value, or, with ``signal_generator=
   "per-value"``, by a generator of that value's alone); and
   ``background+generated`` (one generator learns the training background likewise).
4. Classifiers: the parameterised ones (``pnn``) are trained once, over every value but
   ``left_out``, with the value as an input, and scored at every value, so the left-out
   value shows how the network interpolates; every other classifier is trained per
   value, on that value's signal only (the left-out value included: the reference a
   network that knew the value would reach).
5. Per (classifier, training, value), on that value's test signal against the test
   background: the figures of :func:`evmult.classify_metrics.scored` with their spreads, and
   for the multiplied trainings the paired gain over ``real``.

Example:
    >>> from evmult.classify_parameterised import parameterised_study
    >>> study = parameterised_study(
    ...     {500: "zp500.parquet", 1000: "zp1000.parquet", 1500: "zp1500.parquet"},
    ...     "ttbar.parquet",
    ...     classifiers=["pnn", "bdt"],
    ... )  # doctest: +SKIP
    >>> print(study.text)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from evmult.classifiers import CLASSIFIERS, PARAMETERISED, make
from evmult.classify import Study, refinement
from evmult.classify_metrics import (
    SIGNAL_GENERATORS,
    augmented_weights,
    check_repeats,
    feature_matrix,
    paired_gain,
    repeats_note,
    scored,
    verdict,
)
from evmult.classify_report import headline, training
from evmult.errors import InputError
from evmult.io.tables import as_table, event_weights, string_column, table_metadata

__all__ = ["SIDES", "SIGNAL_GENERATORS", "ParameterisedStudy", "parameterised_study"]

SIDES = ("signal", "background")
"""What a parameterised study can multiply."""


@dataclasses.dataclass
class ParameterisedStudy(Study):
    """The trainings of a parameterised study and their test-set figures.

    Attributes:
        channel: the tables' channel.
        setup: parameter name, values, left-out value, sizes, factors, sides multiplied,
            classifiers, model and settings, what refinement did to each generator
            (``refiners``, by ``signal``, ``signal <value>`` or ``background``), test
            sizes, features, seed, sources.
        rows: one dict per (classifier, training, value): ``classifier``, ``training``
            (``real``, ``signal+generated`` or ``background+generated``), ``value``,
            ``left_out`` (a parameterised classifier scored at the value it never saw),
            ``factor``, ``n_real`` signal events at the value, ``n_generated``, the
            record of :func:`evmult.classify_metrics.scored` and, for multiplied trainings,
            ``gain`` over ``real`` and its ``verdict``.
    """

    @property
    def text(self) -> str:
        """A line per training and value and, per multiplied one, whether it helped."""
        setup = self.setup
        lines = [
            f"{self.channel}: signal at {setup['parameter']} "
            f"{', '.join(f'{v:g}' for v in setup['values'])}; "
            f"{setup['n_test_background']:,} background test events"
            + (
                f"; {setup['left_out']:g} left out of the parameterised trainings"
                if setup["left_out"] is not None
                else ""
            )
            + repeats_note(setup.get("repeats", 1))
        ]
        for row in self.rows:
            mark = " (left out)" if row["left_out"] else ""
            line = (
                f"  {row['classifier']:4s} {setup['parameter']} {row['value']:<6g} "
                f"{training(row):27s} {headline(row)}{mark}"
            )
            if "gain" in row:
                line += f"; {row['verdict']}"
            lines.append(line)
        return "\n".join(lines)

    @property
    def title(self) -> str:
        """The HTML report's title."""
        return f"{self.channel}: classifiers at several {self.setup['parameter']} values"

    def figures(self, outdir: Path) -> list[Path]:
        """Per classifier: the AUC and the rejection against the parameter
        (``parameter_<name>.png``) and the score distributions at the first value
        (``scores_<name>.png``)."""
        from evmult.classify_report import plot_parameter_scan, plot_scores

        parameter = self.setup["parameter"]
        figures = []
        for name in self.setup["classifiers"]:
            rows = [r for r in self.rows if r["classifier"] == name]
            title = f"{self.channel}: {name}"
            scan = outdir / f"parameter_{name}.png"
            figures.append(plot_parameter_scan(rows, scan, title=title, parameter=parameter))
            at = f"{title}, {parameter} {rows[0]['value']:g}"
            figures.append(plot_scores(rows, outdir / f"scores_{name}.png", title=at))
        return figures


def _with_parameter(x: np.ndarray, value: float) -> np.ndarray:
    """``x`` with a last column holding ``value`` (the pnn's parameter input)."""
    return np.hstack([x, np.full((len(x), 1), float(value))])


def _label(parameter: str, value: float) -> str:
    """The process label of the signal at one parameter value."""
    return f"{parameter}={value:g}"


def _labelled(trains: Mapping[float, ak.Array], parameter: str) -> ak.Array:
    """Every value's signal events in one table, each labelled with its value as its
    ``process`` (the metadata of the first value's table: the channel)."""
    values = list(trains)
    labels = [_label(parameter, v) for v in values]
    parts = [
        ak.with_field(trains[v], string_column(labels, np.full(len(trains[v]), i)), "process")
        for i, v in enumerate(values)
    ]
    return ak.Array(ak.concatenate(parts), attrs=trains[values[0]].attrs)


def parameterised_study(
    signals: Mapping[float, ak.Array | str | Path],
    background: ak.Array | str | Path,
    *,
    parameter: str = "mass",
    size: int | None = None,
    factors: Sequence[float] = (10.0,),
    multiply: Sequence[str] = SIDES,
    classifiers: Sequence[str] = ("pnn", "bdt"),
    left_out: float | None = None,
    model: str = "flow-vae",
    settings: Mapping[str, Any] | None = None,
    signal_generator: str = "conditional",
    test_fraction: float = 0.3,
    repeats: int = 1,
    features: Sequence[str] | None = None,
    bootstrap: int = 50,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> ParameterisedStudy:
    """Parameterised and per-value classifiers on real and multiplied events; see the
    module docstring.

    Args:
        signals: parameter value -> signal event table (or its path); two values at
            least, three for a left-out one.
        background: the background event table, of the same channel.
        parameter: the parameter's name, for the labels (e.g. ``mass``).
        size: real signal training events per value (default: all after the test split).
        factors: generated events per real training event, for each side multiplied.
        multiply: which of :data:`SIDES` to multiply (each in its own trainings).
        classifiers: names of :data:`evmult.classifiers.CLASSIFIERS`.
        left_out: a value the parameterised classifiers do not train on (``None``: none).
        model: the generators' family; ``settings`` as for :func:`evmult.fit`.
        signal_generator: how the signal is multiplied: ``conditional``, one
            generator over every value, conditioned on it (``condition="process"`` on
            the signal events labelled ``<parameter>=<value>``), which learns what the
            values share from all of their events; ``per-value``, a generator for each
            value's events alone (on Z′ → tt̄ with about 500 events per mass it made
            every classifier worse at more masses: docs/classifiers.md).
        test_fraction: the share of each table held out for testing.
        repeats: trainings of each classifier on each training set (seeds ``seed``,
            ``seed + 1``, …): figures averaged, their spread in the spreads and gains.
        features: feature columns (default: every feature of the channel).
        bootstrap: Poisson resamples of the test set for the spreads.
        seed: seed of the splits, the generators and the classifiers.
        progress: called with one line per step (e.g. ``print``).

    Returns:
        The :class:`ParameterisedStudy`.

    Raises:
        InputError: for fewer than two values, tables of different channels, an
            unknown classifier or side, a left-out value that is not a signal value or
            leaves fewer than two, a size beyond a value's training events, an
            unknown ``signal_generator``, or fewer than one repeat.
    """
    from evmult.pipeline import fit
    from evmult.pipeline import multiply as generate

    say = progress or (lambda _line: None)
    values = sorted(float(v) for v in signals)
    if len(values) < 2:
        msg = f"a parameterised study needs signal tables at two values at least, got {values}"
        raise InputError(msg)
    unknown = [c for c in classifiers if c not in CLASSIFIERS]
    if unknown:
        msg = f"unknown classifier {unknown[0]!r}; known: {', '.join(CLASSIFIERS)}"
        raise InputError(msg)
    bad = [s for s in multiply if s not in SIDES]
    if bad:
        msg = f"cannot multiply {bad[0]!r}; choose from {', '.join(SIDES)}"
        raise InputError(msg)
    if signal_generator not in SIGNAL_GENERATORS:
        msg = f"signal generator {signal_generator!r}: choose from {', '.join(SIGNAL_GENERATORS)}"
        raise InputError(msg)
    conditional = signal_generator == "conditional"
    check_repeats(repeats)
    if left_out is not None:
        left_out = float(left_out)
        if left_out not in values or len(values) < 3:
            msg = f"left-out {parameter} {left_out:g} must be one of {len(values)} ≥ 3 signal values {values}"
            raise InputError(msg)
    by_value = {
        float(v): as_table(t, f"signal table at {parameter} {v:g}") for v, t in signals.items()
    }
    bkg = as_table(background, "background event table")
    channel = table_metadata(bkg).get("channel")
    if not channel:
        msg = "the background table names no channel (attrs['evmult']['channel'])"
        raise InputError(msg)
    for v, t in by_value.items():
        if table_metadata(t).get("channel") != channel:
            msg = f"the signal at {parameter} {v:g} is of channel {table_metadata(t).get('channel')!r}, the background of {channel!r}"
            raise InputError(msg)

    rng = np.random.default_rng(seed)
    tests, trains = {}, {}
    for v in values:
        t = by_value[v]
        perm = rng.permutation(len(t))
        n_test = round(test_fraction * len(t))
        pool = perm[n_test:]
        if size is not None and size > len(pool):
            msg = f"size {size:,} exceeds the {len(pool):,} training signal events at {parameter} {v:g}"
            raise InputError(msg)
        tests[v] = t[np.sort(perm[:n_test])]
        trains[v] = t[np.sort(pool[: size or len(pool)])]
    perm = rng.permutation(len(bkg))
    n_test_b = round(test_fraction * len(bkg))
    b_test, b_train = bkg[np.sort(perm[:n_test_b])], bkg[np.sort(perm[n_test_b:])]

    def matrix(table: ak.Array) -> np.ndarray:
        return feature_matrix(table, channel, features)

    x_bt, w_bt = matrix(b_test), event_weights(b_test)
    test_sets = {
        v: (
            np.vstack([matrix(tests[v]), x_bt]),
            np.r_[np.ones(len(tests[v])), np.zeros(len(b_test))],
            np.r_[event_weights(tests[v]), w_bt],
        )
        for v in values
    }
    # each training: name, factor, per value (x, w) of the signal, (x, w) of the background
    real_sig = {v: (matrix(trains[v]), event_weights(trains[v])) for v in values}
    real_bkg = (matrix(b_train), event_weights(b_train))
    trainings = [("real", 0.0, real_sig, real_bkg)]
    factors = sorted(float(f) for f in factors)
    refiners: dict[str, dict[str, Any] | None] = {}  # per generator, what refinement did
    if "signal" in multiply:
        extra = dict(settings or {})
        generators = {}
        if conditional:
            labelled = _labelled(trains, parameter)
            say(
                f"training {model} on {len(labelled):,} signal events at {len(values)} "
                f"values, conditioned on {parameter}"
            )
            joint = fit(labelled, model=model, condition="process", seed=seed, **extra)
            refiners["signal"] = refinement(joint, say)
        else:
            for v in values:
                say(f"training {model} on {len(trains[v]):,} signal events at {parameter} {v:g}")
                generators[v] = fit(trains[v], model=model, seed=seed, **extra)
                refiners[f"signal {v:g}"] = refinement(generators[v], say)
        for f in factors:
            sig = {}
            if conditional:  # f × each value's events, shared by the training counts
                made = generate(joint, factor=f, seed=seed + 1)
                process = np.asarray(ak.to_list(made.process))
            for v in values:
                if conditional:
                    more = made[process == _label(parameter, v)]
                else:
                    more = generate(generators[v], n=round(f * len(trains[v])), seed=seed + 1)
                x, w = real_sig[v]
                sig[v] = (np.vstack([x, matrix(more)]), augmented_weights(w, len(more)))
            trainings.append(("signal+generated", f, sig, real_bkg))
    if "background" in multiply:
        say(f"training {model} on {len(b_train):,} background events")
        generator = fit(b_train, model=model, seed=seed, **dict(settings or {}))
        refiners["background"] = refinement(generator, say)
        for f in factors:
            more = generate(generator, n=round(f * len(b_train)), seed=seed + 1)
            x, w = real_bkg
            bkg_more = (np.vstack([x, matrix(more)]), augmented_weights(w, len(more)))
            trainings.append(("background+generated", f, real_sig, bkg_more))

    rows: list[dict[str, Any]] = []
    draws: dict[tuple[str, str, float, float], list[dict[str, float]]] = {}

    def add(
        name: str, kind: str, f: float, v: float, scores: list[np.ndarray], n_gen: int
    ) -> None:  # scores: each repeat's
        _, y_test, w_test = test_sets[v]
        record, resamples = scored(y_test, np.stack(scores), w_test, bootstrap=bootstrap, seed=seed)
        draws[(name, kind, f, v)] = resamples
        rows.append(
            {
                "classifier": name,
                "training": kind,
                "value": v,
                "left_out": name in PARAMETERISED and v == left_out,
                "factor": f,
                "n_real": len(trains[v]),
                "n_generated": n_gen,
                **record,
            }
        )
        say(
            f"{name} {kind} ×{f:g} at {parameter} {v:g}: AUC {record['metrics']['auc']['value']:.4f}"
        )

    for name in classifiers:
        for kind, f, sig, (x_b, w_b) in trainings:
            n_gen = {v: len(sig[v][0]) - len(trains[v]) + len(x_b) - len(b_train) for v in values}
            if name in PARAMETERISED:
                trained = [v for v in values if v != left_out]
                x = np.vstack(
                    [_with_parameter(sig[v][0], v) for v in trained]
                    + [_with_parameter(x_b, np.nan)]  # the background has no value
                )
                n_sig = sum(len(sig[v][0]) for v in trained)
                y = np.r_[np.ones(n_sig), np.zeros(len(x_b))]
                w = np.concatenate([sig[v][1] for v in trained] + [w_b])
                clfs = [make(name, seed=seed + r).fit(x, y, w) for r in range(repeats)]
                for v in values:
                    x_v = _with_parameter(test_sets[v][0], v)
                    add(name, kind, f, v, [c.score(x_v) for c in clfs], n_gen[v])
            else:
                for v in values:
                    x = np.vstack([sig[v][0], x_b])
                    y = np.r_[np.ones(len(sig[v][0])), np.zeros(len(x_b))]
                    w = np.r_[sig[v][1], w_b]
                    clfs = [make(name, seed=seed + r).fit(x, y, w) for r in range(repeats)]
                    add(name, kind, f, v, [c.score(test_sets[v][0]) for c in clfs], n_gen[v])
    reals = {(r["classifier"], r["value"]): r for r in rows if r["training"] == "real"}
    for row in rows:
        if row["training"] != "real":
            key = (row["classifier"], row["value"])
            row["gain"] = paired_gain(
                row,
                reals[key],
                draws[(row["classifier"], row["training"], row["factor"], row["value"])],
                draws[(row["classifier"], "real", 0.0, row["value"])],
            )
            row["verdict"] = verdict(row["gain"])
    setup = {
        "parameter": parameter,
        "values": values,
        "left_out": left_out,
        "size": size,
        "factors": factors,
        "multiply": list(multiply),
        "classifiers": list(classifiers),
        "model": model,
        "settings": dict(settings or {}),
        "signal_generator": signal_generator,
        "refiners": refiners,
        "n_test_signal": {f"{v:g}": len(tests[v]) for v in values},
        "n_train_signal": {f"{v:g}": len(trains[v]) for v in values},
        "n_test_background": len(b_test),
        "n_train_background": len(b_train),
        "features": list(features) if features else None,
        "repeats": repeats,
        "seed": seed,
        "sources": {
            "signal": {f"{v:g}": table_metadata(by_value[v]).get("sources", []) for v in values},
            "background": table_metadata(bkg).get("sources", []),
        },
    }
    return ParameterisedStudy(channel, setup, rows)
