"""The lepton block: the leptons of every lepton collection merged into pT-ordered
slots, their flavour and charge as bits (those after the first relative to its), and
the Muon and Electron collections rebuilt from the slots.

The flavour and charge of every lepton after the first are learned relative to the
first one's, as ``lep2_same`` (same flavour) and ``lep2_opposite`` (opposite charge): a
same-flavour opposite-charge pair is then two constant bits, not a correlation between
four.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from evmult.channels import Channel

__all__ = [
    "decode_leptons",
    "fit_lepton_masses",
    "lepton_bits",
    "lepton_bits_inverse",
    "lepton_collections",
]

# later leptons' bits relative to the leading one's: (bit, relative name, same or not)
_RELATIVE_BITS = (("muon", "same", True), ("charge", "opposite", False))
_PDG_MASS = {"13": 0.105658, "11": 0.000511}  # for a flavour the sample lacks


def fit_lepton_masses(table: ak.Array, channel: Channel) -> dict[str, float]:
    """``abs(pdgId)`` (as a string) -> the median lepton mass of that flavour in ``table``."""
    leptons = ak.concatenate([table[c] for c in channel.leptons], axis=1)
    pdg = np.abs(ak.to_numpy(ak.flatten(leptons.pdgId)))
    mass = ak.to_numpy(ak.flatten(leptons.mass)).astype(np.float64)
    out = {}
    for flavour in (11, 13):
        sel = pdg == flavour
        out[str(flavour)] = float(np.median(mass[sel])) if sel.any() else _PDG_MASS[str(flavour)]
    return out


def lepton_bits(
    out: dict[str, np.ndarray], n_leptons: int, keep: list[str]
) -> dict[str, np.ndarray]:
    """Flavour and charge bits of the leptons after the first relative to its (columns
    in ``keep``, the condition's, stay as they are)."""
    for i in range(2, n_leptons + 1):
        for bit, relative, same in _RELATIVE_BITS:
            name = f"lep{i}_{bit}"
            if name not in out or name in keep:
                continue
            mine, first = out.pop(name), out[f"lep1_{bit}"]
            with np.errstate(invalid="ignore"):
                equal = (mine == first) * 1.0
            out[f"lep{i}_{relative}"] = np.where(
                np.isnan(mine), np.nan, equal if same else 1.0 - equal
            )
    return out


def lepton_bits_inverse(v: dict[str, np.ndarray], n_leptons: int) -> None:
    """Set every lepton's flavour and charge bits from the relative ones (in place)."""
    for i in range(2, n_leptons + 1):
        for bit, relative, same in _RELATIVE_BITS:
            if f"lep{i}_{relative}" in v:
                agree = (v[f"lep{i}_{relative}"] > 0.5) == same
                v[f"lep{i}_{bit}"] = np.where(agree, v[f"lep1_{bit}"], 1.0 - v[f"lep1_{bit}"])


def decode_leptons(
    v: dict[str, np.ndarray],
    channel: Channel,
    lepton_mass: dict[str, float],
    kin: Any,
) -> dict[str, dict[str, np.ndarray]]:
    """The lepton slots of decoded events: ``kin(prefix, mass)`` gives a slot's momentum
    (:meth:`evmult.encoding.objects.Slots.kin`), the bits its flavour, charge and
    presence."""
    n = len(next(iter(v.values())))
    present = np.minimum(v["nLepton"], channel.n_leptons) if "nLepton" in v else None
    objs = {}
    for i in range(channel.n_leptons):
        p = f"lep{i + 1}"
        muon = v[f"{p}_muon"] > 0.5
        mass = np.where(muon, lepton_mass["13"], lepton_mass["11"])
        objs[p] = kin(p, mass) | {
            "muon": muon,
            "charge": np.where(v[f"{p}_charge"] > 0.5, 1, -1),
            "present": np.ones(n, bool) if present is None else i < present,
        }
    return objs


def lepton_collections(
    objs: dict[str, dict[str, np.ndarray]], channel: Channel
) -> dict[str, ak.Array]:
    """Muon and Electron collections from the lepton slots, each pT-ordered."""
    prefixes = [f"lep{i + 1}" for i in range(channel.n_leptons)]
    stacked = {
        k: np.stack([objs[p][k] for p in prefixes], axis=1)
        for k in ("pt", "eta", "phi", "mass", "muon", "charge", "present")
    }
    order = np.argsort(-np.where(stacked["present"], stacked["pt"], -np.inf), axis=1, kind="stable")
    stacked = {k: np.take_along_axis(a, order, axis=1) for k, a in stacked.items()}
    out = {}
    for coll, is_muon, pdg in (("Muon", True, 13), ("Electron", False, 11)):
        if coll not in channel.leptons:
            continue
        keep = (stacked["muon"] == is_muon) & stacked["present"]
        counts = keep.sum(axis=1)
        flat = {k: a[keep] for k, a in stacked.items()}
        record = {
            "pt": flat["pt"].astype(np.float32),
            "eta": flat["eta"].astype(np.float32),
            "phi": flat["phi"].astype(np.float32),
            "mass": flat["mass"].astype(np.float32),
            "charge": flat["charge"].astype(np.int32),
            "pdgId": (-pdg * flat["charge"]).astype(np.int32),
        }
        out[coll] = ak.unflatten(ak.zip(record, with_name="Momentum4D"), counts)
    return out
