"""An ordinary coffea analysis run on an evmult file: nothing in it knows about evmult.

The processor below is what a Z -> mumu analysis on NanoAOD looks like: loose muons,
an opposite-charge pair, a weighted m_mumu histogram. Run on an augmented file from
``evmult multiply ... -o generated.root`` it reads the generated events as it reads
simulation; the branches evmult adds (``evmult_isGenerated``) split the yield.

Usage:
    python examples/augmented_analysis.py demo-output/generated.root [-o mll.png]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import awkward as ak
import hist
import numpy as np
from coffea import processor
from coffea.nanoevents import NanoAODSchema


class MuMuProcessor(processor.ProcessorABC):
    """Opposite-charge muon pairs from NanoAOD: a weighted m(mumu) histogram."""

    def process(self, events: Any) -> dict[str, Any]:
        muons = events.Muon[(events.Muon.pt > 10) & (abs(events.Muon.eta) < 2.4)]
        muons = muons[muons.looseId]
        pair = ak.num(muons) == 2
        pair = pair & (ak.sum(muons.charge, axis=1) == 0)
        mu = muons[pair]
        mass = (mu[:, 0] + mu[:, 1]).mass
        weight = events.genWeight[pair]
        generated = ak.to_numpy(events.evmult.isGenerated[pair])  # an evmult branch
        h = hist.Hist.new.Reg(60, 60, 120, name="mass", label=r"$m_{\mu\mu}$ [GeV]").Weight()
        h.fill(mass=mass, weight=weight)
        return {
            "mass": h,
            "yield": float(np.sum(ak.to_numpy(weight), dtype=np.float64)),
            "generated_yield": float(np.sum(ak.to_numpy(weight)[generated], dtype=np.float64)),
            "events": int(ak.sum(pair)),
        }

    def postprocess(self, accumulator: Any) -> Any:
        return accumulator


def run(path: str | Path) -> dict[str, Any]:
    """Run :class:`MuMuProcessor` over one file with coffea's Runner."""
    runner = processor.Runner(
        executor=processor.IterativeExecutor(status=False), schema=NanoAODSchema
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Missing cross-reference")
        return runner(
            {"augmented": [str(path)]}, processor_instance=MuMuProcessor(), treename="Events"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="an evmult NanoAOD-style ROOT file")
    parser.add_argument("-o", "--output", help="save the m(mumu) plot here")
    args = parser.parse_args()
    out = run(args.file)
    print(
        f"{out['events']:,} mu mu events, weighted yield {out['yield']:.1f} "
        f"(generated {out['generated_yield']:.1f}); m(mumu) mean "
        f"{np.average(out['mass'].axes[0].centers, weights=out['mass'].values()):.2f} GeV"
    )
    if args.output:
        import matplotlib.pyplot as plt
        import mplhep

        plt.style.use(mplhep.style.CMS)
        fig, ax = plt.subplots()
        mplhep.histplot(out["mass"], ax=ax, histtype="errorbar", label="evmult events")
        ax.set_ylabel("weighted events / GeV")
        ax.legend()
        fig.savefig(args.output)
        print(f"-> {args.output}")


if __name__ == "__main__":
    main()
