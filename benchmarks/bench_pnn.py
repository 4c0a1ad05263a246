"""A tt̄ resonance of unknown mass: the parameterised network against one classifier per
mass, with and without multiplied events. Printed numbers on shared samples.

Runs :func:`evmult.classify_parameterised.parameterised_study` in ``ttbar_semilep``:
Z′ → tt̄ at 500, 750, 1000, 1250 and 1500 GeV (``delphes_zprime_m*.root``) as the signal
against SM tt̄ (``delphes_ttbar.root`` + ``delphes_ttbar_b.root``); a test share of
every sample held out; the pNN trained over every mass but the left-out one, the other
classifiers per mass; the signal (a generator per mass) or the background multiplied.

Usage:
    python benchmarks/bench_pnn.py --multiply signal --factors 10
    python benchmarks/bench_pnn.py --multiply background --factors 3 --classifiers pnn,bdt
    python benchmarks/bench_pnn.py --multiply signal --factors 10 --signal-generator per-value
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evmult.classify_parameterised import parameterised_study
from evmult.coffea import extract

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MASSES = (500, 750, 1000, 1250, 1500)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masses", default=",".join(map(str, MASSES)))
    parser.add_argument("--left-out", type=float, default=1000.0)
    parser.add_argument("--multiply", default="signal", help="signal, background or both")
    parser.add_argument("--factors", default="10")
    parser.add_argument("--classifiers", default="pnn,bdt,rf,nn")
    parser.add_argument(
        "--signal-generator", default="conditional", choices=["conditional", "per-value"]
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="trainings per classifier and training set"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--output", type=Path, help="write JSON, figures and report.html")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    delphes = args.shared / "delphes"
    masses = [int(m) for m in args.masses.split(",")]
    signals = {m: extract([delphes / f"delphes_zprime_m{m}.root"], "ttbar_semilep") for m in masses}
    background = extract(
        [delphes / "delphes_ttbar.root", delphes / "delphes_ttbar_b.root"], "ttbar_semilep"
    )
    sizes = ", ".join(f"{m}: {len(t):,}" for m, t in signals.items())
    print(f"Z' signal events by mass {sizes}; {len(background):,} tt̄ events", flush=True)
    study = parameterised_study(
        signals,
        background,
        parameter="m(Z') [GeV]",
        factors=[float(f) for f in args.factors.split(",")],
        multiply=["signal", "background"] if args.multiply == "both" else [args.multiply],
        classifiers=args.classifiers.split(","),
        left_out=args.left_out,
        settings=dict(s.split("=", 1) for s in args.set),
        signal_generator=args.signal_generator,
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
