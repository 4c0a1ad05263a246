"""What the commands share: output paths refused up front, the options of a generator a
study trains and of a measure of worth."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evmult.errors import EvmultError

__all__ = [
    "generator_options",
    "generator_settings",
    "numbers",
    "parse_option",
    "worth_options",
    "writable",
    "writable_dir",
]


def parse_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        msg = f"expected KEY=VALUE, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return key.strip(), value.strip()


def numbers(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        msg = f"expected comma-separated numbers, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not values:
        msg = f"expected comma-separated numbers, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return values


def writable(path: str, *, force: bool) -> Path:
    """The output path, refused up front if it exists and ``--force`` is not given (so
    no work is done for an output that would not be written)."""
    out = Path(path)
    if out.exists() and not force:
        msg = f"{out}: exists; pass --force to overwrite"
        raise EvmultError(msg)
    return out


def writable_dir(path: str, *, force: bool) -> Path:
    """The output directory, refused up front if it holds files and ``--force`` is not
    given."""
    out = Path(path)
    if out.is_dir() and any(out.iterdir()) and not force:
        msg = f"{out}: exists and is not empty; pass --force to replace it"
        raise EvmultError(msg)
    return out


def generator_options(parser: argparse.ArgumentParser) -> None:
    """The options of a generator a study trains, shared by ``amplify`` and ``classify``."""
    parser.add_argument("--model", default="flow-vae", help="model family (default flow-vae)")
    parser.add_argument(
        "--preset", choices=["fast", "mixture", "small"], help="a preset of the default model"
    )
    parser.add_argument(
        "--refine", choices=["auto", "on", "off"], help="refinement (auto; ttbar_semilep: off)"
    )
    parser.add_argument(
        "--set",
        type=parse_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model setting, e.g. train.epochs=50 (repeatable)",
    )


def generator_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``--set``, ``--preset`` and ``--refine`` as :func:`evmult.fit` takes them."""
    settings: dict[str, Any] = dict(args.set)
    if args.preset:
        settings["preset"] = args.preset
    if args.refine:
        settings["refine"] = args.refine
    return settings


def worth_options(parser: argparse.ArgumentParser) -> None:
    """The options of a measure of worth, shared by ``amplify`` and ``worth``."""
    parser.add_argument(
        "--factors",
        type=numbers,
        default=[1, 3, 10, 30, 100],
        help="generated / training (1,3,10,30,100)",
    )
    parser.add_argument("--bins", type=int, default=10, help="equal-probability bins per feature")
    parser.add_argument("--features", help="comma-separated feature columns (default: all)")
