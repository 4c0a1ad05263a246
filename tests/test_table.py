"""Event tables on disk: round trip, metadata, vector behaviours, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import awkward as ak
import pytest
from conftest import DEMO_SAMPLE, SIMPLE_EVENTS

from evmult.coffea import extract
from evmult.errors import InputError
from evmult.io.files import atomic_path
from evmult.io.tables import read_table, write_table


def test_round_trip_keeps_data_metadata_and_behaviours(nanoaod_file, tmp_path: Path) -> None:
    table = extract([nanoaod_file(SIMPLE_EVENTS)], "zll")
    path = write_table(table, tmp_path / "t.parquet")
    back = read_table(path)
    assert ak.array_equal(back, table)
    assert back.attrs["evmult"]["channel"] == "zll"
    assert (
        back.attrs["evmult"]["sources"][0]["sha256"]
        == table.attrs["evmult"]["sources"][0]["sha256"]
    )
    assert len(back.attrs["evmult"]["sources"][0]["sha256"]) == 64
    # vector behaviours attach on load: the muon pair's mass
    mu = back.Muon[0]
    assert float((mu[0] + mu[1]).mass) == pytest.approx(
        float((table.Muon[0, 0] + table.Muon[0, 1]).mass)
    )
    assert float(back.Electron[1, 0].deltaR(back.Electron[1, 1])) > 0


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"

    def write_half_then_fail() -> None:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_half_then_fail()
    assert list(tmp_path.iterdir()) == []


def test_read_rejects_foreign_parquet(tmp_path: Path) -> None:
    path = tmp_path / "plain.parquet"
    ak.to_parquet(ak.Array([{"x": 1}]), path)
    with pytest.raises(InputError, match="not an evmult event table"):
        read_table(path)


def test_split_is_random_disjoint_and_recorded(tmp_path: Path) -> None:
    from evmult.cli import main
    from evmult.io.tables import split_table

    table = extract([DEMO_SAMPLE], "zll")
    a, b = split_table(table, fraction=0.25, seed=3)
    assert len(a) == round(0.25 * len(table))
    assert len(a) + len(b) == len(table)
    assert sorted(ak.to_list(a.MET.pt) + ak.to_list(b.MET.pt)) == sorted(ak.to_list(table.MET.pt))
    assert a.attrs["evmult"]["split"] == {"part": "first", "seed": 3, "n": len(a), "of": len(table)}
    assert a.attrs["evmult"]["channel"] == "zll"
    again, _ = split_table(table, fraction=0.25, seed=3)
    assert ak.array_equal(a, again)
    with pytest.raises(InputError, match="cannot split"):
        split_table(table, n=len(table))
    with pytest.raises(InputError, match="exactly one"):
        split_table(table)
    path = tmp_path / "t.parquet"
    write_table(table, path)
    train, rest = tmp_path / "train.parquet", tmp_path / "rest.parquet"
    assert main(["split", str(path), "--n", "100", "-o", str(train), "--rest", str(rest)]) == 0
    assert len(read_table(train)) == 100
    assert len(read_table(rest)) == len(table) - 100


def test_outputs_get_the_usual_permissions(tmp_path: Path) -> None:
    from evmult.io.files import atomic_directory

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "f.bin") as tmp:
            tmp.write_bytes(b"x")
        with atomic_directory(tmp_path / "d") as tmp:
            (tmp / "a").write_text("a")
    finally:
        os.umask(old)
    assert (tmp_path / "f.bin").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755  # not mkdtemp's 0700
