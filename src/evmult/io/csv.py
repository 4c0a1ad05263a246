"""DarkMachines CSV: streamed in byte ranges that end on line boundaries, parsed with
pyarrow into the common object layout (:mod:`evmult.io.layout`).

A line is ``event_id;process;weight;MET;METphi;obj1,E1,pt1,eta1,phi1;...`` with energies
and momenta in MeV; object codes ``j``/``b`` (jets, b-tagged), ``e±``, ``m±``, ``g``.
Electrons and muons get their PDG masses (the file's rounded energies would give some
negative ones); jets and photons the signed mass of E and p.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from evmult.errors import InputError
from evmult.io.layout import ELECTRON_MASS, MUON_MASS, lepton_ids, vector_record

__all__ = ["CsvChunk", "csv_chunks", "read_csv_chunk"]

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
            fields |= lepton_ids(coll, q)
        elif coll == "Jet":
            fields["btag"] = q == 1
        counts = np.bincount(line_of[sel], minlength=n_events)
        out[coll] = ak.unflatten(vector_record(fields), counts)  # already in pT order
    out["MET"] = vector_record({"pt": met / 1000.0, "phi": metphi}, "Momentum2D")
    out["weight"] = weight
    out["process"] = ak.drop_none(ak.from_arrow(process))
    return ak.zip(out, depth_limit=1)
