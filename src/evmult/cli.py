"""The ``evmult`` command line: argument parsing only; the work is in the library.

User errors (bad files, branches, options, empty selections) print one line,
``evmult: error: ...``, and exit with status 1; no traceback, no partial output.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from evmult._version import __version__
from evmult.errors import EvmultError, InputError

__all__ = ["main"]


def _parse_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        msg = f"expected KEY=VALUE, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return key.strip(), value.strip()


def _writable(path: str, *, force: bool) -> Path:
    """The output path, refused up front if it exists and ``--force`` is not given (so
    no work is done for an output that would not be written)."""
    out = Path(path)
    if out.exists() and not force:
        msg = f"{out}: exists; pass --force to overwrite"
        raise EvmultError(msg)
    return out


def _writable_dir(path: str, *, force: bool) -> Path:
    """The output directory, refused up front if it holds files and ``--force`` is not
    given."""
    out = Path(path)
    if out.is_dir() and any(out.iterdir()) and not force:
        msg = f"{out}: exists and is not empty; pass --force to replace it"
        raise EvmultError(msg)
    return out


def _cmd_extract(args: argparse.Namespace) -> int:
    from evmult.coffea import extract
    from evmult.io.tables import write_table

    out = _writable(args.output, force=args.force)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = extract(
        args.inputs,
        args.channel,
        fmt=args.format,
        treename=args.tree,
        executor=args.executor,
        workers=args.workers,
        chunksize=args.chunksize,
        options=dict(args.option),
        progress=args.progress,
    )
    write_table(table, out, force=args.force)
    meta = table.attrs["evmult"]
    flow = ", ".join(f"{k} {v:,}" for c in meta["cutflow"].values() for k, v in c.items())
    print(f"{args.channel}: {len(table):,} events selected ({flow}) -> {out}")
    return 0


def _cmd_channels(args: argparse.Namespace) -> int:  # noqa: ARG001
    from evmult.channels import CHANNELS
    from evmult.processors import PROCESSORS

    for name, channel in CHANNELS.items():
        print(f"{name:15s} {channel.description}")
        opts = dataclasses.asdict(PROCESSORS[name].Options())
        print(" " * 16 + "options: " + ", ".join(f"{k}={v}" for k, v in opts.items()))
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from evmult.summary import summarise

    summary = summarise(args.table, args.output)
    print(summary.text)
    if args.output:
        print(f"plots and summary.html -> {args.output}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from evmult.io.files import atomic_directory
    from evmult.validation.report import validate

    out = Path(args.output)
    with atomic_directory(out, force=args.force) as tmp:
        report = validate(
            args.real,
            args.generated,
            train=args.train,
            reference=args.reference,
            outdir=tmp,
            features=args.features.split(",") if args.features else None,
            folds=args.folds,
            seed=args.seed,
        )
    print(report.text)
    print(f"metrics.json, figures and report.html -> {out}")
    return 2 if args.fail_on_flag and report.flags else 0


def _cmd_split(args: argparse.Namespace) -> int:
    from evmult.io.tables import read_table, split_table, write_table

    first = _writable(args.output, force=args.force)
    rest = _writable(args.rest, force=args.force)
    a, b = split_table(read_table(args.table), fraction=args.fraction, n=args.n, seed=args.seed)
    for out, part in ((first, a), (rest, b)):
        out.parent.mkdir(parents=True, exist_ok=True)
        write_table(part, out, force=args.force)
    print(f"{len(a):,} events -> {first}, {len(b):,} events -> {rest}")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:  # noqa: ARG001
    from evmult.models import DEFAULT_MODEL, MODELS

    for name, family in MODELS.items():
        doc = (family.__doc__ or "").strip().splitlines()[0]
        print(f"{name:12s} {doc}" + ("  [default]" if name == DEFAULT_MODEL else ""))
        print(
            " " * 13 + "settings: " + ", ".join(f.name for f in dataclasses.fields(family.Config))
        )
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from evmult.pipeline import fit

    out = _writable(args.output, force=args.force)
    settings = dict(args.set)
    for key, value in (
        ("train.epochs", args.epochs),
        ("train.device", args.device),
        ("train.amp", args.amp or None),
    ):
        if value is not None:
            settings[key] = value
    model = fit(
        args.table,
        model=args.model,
        preset=args.preset,
        condition=args.condition,
        refine=args.refine,
        seed=args.seed,
        progress=not args.quiet,
        **settings,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out, force=args.force)
    runs = {k: v for k, v in model.info.items() if isinstance(v, dict) and "seconds" in v}
    timing = ", ".join(
        f"{k} {v['epochs_run']} epochs {v['seconds']:.0f} s on {v['device']}"
        for k, v in runs.items()
    )
    print(
        f"{model.name} on {model.info['n_train']:,} {model.info['channel']} events ({timing}) -> {out}"
    )
    if model.labels:
        counts = ", ".join(f"{k} {v['n']:,}" for k, v in model.info["labels"].items())
        print(f"conditioned on {args.condition}: {counts}")
    if model.refiner is not None:
        from evmult.models.refiner import describe

        print(f"refiner: {describe(model.refiner.record)}")
    return 0


def _cmd_multiply(args: argparse.Namespace) -> int:
    from evmult.output import write_generated, write_generated_dask

    common = {
        "factor": args.factor,
        "n": args.n,
        "seed": args.seed,
        "include_original": args.include_original or False,
        "label": args.label,
        "chunk_size": args.chunk_size,
        "tree": args.tree,
        "compression": args.compression,
        "force": args.force,
    }
    if args.executor == "dask":
        from evmult.coffea import dask_client

        with dask_client(args.workers, args.scheduler) as client:
            out = write_generated_dask(
                args.model, args.output, client=client, partitions=args.partitions, **common
            )
        paths = out["paths"]
        where = ", ".join(paths) if len(paths) <= 2 else f"{paths[0]} ... {paths[-1]}"
    else:
        _writable(args.output, force=args.force)
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        out = write_generated(args.model, args.output, progress=not args.quiet, **common)
        where = out["path"]
    extra = f" + {out['original']:,} original" if out["original"] else ""
    print(
        f"{out['generated']:,} generated{extra} events, sum of weights "
        f"{out['sum_weights']:.6g} -> {where}"
    )
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from evmult.compare import compare

    out = _writable_dir(args.output, force=args.force)
    overrides: dict[str, dict[str, Any]] = {}
    for model, key, value in args.set:
        overrides.setdefault(model, {})[key] = value
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        msg = f"--set names model(s) {', '.join(unknown)} not in --models"
        raise EvmultError(msg)
    board = compare(
        args.table,
        [(m, m, overrides.get(m, {})) for m in names],
        n_train=args.train,
        seed=args.seed,
        progress=None if args.quiet else print,
    )
    board.write(out, force=args.force)
    for row in board.rows:
        print(f"  {row['model']:14s} AUC {row['auc']:.3f}")
    print(f"leaderboard.json, leaderboard.html, leaderboard.png -> {out}")
    return 0


def _numbers(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        msg = f"expected comma-separated numbers, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not values:
        msg = f"expected comma-separated numbers, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return values


def _cmd_amplify(args: argparse.Namespace) -> int:
    from evmult.amplify import amplification_study
    from evmult.amplify_report import write_study

    out = _writable_dir(args.output, force=args.force)
    study = amplification_study(
        args.table,
        sizes=[int(s) for s in args.sizes],
        factors=args.factors,
        model=args.model,
        settings=_generator_settings(args),
        repeats=args.repeats,
        features=args.features.split(",") if args.features else None,
        bins=args.bins,
        seed=args.seed,
        progress=None if args.quiet else print,
    )
    write_study(study, out, force=args.force)
    print(study.text)
    print(f"amplification.json, figures and amplification.html -> {out}")
    return 0


def _signal_values(signals: list[str]) -> dict[float, str] | None:
    """``FILE=VALUE`` signal arguments as value -> file; ``None`` for one plain file."""
    if len(signals) == 1 and "=" not in signals[0]:
        return None
    values: dict[float, str] = {}
    for text in signals:
        path, eq, value = text.rpartition("=")
        try:
            number = float(value) if eq and path else None
        except ValueError:
            number = None
        if number is None:
            msg = f"--signal {text!r}: with several signal tables, give each as FILE=VALUE (e.g. zp500.parquet=500)"
            raise InputError(msg)
        values[number] = path
    return values


def _left_out(text: str | None, values: list[float]) -> float | None:
    """``--left-out``: a value, ``none``, or by default the middle of three or more."""
    if text == "none" or (text is None and len(values) < 3):
        return None
    if text is None:
        return values[len(values) // 2]
    try:
        return float(text)
    except ValueError:
        msg = f"--left-out {text!r}: give one of the signal values or none"
        raise InputError(msg) from None


def _cmd_classify(args: argparse.Namespace) -> int:
    from evmult.classify import ClassifierStudy, classifier_study
    from evmult.classify_parameterised import ParameterisedStudy, parameterised_study

    out = _writable_dir(args.output, force=args.force)
    common = {
        "factors": args.factors,
        "classifiers": [c.strip() for c in args.classifiers.split(",") if c.strip()],
        "model": args.model,
        "settings": _generator_settings(args),
        "test_fraction": args.test_fraction,
        "features": args.features.split(",") if args.features else None,
        "seed": args.seed,
        "progress": None if args.quiet else print,
    }
    values = _signal_values(args.signal)
    study: ClassifierStudy | ParameterisedStudy
    if values is None:
        study = classifier_study(
            args.signal[0],
            args.background,
            sizes=[int(s) for s in args.sizes],
            budgets=[int(b) for b in args.budgets] if args.budgets else None,
            **common,
        )
    else:
        study = parameterised_study(
            values,
            args.background,
            parameter=args.parameter,
            size=args.size,
            multiply=[m.strip() for m in args.multiply.split(",") if m.strip()],
            left_out=_left_out(args.left_out, sorted(values)),
            **common,
        )
    study.write(out, force=args.force)
    print(study.text)
    print(f"classifiers.json, summary.txt, figures and report.html -> {out}")
    return 0


def _cmd_worth(args: argparse.Namespace) -> int:
    from evmult.amplify import worth_curve
    from evmult.amplify_report import describe, write_curve
    from evmult.io.files import file_sha256
    from evmult.pipeline import load

    out = _writable_dir(args.output, force=args.force) if args.output else None
    model = load(args.model)
    curve = worth_curve(
        model,
        args.reference,
        factors=args.factors,
        train=args.train,
        features=args.features.split(",") if args.features else None,
        bins=args.bins,
        seed=args.seed,
    )
    for point in curve.points:
        bound = "≥ " if point["saturated"] else ""
        print(
            f"  ×{point['factor']:<6g} {point['n_generated']:>10,.0f} generated: worth "
            f"{bound}{point['effective']:,.0f} ± {point['effective_std']:,.0f} real events "
            f"(×{point['amplification']:.2f} the training events)"
        )
    if curve.training is not None:
        t = curve.training
        print(
            f"  the training events themselves: worth {t['effective']:,.0f} ± {t['effective_std']:,.0f}"
        )
    record = curve.record()
    print(f"{args.model}: {describe(record)}")
    if out is not None:
        write_curve(curve, out, title=f"{model.info['channel']}: {model.name}", force=args.force)
        print(f"worth.json and worth.png -> {out}")
    if args.record:
        reference = Path(args.reference)
        record["reference"] = {"path": str(reference.resolve()), "sha256": file_sha256(reference)}
        model.info["worth"] = record
        model.save(args.model, force=True)
        print(f"recorded in {args.model}")
    return 0


def _parse_model_setting(text: str) -> tuple[str, str, str]:
    model, sep, rest = text.partition(":")
    key, eq, value = rest.partition("=")
    if not (sep and eq and model and key):
        msg = f"expected MODEL:KEY=VALUE (e.g. vae:latent=8), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return model, key, value


def _generator_options(parser: argparse.ArgumentParser) -> None:
    """The options of a generator a study trains, shared by ``amplify`` and ``classify``."""
    parser.add_argument("--model", default="flow-vae", help="model family (default flow-vae)")
    parser.add_argument(
        "--preset", choices=["fast", "mixture", "small"], help="a preset of the default model"
    )
    parser.add_argument("--refine", choices=["auto", "on", "off"], help="refinement (auto)")
    parser.add_argument(
        "--set",
        type=_parse_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model setting, e.g. train.epochs=50 (repeatable)",
    )


def _generator_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``--set``, ``--preset`` and ``--refine`` as :func:`evmult.fit` takes them."""
    settings: dict[str, Any] = dict(args.set)
    if args.preset:
        settings["preset"] = args.preset
    if args.refine:
        settings["refine"] = args.refine
    return settings


