"""Zγ -> llγ: the zll pair plus the leading isolated photon."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak

from evmult.processors.common import good_jets, table_fields
from evmult.processors.zll import ZllOptions, ZllProcessor
from evmult.selection import clean, kinematic, merge_leptons

__all__ = ["ZgammaOptions", "ZgammaProcessor"]


@dataclass(frozen=True)
class ZgammaOptions(ZllOptions):
    """Thresholds of the ``zgamma`` selection (on top of ``zll``'s).

    Args:
        photon_pt_min: minimum photon pT.
        photon_eta_max: photon acceptance.
        photon_lepton_dr: photons within this ΔR of a selected lepton are not used.
    """

    photon_pt_min: float = 10.0
    photon_eta_max: float = 2.5
    photon_lepton_dr: float = 0.4


class ZgammaProcessor(ZllProcessor):
    """The ``zll`` selection plus ≥ 1 photon; keeps the leading photon, MET, ``nJet``."""

    channel_name = "zgamma"
    needs = ("Muon", "Electron", "Photon", "Jet", "MET")
    Options = ZgammaOptions

    def select(self, objects: ak.Array) -> tuple[dict[str, Any], dict[str, int]]:
        o = self.options
        muons, electrons, has_pair = self.dilepton(objects)
        leptons = merge_leptons(muons, electrons)
        photons = kinematic(objects.Photon, o.photon_pt_min, o.photon_eta_max)
        photons = clean(photons, leptons, o.photon_lepton_dr)
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
