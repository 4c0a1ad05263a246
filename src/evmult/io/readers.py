"""Input formats: detection, pre-flight checks and the common object layout.

Every format is turned into the record of :mod:`evmult.io.layout` before a channel
selects it. ROOT formats are read lazily through coffea's NanoEvents (only the branches
a channel needs are touched, which also keeps Delphes' unreadable ``fBits`` branches
away); DarkMachines CSV, which coffea does not read, is streamed by
:mod:`evmult.io.csv` in byte ranges that end on line boundaries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from evmult.errors import InputError
from evmult.io.layout import (
    ELECTRON_MASS,
    MUON_MASS,
    NANOAOD_LOOSE_ID,
    empty_collection,
    lepton_ids,
    sorted_objects,
    vector_record,
)

__all__ = [
    "FLAT_WEIGHT_BRANCHES",
    "FORMATS",
    "ReaderOptions",
    "absent_collections",
    "default_treename",
    "detect_format",
    "flat_weight",
    "normalise",
    "required_branches",
    "tree_branches",
]

FORMATS = ("nanoaod", "delphes", "flat", "csv")

#: Branches read per collection, by format, as (record field in NanoEvents, meaning).
_NANOAOD_FIELDS: dict[str, tuple[str, ...]] = {
    "Muon": ("pt", "eta", "phi", "mass", "charge", "pdgId"),
    "Electron": ("pt", "eta", "phi", "mass", "charge", "pdgId"),
    "Photon": ("pt", "eta", "phi"),
    "Jet": ("pt", "eta", "phi", "mass"),
    "MET": ("pt", "phi"),
}
_DELPHES_FIELDS: dict[str, tuple[str, ...]] = {
    "Muon": ("PT", "Eta", "Phi", "Charge"),
    "Electron": ("PT", "Eta", "Phi", "Charge"),
    "Photon": ("PT", "Eta", "Phi"),
    "Jet": ("PT", "Eta", "Phi", "Mass", "BTag"),
    "MissingET": ("MET", "Phi"),
}
_FLAT_JAGGED = ("Px", "Py", "Pz", "E")
#: Branches a flat ntuple's event weight is read from, first match wins.
FLAT_WEIGHT_BRANCHES = ("EventWeight", "weight", "Weight")
_FLAT_PAIR = ("E{i}", "px{i}", "py{i}", "pz{i}", "Q{i}")


@dataclass(frozen=True)
class ReaderOptions:
    """How raw branches become the common layout.

    Args:
        nanoaod_id: apply NanoAOD loose identification (``Muon_looseId``,
            ``Electron_cutBased >= 2``, ``Photon_cutBased >= 1``).
        btag_branch: NanoAOD jet b-tag discriminant.
        btag_wp: working point on ``btag_branch`` above which a jet is b-tagged
            (default: DeepJet medium, 2018 UL).
    """

    nanoaod_id: bool = True
    btag_branch: str = "btagDeepFlavB"
    btag_wp: float = 0.2783


def detect_format(path: str | Path) -> str:
    """Guess the format of an input file from its content.

    Args:
        path: a ROOT file or a DarkMachines-style CSV file.

    Returns:
        One of :data:`FORMATS`.

    Raises:
        InputError: if the file is missing or is neither ROOT nor CSV.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise InputError(msg)
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != b"root":
        if path.suffix.lower() in {".csv", ".txt"}:
            return "csv"
        msg = f"{path}: neither a ROOT file nor a .csv file; pass --format"
        raise InputError(msg)
    with uproot.open(path) as f:
        names = set(f.keys(cycle=False))
        if "Delphes" in names:
            return "delphes"
        if "Events" in names and "nMuon" in f["Events"]:
            return "nanoaod"
    return "flat"


def default_treename(path: str | Path, fmt: str) -> str:
    """The tree a format lives in: ``Events``, ``Delphes``, or a flat file's only TTree.

    Raises:
        InputError: if a flat file holds no TTree or several.
    """
    if fmt == "nanoaod":
        return "Events"
    if fmt == "delphes":
        return "Delphes"
    with uproot.open(path) as f:
        trees = _trees(f)
    if len(trees) != 1:
        found = ", ".join(trees) or "none"
        msg = f"{path}: cannot choose a tree (found: {found}); pass --tree"
        raise InputError(msg)
    return trees[0]


def _trees(f: Any) -> list[str]:
    """Names of the TTrees and RNTuples at the top of an open ROOT file."""
    kinds = {"TTree", "ROOT::RNTuple"}
    return sorted({k.split(";")[0] for k, c in f.classnames(recursive=False).items() if c in kinds})


