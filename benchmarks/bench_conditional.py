"""One conditional model for a mixture of processes: per-process fidelity and yields.

Extracts the DarkMachines-format CSV of the shared data with the ``inclusive`` channel,
splits it in half (seeded), trains one model conditioned on ``process`` on the first
half and, for every process, generates as many events as the other half holds of that
process and validates them against those held-out events alone (classifier AUC, KS,
novelty against that process's training events). Yields per process are compared with
the training sample's.

Usage:
    python benchmarks/bench_conditional.py                    # flow-vae, defaults
    python benchmarks/bench_conditional.py --model vae --set train.epochs=50
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import awkward as ak

from evmult.coffea import extract
from evmult.compare import generation_rate
from evmult.io.tables import split_table
from evmult.models.refiner import describe
from evmult.pipeline import fit, load
from evmult.validation import validate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=SHARED / "csv" / "darkmachines_mix.csv")
    parser.add_argument("--model", default="flow-vae")
    parser.add_argument("--preset")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--seed", type=int, default=1, help="seed of split, training, sampling")
    parser.add_argument("--train-fraction", type=float, default=0.5)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument("--save", type=Path, help="also save the model file")
    parser.add_argument("--load", type=Path, help="validate this model file instead of training")
    args = parser.parse_args()

    table = extract([args.csv], "inclusive")
    train, holdout = split_table(table, fraction=args.train_fraction, seed=args.seed)
    print(f"inclusive: {len(table):,} events, {len(train):,} train, {len(holdout):,} held out")
    settings = dict(s.split("=", 1) for s in args.set)
    start = time.perf_counter()
    if args.load:
        model = load(args.load)
    else:
        model = fit(
            train,
            model=args.model,
            preset=args.preset,
            condition="process",
            seed=args.seed,
            progress=False,
            **settings,
        )
        if args.save:
            model.save(args.save, force=True)
    train_s = time.perf_counter() - start
    print(f"{model.name} conditioned on process: trained in {train_s:.0f} s", flush=True)
    if "vae" in model.info:
        record = model.info["vae"]
        print(f"best validation epoch {record['best_epoch']} of {record['epochs_run']} run")
    if model.refiner is not None:
        print(f"refiner: {describe(model.refiner.record)}")
    rows = []
    for label in model.labels:
        real = holdout[holdout.process == label]
        seen = train[train.process == label]
        gen = model.sample(len(real), seed=args.seed, label=label)
        rate = generation_rate(model, len(real), label=label)
        report = validate(real, gen, train=seen, seed=args.seed)
        ks = [f["ks"] for f in report.features]
        worst = sorted(report.features, key=lambda f: -f["ks"])[:4]
        row = {
            "process": label,
            "n_train": len(seen),
            "n_holdout": len(real),
            "auc": report.c2st["auc"],
            "auc_std": report.c2st["auc_std"],
            "real_vs_real": report.c2st.get("floor_auc"),
            "max_ks": max(ks),
            "worst": ", ".join(f"{f['name']} {f['ks']:.3f}" for f in worst),
            "rejected": gen.attrs["evmult"]["generated"]["rejected_fraction"],
            "novelty": (report.novelty or {}).get("ratio"),
            "train_yield": model.info["labels"][label]["yield"],
            "generated_yield": float(ak.sum(gen.weight)),
            "events_per_s": rate,
        }
        rows.append(row)
        print(
            f"{label:8s} AUC {row['auc']:.3f}±{row['auc_std']:.3f} (real vs real "
            f"{row['real_vs_real']:.3f})  max KS {row['max_ks']:.3f}"
            f"  novelty {row['novelty']:.3f}  yield {row['generated_yield']:.1f}"
            f" (train {row['train_yield']:.1f})  {rate:,.0f} ev/s/thread, {row['rejected']:.1%} redrawn\n"
            f"         largest KS: {row['worst']}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "train_s": train_s, "rows": rows}))


if __name__ == "__main__":
    main()
