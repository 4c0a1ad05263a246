"""The studies: ``amplify``, ``classify``, ``worth``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evmult.classify_metrics import SIGNAL_GENERATORS
from evmult.cli.common import (
    generator_options,
    generator_settings,
    numbers,
    worth_options,
    writable_dir,
)
from evmult.errors import InputError

__all__ = ["add_amplify", "add_classify", "add_worth", "run_amplify", "run_classify", "run_worth"]


def add_amplify(sub: Any) -> None:
    """The ``amplify`` command's parser."""
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
        type=numbers,
        default=[1_000, 3_000, 10_000],
        help="training sizes (1000,3000,10000)",
    )
    worth_options(am)
    generator_options(am)
    am.add_argument("--repeats", type=int, default=1, help="random draws per size (their spread)")
    am.add_argument("--seed", type=int, default=0, help="seed of the first draw")
    am.add_argument("--quiet", action="store_true", help="no progress lines")
    am.add_argument("--force", action="store_true", help="replace the output directory")
    am.set_defaults(func=run_amplify)


def add_classify(sub: Any) -> None:
    """The ``classify`` command's parser."""
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
        type=numbers,
        default=[1_000, 2_000, 4_000, 10_000],
        help="real signal training sizes; the smallest is multiplied (1000,2000,4000,10000)",
    )
    cl.add_argument("--factors", type=numbers, default=[10], help="generated / real (10)")
    cl.add_argument(
        "--budgets",
        type=numbers,
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
        "--signal-generator",
        choices=SIGNAL_GENERATORS,
        help="the signal at several values is multiplied by one generator conditioned on the "
        "value (conditional, the default) or by one per value",
    )
    cl.add_argument(
        "--left-out",
        help="a value the pnn does not train on (default: the middle one; none: no value)",
    )
    generator_options(cl)
    cl.add_argument("--test-fraction", type=float, default=0.3, help="test share (0.3)")
    cl.add_argument(
        "--background-folds",
        type=int,
        default=1,
        help="K >= 2: test every background event, training each classifier K times without "
        "one fold (resolves large rejections; one signal table only) (1: a test share)",
    )
    cl.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="trainings of each classifier per training set, with other seeds: figures "
        "averaged, the spread between them in every spread and gain (1)",
    )
    cl.add_argument("--features", help="comma-separated feature columns (default: all)")
    cl.add_argument("--seed", type=int, default=0, help="seed of splits and trainings")
    cl.add_argument("--quiet", action="store_true", help="no progress lines")
    cl.add_argument("--force", action="store_true", help="replace the output directory")
    cl.set_defaults(func=run_classify)


def add_worth(sub: Any) -> None:
    """The ``worth`` command's parser."""
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
    worth_options(wo)
    wo.add_argument("--seed", type=int, default=0, help="generation seed")
    wo.add_argument("-o", "--output", help="directory for worth.json and worth.png")
    wo.add_argument("--record", action="store_true", help="keep the result in the model file")
    wo.add_argument("--force", action="store_true", help="replace the output directory")
    wo.set_defaults(func=run_worth)


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


def run_amplify(args: argparse.Namespace) -> int:
    from evmult.amplify import amplification_study
    from evmult.amplify_report import write_study

    out = writable_dir(args.output, force=args.force)
    study = amplification_study(
        args.table,
        sizes=[int(s) for s in args.sizes],
        factors=args.factors,
        model=args.model,
        settings=generator_settings(args),
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


def run_classify(args: argparse.Namespace) -> int:
    from evmult.classify import ClassifierStudy, classifier_study
    from evmult.classify_parameterised import ParameterisedStudy, parameterised_study

    out = writable_dir(args.output, force=args.force)
    common = {
        "factors": args.factors,
        "classifiers": [c.strip() for c in args.classifiers.split(",") if c.strip()],
        "model": args.model,
        "settings": generator_settings(args),
        "test_fraction": args.test_fraction,
        "repeats": args.repeats,
        "features": args.features.split(",") if args.features else None,
        "seed": args.seed,
        "progress": None if args.quiet else print,
    }
    values = _signal_values(args.signal)
    study: ClassifierStudy | ParameterisedStudy
    if values is None:
        if args.signal_generator:
            msg = "--signal-generator is for a signal at several values (--signal FILE=VALUE, repeated)"
            raise InputError(msg)
        study = classifier_study(
            args.signal[0],
            args.background,
            sizes=[int(s) for s in args.sizes],
            budgets=[int(b) for b in args.budgets] if args.budgets else None,
            background_folds=args.background_folds,
            **common,
        )
    else:
        if args.background_folds != 1:
            msg = "--background-folds is for one signal table; the signal at several values has a test share"
            raise InputError(msg)
        study = parameterised_study(
            values,
            args.background,
            parameter=args.parameter,
            size=args.size,
            multiply=[m.strip() for m in args.multiply.split(",") if m.strip()],
            left_out=_left_out(args.left_out, sorted(values)),
            signal_generator=args.signal_generator or "conditional",
            **common,
        )
    study.write(out, force=args.force)
    print(study.text)
    print(f"classifiers.json, summary.txt, figures and report.html -> {out}")
    return 0


def run_worth(args: argparse.Namespace) -> int:
    from evmult.amplify import worth_curve
    from evmult.amplify_report import describe, write_curve
    from evmult.io.files import file_sha256
    from evmult.pipeline import load

    out = writable_dir(args.output, force=args.force) if args.output else None
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
        write_curve(curve, out, title=f"{model.info['channel']}: {model.title}", force=args.force)
        print(f"worth.json and worth.png -> {out}")
    if args.record:
        reference = Path(args.reference)
        record["reference"] = {"path": str(reference.resolve()), "sha256": file_sha256(reference)}
        model.info["worth"] = record
        model.save(args.model, force=True)
        print(f"recorded in {args.model}")
    return 0