def _worth_options(parser: argparse.ArgumentParser) -> None:
    """The options of a measure of worth, shared by ``amplify`` and ``worth``."""
    parser.add_argument(
        "--factors",
        type=_numbers,
        default=[1, 3, 10, 30, 100],
        help="generated / training (1,3,10,30,100)",
    )
    parser.add_argument("--bins", type=int, default=10, help="equal-probability bins per feature")
    parser.add_argument("--features", help="comma-separated feature columns (default: all)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``evmult`` command."""
    from evmult.coffea import EXECUTORS
    from evmult.io.readers import FORMATS
    from evmult.io.writers import COMPRESSION

    parser = argparse.ArgumentParser(
        prog="evmult",
        description="Multiply simulated collider events: extract a channel, learn it, "
        "generate more, validate.",
    )
    parser.add_argument("--version", action="version", version=f"evmult {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ex = sub.add_parser(
        "extract",
        help="select a channel from ROOT/CSV files into an event table (parquet)",
        description="Run a channel processor (coffea) over input files and write the "
        "selected events as an evmult event table.",
    )
    ex.add_argument("inputs", nargs="+", metavar="INPUT", help="ROOT or DarkMachines CSV files")
    ex.add_argument("--channel", required=True, help="channel name (see `evmult channels`)")
    ex.add_argument("-o", "--output", required=True, help="output TABLE.parquet")
    ex.add_argument("--format", choices=FORMATS, help="input format (default: detected)")
    ex.add_argument("--tree", help="tree name (default: Events, Delphes, or the only tree)")
    ex.add_argument("--executor", choices=EXECUTORS, default="iterative")
    ex.add_argument("--workers", type=int, default=2, help="processes for futures/dask")
    ex.add_argument("--chunksize", type=int, default=100_000, help="entries per chunk")
    ex.add_argument(
        "--option",
        type=_parse_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="selection option, e.g. lead_pt_min=25 (repeatable; see `evmult channels`)",
    )
    ex.add_argument("--force", action="store_true", help="overwrite the output")
    ex.add_argument("--progress", action="store_true", help="show coffea's progress bars")
    ex.set_defaults(func=_cmd_extract)

    ch = sub.add_parser("channels", help="list channels and their selection options")
    ch.set_defaults(func=_cmd_channels)

    su = sub.add_parser(
        "summary",
        help="print a summary table of an event table and plot its features",
    )
    su.add_argument("table", help="event table (parquet from `evmult extract`)")
    su.add_argument("-o", "--output", help="directory for plots and summary.html")
    su.set_defaults(func=_cmd_summary)

    va = sub.add_parser(
        "validate",
        help="compare generated with real events: metrics, plots and an HTML report",
        description="Compare a generated event table with real events the generator never "
        "saw: KS, Wasserstein, correlations, a classifier two-sample test, physicality, "
        "holes, mass peaks, novelty and effective sample size, each next to its "
        "real-vs-real floor. Writes metrics.json, figures/ and report.html.",
    )
    va.add_argument("--real", required=True, help="real (held-out) event table")
    va.add_argument("--generated", required=True, help="generated event table")
    va.add_argument("--train", help="the generator's training events (enables novelty)")
    va.add_argument("--reference", help="large real sample for the effective sample size")
    va.add_argument("-o", "--output", required=True, help="report directory")
    va.add_argument("--features", help="comma-separated feature columns (default: all)")
    va.add_argument("--folds", type=int, default=5, help="classifier test folds")
    va.add_argument("--seed", type=int, default=0, help="seed of splits and subsamples")
    va.add_argument("--force", action="store_true", help="replace an existing report")
    va.add_argument(
        "--fail-on-flag", action="store_true", help="exit with status 2 if any metric is flagged"
    )
    va.set_defaults(func=_cmd_validate)

    tr = sub.add_parser(
        "train",
        help="learn a channel's events from an event table (writes a model file)",
        description="Fit a generator to an event table. The model file holds the weights, "
        "the encoding, the channel and the provenance; loading it runs no code.",
    )
    tr.add_argument("table", help="training event table (parquet from `evmult extract`)")
    tr.add_argument("-o", "--output", required=True, help="output MODEL file (e.g. zll.evmult)")
    tr.add_argument(
        "--model", default="flow-vae", help="model family (default flow-vae; see `evmult models`)"
    )
    tr.add_argument(
        "--preset",
        choices=["fast", "mixture", "small"],
        help="fast: affine coupling decoder, latent points around training events; "
        "mixture: random reflections and up to 400 epochs, for a few thousand events per label; "
        "small: reflections and the lepton flavour as a condition, for a few thousand events",
    )
    tr.add_argument(
        "--condition",
        metavar="FIELD",
        help="one model for every value of FIELD, given at generation: process, flavour, "
        "nJet ..., or every combination of several (flavour+nJet); yields kept per value",
    )
    tr.add_argument(
        "--refine",
        choices=["auto", "on", "off"],
        help="keep generated events with a classifier's odds of being training events: "
        "auto (default) where it tells them apart, on, off",
    )
    tr.add_argument("--epochs", type=int, help="maximum training epochs")
    tr.add_argument("--seed", type=int, default=0, help="training seed")
    tr.add_argument("--device", help="auto (default), cpu or cuda[:i]")
    tr.add_argument("--amp", action="store_true", help="bfloat16 mixed precision")
    tr.add_argument(
        "--set",
        type=_parse_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model setting, e.g. latent=8 or train.lr=5e-4 (repeatable)",
    )
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.add_argument("--force", action="store_true", help="overwrite the output")
    tr.set_defaults(func=_cmd_train)

    mu = sub.add_parser(
        "multiply",
        help="generate events from a model file (weights keep the training yield)",
    )
    mu.add_argument("model", help="model file from `evmult train`")
    size = mu.add_mutually_exclusive_group(required=True)
    size.add_argument("--factor", type=float, help="generate FACTOR x the training events")
    size.add_argument("--n", type=int, help="generate N events")
    mu.add_argument(
        "-o", "--output", required=True, help="OUT.root (NanoAOD-style or flat) or OUT.parquet"
    )
    mu.add_argument("--seed", type=int, default=0, help="generation seed")
    mu.add_argument(
        "--label",
        help="conditional models: only this label's events, with its yield "
        "(default: every label, in the training proportions)",
    )
    mu.add_argument("--chunk-size", type=int, default=100_000, help="events per write")
    mu.add_argument(
        "--include-original",
        nargs="?",
        const=True,
        metavar="TABLE",
        help="also write the original events: the model's training table, or TABLE",
    )
    mu.add_argument("--tree", help="ROOT tree name (default: Events, or the ntuple's own)")
    mu.add_argument("--compression", choices=COMPRESSION, default="zlib", help="ROOT compression")
    mu.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="dask: one file per partition, OUT_0000.root ...",
    )
    mu.add_argument("--scheduler", help="Dask scheduler address (default: a local cluster)")
    mu.add_argument("--workers", type=int, default=2, help="workers of the local Dask cluster")
    mu.add_argument("--partitions", type=int, help="output files with dask (default: workers)")
    mu.add_argument("--quiet", action="store_true", help="no progress bar")
    mu.add_argument("--force", action="store_true", help="overwrite the output")
    mu.set_defaults(func=_cmd_multiply)

    sp = sub.add_parser(
        "split", help="split an event table at random (training and held-out events)"
    )
    sp.add_argument("table", help="event table")
    part = sp.add_mutually_exclusive_group(required=True)
    part.add_argument("--fraction", type=float, help="share of events in the first part")
    part.add_argument("--n", type=int, help="number of events in the first part")
    sp.add_argument("-o", "--output", required=True, help="first part (e.g. train.parquet)")
    sp.add_argument("--rest", required=True, help="the other events (e.g. holdout.parquet)")
    sp.add_argument("--seed", type=int, default=0, help="seed of the split")
    sp.add_argument("--force", action="store_true", help="overwrite the outputs")
    sp.set_defaults(func=_cmd_split)

    co = sub.add_parser(
        "compare",
        help="train several models on one split and rank them on the same held-out events",
        description="Train every model on the same training events, validate each on the "
        "same held-out events and write a leaderboard (JSON, HTML, mplhep figure) with the "
        "smearing multiplier and the real-vs-real floor as reference rows.",
    )
    co.add_argument("table", help="event table (parquet from `evmult extract`)")
    co.add_argument("--models", required=True, help="comma-separated model families")
    co.add_argument("--train", type=int, help="training events (default: half)")
    co.add_argument("--seed", type=int, default=0, help="seed of split, training, generation")
    co.add_argument(
        "--set",
        type=_parse_model_setting,
        action="append",
        default=[],
        metavar="MODEL:KEY=VALUE",
        help="a model's setting, e.g. vae:latent=8 or flow-vae:preset=fast (repeatable)",
    )
    co.add_argument("-o", "--output", required=True, help="output directory")
    co.add_argument("--quiet", action="store_true", help="no progress lines")
    co.add_argument("--force", action="store_true", help="replace the output directory")
    co.set_defaults(func=_cmd_compare)

    am = sub.add_parser(
        "amplify",
        help="what generated events are worth in real events, at several training sizes",
        description="Train a model on random draws of an event table and measure how many "
        "real events 1x ... 100x its training size in generated events are worth, against "
        "every event not drawn (GANplification). Writes amplification.json, one figure per "
        "training size and amplification.html.",
    )
    am.add_argument("table", help="event table (parquet from `evmult extract`)")
    am.add_argument("-o", "--output", required=True, help="output directory")
    am.add_argument(
        "--sizes",
        type=_numbers,
        default=[1_000, 3_000, 10_000],
        help="training sizes (1000,3000,10000)",
    )
    _worth_options(am)
    _generator_options(am)
    am.add_argument("--repeats", type=int, default=1, help="random draws per size (their spread)")
    am.add_argument("--seed", type=int, default=0, help="seed of the first draw")
    am.add_argument("--quiet", action="store_true", help="no progress lines")
    am.add_argument("--force", action="store_true", help="replace the output directory")
    am.set_defaults(func=_cmd_amplify)

    cl = sub.add_parser(
        "classify",
        help="does multiplying the signal make a classifier better? real vs real + generated",
        description="Hold out test events, train classifiers (bdt, rf, nn) on real signal "
        "samples of increasing size and on the smallest one plus generated (and, as the "
        "baseline, copied) events sharing its yield, and report test AUC, background "
        "rejection at 50 and 80 percent signal efficiency, accuracy, F1 and Cohen's kappa "
        "with their spreads, and the real signal events the augmented training is worth. "
        "With signal tables at several parameter values (--signal FILE=VALUE, repeated), "
        "train the parameterised network (pnn) over the values and the other classifiers "
        "per value, on real events and with the signal or the background multiplied.",
    )
    cl.add_argument(
        "--signal",
        required=True,
        action="append",
        help="signal event table; repeat as FILE=VALUE for a signal at several parameter values",
    )
    cl.add_argument("--background", required=True, help="background event table")
    cl.add_argument("-o", "--output", required=True, help="output directory")
    cl.add_argument(
        "--sizes",
        type=_numbers,
        default=[1_000, 2_000, 4_000, 10_000],
        help="real signal training sizes; the smallest is multiplied (1000,2000,4000,10000)",
    )
    cl.add_argument("--factors", type=_numbers, default=[10], help="generated / real (10)")
    cl.add_argument(
        "--budgets",
        type=_numbers,
        help="real sizes to multiply, each by its own generator (default: the smallest size)",
    )
    cl.add_argument("--classifiers", default="bdt", help="comma-separated: bdt, rf, nn, pnn (bdt)")
    cl.add_argument("--parameter", default="mass", help="the signal parameter's name (mass)")
    cl.add_argument("--size", type=int, help="real signal training events per value (default: all)")
    cl.add_argument(
        "--multiply",
        default="signal,background",
        help="which sides to multiply, each in its own trainings (signal,background)",
    )
    cl.add_argument(
        "--left-out",
        help="a value the pnn does not train on (default: the middle one; none: no value)",
    )
    _generator_options(cl)
    cl.add_argument("--test-fraction", type=float, default=0.3, help="test share (0.3)")
    cl.add_argument("--features", help="comma-separated feature columns (default: all)")
    cl.add_argument("--seed", type=int, default=0, help="seed of splits and trainings")
    cl.add_argument("--quiet", action="store_true", help="no progress lines")
    cl.add_argument("--force", action="store_true", help="replace the output directory")
    cl.set_defaults(func=_cmd_classify)

    wo = sub.add_parser(
        "worth",
        help="what a trained model's events are worth in real events, and how far to multiply",
        description="Generate 1x ... 100x a model's training events and measure what each "
        "sample is worth against real events it never saw; --record keeps the largest useful "
        "factor in the model file, and `evmult multiply` then warns when asked for far more.",
    )
    wo.add_argument("model", help="model file from `evmult train`")
    wo.add_argument("--reference", required=True, help="real events the model never saw")
    wo.add_argument("--train", help="the model's training events (their own worth, for comparison)")
    _worth_options(wo)
    wo.add_argument("--seed", type=int, default=0, help="generation seed")
    wo.add_argument("-o", "--output", help="directory for worth.json and worth.png")
    wo.add_argument("--record", action="store_true", help="keep the result in the model file")
    wo.add_argument("--force", action="store_true", help="replace the output directory")
    wo.set_defaults(func=_cmd_worth)

    mo = sub.add_parser("models", help="list the model families")
    mo.set_defaults(func=_cmd_models)
    return parser


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM (a batch system's kill) into KeyboardInterrupt, so temporary
    outputs are removed as on Ctrl-C (the default action skips every cleanup)."""

    def handler(signum: int, frame: Any) -> None:  # noqa: ARG001
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _show_warning(default: Callable[..., None]) -> Callable[..., None]:
    """Print evmult's own warnings on one line, ``evmult: warning: ...``; others as usual."""
    from evmult.errors import EvmultWarning

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, EvmultWarning):
            print(f"evmult: warning: {message}", file=sys.stderr)
        else:
            default(message, category, *args, **kwargs)

    return show


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evmult`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _sigterm_interrupts(), warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning(warnings.showwarning)
            return int(args.func(args))
    except EvmultError as err:
        print(f"evmult: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("evmult: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `evmult summary T.parquet | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
