"""Format detection and the common object layout, on small synthetic files."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from conftest import SIMPLE_EVENTS

from evmult.coffea import extract
from evmult.errors import InputError
from evmult.io.csv import csv_chunks, read_csv_chunk
from evmult.io.readers import detect_format

CSV_LINES = [
    "0;ttbar;1;34615.5;2.41903;b,164977,117608,0.862588,0.309257;j,91694.3,88779.8,-0.235298,-0.703188;m-,125248,111976,0.482205,1.02933;",
    "1;z_jets;0.5;4766.29;-2.90511;e-,55737.3,54062.9,-0.215162,2.74646;e+,80854.9,48164.2,-1.10202,-0.491242;",
    "2;wz;1;100.0;0.1;m+,50000,40000,0.5,1.0;m-,40000,30000,-0.3,-2.0;e+,20000,15000,1.0,0.0;g,30000,30000,0.0,0.5;",
]


def test_nanoaod_layout_and_weights(nanoaod_file) -> None:
    path = nanoaod_file(SIMPLE_EVENTS)
    assert detect_format(path) == "nanoaod"
    table = extract([path], "zll")
    assert len(table) == 2
    assert table.Muon.pdgId.tolist() == [[-13, 13], []]  # μ+ has pdgId -13
    assert table.Electron.charge.tolist() == [[], [-1, 1]]
    assert table.Jet.btag.tolist() == [[False], [True, False]]  # 0.9 > DeepJet medium
    assert table.nJet.tolist() == [1, 2]
    assert table.weight.tolist() == [2.0, 2.0]  # genWeight
    assert table.process.tolist() == ["nano", "nano"]
    assert table.MET.pt.tolist() == [10.0, 25.0]


def test_csv_layout_units_and_labels(tmp_path: Path) -> None:
    path = tmp_path / "dm.csv"
    path.write_text("\n".join(CSV_LINES) + "\n")
    assert detect_format(path) == "csv"
    (chunk,) = csv_chunks(path)
    events = read_csv_chunk(chunk)
    assert events.process.tolist() == ["ttbar", "z_jets", "wz"]
    assert events.weight.tolist() == [1.0, 0.5, 1.0]
    assert events.Jet.btag.tolist() == [[True, False], [], []]
    assert events.Jet.pt[0, 0] == pytest.approx(117.608)  # MeV -> GeV
    assert events.MET.pt[0] == pytest.approx(34.6155, rel=1e-6)
    assert events.Muon.charge.tolist() == [[-1], [], [1, -1]]
    assert events.Electron.pdgId.tolist() == [[], [11, -11], [-11]]
    assert len(events.Photon[2]) == 1
    # masses rebuilt from E, pT, eta: the b jet's E is 164.977 GeV
    jet = events.Jet[0, 0]
    assert float(jet.E) == pytest.approx(164.977, rel=1e-5)


def test_csv_masses_pdg_for_leptons_signed_for_the_rest(tmp_path: Path) -> None:
    # a muon whose rounded E is below its momentum, and a photon with E < p
    line = (
        "0;z;1;10;0;m-,112000,111976,0.0,1.0;m+,50000,40000,0.5,1.0;g,29990,30000,0.0,0.5;"
        "j,100000,60000,0.1,0.2;"
    )
    path = tmp_path / "m.csv"
    path.write_text(line + "\r\n\n")  # CRLF and a blank last line
    events = read_csv_chunk(csv_chunks(path)[0])
    assert len(events) == 1
    assert events.Muon.mass[0].tolist() == pytest.approx([0.1056584, 0.1056584])
    # m² = 29.99² − 30² GeV²: the mass keeps the sign of its square, as the ROOT reader's
    assert events.Photon.mass[0, 0] == pytest.approx(-np.sqrt(30.0**2 - 29.99**2), rel=1e-5)
    e, pt, pz = 100.0, 60.0, 60.0 * np.sinh(0.1)
    assert events.Jet.mass[0, 0] == pytest.approx(np.sqrt(e**2 - pt**2 - pz**2), rel=1e-6)


@pytest.mark.parametrize("chunk_bytes", [23, 50, 160, 1 << 20])
def test_csv_byte_ranges_cover_every_line_once(tmp_path: Path, chunk_bytes: int) -> None:
    path = tmp_path / "dm.csv"
    path.write_text("\n".join(CSV_LINES * 7) + "\n")
    chunks = csv_chunks(path, chunk_bytes=chunk_bytes)
    labels = [p for c in chunks for p in read_csv_chunk(c).process.tolist()]
    assert labels == ["ttbar", "z_jets", "wz"] * 7


def test_csv_errors_name_file_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(CSV_LINES[0] + "\n" + "1;z;1;10;0;x,1,2,3,4;\n")
    with pytest.raises(InputError, match=r"bad.csv \(byte \d+\): unknown object code 'x'"):
        read_csv_chunk(csv_chunks(path)[0])
    path.write_text("1;z;1;ten;0;\n")
    with pytest.raises(InputError, match="cannot parse numbers"):
        read_csv_chunk(csv_chunks(path)[0])
    # the offset is that of the bad line, after blank ones
    first = CSV_LINES[0] + "\n\n"
    path.write_text(first + "2;z;1;10;0;j,1,2,3;\n")
    with pytest.raises(InputError, match=rf"\(byte {len(first)}\): cannot parse numbers"):
        read_csv_chunk(csv_chunks(path)[0])
    path.write_text(first + "2;z;nan;10;0;\n")
    with pytest.raises(InputError, match=rf"\(byte {len(first)}\): non-finite weight"):
        read_csv_chunk(csv_chunks(path)[0])
    path.write_text(first + "2;z;1;10\n")
    with pytest.raises(InputError, match="expected event_id;process;weight;MET;METphi"):
        read_csv_chunk(csv_chunks(path)[0])


def test_not_root_nor_csv(tmp_path: Path) -> None:
    path = tmp_path / "events.txt.gz"
    path.write_bytes(b"\x1f\x8b junk")
    with pytest.raises(InputError, match=r"neither a ROOT file nor a \.csv file"):
        detect_format(path)


def test_flat_pair_layout_fills_absent_collections(tmp_path: Path) -> None:
    import uproot

    path = tmp_path / "zmumu.root"
    n = 4
    cols = {
        "E1": np.full(n, 50.0),
        "px1": np.full(n, 40.0),
        "py1": np.zeros(n),
        "pz1": np.full(n, 30.0),
        "Q1": np.array([1, 1, -1, 1], np.int32),
        "E2": np.full(n, 45.0),
        "px2": np.full(n, -36.0),
        "py2": np.zeros(n),
        "pz2": np.full(n, 27.0),
        "Q2": np.array([-1, 1, 1, -1], np.int32),
    }
    with uproot.recreate(path) as f:
        f.mktree("events", {k: v.dtype for k, v in cols.items()})
        f["events"].extend(cols)
    assert detect_format(path) == "flat"
    with pytest.warns(UserWarning, match="branches") as caught:
        table = extract([path], "zll")
    messages = sorted(str(w.message).split(": ", 1)[1] for w in caught)
    assert messages == [
        "no Electron branches; Electron is empty",
        "no Jet branches; Jet is empty",
        "no MET branches; MET is zero",
    ]
    assert len(table) == 3  # the same-sign event is rejected
    assert ak.all(table.MET.pt == 0)
    assert table.attrs["evmult"]["absent_collections"] == ["Electron", "Jet", "MET"]
    assert table.Muon.pt[0].tolist() == pytest.approx([40.0, 36.0])
