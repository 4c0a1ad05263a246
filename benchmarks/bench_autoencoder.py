"""The CMS WZ autoencoder study, redone: how well N features survive compression to k.

The study ("ML simulation in reduced dimensions", HSF-India 2023; see
../shared/docs/ANCHORS.md) compressed CMS WZ events with autoencoders 7 → 4, 7 → 2 and
10 → 5 (inputs standard-scaled) and measured the mean Kolmogorov–Smirnov statistic
between each input feature and its reconstruction on test events (best: 0.026 ± 0.015
for 7 → 4). It does not list its features; here they are the ``wz`` channel's:

* 7: the three leptons' pT and η, and MET;
* 10: the same plus the three-lepton mass m3ℓ, mT(3ℓ, MET) and the jet count.

The autoencoder is evmult's (``evmult.models.vae.mlp`` encoder and decoder, SiLU,
hidden widths 128-128, trained with ``evmult.models.training.train``: AdamW, cosine
schedule, early stopping on a validation split) on 80 % of the events; the KS values
are on the other 20 %.

Usage:
    python benchmarks/bench_autoencoder.py
    python benchmarks/bench_autoencoder.py --epochs 50
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from evmult.channels import get_channel
from evmult.coffea import extract
from evmult.features import feature_columns
from evmult.models.training import TrainSettings, train
from evmult.models.vae import mlp
from evmult.validation.metrics import ks_statistic

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SEVEN = [*(f"lep{i}_{f}" for f in ("pt", "eta") for i in (1, 2, 3)), "MET_pt"]
TEN = [*SEVEN, "m3l", "mt3l", "nJet"]
STUDY = {"7->4": (SEVEN, 4), "7->2": (SEVEN, 2), "10->5": (TEN, 5)}


class Autoencoder(nn.Module):
    """A deterministic autoencoder trained on the squared reconstruction error."""

    def __init__(self, features: int, latent: int) -> None:
        super().__init__()
        self.encoder = mlp([features, 128, 128, latent], "silu")
        self.decoder = mlp([latent, 128, 128, features], "silu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def loss(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return ((self(x) - x).pow(2).sum(-1) * w).mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=SHARED / "delphes" / "delphes_wz.root")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
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
        model = Autoencoder(len(features), latent)
        settings = TrainSettings(epochs=args.epochs, patience=20, min_steps=0, device="cpu")
        start = time.perf_counter()
        record = train(model, model.loss, z[order[:cut]], np.ones(cut), settings, seed=args.seed)
        seconds = time.perf_counter() - start
        test = z[order[cut:]]
        with torch.no_grad():
            rec = model(torch.as_tensor(test)).numpy() * std + mean
        real = test * std + mean
        if "nJet" in features:  # a count is reconstructed as the nearest integer
            j = features.index("nJet")
            rec[:, j] = np.rint(rec[:, j])
        ks = [ks_statistic(real[:, j], rec[:, j]) for j in range(len(features))]
        results[name] = {
            "features": features,
            "ks": dict(zip(features, ks, strict=True)),
            "mean_ks": float(np.mean(ks)),
            "std_ks": float(np.std(ks)),
            "epochs": record["epochs_run"],
            "seconds": seconds,
        }
        print(
            f"{name:6s} mean KS {np.mean(ks):.4f} ± {np.std(ks):.4f}  (max {max(ks):.4f}, "
            f"{features[int(np.argmax(ks))]})  {record['epochs_run']} epochs, {seconds:.0f} s",
            flush=True,
        )
    print("study's best: 7->4 mean KS 0.026 ± 0.015")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
