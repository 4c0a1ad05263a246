"""Object definitions shared by the lepton channels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from evmult.io.readers import ReaderOptions
from evmult.selection import clean, kinematic

__all__ = [
    "ObjectOptions",
    "PhotonOptions",
    "good_jets",
    "good_leptons",
    "good_photons",
    "table_fields",
]


@dataclass(frozen=True)
class ObjectOptions(ReaderOptions):
    """Object thresholds common to the lepton channels (GeV, |eta|, ΔR).

    Args:
        lepton_pt_min: minimum pT of every lepton considered.
        muon_eta_max: muon acceptance.
        electron_eta_max: electron acceptance.
        jet_pt_min: minimum jet pT (also what ``nJet`` counts).
        jet_eta_max: jet acceptance.
        jet_lepton_dr: jets within this ΔR of a selected lepton are removed.
    """

    lepton_pt_min: float = 10.0
    muon_eta_max: float = 2.4
    electron_eta_max: float = 2.5
    jet_pt_min: float = 30.0
    jet_eta_max: float = 4.7
    jet_lepton_dr: float = 0.4


@dataclass(frozen=True)
class PhotonOptions(ObjectOptions):
    """Photon thresholds, for the channels that keep photons.

    Args:
        photon_pt_min: minimum photon pT.
        photon_eta_max: photon acceptance.
        photon_lepton_dr: photons within this ΔR of a selected lepton are not used.
    """

    photon_pt_min: float = 10.0
    photon_eta_max: float = 2.5
    photon_lepton_dr: float = 0.4


def good_leptons(objects: ak.Array, o: ObjectOptions, pt_min: float | None = None) -> tuple:
    """Muons and electrons passing pT (``pt_min`` or ``o.lepton_pt_min``) and |eta|."""
    pt = o.lepton_pt_min if pt_min is None else pt_min
    return (
        kinematic(objects.Muon, pt, o.muon_eta_max),
        kinematic(objects.Electron, pt, o.electron_eta_max),
    )


def good_jets(objects: ak.Array, leptons: ak.Array, o: ObjectOptions) -> ak.Array:
    """Jets passing pT and |eta|, cleaned against the selected leptons."""
    return clean(kinematic(objects.Jet, o.jet_pt_min, o.jet_eta_max), leptons, o.jet_lepton_dr)


def good_photons(objects: ak.Array, leptons: ak.Array, o: PhotonOptions) -> ak.Array:
    """Photons passing pT and |eta|, away from the selected leptons."""
    photons = kinematic(objects.Photon, o.photon_pt_min, o.photon_eta_max)
    return clean(photons, leptons, o.photon_lepton_dr)


def table_fields(objects: ak.Array, mask: Any, **collections: Any) -> dict[str, Any]:
    """Event-table fields of the selected events: collections, MET, weight, label.

    ``collections`` are per-event arrays (all events); ``nJet`` is cast to int32. In a
    file evmult wrote, which stores only the jets its channel keeps, ``nJet`` is the
    stored full count (``evmult_nJet``).
    """
    mask = np.asarray(mask, dtype=np.bool_)
    out = {name: value[mask] for name, value in collections.items()}
    if "nJet" in out and "evmult_nJet" in ak.fields(objects):
        out["nJet"] = objects.evmult_nJet[mask]  # read back from an evmult file
    if "nJet" in out:
        out["nJet"] = ak.values_astype(out["nJet"], np.int32)
    out["MET"] = objects.MET[mask]
    out["weight"] = objects.weight[mask]
    if "process" in ak.fields(objects):
        out["process"] = objects.process[mask]
    return out
