"""Input formats: detection, pre-flight checks and one common object layout.

Every format is turned into the same per-event record before a channel selects it:

* ``Muon``, ``Electron``: lists of ``{pt, eta, phi, mass, charge, pdgId}``
* ``Photon``: list of ``{pt, eta, phi, mass}``
* ``Jet``: list of ``{pt, eta, phi, mass, btag}`` (``btag`` a bool)
* ``MET``: ``{pt, phi}``
* ``weight`` (float64) and, for DarkMachines CSV, ``process`` (the event label)

Objects carry vector's ``Momentum4D`` behaviour (``MET`` is ``Momentum2D``), momenta are
in GeV and every collection is sorted by decreasing pT. ROOT formats are read lazily
through coffea's NanoEvents (only the branches a channel needs are touched, which also
keeps Delphes' unreadable ``fBits`` branches away); DarkMachines CSV, which coffea does
not read, is streamed in byte ranges that end on line boundaries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot
import vector

from evmult.errors import InputError

__all__ = [
    "FLAT_WEIGHT_BRANCHES",
    "FORMATS",
    "CsvChunk",
    "ReaderOptions",
    "absent_collections",
    "csv_chunks",
    "default_treename",
    "detect_format",
    "empty_collection",
    "flat_weight",
    "normalise",
    "read_csv_chunk",
    "required_branches",
    "tree_branches",
    "vector_record",
]

vector.register_awkward()

FORMATS = ("nanoaod", "delphes", "flat", "csv")
MUON_MASS = 0.1056584
ELECTRON_MASS = 0.000511
COLLECTIONS = ("Muon", "Electron", "Photon", "Jet", "MET")

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
#: NanoAOD identification used when ``nanoaod_id`` is on: collection -> (field, minimum).
NANOAOD_LOOSE_ID: dict[str, tuple[str, int]] = {
    "Muon": ("looseId", 1),
    "Electron": ("cutBased", 2),
    "Photon": ("cutBased", 1),
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
        needs: collection names (from :data:`COLLECTIONS`).
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


def _objects(fields: Mapping[str, Any]) -> ak.Array:
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
    return _objects(fields)


def _lepton_ids(coll: str, charge: Any) -> dict[str, Any]:
    """``charge`` and ``pdgId`` of leptons (a negative muon has pdgId +13)."""
    return {"charge": charge, "pdgId": -(13 if coll == "Muon" else 11) * charge}


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
        out[coll] = _objects(fields)
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
            fields |= _lepton_ids(coll, ak.values_astype(src.Charge, np.int32))
            lepton_mass = MUON_MASS if coll == "Muon" else ELECTRON_MASS
            fields["mass"] = ak.ones_like(src.PT) * lepton_mass
        elif coll == "Photon":
            fields["mass"] = ak.zeros_like(src.PT)
        else:
            fields["mass"] = src.Mass
            fields["btag"] = (src.BTag % 2) == 1
        out[coll] = _objects(fields)
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
            fields |= _lepton_ids(coll, fields["charge"])
            out[coll] = _objects(fields)
        elif layout == "jagged":
            fields = _from_cartesian(*(events[f"{coll}_{c}"] for c in _FLAT_JAGGED))
            if coll in ("Muon", "Electron"):
                fields |= _lepton_ids(coll, ak.values_astype(events[f"{coll}_Charge"], np.int32))
            if coll == "Jet":
                btag = events["Jet_btag"] if "Jet_btag" in branches else ak.zeros_like(events.Jet_E)
                fields["btag"] = btag > 0.5
            out[coll] = _objects(fields)
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


# --------------------------------------------------------------------------- CSV

_CSV_CODES = {
    "j": ("Jet", 0),
    "b": ("Jet", 1),
    "e-": ("Electron", -1),
    "e+": ("Electron", 1),
    "m-": ("Muon", -1),
    "m+": ("Muon", 1),
    "g": ("Photon", 0),
}
_CSV_COLLECTIONS = ("Muon", "Electron", "Photon", "Jet")
_PDG_MASS = {"Muon": MUON_MASS, "Electron": ELECTRON_MASS}


@dataclass(frozen=True)
class CsvChunk:
    """A byte range of a DarkMachines CSV file: the lines that *start* in [start, stop)."""

    path: str
    start: int
    stop: int
    dataset: str = ""


def csv_chunks(path: str | Path, chunk_bytes: int = 8 << 20, dataset: str = "") -> list[CsvChunk]:
    """Split a CSV file into byte ranges to read independently.

    Args:
        path: the CSV file.
        chunk_bytes: approximate bytes per chunk (8 MiB is ~60k DarkMachines events).
        dataset: dataset name carried to the processor.

    Returns:
        Ranges that together cover every line exactly once.
    """
    size = Path(path).stat().st_size
    starts = list(range(0, max(size, 1), chunk_bytes))
    return [CsvChunk(str(path), a, min(a + chunk_bytes, size), dataset) for a in starts]


def _csv_error(chunk: CsvChunk, offset: int, line: bytes, why: str) -> InputError:
    text = line[:80].decode(errors="replace").rstrip()
    return InputError(f"{chunk.path} (byte {offset}): {why}: {text!r}")


def _chunk_bytes(chunk: CsvChunk) -> tuple[bytes, int]:
    """The bytes of the lines that start in [start, stop) and the offset of the first."""
    with Path(chunk.path).open("rb") as f:
        begin = chunk.start
        if begin > 0:  # a line that starts before the range belongs to the one before
            f.seek(begin - 1)
            f.readline()
            begin = f.tell()
        if begin >= chunk.stop:
            return b"", begin
        data = f.read(chunk.stop - begin)
        if data and not data.endswith(b"\n"):
            data += f.readline()  # the last line starts inside the range: read all of it
    return data, begin


class _CsvLines:
    """A chunk's non-blank lines, to point an error at its line and byte offset."""

    def __init__(self, chunk: CsvChunk, data: bytes, begin: int, kept: np.ndarray) -> None:
        self.chunk, self.data, self.begin, self.kept = chunk, data, begin, kept

    def error(self, line: int, why: str) -> InputError:
        """The error of the ``line``-th non-blank line."""
        newlines = np.flatnonzero(np.frombuffer(self.data, np.uint8) == ord("\n"))
        a = int(np.r_[0, newlines + 1][self.kept[line]])
        end = self.data.find(b"\n", a)
        return _csv_error(self.chunk, self.begin + a, self.data[a : None if end < 0 else end], why)


