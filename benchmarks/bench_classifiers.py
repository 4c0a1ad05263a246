"""Does multiplying the signal make a classifier better? Printed numbers on shared samples.

Runs :func:`evmult.classify.classifier_study`: a fixed test share of signal and
background events, real signal training sets of increasing size (the learning curve),
the smallest one multiplied by the default generator (and copied, the baseline), each
classifier trained on each and scored on the test events.

Usage:
    python benchmarks/bench_classifiers.py                       # DarkMachines: WZ vs tt̄ + Z+jets
    python benchmarks/bench_classifiers.py --classifiers bdt,rf,nn --factors 10
    python benchmarks/bench_classifiers.py --budgets 1000,2000,4000,7000   # where the gain vanishes
    python benchmarks/bench_classifiers.py --background-folds 3   # every background event tested
    python benchmarks/bench_classifiers.py --repeats 3   # each classifier trained thrice
    python benchmarks/bench_classifiers.py --pair wz-zll --sizes 1000,2000,4000,10000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import awkward as ak
import numpy as np

from evmult.classify import classifier_study
from evmult.coffea import extract

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def darkmachines(shared: Path, signal: str) -> tuple[ak.Array, ak.Array]:
    """The DarkMachines mixture in the ``inclusive`` channel, split by process."""
    table = extract([shared / "csv" / "darkmachines_mix.csv"], "inclusive")
    is_signal = np.asarray(ak.to_list(table.process)) == signal
    return table[is_signal], table[~is_signal]


def wz_against_zll(shared: Path) -> tuple[ak.Array, ak.Array]:
    """Diboson against Drell–Yan in the ``zll`` selection (Delphes WZ and Z → ℓℓ)."""
    delphes = shared / "delphes"
    return extract([delphes / "delphes_wz.root"], "zll"), extract(
        [delphes / "delphes_zll.root"], "zll"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pair", default="darkmachines", choices=["darkmachines", "wz-zll"], help="the samples"
    )
    parser.add_argument("--signal", default="wz", help="the DarkMachines process taken as signal")
    parser.add_argument("--sizes", default="1000,2000,4000,7000")
    parser.add_argument("--factors", default="10")
    parser.add_argument("--budgets", help="real sizes to multiply (default: the smallest)")
    parser.add_argument("--classifiers", default="bdt,rf,nn")
    parser.add_argument(
        "--background-folds", type=int, default=1, help="K >= 2: every background event tested"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="trainings per classifier and training set"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--output", type=Path, help="write JSON, figures and report.html")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    if args.pair == "wz-zll":
        signal, background = wz_against_zll(args.shared)
    else:
        signal, background = darkmachines(args.shared, args.signal)
    print(f"{args.pair}: {len(signal):,} signal, {len(background):,} background events", flush=True)
    study = classifier_study(
        signal,
        background,
        sizes=[int(s) for s in args.sizes.split(",")],
        factors=[float(f) for f in args.factors.split(",")],
        budgets=[int(b) for b in args.budgets.split(",")] if args.budgets else None,
        classifiers=args.classifiers.split(","),
        settings=dict(s.split("=", 1) for s in args.set),
        background_folds=args.background_folds,
        repeats=args.repeats,
        seed=args.seed,
        progress=lambda line: print(line, flush=True),
    )
    print(study.text)
    if args.output:
        study.write(args.output, force=True)
        print(f"-> {args.output}")


if __name__ == "__main__":
    main()
