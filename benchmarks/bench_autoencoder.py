"""The CMS WZ autoencoder study, redone: how well N features survive compression to k.

The study ("ML simulation in reduced dimensions", HSF-India 2023; see
../shared/docs/ANCHORS.md) compressed CMS WZ events with autoencoders 7 → 4, 7 → 2 and
10 → 5 (inputs standard-scaled) and measured the mean Kolmogorov–Smirnov statistic
between each input feature and its reconstruction on test events (best: 0.026 ± 0.015
for 7 → 4). It does not list its features; here they are the ``wz`` channel's:

* 7: the three leptons' pT and η, and MET;
* 10: the same plus the three-lepton mass m3ℓ, mT(3ℓ, MET) and the jet count.

The autoencoder is evmult's (``evmult.models.ae_latent.Autoencoder``: MLP encoder and
decoder, SiLU, hidden widths 128-128, trained with ``evmult.models.training.train``:
AdamW, cosine schedule, early stopping on a validation split) on 80 % of the events;
the KS values are on the other 20 %. Its loss is the squared error plus ``--marginal``
times each feature's squared 1-D Wasserstein distance between the batch and its
reconstruction (``marginal_distance``): with the squared error alone (``--marginal 0``)
what the code cannot carry regresses to the mean and the reconstructed distributions
come out narrow.

Usage:
    python benchmarks/bench_autoencoder.py
    python benchmarks/bench_autoencoder.py --epochs 50 --marginal 0
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from evmult.channels import get_channel
from evmult.coffea import extract
from evmult.features import feature_columns
from evmult.models.ae_latent import AELatentConfig, Autoencoder
from evmult.models.training import TrainSettings, train
from evmult.validation.metrics import ks_statistic

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SEVEN = [*(f"lep{i}_{f}" for f in ("pt", "eta") for i in (1, 2, 3)), "MET_pt"]
TEN = [*SEVEN, "m3l", "mt3l", "nJet"]
STUDY = {"7->4": (SEVEN, 4), "7->2": (SEVEN, 2), "10->5": (TEN, 5)}
MARGINAL = 10.0  # weight of evmult.models.ae_latent.marginal_distance in the loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=SHARED / "delphes" / "delphes_wz.root")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--marginal", type=float, default=MARGINAL, help="weight of the per-feature term"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()

    table = extract([args.sample], "wz")
    columns = feature_columns(table, get_channel("wz"))
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(table))
    cut = int(0.8 * len(table))
    print(f"wz: {len(table):,} events, {cut:,} train, {len(table) - cut:,} test")
    results = {}
    for name, (features, latent) in STUDY.items():
        x = np.stack([columns[f] for f in features], axis=1)
        mean, std = x[order[:cut]].mean(0), x[order[:cut]].std(0)
        z = ((x - mean) / std).astype(np.float32)
        torch.manual_seed(args.seed)
        model = Autoencoder(len(features), AELatentConfig(latent=latent, marginal=args.marginal))
        settings = TrainSettings(epochs=args.epochs, patience=20, min_steps=0, device="cpu")
        start = time.perf_counter()
        record = train(model, model.loss, z[order[:cut]], np.ones(cut), settings, seed=args.seed)
        seconds = time.perf_counter() - start
        test = z[order[cut:]]
        with torch.no_grad():
            rec = model.reconstruct(torch.as_tensor(test)).numpy() * std + mean
        real = x[order[cut:]]  # not test * std + mean: float32 counts are not integers
        if "nJet" in features:  # a count is reconstructed as the nearest integer
            j = features.index("nJet")
            rec[:, j] = np.rint(rec[:, j])
        ks = [ks_statistic(real[:, j], rec[:, j]) for j in range(len(features))]
        mse = float(np.mean(((rec - real) / std) ** 2))  # per event, standardised units
        results[name] = {
            "features": features,
            "ks": dict(zip(features, ks, strict=True)),
            "mean_ks": float(np.mean(ks)),
            "std_ks": float(np.std(ks)),
            "mse": mse,
            "epochs": record["epochs_run"],
            "seconds": seconds,
        }
        print(
            f"{name:6s} mean KS {np.mean(ks):.4f} ± {np.std(ks):.4f}  (max {max(ks):.4f}, "
            f"{features[int(np.argmax(ks))]})  per-event MSE {mse:.3f}  "
            f"{record['epochs_run']} epochs, {seconds:.0f} s",
            flush=True,
        )
    print("study's best: 7->4 mean KS 0.026 ± 0.015")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
