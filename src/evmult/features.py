"""Flat per-event feature columns of an event table, for summaries and validation.

Leptons are shown by rank whatever their flavour (``lep1_pt`` is the leading lepton,
muon or electron), with ``lep1_flavour`` (11 or 13); jets, photons and flat-ntuple
particles by rank or name; then MET, ``nJet`` (the event's count, or the stored jets' where the channel keeps every jet)
and the channel's masses. Missing objects give NaN.

Example:
    >>> from evmult.features import feature_columns
    >>> cols = feature_columns(table, get_channel("zll"))  # doctest: +SKIP
    >>> list(cols)[:3]  # doctest: +SKIP
    ['lep1_pt', 'lep1_eta', 'lep1_phi']
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from evmult.channels import Channel
from evmult.physics import channel_masses, objects_of, system

__all__ = [
    "FEATURE_LABELS",
    "derived_columns",
    "feature_columns",
    "feature_label",
    "slot_columns",
]

FEATURE_LABELS = {
    "pt": r"$p_{T}$ [GeV]",
    "eta": r"$\eta$",
    "phi": r"$\phi$",
    "mass": "mass [GeV]",
    "flavour": "|pdgId|",
    "btag": "b-tag",
}


def _padded(objects: ak.Array, n: int, field: str) -> np.ndarray:
    values = ak.pad_none(ak.values_astype(objects[field], np.float64), n, axis=1, clip=True)
    return ak.to_numpy(ak.fill_none(values, np.nan)).astype(np.float64)


def _numpy(values: ak.Array) -> np.ndarray:
    return ak.to_numpy(values).astype(np.float64)


def slot_columns(table: ak.Array, channel: Channel) -> dict[str, np.ndarray]:
    """Every object quantity of a channel's table in fixed slots, as float64 columns.

    The one flattening of events: :func:`feature_columns` (summaries, validation) and
    :class:`evmult.encoding.Encoding` (the learned matrix) both read from it.

    Columns, in this order: the leptons of every lepton collection merged and
    pT-ordered (``nLepton``, then ``lepN_pt``, ``_eta``, ``_phi``, ``_pdgId``,
    ``_charge`` per slot), the named particles (``K_pt`` ... ``K_charge``, ``K_pdgId``),
    every other collection's count (``nJet``: the table's ``nJet`` where the channel
    stores one) and its slots field by field (``jet1_pt``, ``jet2_pt`` ...; jets with
    ``mass`` and ``btag``), then ``nJet`` (an event field without a collection),
    ``MET_pt`` and ``MET_phi``. Slots beyond an event's objects are NaN.

    Args:
        table: an event table of ``channel``.
        channel: its channel definition.

    Example:
        >>> list(slot_columns(table, get_channel("zll")))[:3]  # doctest: +SKIP
        ['nLepton', 'lep1_pt', 'lep1_eta']
    """
    cols: dict[str, np.ndarray] = {}
    if channel.n_leptons:
        leptons = ak.concatenate(
            [table[c] for c in channel.leptons if c in ak.fields(table)], axis=1
        )
        cols["nLepton"] = ak.to_numpy(ak.num(leptons)).astype(np.float64)
        leptons = leptons[ak.argsort(leptons.pt, axis=1, ascending=False)]
        padded = {
            f: _padded(leptons, channel.n_leptons, f)
            for f in ("pt", "eta", "phi", "pdgId", "charge")
        }
        for i in range(channel.n_leptons):
            for f, values in padded.items():
                cols[f"lep{i + 1}_{f}"] = values[:, i]
    for name in channel.particles:
        obj = table[name]
        for f in ("pt", "eta", "phi", "mass", "charge", "pdgId"):
            cols[f"{name}_{f}"] = _numpy(obj[f])
    for coll, cap in channel.collections.items():
        if coll in channel.leptons:
            continue
        objs = table[coll]
        if coll == "Jet" and "nJet" in channel.event_fields:
            cols["nJet"] = _numpy(table.nJet)
        else:
            cols[f"n{coll}"] = ak.to_numpy(ak.num(objs)).astype(np.float64)
        for f in ["pt", "eta", "phi"] + (["mass", "btag"] if coll == "Jet" else []):
            values = _padded(objs, cap, f)
            for i in range(cap):
                cols[f"{coll.lower()}{i + 1}_{f}"] = values[:, i]
    if "nJet" in channel.event_fields and "nJet" not in cols:
        cols["nJet"] = _numpy(table.nJet)
    if channel.has_met:
        cols["MET_pt"] = _numpy(table.MET.pt)
        cols["MET_phi"] = _numpy(table.MET.phi)
    return cols


def feature_columns(table: ak.Array, channel: Channel) -> dict[str, np.ndarray]:
    """Per-event features of a channel's table as float64 columns.

    Args:
        table: an event table of ``channel``.
        channel: its channel definition.

    Returns:
        Column name -> array of length ``len(table)``.
    """
    slots = slot_columns(table, channel)
    cols: dict[str, np.ndarray] = {}
    for i in range(channel.n_leptons):
        p = f"lep{i + 1}"
        cols |= {f"{p}_{f}": slots[f"{p}_{f}"] for f in ("pt", "eta", "phi")}
        cols[f"{p}_flavour"] = np.abs(slots[f"{p}_pdgId"])
    for coll, n in channel.collections.items():
        if coll in channel.leptons:
            continue
        fields = ["pt", "eta", "phi"] + (["mass", "btag"] if coll == "Jet" else [])
        for i in range(n):
            cols |= {
                f"{coll.lower()}{i + 1}_{f}": slots[f"{coll.lower()}{i + 1}_{f}"] for f in fields
            }
    for name in channel.particles:
        cols |= {f"{name}_{f}": slots[f"{name}_{f}"] for f in ("pt", "eta", "phi", "mass")}
    cols |= {k: slots[k] for k in ("MET_pt", "MET_phi") if k in slots}
    if "nJet" in channel.event_fields or "Jet" in channel.collections:
        cols["nJet"] = slots["nJet"]  # the event's count, else the stored jets'
    cols |= channel_masses(table, channel)
    return cols


def derived_columns(table: ak.Array, channel: Channel) -> dict[str, np.ndarray]:
    """Quantities a generator must get right through correlations, not marginals.

    From the objects of the channel's first resonance (e.g. the lepton pair of ``zll``,
    the K π π of ``dplus``): the pT of their summed system (``sys_pt``) and the ΔR and
    ``|Δφ|`` of the two leading ones (``dR_12``, ``dphi_12``). NaN where the event has
    fewer than two such objects.

    Args:
        table: an event table of ``channel``.
        channel: its channel definition.

    Returns:
        Column name -> float64 array of length ``len(table)``; empty for a channel
        without resonances.
    """
    if not channel.resonances:
        return {}
    objects = objects_of(table, channel.resonances[0].objects)
    objects = objects[ak.argsort(objects.pt, axis=1, ascending=False)]
    two = ak.num(objects) >= 2
    pair = ak.pad_none(objects, 2, axis=1)
    first, second = pair[:, 0], pair[:, 1]

    def column(values: ak.Array) -> np.ndarray:
        return np.where(ak.to_numpy(two), ak.to_numpy(ak.fill_none(values, np.nan)), np.nan)

    return {
        "sys_pt": column(system(objects).pt).astype(np.float64),
        "dR_12": column(first.deltaR(second)).astype(np.float64),
        "dphi_12": np.abs(column(first.deltaphi(second))).astype(np.float64),
    }


_DERIVED_LABELS = {
    "sys_pt": "$p_{{T}}$ of the {objects} system [GeV]",
    "dR_12": r"$\Delta R$ of the leading {objects} pair",
    "dphi_12": r"$|\Delta\phi|$ of the leading {objects} pair",
}


def feature_label(name: str, channel: Channel) -> str:
    """An axis label for a feature column."""
    for r in channel.resonances:
        if r.name == name:
            return r.label
    if name in _DERIVED_LABELS and channel.resonances:
        objects = channel.resonances[0].objects
        what = "lepton" if set(objects) <= set(channel.leptons) else "/".join(objects)
        return _DERIVED_LABELS[name].format(objects=what)
    if name == "nJet":
        return "number of jets"
    obj, _, field = name.rpartition("_")
    return f"{obj} {FEATURE_LABELS.get(field, field)}"
