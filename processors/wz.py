"""WZ -> 3ℓν: three leptons containing a same-flavour opposite-charge pair."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak

from evmult.channel_processor import ChannelProcessor
from evmult.processors.common import ObjectOptions, good_jets, good_leptons, table_fields
from evmult.selection import has_sfos_pair, merge_leptons, split_flavours

__all__ = ["WZOptions", "WZProcessor"]


@dataclass(frozen=True)
class WZOptions(ObjectOptions):
    """Thresholds of the ``wz`` selection.

    Args:
        lead_pt_min: minimum pT of the leading lepton.
    """

    lead_pt_min: float = 10.0


class WZProcessor(ChannelProcessor):
    """≥ 3 leptons (e/μ); the three leading ones must contain an SFOS pair.

    Keeps those three leptons (as ``Muon`` and ``Electron``), MET and ``nJet``.
    """

    channel_name = "wz"
    needs = ("Muon", "Electron", "Jet", "MET")
    Options = WZOptions

    def select(self, objects: ak.Array) -> tuple[dict[str, Any], dict[str, int]]:
        o = self.options
        leptons = merge_leptons(*good_leptons(objects, o))[:, :3]
        three = ak.to_numpy(ak.num(leptons) == 3)
        three &= ak.to_numpy(ak.fill_none(ak.firsts(leptons.pt) > o.lead_pt_min, False))
        sel = three & has_sfos_pair(leptons)
        jets = good_jets(objects, leptons, o)
        fields = table_fields(objects, sel, **split_flavours(leptons), nJet=ak.num(jets))
        return fields, {
            "events": len(objects),
            "three_leptons": int(three.sum()),
            "sfos": int(sel.sum()),
        }
