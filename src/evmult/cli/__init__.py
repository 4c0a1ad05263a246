"""The ``evmult`` command line: argument parsing only; the work is in the library.

User errors (bad files, branches, options, empty selections) print one line,
``evmult: error: ...``, and exit with status 1; no traceback, no partial output.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from evmult._version import __version__
from evmult.cli import generators, scores, studies, tables, tuning
from evmult.errors import EvmultError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``evmult`` command."""
    parser = argparse.ArgumentParser(
        prog="evmult",
        description="Multiply simulated collider events: extract a channel, learn it, "
        "generate more, validate.",
    )
    parser.add_argument("--version", action="version", version=f"evmult {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tables.add_extract(sub)
    tables.add_channels(sub)
    tables.add_summary(sub)
    tables.add_validate(sub)
    generators.add_train(sub)
    generators.add_multiply(sub)
    tables.add_split(sub)
    generators.add_compare(sub)
    studies.add_amplify(sub)
    studies.add_classify(sub)
    studies.add_worth(sub)
    scores.add_score(sub)
    scores.add_anomaly(sub)
    tuning.add_tune(sub)
    generators.add_models(sub)
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