def tree_branches(path: str | Path, treename: str) -> set[str]:
    """All branch names of ``treename`` in ``path`` (Delphes ones as ``Muon/Muon.PT``).

    Raises:
        InputError: if the file cannot be opened or has no such tree.
    """
    try:
        f = uproot.open(path)
    except FileNotFoundError:
        msg = f"{path}: no such file"
        raise InputError(msg) from None
    except (OSError, ValueError) as err:
        msg = f"{path}: not a readable ROOT file ({err})"
        raise InputError(msg) from None
    with f:
        if treename not in _trees(f):
            trees = ", ".join(_trees(f)) or "none"
            msg = f"{path}: no tree {treename!r} (trees in the file: {trees})"
            raise InputError(msg)
        tree = f[treename]
        if isinstance(tree, uproot.TTree):
            return set(tree.keys(recursive=True))
        return set(tree.keys())


def _flat_layout(branches: set[str], collection: str) -> str | None:
    if all(f"{collection}_{c}" in branches for c in _FLAT_JAGGED):
        return "jagged"
    if collection == "Muon" and all(p.format(i=i) in branches for p in _FLAT_PAIR for i in (1, 2)):
        return "pair"
    if collection == "MET" and {"MET_px", "MET_py"} <= branches:
        return "jagged"
    return None


def required_branches(
    fmt: str, needs: Iterable[str], branches: set[str], options: ReaderOptions
) -> list[str]:
    """Branches a format must have to provide the collections in ``needs``.

    For flat trees, a collection can come either as jagged ``Muon_Px, Muon_Py, Muon_Pz,
    Muon_E`` branches or, for muon pairs, as ``E1, px1, py1, pz1, Q1, E2, ...``.

    Args:
        fmt: input format.
        needs: collection names (from :data:`evmult.io.layout.COLLECTIONS`).
        branches: the branches present (used to choose a flat layout).
        options: reader options (NanoAOD identification, b-tag branch).

    Returns:
        The branch names that must exist.
    """
    out: list[str] = []
    for coll in needs:
        if fmt == "nanoaod":
            fields = list(_NANOAOD_FIELDS[coll])
            if options.nanoaod_id and coll in NANOAOD_LOOSE_ID:
                fields.append(NANOAOD_LOOSE_ID[coll][0])
            if coll == "Jet":
                fields.append(options.btag_branch)
            out += [f"{coll}_{f}" for f in fields]
        elif fmt == "delphes":
            name = "MissingET" if coll == "MET" else coll
            out += [f"{name}/{name}.{f}" for f in _DELPHES_FIELDS[name]]
    if fmt == "flat":
        leptons = [c for c in needs if c in ("Muon", "Electron")]
        if leptons and not any(_flat_layout(branches, c) for c in leptons):
            out += [f"{c}_{x}" for c in leptons for x in _FLAT_JAGGED]
    return out


def absent_collections(fmt: str, needs: Iterable[str], branches: set[str]) -> list[str]:
    """Collections a flat ntuple does not have; they are read as empty (MET as zero).

    Only flat ntuples may lack collections: NanoAOD and Delphes inputs must have all.
    """
    if fmt != "flat":
        return []
    return [c for c in needs if _flat_layout(branches, c) is None]


def _normalise_nanoaod(events: Any, needs: Iterable[str], options: ReaderOptions) -> dict:
    out: dict[str, Any] = {}
    for coll in needs:
        src = events[coll]
        if coll == "MET":
            out["MET"] = vector_record({"pt": src.pt, "phi": src.phi}, "Momentum2D")
            continue
        if options.nanoaod_id and coll in NANOAOD_LOOSE_ID:
            field, minimum = NANOAOD_LOOSE_ID[coll]
            src = src[src[field] >= minimum]
        fields = {f: src[f] for f in _NANOAOD_FIELDS[coll]}
        if coll == "Photon":
            fields["mass"] = ak.zeros_like(src.pt)
        if coll == "Jet":
            fields["btag"] = src[options.btag_branch] > options.btag_wp
        out[coll] = sorted_objects(fields)
    fields = events.fields
    out["weight"] = events.genWeight if "genWeight" in fields else np.ones(len(events))
    if "evmult" in fields and "nJet" in events.evmult.fields:
        # an evmult file stores the jets its channel keeps; this is the full count
        out["evmult_nJet"] = events.evmult.nJet
    return out


