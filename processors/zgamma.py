"""Zγ -> llγ: the zll pair plus the leading isolated photon."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak

from evmult.processors.common import PhotonOptions, good_jets, good_photons, table_fields
from evmult.processors.zll import ZllOptions, ZllProcessor
from evmult.selection import merge_leptons

__all__ = ["ZgammaOptions", "ZgammaProcessor"]


@dataclass(frozen=True)
class ZgammaOptions(ZllOptions, PhotonOptions):
    """Thresholds of the ``zgamma`` selection: ``zll``'s and the photon ones of
    :class:`~evmult.processors.common.PhotonOptions`."""


class ZgammaProcessor(ZllProcessor):
    """The ``zll`` selection plus ≥ 1 photon; keeps the leading photon, MET, ``nJet``."""

    channel_name = "zgamma"
    needs = ("Muon", "Electron", "Photon", "Jet", "MET")
    Options = ZgammaOptions

    def select(self, objects: ak.Array) -> tuple[dict[str, Any], dict[str, int]]:
        o = self.options
        muons, electrons, has_pair = self.dilepton(objects)
        leptons = merge_leptons(muons, electrons)
        photons = good_photons(objects, leptons, o)
        sel = has_pair & ak.to_numpy(ak.num(photons) >= 1)
        jets = good_jets(objects, leptons, o)
        fields = table_fields(
            objects,
            sel,
            Muon=muons,
            Electron=electrons,
            Photon=photons[:, :1],
            nJet=ak.num(jets),
        )
        cutflow = {
            "events": len(objects),
            "sfos_pair": int(has_pair.sum()),
            "photon": int(sel.sum()),
        }
        return fields, cutflow
