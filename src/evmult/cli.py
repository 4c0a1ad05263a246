"""The ``evmult`` command line: argument parsing only; the work is in the library.

User errors (bad files, branches, options, empty selections) print one line,
``evmult: error: ...``, and exit with status 1; no traceback, no partial output.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from evmult._version import __version__
from evmult.errors import EvmultError

__all__ = ["main"]


def _parse_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        msg = f"expected KEY=VALUE, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return key.strip(), value.strip()


def _cmd_extract(args: argparse.Namespace) -> int:
    from evmult.coffea import extract
    from evmult.table import write_table

    out = Path(args.output)
    if out.exists() and not args.force:
        msg = f"{out}: exists; pass --force to overwrite"
        raise EvmultError(msg)
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
    from evmult.table import atomic_directory
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``evmult`` command."""
    from evmult.coffea import EXECUTORS
    from evmult.readers import FORMATS

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evmult`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
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