def _normalise_delphes(events: Any, needs: Iterable[str]) -> dict:
    out: dict[str, Any] = {}
    for coll in needs:
        if coll == "MET":
            met = events.MissingET
            out["MET"] = vector_record({"pt": met.MET, "phi": met.Phi}, "Momentum2D")
            continue
        src = events[coll]
        fields = {"pt": src.PT, "eta": src.Eta, "phi": src.Phi}
        if coll in ("Muon", "Electron"):
            fields |= lepton_ids(coll, ak.values_astype(src.Charge, np.int32))
            lepton_mass = MUON_MASS if coll == "Muon" else ELECTRON_MASS
            fields["mass"] = ak.ones_like(src.PT) * lepton_mass
        elif coll == "Photon":
            fields["mass"] = ak.zeros_like(src.PT)
        else:
            fields["mass"] = src.Mass
            fields["btag"] = (src.BTag % 2) == 1
        out[coll] = sorted_objects(fields)
    out["weight"] = events.Event.Weight
    return out


def _from_cartesian(px: Any, py: Any, pz: Any, e: Any) -> dict[str, Any]:
    p4 = ak.zip({"px": px, "py": py, "pz": pz, "E": e}, with_name="Momentum4D")
    return {"pt": p4.pt, "eta": p4.eta, "phi": p4.phi, "mass": p4.mass}


def _normalise_flat(events: Any, needs: Iterable[str]) -> dict:
    branches = set(events.fields)
    out: dict[str, Any] = {}
    for coll in needs:
        layout = _flat_layout(branches, coll)
        if coll == "MET" and layout is None:
            zero = np.zeros(len(events), dtype=np.float32)
            out["MET"] = vector_record({"pt": zero, "phi": zero}, "Momentum2D")
        elif coll == "MET":
            met = ak.zip({"px": events.MET_px, "py": events.MET_py}, with_name="Momentum2D")
            out["MET"] = vector_record({"pt": met.pt, "phi": met.phi}, "Momentum2D")
        elif layout == "pair":
            parts = [
                _from_cartesian(
                    events[f"px{i}"], events[f"py{i}"], events[f"pz{i}"], events[f"E{i}"]
                )
                | {"charge": ak.values_astype(events[f"Q{i}"], np.int32)}
                for i in (1, 2)
            ]
            fields = {k: ak.concatenate([p[k][:, None] for p in parts], axis=1) for k in parts[0]}
            fields |= lepton_ids(coll, fields["charge"])
            out[coll] = sorted_objects(fields)
        elif layout == "jagged":
            fields = _from_cartesian(*(events[f"{coll}_{c}"] for c in _FLAT_JAGGED))
            if coll in ("Muon", "Electron"):
                fields |= lepton_ids(coll, ak.values_astype(events[f"{coll}_Charge"], np.int32))
            if coll == "Jet":
                btag = events["Jet_btag"] if "Jet_btag" in branches else ak.zeros_like(events.Jet_E)
                fields["btag"] = btag > 0.5
            out[coll] = sorted_objects(fields)
        else:  # a collection this ntuple does not have
            out[coll] = empty_collection(len(events), coll)
    out["weight"] = flat_weight(events)
    return out


def flat_weight(events: Any) -> Any:
    """A flat ntuple's event weight: ``EventWeight``, ``weight`` or ``Weight`` (the
    first present; evmult writes ``weight``), else 1."""
    for name in FLAT_WEIGHT_BRANCHES:
        if name in events.fields:
            return events[name]
    return np.ones(len(events))


def normalise(events: Any, fmt: str, needs: Iterable[str], options: ReaderOptions) -> ak.Array:
    """Turn one chunk of NanoEvents (or a CSV chunk) into the common layout.

    Args:
        events: NanoEvents from coffea, or an array from :func:`read_csv_chunk`.
        fmt: the input format.
        needs: collections to build (the rest is never read).
        options: reader options.

    Returns:
        One record per event with the collections in ``needs``, ``weight`` (float64) and,
        where the input has it, ``process``.
    """
    needs = tuple(needs)
    if fmt == "csv":
        return events[[*needs, "weight", "process"]]
    if fmt == "nanoaod":
        out = _normalise_nanoaod(events, needs, options)
    elif fmt == "delphes":
        out = _normalise_delphes(events, needs)
    elif fmt == "flat":
        out = _normalise_flat(events, needs)
    else:
        msg = f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}"
        raise InputError(msg)
    out["weight"] = ak.values_astype(ak.without_parameters(out["weight"]), np.float64)
    return ak.zip(out, depth_limit=1)
