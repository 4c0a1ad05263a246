"""The command line: help, version, extract, summary, and one-line errors for bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from conftest import DEMO_SAMPLE, SIMPLE_EVENTS

from evmult import __version__
from evmult.cli import main
from evmult.io.tables import read_table
from evmult.physics import invariant_mass


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evmult.cli", *args], capture_output=True, text=True, check=False
    )


def test_version_and_help() -> None:
    assert run("--version").stdout.strip() == f"evmult {__version__}"
    out = run("--help")
    assert out.returncode == 0
    assert "extract" in out.stdout
    assert "summary" in out.stdout


def test_channels_lists_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["channels"]) == 0
    out = capsys.readouterr().out
    for name in ("zll", "zgamma", "wz", "ttbar_semilep", "dplus"):
        assert name in out
    assert "lead_pt_min=20.0" in out


def test_extract_and_summary_on_the_demo_sample(tmp_path: Path) -> None:
    table_path = tmp_path / "new-dir" / "zll.parquet"  # the directory is created
    out = run("extract", "--channel", "zll", str(DEMO_SAMPLE), "-o", str(table_path))
    assert out.returncode == 0, out.stderr
    table = read_table(table_path)
    meta = table.attrs["evmult"]
    assert meta["channel"] == "zll"
    assert meta["format"] == "nanoaod"
    assert meta["cutflow"]["demo_zll"]["events"] == 20_000
    assert 5_000 < len(table) < 15_000
    # the demo's Z peak: Pythia Z/γ* with 1-2 % lepton resolution
    mll = invariant_mass(ak.concatenate([table.Muon, table.Electron], axis=1))
    assert np.median(mll) == pytest.approx(91.0, abs=1.0)
    summary = run("summary", str(table_path), "-o", str(tmp_path / "sum"))
    assert summary.returncode == 0, summary.stderr
    assert "mll" in summary.stdout
    assert (tmp_path / "sum" / "summary.html").is_file()
    assert (tmp_path / "sum" / "mll.png").stat().st_size > 5_000
    assert (tmp_path / "sum" / "lep1_pt.pdf").is_file()


def _error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("evmult: error: ")
    assert err.count("\n") == 1  # one line, no traceback
    return err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(
        [
            "extract",
            "--channel",
            "zll",
            str(tmp_path / "nope.root"),
            "-o",
            str(tmp_path / "t.parquet"),
        ],
        capsys,
    )
    assert "nope.root: no such file" in err
    assert not (tmp_path / "t.parquet").exists()


def test_unknown_channel(nanoaod_file, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = nanoaod_file(SIMPLE_EVENTS)
    err = _error(
        ["extract", "--channel", "zz4l", str(path), "-o", str(tmp_path / "t.parquet")], capsys
    )
    assert "unknown channel 'zz4l'" in err
    assert "zll" in err


def test_wrong_tree(nanoaod_file, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = nanoaod_file(SIMPLE_EVENTS)
    err = _error(
        [
            "extract",
            "--channel",
            "zll",
            "--tree",
            "Runs",
            str(path),
            "-o",
            str(tmp_path / "t.parquet"),
        ],
        capsys,
    )
    assert "no tree 'Runs'" in err
    assert "Events" in err


def test_missing_branch_names_branch_and_channel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nomuoncharge.root"
    with uproot.recreate(path) as f:
        f["Events"] = {"nMuon": np.array([0], np.int32), "Muon_pt": np.array([1.0])}
    err = _error(
        ["extract", "--channel", "zll", str(path), "-o", str(tmp_path / "t.parquet")], capsys
    )
    assert "lacks branch 'Muon_eta'" in err
    assert "channel 'zll'" in err


def test_empty_selection(nanoaod_file, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = nanoaod_file(SIMPLE_EVENTS)
    out = tmp_path / "t.parquet"
    err = _error(
        ["extract", "--channel", "zll", "--option", "lead_pt_min=1000", str(path), "-o", str(out)],
        capsys,
    )
    assert "no event" in err
    assert "'events': 3" in err
    assert not out.exists()


def test_non_finite_value(nanoaod_file, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = [dict(e) for e in SIMPLE_EVENTS]
    events[0]["met"] = (float("nan"), 0.0)
    path = nanoaod_file(events)
    out = tmp_path / "t.parquet"
    err = _error(["extract", "--channel", "zll", str(path), "-o", str(out)], capsys)
    assert "non-finite value nan in MET.pt" in err
    assert str(path) in err
    assert not out.exists()
    assert list(tmp_path.glob(".t.parquet*")) == []  # no temporary file either


def test_bad_option(nanoaod_file, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = nanoaod_file(SIMPLE_EVENTS)
    err = _error(
        [
            "extract",
            "--channel",
            "zll",
            "--option",
            "lead_pt_min=high",
            str(path),
            "-o",
            str(tmp_path / "t.parquet"),
        ],
        capsys,
    )
    assert "lead_pt_min='high'" in err
    err = _error(
        [
            "extract",
            "--channel",
            "zll",
            "--option",
            "lead_ptmin=3",
            str(path),
            "-o",
            str(tmp_path / "t.parquet"),
        ],
        capsys,
    )
    assert "unknown option 'lead_ptmin'" in err


def test_refuses_to_overwrite(
    nanoaod_file, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = nanoaod_file(SIMPLE_EVENTS)
    out = tmp_path / "t.parquet"
    out.write_text("precious")
    err = _error(["extract", "--channel", "zll", str(path), "-o", str(out)], capsys)
    assert "--force" in err
    assert out.read_text() == "precious"
    assert main(["extract", "--channel", "zll", str(path), "-o", str(out), "--force"]) == 0
    assert len(read_table(out)) == 2


def test_not_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "x.parquet"
    bogus.write_bytes(b"not parquet at all")
    err = _error(["summary", str(bogus)], capsys)
    assert "not a parquet file" in err
