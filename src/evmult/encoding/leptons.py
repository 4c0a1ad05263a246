"""The lepton block: the leptons of every lepton collection merged into pT-ordered
slots, their flavour and charge as bits (those after the first relative to its), and
the Muon and Electron collections rebuilt from the slots.

The flavour and charge of every lepton after the first are learned relative to the
first one's, as ``lep2_same`` (same flavour) and ``lep2_opposite`` (opposite charge): a
same-flavour opposite-charge pair is then two constant bits, not a correlation between
four.

Three leptons that always hold a same-flavour opposite-charge pair (WZ → 3ℓν) learn
their bits around that pair instead (:func:`z_pair_bits`): which lepton is outside the
pair nearest the Z mass (``wlep_slot``), and its flavour and charge relative to the
pair's (``wlep_same``, ``wlep_opposite``). Every value of those bits describes three
leptons with such a pair; relative to the first lepton, 7 of the 16 values of the four
bits describe none, and generated events that drew one had to be redrawn.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from evmult.channels import Z_MASS, Channel

__all__ = [
    "decode_leptons",
    "fit_lepton_masses",
    "lepton_bits",
    "lepton_bits_inverse",
    "lepton_collections",
    "z_pair_bits",
    "z_pair_bits_inverse",
    "z_pair_fits",
    "z_pair_outsider",
]

# later leptons' bits relative to the leading one's: (bit, relative name, same or not)
_RELATIVE_BITS = (("muon", "same", True), ("charge", "opposite", False))
_PDG_MASS = {"13": 0.105658, "11": 0.000511}  # for a flavour the sample lacks
_PAIRS = ((1, 2, 3), (1, 3, 2), (2, 3, 1))  # two leptons' slots and the third one's


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


def z_pair_outsider(raw: dict[str, np.ndarray]) -> np.ndarray:
    """The slot (1 to 3) of the lepton outside each event's same-flavour opposite-charge
    pair of mass nearest the Z's, 0 where the three leptons hold no such pair.

    Args:
        raw: the raw columns of three lepton slots: ``lep1_pt`` … ``lep3_phi`` and the
            ``_muon`` and ``_charge`` bits (the leptons taken massless).
    """
    best = np.full(len(raw["lep1_pt"]), np.inf)
    out = np.zeros(len(best))
    for a, b, other in _PAIRS:
        pa, pb = f"lep{a}", f"lep{b}"
        with np.errstate(invalid="ignore"):
            sfos = (raw[f"{pa}_muon"] == raw[f"{pb}_muon"]) & (
                raw[f"{pa}_charge"] != raw[f"{pb}_charge"]
            )
            opening = np.cosh(raw[f"{pa}_eta"] - raw[f"{pb}_eta"]) - np.cos(
                raw[f"{pa}_phi"] - raw[f"{pb}_phi"]
            )
            distance = np.abs(np.sqrt(2 * raw[f"{pa}_pt"] * raw[f"{pb}_pt"] * opening) - Z_MASS)
            nearer = sfos & (distance < best)
        out = np.where(nearer, other, out)
        best = np.where(nearer, distance, best)
    return out


def z_pair_fits(raw: dict[str, np.ndarray], n_leptons: int, keep: list[str]) -> bool:
    """Whether the bits are learned around a Z pair (:func:`z_pair_bits`): three
    leptons in every event, a same-flavour opposite-charge pair among them in every
    one, and no bit of the second or third lepton a condition (``keep``)."""
    bits = {f"lep{i}_{b}" for i in (2, 3) for b in ("muon", "charge")}
    if n_leptons != 3 or bits & set(keep) or not bits <= set(raw):
        return False
    return bool(np.all(z_pair_outsider(raw) > 0))


def z_pair_bits(out: dict[str, np.ndarray], raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The second and third leptons' flavour and charge bits of ``out`` replaced by
    the slot of the lepton outside the Z pair (:func:`z_pair_outsider`) and that
    lepton's flavour and charge relative to the pair's leading lepton (``wlep_same``,
    ``wlep_opposite``); the first lepton keeps its bits."""
    for i in (2, 3):
        for bit in ("muon", "charge"):
            out.pop(f"lep{i}_{bit}")
    slot = z_pair_outsider(raw)
    lead = np.where(slot == 1, 2, 1)  # the pair's leading lepton
    out["wlep_slot"] = slot
    for bit, relative, same in _RELATIVE_BITS:
        values = np.stack([raw[f"lep{i}_{bit}"] for i in (1, 2, 3)], axis=1)
        mine = np.take_along_axis(values, (slot[:, None] - 1).astype(np.intp), axis=1)[:, 0]
        pair = np.take_along_axis(values, lead[:, None] - 1, axis=1)[:, 0]
        equal = (mine == pair) * 1.0
        out[f"wlep_{relative}"] = equal if same else 1.0 - equal
    return out


def z_pair_bits_inverse(v: dict[str, np.ndarray]) -> None:
    """Set the second and third leptons' flavour and charge bits from the first's and
    the Z pair's (:func:`z_pair_bits`; in place)."""
    slot, muon, charge = v["wlep_slot"], v["lep1_muon"], v["lep1_charge"]
    same, opposite = v["wlep_same"] > 0.5, v["wlep_opposite"] > 0.5
    # the first lepton is the pair's leading one unless it is the lepton outside
    pair_muon = np.where((slot == 1) & ~same, 1.0 - muon, muon)
    pair_charge = np.where((slot == 1) & opposite, 1.0 - charge, charge)
    out_muon = np.where(same, pair_muon, 1.0 - pair_muon)
    out_charge = np.where(opposite, 1.0 - pair_charge, pair_charge)
    # slot 1: (pair lead, pair trail); 2: (outside, pair trail); 3: (pair trail, outside)
    v["lep2_muon"] = np.where(slot == 2, out_muon, pair_muon)
    v["lep2_charge"] = np.where(
        slot == 1, pair_charge, np.where(slot == 2, out_charge, 1.0 - pair_charge)
    )
    v["lep3_muon"] = np.where(slot == 3, out_muon, pair_muon)
    v["lep3_charge"] = np.where(slot == 3, out_charge, 1.0 - pair_charge)


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
