"""Does multiplying the signal make a classifier better? Real against real + generated.

:func:`classifier_study` answers it for any pair of event tables of one channel, at a
fixed budget of real signal events (``evmult classify`` runs it):

1. A share of the signal and of the background events (``test_fraction``) is the test
   set: neither the generator nor any classifier trains on it. With
   ``background_folds`` K ≥ 2, every background event is tested instead, by the one of
   K classifiers that was trained without its fold.
2. The real signal training sets are nested random draws of the other signal events,
   one per size: the learning curve. The smallest is the real budget. Every other
   background event trains every classifier.
3. The generator learns the budget's signal events and makes ``factor`` × as many
   (with ``budgets``, a generator per listed size, to show where the gain vanishes).
   Real and generated signal events then share the real training yield (each weighs
   yield / (n_real + n_generated)): they add shape information, not luminosity.
   Copies of the budget's events, as many, are the trivial baseline.
4. Each classifier (:mod:`evmult.classifiers`) trains on each training set and is
   scored on the test set: ROC AUC, background rejection 1/ε_B at ε_S = 50 % and 80 %,
   and accuracy, F1 and Cohen's κ at a score of 0.5 with the classes weighted equally,
   each with its spread over Poisson resamples of the test events. With ``repeats`` R,
   each classifier trains R times (other seeds) and the figures are their mean, the
   spread of that mean added to every spread.
5. **Equivalent real events**: where the real-only learning curve reaches the
   augmented training's AUC (interpolated in log n); a bound where it lies outside the
   curve.

Example:
    >>> from evmult.classify import classifier_study
    >>> study = classifier_study("wz.parquet", "bkg.parquet", sizes=[1_000, 4_000])  # doctest: +SKIP
    >>> print(study.text)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from evmult.classifiers import PARAMETERISED, make
from evmult.classify_metrics import (
    BOOTSTRAP,
    ROC_EFFICIENCIES,
    augmented_weights,
    check_repeats,
    equivalent_events,
    feature_matrix,
    paired_gain,
    repeats_note,
    scored,
    verdict,
)
from evmult.classify_report import headline, training
from evmult.errors import InputError
from evmult.io.files import atomic_directory
from evmult.io.tables import as_table, event_weights, json_safe, table_metadata
from evmult.models.base import Generator
from evmult.models.refiner import describe

__all__ = ["ClassifierStudy", "Study", "classifier_study", "refinement"]


def refinement(generator: Generator, say: Callable[[str], None]) -> dict[str, Any] | None:
    """What refinement did to a study's generator: its refiner's record (its AUC, whether
    it was applied, the share kept), said in one line; ``None`` without a refiner."""
    if generator.refiner is None:
        return None
    say(f"refiner: {describe(generator.refiner.record)}")
    return dict(generator.refiner.record)


@dataclasses.dataclass
class Study(ABC):
    """What a classifier study found: its channel, its setup and one row per training
    (see :class:`ClassifierStudy` and
    :class:`~evmult.classify_parameterised.ParameterisedStudy`)."""

    channel: str
    setup: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    @abstractmethod
    def text(self) -> str:
        """The summary: a line per training."""

    @property
    @abstractmethod
    def title(self) -> str:
        """The HTML report's title."""

    @abstractmethod
    def figures(self, outdir: Path) -> list[Path]:
        """Draw the study's figures into ``outdir`` (PNG, a PDF beside each)."""

    def write(self, outdir: str | Path, *, force: bool = False) -> Path:
        """Write ``classifiers.json`` (every number), ``summary.txt``, the figures and
        ``report.html``, atomically."""
        from evmult.classify_report import write_html

        with atomic_directory(outdir, force=force) as tmp:
            (tmp / "classifiers.json").write_text(
                json.dumps(json_safe(dataclasses.asdict(self)), indent=1)
            )
            (tmp / "summary.txt").write_text(self.text + "\n")
            write_html(
                tmp / "report.html",
                title=self.title,
                summary=self.text,
                rows=self.rows,
                figures=self.figures(tmp),
                setup=self.setup,
            )
        return Path(outdir)


