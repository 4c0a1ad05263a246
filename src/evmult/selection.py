"""Building blocks of channel selections, on the common object layout.

Pure awkward + vector: no coffea, no I/O. Channel processors in ``processors/`` compose
these; each function keeps the pT ordering of its input.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

__all__ = [
    "clean",
    "has_sfos_pair",
    "kinematic",
    "leading_os_pair",
    "merge_leptons",
    "split_flavours",
]


def kinematic(objects: ak.Array, pt_min: float, eta_max: float) -> ak.Array:
    """Objects with ``pt > pt_min`` and ``|eta| < eta_max``."""
    return objects[(objects.pt > pt_min) & (abs(objects.eta) < eta_max)]


def leading_os_pair(leptons: ak.Array, lead_pt_min: float) -> ak.Array:
    """The leading opposite-charge pair of one flavour, as a list of 0 or 2 leptons.

    The pair is the first in pT order: the leading lepton with the highest-pT
    opposite-charge partner (no mass is used, so the mass spectrum is not sculpted).

    Args:
        leptons: pT-sorted leptons of one flavour, with ``charge``.
        lead_pt_min: minimum pT of the pair's leading lepton.

    Returns:
        Per event, the two leptons of the pair (leading first), or an empty list.
    """
    pairs = ak.combinations(leptons, 2, fields=["l1", "l2"])
    ok = (pairs.l1.charge * pairs.l2.charge < 0) & (pairs.l1.pt > lead_pt_min)
    first = ok & (ak.local_index(ok) == ak.argmax(ok, axis=1, keepdims=True))
    chosen = pairs[ak.fill_none(first, False)]
    return ak.concatenate([chosen.l1, chosen.l2], axis=1)


def merge_leptons(*collections: ak.Array) -> ak.Array:
    """Muons and electrons in one pT-sorted list (they share fields)."""
    merged = ak.concatenate(collections, axis=1)
    return merged[ak.argsort(merged.pt, axis=1, ascending=False)]


def split_flavours(leptons: ak.Array) -> dict[str, ak.Array]:
    """Split a merged lepton list back into ``Muon`` and ``Electron`` by ``pdgId``."""
    flavour = abs(leptons.pdgId)
    return {"Muon": leptons[flavour == 13], "Electron": leptons[flavour == 11]}


def clean(objects: ak.Array, others: ak.Array, dr_min: float) -> ak.Array:
    """Objects farther than ``dr_min`` in ΔR from every object in ``others``."""
    if dr_min <= 0:
        return objects
    pairs = ak.cartesian({"o": objects, "x": others}, axis=1, nested=True)
    near = ak.any(pairs.o.deltaR(pairs.x) < dr_min, axis=2)
    return objects[~near]


def has_sfos_pair(leptons: ak.Array) -> Any:
    """Whether each event's leptons contain a same-flavour opposite-charge pair."""
    pairs = ak.combinations(leptons, 2, fields=["a", "b"])
    sfos = pairs.a.pdgId == -pairs.b.pdgId
    return ak.to_numpy(ak.fill_none(ak.any(sfos, axis=1), False)).astype(np.bool_)
