"""Commands on generators: ``models``, ``train``, ``multiply``, ``compare``."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from evmult.cli.common import (
    parse_option,
    writable,
    writable_dir,
)
from evmult.errors import EvmultError
from evmult.io.writers import COMPRESSION

__all__ = [
    "add_compare",
    "add_models",
    "add_multiply",
    "add_train",
    "describe_calibration",
    "run_compare",
    "run_models",
    "run_multiply",
    "run_train",
]


def add_models(sub: Any) -> None:
    """The ``models`` command's parser."""
    mo = sub.add_parser("models", help="list the model families")
    mo.set_defaults(func=run_models)


def add_train(sub: Any) -> None:
    """The ``train`` command's parser."""
    tr = sub.add_parser(
        "train",
        help="learn a channel's events from an event table (writes a model file)",
        description="Fit a generator to an event table. The model file holds the weights, "
        "the encoding, the channel and the provenance; loading it runs no code.",
    )
    tr.add_argument("table", help="training event table (parquet from `evmult extract`)")
    tr.add_argument("-o", "--output", required=True, help="output MODEL file (e.g. zll.evmult)")
    tr.add_argument(
        "--model", help="model family (default flow-vae, or the --config's; see `evmult models`)"
    )
    tr.add_argument(
        "--config",
        metavar="BEST.json",
        help="the model and settings `evmult tune` found best; --model and --set override",
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
        "auto (default; ttbar_semilep: off) where it tells them apart, on, off",
    )
    tr.add_argument("--epochs", type=int, help="maximum training epochs")
    tr.add_argument("--seed", type=int, default=0, help="training seed")
    tr.add_argument("--device", help="auto (default), cpu or cuda[:i]")
    tr.add_argument("--amp", action="store_true", help="bfloat16 mixed precision")
    tr.add_argument(
        "--set",
        type=parse_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model setting, e.g. latent=8 or train.lr=5e-4 (repeatable)",
    )
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.add_argument("--force", action="store_true", help="overwrite the output")
    tr.set_defaults(func=run_train)


def add_multiply(sub: Any) -> None:
    """The ``multiply`` command's parser."""
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
    mu.set_defaults(func=run_multiply)


def add_compare(sub: Any) -> None:
    """The ``compare`` command's parser."""
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
        type=parse_model_setting,
        action="append",
        default=[],
        metavar="MODEL:KEY=VALUE",
        help="a model's setting, e.g. vae:latent=8 or flow-vae:preset=fast (repeatable)",
    )
    co.add_argument("-o", "--output", required=True, help="output directory")
    co.add_argument("--quiet", action="store_true", help="no progress lines")
    co.add_argument("--force", action="store_true", help="replace the output directory")
    co.set_defaults(func=run_compare)


def parse_model_setting(text: str) -> tuple[str, str, str]:
    model, sep, rest = text.partition(":")
    key, eq, value = rest.partition("=")
    if not (sep and eq and model and key):
        msg = f"expected MODEL:KEY=VALUE (e.g. vae:latent=8), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return model, key, value


def run_models(args: argparse.Namespace) -> int:  # noqa: ARG001
    from evmult.models import DEFAULT_MODEL, MODELS

    for name, family in MODELS.items():
        doc = (family.__doc__ or "").strip().splitlines()[0]
        print(f"{name:12s} {doc}" + ("  [default]" if name == DEFAULT_MODEL else ""))
        print(
            " " * 13 + "settings: " + ", ".join(f.name for f in dataclasses.fields(family.Config))
        )
    return 0


def run_train(args: argparse.Namespace) -> int:
    from evmult.cli.tuning import read_config
    from evmult.models import DEFAULT_MODEL
    from evmult.pipeline import fit

    out = writable(args.output, force=args.force)
    config = read_config(args.config) if args.config else {}
    settings = dict(config.get("settings", {})) | dict(args.set)
    for key, value in (
        ("train.epochs", args.epochs),
        ("train.device", args.device),
        ("train.amp", args.amp or None),
    ):
        if value is not None:
            settings[key] = value
    model = fit(
        args.table,
        model=args.model or config.get("model", DEFAULT_MODEL),
        preset=args.preset,
        condition=args.condition,
        refine=args.refine,
        seed=args.seed,
        progress=not args.quiet,
        **settings,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out, force=args.force)
    runs: dict[str, list[dict[str, Any]]] = {}
    for record in model.info.get("members", [model.info]):  # an ensemble's: one per member
        for k, v in record.items():
            if isinstance(v, dict) and "seconds" in v:
                runs.setdefault(k, []).append(v)
    timing = ", ".join(
        f"{k} {'+'.join(str(v['epochs_run']) for v in vs)} epochs "
        f"{sum(v['seconds'] for v in vs):.0f} s on {vs[0]['device']}"
        for k, vs in runs.items()
    )
    print(
        f"{model.title} on {model.info['n_train']:,} {model.info['channel']} events ({timing}) -> {out}"
    )
    if model.labels:
        counts = ", ".join(f"{k} {v['n']:,}" for k, v in model.info["labels"].items())
        print(f"conditioned on {args.condition}: {counts}")
    calibration = model.info.get("calibration")
    if calibration:
        print(f"calibrated: {describe_calibration(calibration)}")
    if model.refiner is not None:
        from evmult.models.refiner import describe

        print(f"refiner: {describe(model.refiner.record)}")
    return 0


def describe_calibration(calibration: dict[str, Any]) -> str:
    """One line on what :meth:`evmult.encoding.Encoding.calibrate` set, from its record.

    Example:
        >>> describe_calibration({"nJet": [0.4, 1.6], "m3l": [[4.8, 5.0], [4.9, 5.1]]})
        'nJet at the training shares; m3l at the training quantiles'
    """
    masses = [k for k, v in calibration.items() if v and isinstance(v[0], list)]
    integers = [k for k in calibration if k not in masses]
    parts = [
        f"{', '.join(names)} at the training {what}"
        for names, what in ((integers, "shares"), (masses, "quantiles"))
        if names
    ]
    return "; ".join(parts)


def run_multiply(args: argparse.Namespace) -> int:
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
        writable(args.output, force=args.force)
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        out = write_generated(args.model, args.output, progress=not args.quiet, **common)
        where = out["path"]
    extra = f" + {out['original']:,} original" if out["original"] else ""
    print(
        f"{out['generated']:,} generated{extra} events, sum of weights "
        f"{out['sum_weights']:.6g} -> {where}"
    )
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from evmult.compare import compare

    out = writable_dir(args.output, force=args.force)
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
