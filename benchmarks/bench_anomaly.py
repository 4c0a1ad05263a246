"""Anomaly scores on a signal injected into a background: the docs' worked examples.

Two examples (``--example``), each training every model family asked for on background
events alone and scoring background events none of them saw plus the signal:

* ``darkmachines``: the shared DarkMachines-format CSV in the ``inclusive`` channel;
  background tt̄ + Z+jets (a seeded half trains, the other half is the test
  background), signal WZ.
* ``zprime``: ``ttbar_semilep`` on the two SM tt̄ Delphes samples (all but a fixed
  3,000 train; the 3,000 are the test background), signal Z′ → tt̄ at each of the five
  masses.

Per model, signal and score it prints the ROC AUC with its spread, the signal efficiency
at background efficiencies 10⁻² and 10⁻³ (``*`` where fewer than 10 background events
pass: unresolved) and ε_S/√ε_B there, and the training time. The families stand for the
DarkMachines unsupervised challenge's kinds of method (Aarrestad et al.,
arXiv:2105.14027): ``flow-vae``'s ``density`` for a flow likelihood, ``vae-nf`` for
VAE + flow, ``vae`` for a plain VAE's reconstruction, ``ae-latent`` for an autoencoder.

Usage:
    python benchmarks/bench_anomaly.py --example darkmachines
    python benchmarks/bench_anomaly.py --example zprime --models flow-vae -o zprime-study
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import awkward as ak
import numpy as np

from evmult.anomaly import anomaly_study
from evmult.coffea import extract
from evmult.io.tables import split_table
from evmult.pipeline import fit

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MASSES = (500, 750, 1000, 1250, 1500)


def darkmachines(shared: Path, seed: int) -> tuple[ak.Array, ak.Array, dict[str, ak.Array]]:
    table = extract([shared / "csv" / "darkmachines_mix.csv"], "inclusive")
    process = np.asarray(ak.to_list(table.process))
    background = ak.Array(table[process != "wz"], attrs=table.attrs)
    train, test = split_table(background, n=len(background) // 2, seed=seed)
    return train, test, {"wz": ak.Array(table[process == "wz"], attrs=table.attrs)}


def zprime(shared: Path, seed: int) -> tuple[ak.Array, ak.Array, dict[str, ak.Array]]:
    delphes = shared / "delphes"
    sm = extract(
        [delphes / "delphes_ttbar.root", delphes / "delphes_ttbar_b.root"], "ttbar_semilep"
    )
    train, test = split_table(sm, n=len(sm) - 3_000, seed=seed)
    signals = {
        f"Z' {m}": extract([delphes / f"delphes_zprime_m{m}.root"], "ttbar_semilep") for m in MASSES
    }
    return train, test, signals


EXAMPLES = {"darkmachines": darkmachines, "zprime": zprime}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", choices=EXAMPLES, required=True)
    parser.add_argument("--models", default="flow-vae,vae-nf,vae,ae-latent")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("-o", "--output", type=Path, help="write each model's study here")
    args = parser.parse_args()

    train, test, signals = EXAMPLES[args.example](args.shared, args.seed)
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in signals.items())
    print(f"{args.example}: train {len(train):,}, test background {len(test):,}; {sizes}")
    for family in args.models.split(","):
        start = time.perf_counter()
        model = fit(train, model=family, seed=args.seed)
        seconds = time.perf_counter() - start
        study = anomaly_study(model, test, signals, seed=args.seed)
        print(f"{family}: trained in {seconds:.0f} s", flush=True)
        for r in study.rows:
            points = "  ".join(
                f"εS {r['eps_s'][k]['value']:.3f}{'' if r['resolved'][k] else '*'} "
                f"SIC {r['sic'][k]['value']:.2f} at {k}"
                for k in r["eps_s"]
            )
            print(
                f"  {r['signal']:9s} {r['score']:15s} AUC {r['auc']['value']:.3f} ± "
                f"{r['auc']['std']:.3f}  {points}",
                flush=True,
            )
        if args.output is not None:
            study.write(args.output / family, force=True)


if __name__ == "__main__":
    main()
