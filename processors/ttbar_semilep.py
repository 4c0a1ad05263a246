"""tt̄ -> ℓ + jets: exactly one lepton and at least four jets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak

from evmult.channel_processor import ChannelProcessor
from evmult.processors.common import ObjectOptions, good_jets, good_leptons, table_fields
from evmult.selection import merge_leptons, split_flavours

__all__ = ["TtbarSemilepOptions", "TtbarSemilepProcessor"]


@dataclass(frozen=True)
class TtbarSemilepOptions(ObjectOptions):
    """Thresholds of the ``ttbar_semilep`` selection.

    Args:
        signal_lepton_pt_min: the lepton's minimum pT; events with more than one lepton
            above it are rejected.
        min_jets: minimum number of jets.
        max_jets: jets kept per event (leading in pT, with ``btag``): by default every
            jet up to the channel's 10 (all of them in 99.98 % of the shared tt̄ events),
            so the table's jet count is ``nJet`` and HT or any trijet uses every jet.
    """

    signal_lepton_pt_min: float = 25.0
    min_jets: int = 4
    max_jets: int = 10


class TtbarSemilepProcessor(ChannelProcessor):
    """Exactly one lepton above ``signal_lepton_pt_min`` and ≥ ``min_jets`` jets.

    Keeps the lepton, the ``max_jets`` leading jets (with b-tag) and MET.
    """

    channel_name = "ttbar_semilep"
    needs = ("Muon", "Electron", "Jet", "MET")
    Options = TtbarSemilepOptions

    def select(self, objects: ak.Array) -> tuple[dict[str, Any], dict[str, int]]:
        o = self.options
        leptons = merge_leptons(*good_leptons(objects, o, o.signal_lepton_pt_min))
        one = ak.to_numpy(ak.num(leptons) == 1)
        jets = good_jets(objects, leptons, o)
        sel = one & ak.to_numpy(ak.num(jets) >= o.min_jets)
        fields = table_fields(objects, sel, **split_flavours(leptons), Jet=jets[:, : o.max_jets])
        return fields, {
            "events": len(objects),
            "one_lepton": int(one.sum()),
            "jets": int(sel.sum()),
        }
