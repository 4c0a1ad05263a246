"""The generator as a classifier: ``score`` and ``anomaly``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from evmult.cli.common import writable, writable_dir
from evmult.errors import InputError

__all__ = ["add_anomaly", "add_score", "run_anomaly", "run_score", "sample_spec"]


def add_score(sub: Any) -> None:
    """The ``score`` command's parser."""
    sc = sub.add_parser(
        "score",
        help="anomaly scores of events from a model file, as columns or ROOT branches",
        description="Score every event of an event table with a trained model (higher: "
        "less like its training events) and write the events with their scores: "
        "OUT.parquet gets columns evmult_score_<name>, OUT.root the channel's layout "
        "(what your processor reads) with branches evmult_score_<name>; the same events "
        "in the same order.",
    )
    sc.add_argument("model", help="model file from `evmult train`")
    sc.add_argument("table", help="event table of the model's channel (`evmult extract`)")
    sc.add_argument("-o", "--output", required=True, help="OUT.parquet or OUT.root")
    _score_options(sc)
    sc.add_argument("--tree", help="ROOT tree name (default: Events, or the ntuple's own)")
    sc.add_argument("--force", action="store_true", help="overwrite the output")
    sc.set_defaults(func=run_score)


def add_anomaly(sub: Any) -> None:
    """The ``anomaly`` command's parser."""
    an = sub.add_parser(
        "anomaly",
        help="how well a model's anomaly scores find a signal in a background",
        description="Score background events the model never trained on and one or more "
        "signal samples, and report per score the ROC AUC, the signal efficiency at "
        "background efficiencies 1e-2 and 1e-3 and the significance improvement "
        "eps_S/sqrt(eps_B) there, with spreads over Poisson resamples. A sample is "
        "TABLE or TABLE:PROCESS[,PROCESS...] (the events of those processes, e.g. of a "
        "DarkMachines file). Writes anomaly.json, summary.txt, a ROC figure per signal "
        "and report.html.",
    )
    an.add_argument("model", help="model file, trained on background events")
    an.add_argument("--background", required=True, help="held-out background: TABLE[:PROCESSES]")
    an.add_argument(
        "--signal", required=True, action="append", help="signal: TABLE[:PROCESSES]; repeatable"
    )
    an.add_argument("-o", "--output", required=True, help="output directory")
    _score_options(an)
    an.add_argument("--bootstrap", type=int, default=100, help="resamples for the spreads")
    an.add_argument("--force", action="store_true", help="replace the output directory")
    an.set_defaults(func=run_anomaly)


def _score_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scores", help="comma-separated scores (default: every one the model gives)"
    )
    parser.add_argument("--draws", type=int, default=8, help="noise draws averaged per score")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise draws")


def sample_spec(spec: str) -> tuple[str, ak.Array]:
    """``(label, events)`` of ``TABLE`` or ``TABLE:PROCESS[,PROCESS...]``.

    Raises:
        InputError: for a missing table, one without a process column, or processes
            that select no event.
    """
    from evmult.io.tables import as_table

    path, _, processes = spec.partition(":")
    table = as_table(path)
    if not processes:
        return Path(path).stem, table
    wanted = processes.split(",")
    if "process" not in ak.fields(table):
        msg = f"{path}: has no process column to select {processes!r} from"
        raise InputError(msg)
    process = np.asarray(ak.to_list(table.process), dtype=str)
    keep = np.isin(process, wanted)
    if not keep.any():
        found = sorted(set(process))
        msg = f"{path}: no event of process {processes!r}; it holds {', '.join(found)}"
        raise InputError(msg)
    return "+".join(wanted), ak.Array(table[keep], attrs=table.attrs)


def _names(args: argparse.Namespace) -> list[str] | None:
    return args.scores.split(",") if args.scores else None


def run_score(args: argparse.Namespace) -> int:
    from evmult.anomaly import write_scored
    from evmult.io.tables import as_table
    from evmult.pipeline import load

    out = writable(args.output, force=args.force)
    model = load(args.model)
    table = as_table(args.table)
    write_scored(
        model,
        table,
        out,
        _names(args),
        draws=args.draws,
        seed=args.seed,
        tree=args.tree,
        model_file=args.model,
        force=args.force,
    )
    names = _names(args) or list(model.available_scores())
    print(f"{len(table):,} events scored ({', '.join(names)}) -> {out}")
    return 0


def run_anomaly(args: argparse.Namespace) -> int:
    from evmult.anomaly import anomaly_study
    from evmult.pipeline import load

    out = writable_dir(args.output, force=args.force)
    model = load(args.model)
    _, background = sample_spec(args.background)
    signals = dict(sample_spec(s) for s in args.signal)
    if len(signals) != len(args.signal):
        msg = "two signal samples have the same name; give them tables of different names"
        raise InputError(msg)
    study = anomaly_study(
        model,
        background,
        signals,
        _names(args),
        draws=args.draws,
        seed=args.seed,
        bootstrap=args.bootstrap,
    )
    study.write(out, force=args.force)
    print(study.text)
    print(f"anomaly.json, summary.txt, report.html -> {out}")
    return 0