def _numbers(tokens: Any, lines: _CsvLines, line_of: Callable[[int], int]) -> np.ndarray:
    """Strings as float64 (vectorised; surrounding blanks allowed); the first that is no
    number names its line (``line_of`` maps a token's index to its line's)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for attempt in (tokens, pc.utf8_trim_whitespace(tokens)):
        try:
            return pc.cast(attempt, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    for i, text in enumerate(tokens.to_pylist()):
        try:
            float(text)
        except (TypeError, ValueError):
            raise lines.error(line_of(i), "cannot parse numbers") from None
    raise lines.error(line_of(0), "cannot parse numbers") from None


def read_csv_chunk(chunk: CsvChunk) -> ak.Array:
    """Read the DarkMachines events of one byte range into the common layout.

    Energies and momenta are converted from MeV (the challenge's unit) to GeV.
    Electrons and muons get their PDG masses (the file's rounded energies give many a
    negative mass squared); other objects the mass rebuilt from E, pT and η, signed
    like its square (sign(m²)·√|m²|): clipped at 0, the 3 % of jets (7 % of leading
    jets) whose rounded m² is negative would pile up at exactly 0, a spike a density
    model learns badly. The lines are split and parsed column-wise (pyarrow), at I/O
    speed.

    Raises:
        InputError: for a malformed line, an unknown object code or a non-finite number,
            naming the file and byte offset.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    data, begin = _chunk_bytes(chunk)
    try:
        data.decode()  # UTF-8 or a clear error
    except UnicodeDecodeError as err:
        msg = f"{chunk.path} (byte {begin + err.start}): not UTF-8 text"
        raise InputError(msg) from None
    raw = data.replace(b",", b";")  # code,E,pt,eta,phi fields are tokens like the rest
    ends = np.flatnonzero(np.frombuffer(raw, np.uint8) == ord("\n")) + 1
    offsets = np.r_[0, ends, len(raw)] if not ends.size or ends[-1] != len(raw) else np.r_[0, ends]
    lines = pa.StringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(raw)
    )
    stripped = pc.utf8_trim_whitespace(lines)
    filled = pc.utf8_length(stripped).to_numpy() > 0
    kept = np.flatnonzero(filled)
    where = _CsvLines(chunk, data, begin, kept)
    # event_id;process;weight;MET;METphi;code;E;pt;eta;phi;... as one list of tokens
    body = pc.utf8_rtrim(stripped.filter(pa.array(filled)), characters=";")
    tokens = pc.split_pattern(body, ";")
    n_events = len(kept)
    n_tokens = pc.list_value_length(tokens).to_numpy()
    short = np.flatnonzero(n_tokens < 5)
    if len(short):
        raise where.error(int(short[0]), "expected event_id;process;weight;MET;METphi")
    ragged = np.flatnonzero((n_tokens - 5) % 5)
    if len(ragged):
        raise where.error(int(ragged[0]), "cannot parse numbers")
    flat = pc.list_flatten(tokens)
    first = (np.cumsum(n_tokens) - n_tokens).astype(np.int64)  # each line's first token
    n_objects = (n_tokens - 5) // 5
    line_of = np.repeat(np.arange(n_events), n_objects)  # each object's event
    rank = np.arange(len(line_of)) - np.repeat(np.cumsum(n_objects) - n_objects, n_objects)
    code_at = first[line_of] + 5 + 5 * rank  # each object's code token
    numeric = np.ones(len(flat), bool)
    for index in (first, first + 1, code_at):  # event_id, process, codes
        numeric[index] = False
    per_event = 3 + 4 * n_objects  # weight, MET, METphi, then E, pt, eta, phi per object
    starts = np.cumsum(per_event) - per_event
    numbers = _numbers(
        flat.filter(pa.array(numeric)),
        where,
        lambda i: int(np.searchsorted(starts, i, side="right") - 1),
    )
    header = np.zeros(len(numbers), bool)
    for j in range(3):
        header[starts + j] = True
    weight, met, metphi = numbers[header].reshape(-1, 3).T
    e, pt, eta, phi = numbers[~header].reshape(-1, 4).T
    process = flat.take(first + 1)
    is_code = np.zeros(len(flat), bool)
    is_code[code_at] = True
    codes = pc.index_in(flat.filter(pa.array(is_code)), value_set=pa.array(list(_CSV_CODES)))
    unknown = np.flatnonzero(pc.is_null(codes).to_numpy(zero_copy_only=False))
    if len(unknown):
        bad_code = flat[int(code_at[unknown[0]])].as_py()
        raise where.error(int(line_of[unknown[0]]), f"unknown object code {bad_code!r}")
    code = codes.to_numpy(zero_copy_only=False).astype(np.int64)
    pz = pt * np.sinh(eta)
    m2 = e * e - pt * pt - pz * pz
    mass = np.copysign(np.sqrt(np.abs(m2)), m2) / 1000.0  # rounded E: m² slightly < 0
    coll_of = np.array([_CSV_COLLECTIONS.index(c) for c, _ in _CSV_CODES.values()])[code]
    charge = np.array([q for _, q in _CSV_CODES.values()], np.int32)[code]
    checked = {"weight": weight, "MET": met, "METphi": metphi}
    for name, values in checked.items():
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise where.error(int(bad[0]), f"non-finite {name}")
    out: dict[str, Any] = {}
    for i, coll in enumerate(_CSV_COLLECTIONS):
        sel = np.flatnonzero(coll_of == i)
        sel = sel[np.lexsort((-pt[sel], line_of[sel]))]  # by event, then decreasing pT
        num = {"pt": pt[sel] / 1000.0, "eta": eta[sel], "phi": phi[sel], "mass": mass[sel]}
        if coll in _PDG_MASS:
            num["mass"] = np.full(len(sel), _PDG_MASS[coll])
        for k, v in num.items():
            bad = np.flatnonzero(~np.isfinite(v))
            if len(bad):
                raise where.error(int(line_of[sel][bad[0]]), f"non-finite {coll} {k}")
        fields: dict[str, np.ndarray] = dict(num)
        q = charge[sel]
        if coll in ("Muon", "Electron"):
            fields |= _lepton_ids(coll, q)
        elif coll == "Jet":
            fields["btag"] = q == 1
        counts = np.bincount(line_of[sel], minlength=n_events)
        out[coll] = ak.unflatten(vector_record(fields), counts)  # already in pT order
    out["MET"] = vector_record({"pt": met / 1000.0, "phi": metphi}, "Momentum2D")
    out["weight"] = weight
    out["process"] = ak.drop_none(ak.from_arrow(process))
    return ak.zip(out, depth_limit=1)
