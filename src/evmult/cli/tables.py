"""Commands on event tables: ``extract``, ``channels``, ``summary``, ``validate``, ``split``."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from evmult.cli.common import (
    parse_option,
    writable,
)
from evmult.coffea import EXECUTORS
from evmult.io.readers import FORMATS

__all__ = [
    "add_channels",
    "add_extract",
    "add_split",
    "add_summary",
    "add_validate",
    "run_channels",
    "run_extract",
    "run_split",
    "run_summary",
    "run_validate",
]


def add_extract(sub: Any) -> None:
    """The ``extract`` command's parser."""
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
        type=parse_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="selection option, e.g. lead_pt_min=25 (repeatable; see `evmult channels`)",
    )
    ex.add_argument("--force", action="store_true", help="overwrite the output")
    ex.add_argument("--progress", action="store_true", help="show coffea's progress bars")
    ex.set_defaults(func=run_extract)


def add_channels(sub: Any) -> None:
    """The ``channels`` command's parser."""
    ch = sub.add_parser("channels", help="list channels and their selection options")
    ch.set_defaults(func=run_channels)


def add_summary(sub: Any) -> None:
    """The ``summary`` command's parser."""
    su = sub.add_parser(
        "summary",
        help="print a summary table of an event table and plot its features",
    )
    su.add_argument("table", help="event table (parquet from `evmult extract`)")
    su.add_argument("-o", "--output", help="directory for plots and summary.html")
    su.set_defaults(func=run_summary)


def add_validate(sub: Any) -> None:
    """The ``validate`` command's parser."""
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
    va.set_defaults(func=run_validate)


def add_split(sub: Any) -> None:
    """The ``split`` command's parser."""
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
    sp.set_defaults(func=run_split)


def run_extract(args: argparse.Namespace) -> int:
    from evmult.coffea import extract
    from evmult.io.tables import write_table

    out = writable(args.output, force=args.force)
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


def run_channels(args: argparse.Namespace) -> int:  # noqa: ARG001
    from evmult.channels import CHANNELS
    from evmult.processors import PROCESSORS

    for name, channel in CHANNELS.items():
        print(f"{name:15s} {channel.description}")
        opts = dataclasses.asdict(PROCESSORS[name].Options())
        print(" " * 16 + "options: " + ", ".join(f"{k}={v}" for k, v in opts.items()))
    return 0


def run_summary(args: argparse.Namespace) -> int:
    from evmult.summary import summarise

    summary = summarise(args.table, args.output)
    print(summary.text)
    if args.output:
        print(f"plots and summary.html -> {args.output}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
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


def run_split(args: argparse.Namespace) -> int:
    from evmult.io.tables import read_table, split_table, write_table

    first = writable(args.output, force=args.force)
    rest = writable(args.rest, force=args.force)
    a, b = split_table(read_table(args.table), fraction=args.fraction, n=args.n, seed=args.seed)
    for out, part in ((first, a), (rest, b)):
        out.parent.mkdir(parents=True, exist_ok=True)
        write_table(part, out, force=args.force)
    print(f"{len(a):,} events -> {first}, {len(b):,} events -> {rest}")
    return 0
