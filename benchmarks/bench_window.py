"""A decay sample cut to a detector window: does the generator stay inside it?

Extracts the shared D⁺ → K⁻π⁺π⁺ ntuple, keeps the decays whose three daughters all lie
in an LHCb-like window (2 < η < 5, pT > 0.25 GeV by default), trains the default model
on 55 % of them (seeded) and validates as many generated decays against the rest,
printing the classifier AUC and the share of generated decays with a daughter outside
the window (the encoding redraws decays outside the training sample's range).

Usage:
    python benchmarks/bench_window.py
    python benchmarks/bench_window.py --eta 1.5 4.5 --pt-min 0.5
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import awkward as ak
import numpy as np

from evmult.coffea import extract
from evmult.io.tables import split_table
from evmult.pipeline import fit
from evmult.validation import validate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DAUGHTERS = ("K", "Pi1", "Pi2")


def inside(table: ak.Array, eta: tuple[float, float], pt_min: float) -> np.ndarray:
    """Which decays have every daughter inside the window."""
    ok = np.ones(len(table), dtype=bool)
    for name in DAUGHTERS:
        d_eta, d_pt = ak.to_numpy(table[name].eta), ak.to_numpy(table[name].pt)
        ok &= (d_eta > eta[0]) & (d_eta < eta[1]) & (d_pt > pt_min)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=SHARED / "flat" / "dplus_kpipi.root")
    parser.add_argument("--eta", type=float, nargs=2, default=(2.0, 5.0))
    parser.add_argument("--pt-min", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    table = extract([args.file], "dplus")
    window = table[inside(table, tuple(args.eta), args.pt_min)]
    train, holdout = split_table(window, fraction=0.55, seed=args.seed)
    print(f"dplus in the window: {len(window):,} of {len(table):,} decays, {len(train):,} train")
    start = time.perf_counter()
    model = fit(train, seed=args.seed, progress=False)
    print(f"trained in {time.perf_counter() - start:.0f} s", flush=True)
    generated = model.sample(len(holdout), seed=args.seed + 1)
    outside = 1 - inside(generated, tuple(args.eta), args.pt_min).mean()
    rejected = generated.attrs["evmult"]["generated"]["rejected_fraction"]
    report = validate(holdout, generated, train=train, seed=args.seed)
    worst = max(report.features, key=lambda f: f["ks"])
    print(
        f"AUC {report.c2st['auc']:.3f}±{report.c2st['auc_std']:.3f} (real vs real "
        f"{report.c2st['floor_auc']:.3f})  max KS {worst['ks']:.3f} ({worst['name']})  "
        f"outside the window {outside:.2%}  redrawn {rejected:.1%}"
    )


if __name__ == "__main__":
    main()