@dataclasses.dataclass
class ClassifierStudy(Study):
    """The trainings and their test-set figures.

    Attributes:
        channel: the tables' channel.
        setup: sizes, factors, classifiers, model and settings, what refinement did to
            the generator of each budget (``refiners``: its refiner's record, ``None``
            without one), test sizes, features, seed, sources.
        rows: one dict per (classifier, training): ``classifier``, ``training``
            (``real``, ``real+generated`` or ``real+copies``), ``n_real`` signal events,
            ``factor``, ``metrics`` (figure -> ``value``, ``std``) and, for the
            multiplied trainings, ``equivalent`` real signal events with ``bound`` and
            the ``gain`` over the real-only training of the same real events (figure ->
            ``value``, and ``std`` over the same resamples of the test events), and
            ``roc`` and ``scores`` of :func:`scored`.
    """

    @property
    def text(self) -> str:
        """A line per training and, per augmented one, whether it helped."""
        setup = self.setup
        folds = setup["background_folds"]
        lines = [
            (
                f"{self.channel}: {setup['n_test_signal']:,} signal and "
                f"{setup['n_test_background']:,} background test events"
                + (f" (every background event, in {folds} folds)" if folds > 1 else "")
                + repeats_note(setup.get("repeats", 1))
            )
        ]
        for row in self.rows:
            line = (
                f"  {row['classifier']:4s} {training(row):22s} {row['n_real']:>7,} real: "
                + headline(row)
            )
            if "equivalent" in row:
                bound = {"<": "≤ ", ">": "> "}.get(row["bound"], "")
                line += f"; worth {bound}{row['equivalent']:,.0f} real signal events"
                line += f" ({row['verdict']})"
            lines.append(line)
        return "\n".join(lines)

    @property
    def title(self) -> str:
        """The HTML report's title."""
        return f"{self.channel}: does multiplying the signal help a classifier?"

    def figures(self, outdir: Path) -> list[Path]:
        """Per classifier: the learning curve, the rejection against signal efficiency
        and the score distributions (``learning_curve_<name>.png``,
        ``rejection_<name>.png``, ``scores_<name>.png``)."""
        from evmult.classify_report import plot_learning_curve, plot_rejection, plot_scores

        figures = []
        for name in self.setup["classifiers"]:
            rows = [r for r in self.rows if r["classifier"] == name]
            title = f"{self.channel}: {name}"
            figures += [
                plot_learning_curve(rows, outdir / f"learning_curve_{name}.png", title=title),
                plot_rejection(
                    rows,
                    outdir / f"rejection_{name}.png",
                    title=title,
                    efficiencies=ROC_EFFICIENCIES,
                ),
                plot_scores(rows, outdir / f"scores_{name}.png", title=title),
            ]
        return figures


