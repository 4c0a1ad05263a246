"""Inclusive: every event, with its leading objects (for mixtures of processes)."""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from evmult.channel_processor import ChannelProcessor
from evmult.processors.common import (
    PhotonOptions,
    good_jets,
    good_leptons,
    good_photons,
    table_fields,
)
from evmult.selection import merge_leptons, split_flavours

__all__ = ["InclusiveProcessor"]


class InclusiveProcessor(ChannelProcessor):
    """Keeps every event: the two leading leptons (e or μ, any charges), the four
    leading cleaned jets with their b-tag and the jet count ``nJet``, the leading
    photon, MET and the process label. Meant for mixtures such as the DarkMachines
    files, learned by one model conditioned on ``process``."""

    channel_name = "inclusive"
    needs = ("Muon", "Electron", "Photon", "Jet", "MET")
    Options = PhotonOptions  # object thresholds only: there is no event selection

    def select(self, objects: ak.Array) -> tuple[dict[str, Any], dict[str, int]]:
        o = self.options
        leptons = merge_leptons(*good_leptons(objects, o))[:, : self.channel.n_leptons]
        photons = good_photons(objects, leptons, o)
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
