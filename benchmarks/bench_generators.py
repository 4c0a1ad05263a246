"""Fidelity and speed of the generators on held-out events, with printed numbers.

For each channel: extract it from the shared sample and run :func:`evmult.compare.compare`:
train on a fixed number of events (seed-1 split and training), generate as many events
as are held out, validate them against the held-out events (classifier AUC, KS, peak,
novelty). Generation speed is measured on one thread, to memory, including decoding
into an event table: the fastest of three timings of 200,000 events.

Usage:
    python benchmarks/bench_generators.py                      # zll, default runs
    python benchmarks/bench_generators.py --channel dplus --models flow-vae,smearing
    python benchmarks/bench_generators.py --models flow-vae --set train.epochs=50
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evmult.coffea import extract
from evmult.compare import compare
from evmult.models.refiner import describe

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

SAMPLES = {  # channel: (file, training events)
    "zll": ("delphes/delphes_zll.root", 20_000),
    "ttbar_semilep": ("delphes/delphes_ttbar.root", 3_000),
    "dplus": ("flat/dplus_kpipi.root", 20_000),
    "wz": ("delphes/delphes_wz.root", 7_000),
}
FEATURES = {  # the classifier inputs; None = every feature
    "zll": [
        *(f"lep{i}_{f}" for i in (1, 2) for f in ("pt", "eta", "phi")),
        "MET_pt",
        "MET_phi",
        "lep1_flavour",
        "nJet",
        "mll",
    ],
}
RUNS = {  # label: (model family, settings)
    "flow-vae": ("flow-vae", {}),
    "flow-vae fast": ("flow-vae", {"preset": "fast"}),
    "flow-vae unrefined": ("flow-vae", {"refine": "off"}),
    "flow-vae mmd": ("flow-vae", {"mmd": 1.0}),
    "vae (prior)": ("vae", {"refine": "off"}),  # the baseline: a plain VAE
    "alpha-vae": ("alpha-vae", {}),
    "vae-nf": ("vae-nf", {}),
    "vae-d": ("vae-d", {}),
    "vae-nf-d": ("vae-nf-d", {}),
    "copula-vae": ("copula-vae", {}),
    "copula-vae-d": ("copula-vae-d", {}),
    "ae-latent": ("ae-latent", {}),
    "ae-latent marginal": ("ae-latent", {"marginal": 10.0}),
    "smearing": ("smearing", {}),
}
DEFAULT_RUNS = "flow-vae,flow-vae fast,vae (prior),smearing"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channel", default="zll", choices=sorted(SAMPLES))
    parser.add_argument("--models", default=DEFAULT_RUNS, help="comma-separated run labels")
    parser.add_argument("--seed", type=int, default=1, help="seed of split, training, sampling")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="added to every run"
    )
    args = parser.parse_args()

    sample, n_train = SAMPLES[args.channel]
    table = extract([args.shared / sample], args.channel)
    print(f"{args.channel}: {len(table):,} events, {n_train:,} train, rest held out", flush=True)
    extra = dict(s.split("=", 1) for s in args.set)
    runs = [
        (label, family, {**settings, **extra})
        for label in args.models.split(",")
        for family, settings in [RUNS[label]]
    ]
    board = compare(
        table,
        runs,
        n_train=n_train,
        seed=args.seed,
        features=FEATURES.get(args.channel),
        rate_events=200_000,
        progress=lambda line: print(line, flush=True),
    )
    for row in board.rows:
        if row["model"] == "real vs real":
            print(f"{'real vs real':14s} AUC {row['auc']:.3f}±{row['auc_std']:.3f}")
            continue
        peak = "; ".join(
            f"{k} {v['shift']:+.4g} GeV, width ×{v['width_ratio']:.3f}"
            for k, v in row["peaks"].items()
        )
        print(
            f"{row['model']:14s} AUC {row['auc']:.3f}±{row['auc_std']:.3f}"
            f"  max KS {row['max_ks']:.3f} ({row['max_ks_feature']})  mean KS {row['mean_ks']:.3f}"
            f"  novelty {row['novelty']:.3f}  train {row['train_s']:.0f} s"
            f"  {row['events_per_s']:,.0f} ev/s/thread  {peak}"
        )
        if row.get("refiner"):
            print(f"{'':14s} refiner: {describe(row['refiner'])}")
    if args.json:
        args.json.write_text(json.dumps({"channel": args.channel, "rows": board.rows}, indent=1))


if __name__ == "__main__":
    main()
