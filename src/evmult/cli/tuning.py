"""Hyper-parameter optimisation: ``tune``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evmult.cli.common import parse_option, writable_dir
from evmult.errors import InputError

__all__ = ["add_tune", "read_config", "run_tune"]


def add_tune(sub: Any) -> None:
    """The ``tune`` command's parser."""
    tu = sub.add_parser(
        "tune",
        help="optimise a model family's settings on an event table (optuna)",
        description="Run an optuna study of a family's settings: each trial trains the "
        "family on the table and is scored by its validation loss (loss) or by the "
        "classifier two-sample AUC of its events against a validation split (c2st). The "
        "study lives in the --storage SQLite file: the same command run again continues "
        "it, up to --trials finished trials. Writes best.json (for `evmult train --config`), "
        "trials.csv, summary.txt and figures of the history and parameter importances.",
    )
    tu.add_argument("table", help="training event table (never the final test events)")
    tu.add_argument("--model", default="flow-vae", help="model family (default flow-vae)")
    tu.add_argument("--trials", type=int, default=20, help="finished trials to reach (20)")
    tu.add_argument("--storage", required=True, help="the study's SQLite file (STUDY.db)")
    tu.add_argument("--study", help="the study's name in that file (evmult-MODEL-OBJECTIVE)")
    tu.add_argument(
        "--objective",
        choices=["loss", "c2st"],
        help="loss (default) or c2st (the only one for vae-d, vae-nf-d, copula-vae-d)",
    )
    tu.add_argument(
        "--space",
        help='JSON file of search-space changes: {"latent": {"type": "int", "low": 2, '
        '"high": 6}, "beta": null}',
    )
    tu.add_argument(
        "--set",
        type=parse_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting every trial uses, e.g. train.epochs=30 (repeatable)",
    )
    tu.add_argument("--timeout", type=float, help="start no trial after this many seconds")
    tu.add_argument("--validation", type=float, default=0.2, help="c2st validation share")
    tu.add_argument("--seed", type=int, default=0, help="seed of sampler, split and training")
    tu.add_argument("-o", "--output", required=True, help="output directory")
    tu.add_argument("--force", action="store_true", help="replace the output directory")
    tu.set_defaults(func=run_tune)


def read_config(path: str | Path) -> dict[str, Any]:
    """The ``model`` and ``settings`` of a ``best.json`` that ``evmult tune`` wrote.

    Raises:
        InputError: for a missing or unreadable file, or one without those keys.
    """
    file = Path(path)
    config = _json_file(file, "a configuration")
    if not isinstance(config, dict) or not isinstance(config.get("settings"), dict):
        msg = f"{file}: holds no settings (write one with `evmult tune`)"
        raise InputError(msg)
    return config


def run_tune(args: argparse.Namespace) -> int:
    from evmult.tune import tune

    out = writable_dir(args.output, force=args.force)
    space = read_config_space(args.space) if args.space else None
    result = tune(
        args.table,
        args.model,
        trials=args.trials,
        storage=args.storage,
        study_name=args.study,
        objective=args.objective,
        space=space,
        settings=dict(args.set),
        timeout=args.timeout,
        validation=args.validation,
        seed=args.seed,
    )
    print(result.text)
    result.write(out, force=args.force)
    print(f"best.json, trials.csv, summary.txt and figures -> {out}")
    return 0


def read_config_space(path: str | Path) -> dict[str, Any]:
    """A search-space file: JSON of parameter -> distribution or null.

    Raises:
        InputError: for a missing or unreadable file, or one that is no JSON object.
    """
    file = Path(path)
    space = _json_file(file, "a search space")
    if not isinstance(space, dict):
        msg = f"{file}: a search space is a JSON object of parameter -> distribution"
        raise InputError(msg)
    return space


def _json_file(file: Path, what: str) -> Any:
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError) as err:
        msg = f"{file}: cannot read {what}: {err}"
        raise InputError(msg) from None