def classifier_study(
    signal: ak.Array | str | Path,
    background: ak.Array | str | Path,
    *,
    sizes: Sequence[int] = (1_000, 2_000, 4_000, 10_000),
    factors: Sequence[float] = (10.0,),
    budgets: Sequence[int] | None = None,
    classifiers: Sequence[str] = ("bdt",),
    model: str = "flow-vae",
    settings: Mapping[str, Any] | None = None,
    test_fraction: float = 0.3,
    background_folds: int = 1,
    repeats: int = 1,
    features: Sequence[str] | None = None,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> ClassifierStudy:
    """Train classifiers on real and on real + generated signal events; see the module
    docstring.

    Args:
        signal: the signal event table (or its path).
        background: the background event table, of the same channel.
        sizes: real signal training sizes (the learning curve); the smallest is the
            budget the generator learns from.
        factors: generated events per budget event.
        budgets: the real sizes (of ``sizes``) that are multiplied, each by a generator
            trained on that sample, to show at which real size the gain vanishes
            (default: the smallest).
        classifiers: names of :data:`evmult.classifiers.CLASSIFIERS`.
        model: the generator's family; ``settings`` as for :func:`evmult.fit`.
        test_fraction: the share of signal events held out for testing, and of the
            background events where ``background_folds`` is 1.
        background_folds: with K ≥ 2, every background event is a test event: the
            background is split into K folds and each classifier is trained K times,
            each time on the other K − 1 folds, and scored on its own fold and on the
            test signal; the figures are the folds' average, the rejections those of
            all K folds' background (K times the test background of one fold, so a
            rejection of hundreds is resolved).
        repeats: trainings of each classifier on each training set, with seeds
            ``seed``, ``seed + 1``, …: the figures are their average, and the spreads
            and gains include the spread between them (a classifier's training
            randomness: its validation share, initial state, bootstrap).
        features: feature columns (default: every feature of the channel).
        bootstrap: Poisson resamples of the test set for the spreads.
        seed: seed of the splits, the generator and the classifiers.
        progress: called with one line per step (e.g. ``print``).

    Returns:
        The :class:`ClassifierStudy`.

    Raises:
        InputError: for tables of different channels, sizes beyond the signal events
            left after the test split, budgets not among the sizes, fewer than one
            background fold or repeat, or a parameterised classifier (``pnn``).
    """
    from evmult.pipeline import fit, multiply

    say = progress or (lambda _line: None)
    wrong = sorted(set(classifiers) & PARAMETERISED)
    if wrong:
        msg = (
            f"{', '.join(wrong)} needs signal tables at several parameter values: "
            "use evmult.classify_parameterised.parameterised_study "
            "(evmult classify --signal FILE=VALUE ...)"
        )
        raise InputError(msg)
    sig, bkg = (
        as_table(signal, "signal event table"),
        as_table(background, "background event table"),
    )
    channel = table_metadata(sig).get("channel")
    if not channel:
        msg = "the signal table names no channel (attrs['evmult']['channel'])"
        raise InputError(msg)
    if channel != table_metadata(bkg).get("channel"):
        msg = f"signal ({channel!r}) and background ({table_metadata(bkg).get('channel')!r}) are of different channels"
        raise InputError(msg)
    if not isinstance(background_folds, int) or not 1 <= background_folds <= len(bkg):
        msg = f"background_folds must be a whole number from 1 to {len(bkg):,}, got {background_folds!r}"
        raise InputError(msg)
    check_repeats(repeats)
    rng = np.random.default_rng(seed)
    sig_perm, bkg_perm = rng.permutation(len(sig)), rng.permutation(len(bkg))
    n_test_s = round(test_fraction * len(sig))
    pool = sig[np.sort(sig_perm[n_test_s:])]
    sizes = sorted(int(s) for s in sizes)
    if not sizes or sizes[-1] > len(pool) or sizes[0] < 2:
        msg = f"signal sizes {sizes} must lie in 2 … {len(pool):,}, the signal events left after the test split"
        raise InputError(msg)
    if background_folds == 1:  # a test share of the background
        n_test_b = round(test_fraction * len(bkg))
        test_bkg, folds = bkg[np.sort(bkg_perm[:n_test_b])], None
        b_trains = [bkg[np.sort(bkg_perm[n_test_b:])]]
    else:  # every background event, each scored by the classifier that never saw its fold
        fold = np.empty(len(bkg), dtype=np.int64)
        fold[bkg_perm] = np.arange(len(bkg)) % background_folds
        test_bkg, n_test_b = bkg, len(bkg)
        folds = np.r_[np.full(n_test_s, -1), fold]
        b_trains = [bkg[fold != k] for k in range(background_folds)]
    test = ak.concatenate([sig[np.sort(sig_perm[:n_test_s])], test_bkg])
    y_test = np.r_[np.ones(n_test_s), np.zeros(n_test_b)]
    x_test, w_test = feature_matrix(test, channel, features), event_weights(test)
    bkg_sets = [(feature_matrix(b, channel, features), event_weights(b)) for b in b_trains]
    budgets = sorted({int(b) for b in budgets}) if budgets else sizes[:1]
    if not set(budgets) <= set(sizes):
        msg = f"budgets {budgets} must be among the sizes {sizes}"
        raise InputError(msg)
    order = np.random.default_rng([seed, 1]).permutation(len(pool))
    # each training: kind, factor, real events, extra events and their groups for early
    # stopping (a copy is held out with the event it repeats, see held_out)
    trainings: list[tuple[str, float, ak.Array, ak.Array | None, np.ndarray | None]] = [
        ("real", 0.0, pool[np.sort(order[:n])], None, None) for n in sizes
    ]
    refiners: dict[str, dict[str, Any] | None] = {}  # per budget, what refinement did
    for n in budgets:
        budget = pool[np.sort(order[:n])]
        say(f"training {model} on {n:,} signal events")
        generator = fit(budget, model=model, seed=seed, **dict(settings or {}))
        refiners[str(n)] = refinement(generator, say)
        for factor in sorted(factors):
            m = round(factor * n)
            generated = multiply(generator, n=m, seed=seed + 1)
            trainings.append(("real+generated", factor, budget, generated, n + np.arange(m)))
            source = np.arange(m) % n
            trainings.append(("real+copies", factor, budget, budget[source], source))
    rows = []
    for name in classifiers:
        resamples: dict[tuple[str, float, int], list[dict[str, float]]] = {}
        for kind, factor, real, more, more_groups in trainings:
            x_sig, w_sig = feature_matrix(real, channel, features), event_weights(real)
            g_sig = np.arange(len(real))
            if more is not None:  # share the real yield: shapes, not luminosity
                x_sig = np.vstack([x_sig, feature_matrix(more, channel, features)])
                w_sig = augmented_weights(w_sig, len(more))
                g_sig = np.r_[g_sig, more_groups]
            scores = []  # per repeat, one classifier's or each fold's
            for r in range(repeats):
                per_fold = []
                for x_bkg, w_bkg in bkg_sets:
                    x = np.vstack([x_sig, x_bkg])
                    y = np.r_[np.ones(len(x_sig)), np.zeros(len(x_bkg))]
                    groups = np.r_[g_sig, np.arange(len(x_bkg))]
                    clf = make(name, seed=seed + r).fit(x, y, np.r_[w_sig, w_bkg], groups)
                    per_fold.append(clf.score(x_test))
                scores.append(per_fold[0] if folds is None else np.stack(per_fold))
            record, draws = scored(
                y_test,
                np.stack(scores),
                w_test,
                bootstrap=bootstrap,
                seed=seed,
                folds=folds,
            )
            resamples[(kind, factor, len(real))] = draws
            rows.append(
                {
                    "classifier": name,
                    "training": kind,
                    "n_real": len(real),
                    "factor": factor,
                    "n_generated": 0 if more is None else len(more),
                    **record,
                }
            )
            auc = record["metrics"]["auc"]["value"]
            say(f"{name} {kind} {len(real):,} real ×{factor:g}: AUC {auc:.4f}")
        curve = [r for r in rows if r["classifier"] == name and r["training"] == "real"]
        for row in rows:
            if row["classifier"] == name and row["training"] != "real":
                row["equivalent"], row["bound"] = equivalent_events(
                    [r["n_real"] for r in curve],
                    [r["metrics"]["auc"]["value"] for r in curve],
                    row["metrics"]["auc"]["value"],
                )
                real_row = next(r for r in curve if r["n_real"] == row["n_real"])
                row["gain"] = paired_gain(
                    row,
                    real_row,
                    resamples[(row["training"], row["factor"], row["n_real"])],
                    resamples[("real", 0.0, row["n_real"])],
                )
                row["verdict"] = verdict(row["gain"])
    setup = {
        "sizes": sizes,
        "budgets": budgets,
        "factors": sorted(float(f) for f in factors),
        "classifiers": list(classifiers),
        "model": model,
        "settings": dict(settings or {}),
        "refiners": refiners,
        "n_test_signal": n_test_s,
        "n_test_background": n_test_b,
        "n_train_background": len(b_trains[0]),
        "background_folds": background_folds,
        "repeats": repeats,
        "features": list(features) if features else None,
        "seed": seed,
        "sources": {
            "signal": table_metadata(sig).get("sources", []),
            "background": table_metadata(bkg).get("sources", []),
        },
    }
    return ClassifierStudy(channel, setup, rows)
