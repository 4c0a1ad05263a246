"""What generated events are worth in real events, at several training sizes.

Runs :func:`evmult.amplify.amplification_study` on a shared sample: for each training
size, the training events are drawn at random (one draw per repeat), the model is
trained, 1× … 100× the training size is generated, and the worth of each sample is
measured against every event not drawn (10 equal-probability bins per feature, absolute
azimuths not counted). Prints the summary and the amplification per feature at the
largest useful factor; writes JSON, figures and HTML with ``--output``.

Usage:
    python benchmarks/bench_amplification.py --channel zll --sizes 2000 --repeats 5
    python benchmarks/bench_amplification.py --channel zll --preset small --sizes 2000,5000
    python benchmarks/bench_amplification.py --channel ttbar_semilep --sizes 2000
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evmult.amplify import amplification_study
from evmult.amplify_report import write_study
from evmult.coffea import extract

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

SAMPLES = {  # channel: files pooled into one table
    "zll": ["delphes/delphes_zll.root"],
    "dplus": ["flat/dplus_kpipi.root"],
    "ttbar_semilep": ["delphes/delphes_ttbar.root", "delphes/delphes_ttbar_b.root"],
    "wz": ["delphes/delphes_wz.root"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channel", default="zll", choices=sorted(SAMPLES))
    parser.add_argument("--sizes", default="2000", help="comma-separated training sizes")
    parser.add_argument("--factors", default="1,3,10,30,100")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--preset", help="a preset of the default model (e.g. small)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first draw")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--output", type=Path, help="write JSON, figures and HTML here")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a model setting"
    )
    args = parser.parse_args()

    table = extract([args.shared / f for f in SAMPLES[args.channel]], args.channel)
    settings = dict(s.split("=", 1) for s in args.set)
    if args.preset:
        settings["preset"] = args.preset
    print(f"{args.channel}: {len(table):,} events; settings {settings or 'default'}", flush=True)
    study = amplification_study(
        table,
        sizes=[int(s) for s in args.sizes.split(",")],
        factors=[float(f) for f in args.factors.split(",")],
        settings=settings,
        repeats=args.repeats,
        seed=args.seed,
        progress=lambda line: print(line, flush=True),
    )
    print(study.text)
    for row in study.summary():
        factors = ", ".join(
            f"×{f:g} {v['amplification']:.2f}±{v['spread']:.2f}" for f, v in row["factors"].items()
        )
        own = row.get("training", {})
        print(
            f"{row['n_train']:,} train ({row['repeats']} draws): {factors}; training sample "
            f"itself {own.get('amplification', float('nan')):.2f}±{own.get('spread', 0):.2f}; "
            f"asymptote {row['asymptotic_amplification']:.2f}; resolution {row['resolution']:.1f}; "
            f"seconds {[round(s) for s in study.train_seconds[row['n_train']]]}"
        )
        best = row["at_useful_factor"]
        counted = study.curves[row["n_train"]][0].counted
        print(
            f"  per feature at ×{best['factor']:g}: "
            + ", ".join(f"{k} {v:.2f}" for k, v in best["per_feature"].items() if k in counted)
        )
    if args.output:
        write_study(study, args.output, force=True)
        print(f"-> {args.output}")


if __name__ == "__main__":
    main()
