"""A short hyper-parameter study, and what it gains on held-out events: the docs' example.

Extracts ``zll`` from the shared ``delphes_zll.root``, splits it (seeded) into training
events and held-out events, runs :func:`evmult.tune.tune` on the training events only
(the C2ST objective holds out its own validation share of them), then trains the
family with its defaults and with the best settings on all training events and
compares the two on the held-out events: the classifier two-sample AUC with its
spread and the real-vs-real floor, and the training time.

Usage:
    python benchmarks/bench_tune.py                       # vae-nf-d, 12 trials
    python benchmarks/bench_tune.py --model vae --trials 20 --storage /tmp/zll.db
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from evmult.coffea import extract
from evmult.io.tables import split_table
from evmult.pipeline import fit
from evmult.tune import tune
from evmult.validation import validate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vae-nf-d")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--objective", default="c2st")
    parser.add_argument("--storage", type=Path, help="the study's file (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args()

    table = extract([args.shared / "delphes" / "delphes_zll.root"], "zll")
    train, holdout = split_table(table, n=args.n_train, seed=args.seed)
    print(f"zll: {len(train):,} train, {len(holdout):,} held out", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        storage = args.storage or Path(tmp) / "study.db"
        start = time.perf_counter()
        result = tune(
            train,
            args.model,
            trials=args.trials,
            storage=storage,
            objective=args.objective,
            seed=args.seed,
        )
        print(f"{result.text}\nstudy: {time.perf_counter() - start:.0f} s", flush=True)
    assert result.best is not None
    for label, settings in (("defaults", {}), ("tuned", result.best["settings"])):
        start = time.perf_counter()
        model = fit(train, model=args.model, refine="off", seed=args.seed, **settings)
        seconds = time.perf_counter() - start
        generated = model.sample(len(holdout), seed=args.seed + 1)
        c = validate(holdout, generated, train=train, seed=args.seed).c2st
        print(
            f"{label:8s} held-out AUC {c['auc']:.3f} ± {c['auc_std']:.3f} (real vs real "
            f"{c['floor_auc']:.3f}), trained in {seconds:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
