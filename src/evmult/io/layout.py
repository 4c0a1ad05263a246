"""The common object layout every reader produces and the NanoAOD names the writers
share with the readers.

Every input format becomes one per-event record before a channel selects it:

* ``Muon``, ``Electron``: lists of ``{pt, eta, phi, mass, charge, pdgId}``
* ``Photon``: list of ``{pt, eta, phi, mass}``
* ``Jet``: list of ``{pt, eta, phi, mass, btag}`` (``btag`` a bool)
* ``MET``: ``{pt, phi}``
* ``weight`` (float64) and, for DarkMachines CSV, ``process`` (the event label)

Objects carry vector's ``Momentum4D`` behaviour (``MET`` is ``Momentum2D``), momenta are
in GeV and every collection is sorted by decreasing pT.

:func:`to_branches` is the way back: one chunk of an event table as the ROOT branches
of its channel's layout (NanoAOD-style, or a flat ntuple's own), the form
:mod:`evmult.io.writers` writes and the readers read again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak
import numpy as np
import vector

from evmult.channels import Channel

__all__ = [
    "COLLECTIONS",
    "ELECTRON_MASS",
    "MUON_MASS",
    "NANOAOD_LOOSE_ID",
    "empty_collection",
    "layout",
    "lepton_ids",
    "sorted_objects",
    "to_branches",
    "vector_record",
]

vector.register_awkward()

MUON_MASS = 0.1056584
ELECTRON_MASS = 0.000511
COLLECTIONS = ("Muon", "Electron", "Photon", "Jet", "MET")

#: NanoAOD identification used when ``nanoaod_id`` is on: collection -> (field, minimum).
NANOAOD_LOOSE_ID: dict[str, tuple[str, int]] = {
    "Muon": ("looseId", 1),
    "Electron": ("cutBased", 2),
    "Photon": ("cutBased", 1),
}
_FLAT_COMPONENTS = (("PX", "px"), ("PY", "py"), ("PZ", "pz"), ("PE", "E"))
_LUMI_BLOCK = 32_768  # events per luminosity block of a written file


_ORDER = ("pt", "eta", "phi", "mass", "charge", "pdgId", "btag")
_DTYPES = {"charge": np.int32, "pdgId": np.int32, "btag": np.bool_}


def vector_record(
    fields: Mapping[str, Any], name: str = "Momentum4D", *, float_type: type = np.float32
) -> ak.Array:
    """Zip object fields into vector records: canonical field order, fixed dtypes.

    Kinematics become ``float_type`` (float32 as in NanoAOD; float64 where a narrow
    resonance must be rebuilt from large momenta), ``charge`` and ``pdgId`` int32,
    ``btag`` bool; the branch documentation coffea attaches is dropped so every format
    gives one type.
    """
    keys = sorted(fields, key=lambda k: _ORDER.index(k) if k in _ORDER else len(_ORDER))
    arrays = {
        k: ak.values_astype(ak.without_parameters(fields[k]), _DTYPES.get(k, float_type))
        for k in keys
    }
    return ak.zip(arrays, with_name=name)


def sorted_objects(fields: Mapping[str, Any]) -> ak.Array:
    """Per-event object lists as vector records, sorted by decreasing pT."""
    out = vector_record(fields)
    return out[ak.argsort(out.pt, axis=-1, ascending=False)]


def empty_collection(n: int, collection: str) -> ak.Array:
    """``n`` empty object lists with the fields ``collection`` has in the common layout."""
    extra: dict[str, type] = {}
    if collection in ("Muon", "Electron"):
        extra = {"charge": np.int32, "pdgId": np.int32}
    elif collection == "Jet":
        extra = {"btag": np.bool_}
    counts = np.zeros(n, dtype=np.int64)
    fields = {
        k: ak.unflatten(np.zeros(0, np.float32), counts) for k in ("pt", "eta", "phi", "mass")
    }
    fields |= {k: ak.unflatten(np.zeros(0, t), counts) for k, t in extra.items()}
    return sorted_objects(fields)


def lepton_ids(coll: str, charge: Any) -> dict[str, Any]:
    """``charge`` and ``pdgId`` of leptons (a negative muon has pdgId +13)."""
    return {"charge": charge, "pdgId": -(13 if coll == "Muon" else 11) * charge}


def layout(channel: Channel) -> str:
    """``flat`` for particle channels (a flat ntuple's branches), else ``nanoaod``."""
    return "flat" if channel.particles else "nanoaod"


def to_branches(
    table: ak.Array,
    channel: Channel,
    *,
    first_event: int,
    source_index: np.ndarray | None = None,
    collections: Sequence[str] = (),
    btag_branch: str = "btagDeepFlavB",
) -> dict[str, Any]:
    """One chunk of events as the ROOT branches of the channel's layout.

    Args:
        table: events (generated, or original when ``source_index`` is given).
        channel: their channel.
        first_event: 0-based number of the chunk's first event in the file set.
        source_index: the events' indices in the training table (original events).
        collections: NanoAOD-style: collections to write besides the channel's (those
            its selection reads but the table does not keep, as ``wz``'s jets: written
            empty, so the channel's processor finds every branch it reads).
        btag_branch: NanoAOD-style: the jet b-tag discriminant's branch (1 for tagged
            jets, 0 otherwise).

    Returns:
        Branch name (or collection name, for uproot's counters) -> array.
    """
    n = len(table)
    out: dict[str, Any] = {}
    if layout(channel) == "flat":
        for name in channel.particles:
            p = table[name]
            for branch, component in _FLAT_COMPONENTS:
                out[f"{name}_{branch}"] = ak.to_numpy(getattr(p, component)).astype(np.float64)
            out[f"{name}_ID"] = ak.to_numpy(p.pdgId).astype(np.int32)
        out["weight"] = ak.to_numpy(table.weight).astype(np.float64)
    else:
        for coll in dict.fromkeys([*channel.collections, *collections]):
            obj = table[coll] if coll in ak.fields(table) else empty_collection(n, coll)
            fields = {f: ak.values_astype(obj[f], np.float32) for f in ("pt", "eta", "phi", "mass")}
            if coll in ("Muon", "Electron"):
                fields |= {f: ak.values_astype(obj[f], np.int32) for f in ("charge", "pdgId")}
            if coll in NANOAOD_LOOSE_ID:
                field, minimum = NANOAOD_LOOSE_ID[coll]
                dtype = np.bool_ if field.endswith("Id") else np.int32
                fields[field] = ak.values_astype(ak.ones_like(obj.pt) * minimum, dtype)
            if coll == "Jet":
                fields[btag_branch] = ak.values_astype(obj.btag, np.float32)
            out[coll] = ak.zip(fields)
        if channel.has_met:
            out["MET_pt"] = ak.to_numpy(table.MET.pt).astype(np.float32)
            out["MET_phi"] = ak.to_numpy(table.MET.phi).astype(np.float32)
        out["genWeight"] = ak.to_numpy(table.weight).astype(np.float32)
        event = np.arange(first_event, first_event + n, dtype=np.uint64)
        out["run"] = np.ones(n, dtype=np.uint32)
        out["luminosityBlock"] = (1 + event // _LUMI_BLOCK).astype(np.uint32)
        out["event"] = event + np.uint64(1)
        if "nJet" in ak.fields(table):
            out["evmult_nJet"] = ak.to_numpy(table.nJet).astype(np.int32)
    out["evmult_isGenerated"] = np.full(n, source_index is None)
    index = np.full(n, -1, np.int64) if source_index is None else source_index
    out["evmult_sourceIndex"] = index.astype(np.int64)
    return out
