"""Fidelity and speed of the generators on held-out events, with printed numbers.

For each channel: extract it from the shared sample, train on a fixed number of events
(seed 1 split), generate as many events as are held out, and validate them against the
held-out events (classifier AUC, KS, peak, novelty). Generation speed is measured on one
thread, to memory, including decoding into an event table.

Usage:
    python benchmarks/bench_generators.py                      # zll, all models
    python benchmarks/bench_generators.py --channel dplus --models flow-vae,smearing
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from evmult.coffea import extract
from evmult.models import Generator
from evmult.pipeline import PRESETS, fit
from evmult.table import split_table
from evmult.validation import validate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

SAMPLES = {  # channel: (file, training events)
    "zll": ("delphes/delphes_zll.root", 20_000),
    "ttbar_semilep": ("delphes/delphes_ttbar.root", 3_000),
    "dplus": ("flat/dplus_kpipi.root", 20_000),
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
    "flow-vae fast": ("flow-vae", PRESETS["fast"]),
    "flow-vae mmd": ("flow-vae", {"mmd": 1.0}),
    "vae (prior)": ("vae", {}),
    "smearing": ("smearing", {}),
}


def generation_rate(model: Generator, n: int = 200_000) -> float:
    """Events per second on one thread, to memory, decoded into an event table."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.sample(10_000, seed=0)  # warm-up
        start = time.perf_counter()
        model.sample(n, seed=1)
        return n / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channel", default="zll", choices=sorted(SAMPLES))
    parser.add_argument("--models", default=",".join(RUNS), help="comma-separated run labels")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()

    sample, n_train = SAMPLES[args.channel]
    table = extract([args.shared / sample], args.channel)
    train, holdout = split_table(table, n=n_train, seed=1)
    print(f"{args.channel}: {len(table):,} events, {len(train):,} train, {len(holdout):,} held out")
    rows = []
    for label in args.models.split(","):
        family, settings = RUNS[label]
        start = time.perf_counter()
        model = fit(train, model=family, seed=0, **settings)
        seconds = time.perf_counter() - start
        generated = model.sample(len(holdout), seed=5)
        report = validate(holdout, generated, train=train, features=FEATURES.get(args.channel))
        peaks = {}
        for name, fits in report.peaks.items():
            real, gen = fits["real"], fits["generated"]
            if "error" not in real and "error" not in gen:
                peaks[name] = {
                    "shift": gen["position"] - real["position"],
                    "width_ratio": gen["width"] / real["width"],
                }
        row = {
            "model": label,
            "auc": report.c2st["auc"],
            "auc_std": report.c2st["auc_std"],
            "floor_auc": report.c2st["floor_auc"],
            "max_ks": max(f["ks"] for f in report.features),
            "mean_ks": float(np.mean([f["ks"] for f in report.features])),
            "novelty": report.novelty["ratio"] if report.novelty else None,
            "peaks": peaks,
            "train_s": seconds,
            "events_per_s_1thread": generation_rate(model),
            "flags": len(report.flags),
        }
        rows.append(row)
        peak = "; ".join(
            f"{k} {v['shift']:+.4g} GeV, width ×{v['width_ratio']:.3f}" for k, v in peaks.items()
        )
        print(
            f"{label:14s} AUC {row['auc']:.3f}±{row['auc_std']:.3f} (floor {row['floor_auc']:.3f})"
            f"  max KS {row['max_ks']:.3f}  mean KS {row['mean_ks']:.3f}"
            f"  novelty {row['novelty']:.3f}  train {seconds:.0f} s"
            f"  {row['events_per_s_1thread']:,.0f} ev/s/thread  {peak}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps({"channel": args.channel, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
