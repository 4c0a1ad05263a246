"""Inclusive: every event, with its leading objects (for mixtures of processes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from evmult.coffea import ChannelProcessor
from evmult.processors.common import ObjectOptions, good_jets, good_leptons, table_fields
from evmult.selection import clean, kinematic, merge_leptons, split_flavours

__all__ = ["InclusiveOptions", "InclusiveProcessor"]


@dataclass(frozen=True)
class InclusiveOptions(ObjectOptions):
    """Object thresholds of the ``inclusive`` table (no event selection).

    Args:
        photon_pt_min: minimum photon pT.
        photon_eta_max: photon acceptance.
        photon_lepton_dr: photons within this ΔR of a kept lepton are not used.
    """

    photon_pt_min: float = 10.0
    photon_eta_max: float = 2.5
    photon_lepton_dr: float = 0.4


class InclusiveProcessor(ChannelProcessor):
    """Keeps every event: the two leading leptons (e or μ, any charges), the four
    leading cleaned jets with their b-tag and the jet count ``nJet``, the leading
    photon, MET and the process label. Meant for mixtures such as the DarkMachines
    files, learned by one model conditioned on ``process``."""

    channel_name = "inclusive"
    needs = ("Muon", "Electron", "Photon", "Jet", "MET")
    Options = InclusiveOptions

    def select(self, objects: ak.Array) -> tuple[dict[str, Any], dict[str, int]]:
        o = self.options
        leptons = merge_leptons(*good_leptons(objects, o))[:, : self.channel.n_leptons]
        photons = kinematic(objects.Photon, o.photon_pt_min, o.photon_eta_max)
        photons = clean(photons, leptons, o.photon_lepton_dr)
        jets = good_jets(objects, leptons, o)
        every = np.ones(len(objects), dtype=np.bool_)
        fields = table_fields(
            objects,
            every,
            **split_flavours(leptons),
            Photon=photons[:, :1],
            Jet=jets[:, :4],
            nJet=ak.num(jets),
        )
        return fields, {"events": len(objects)}
