"""Event tables on disk: round trip, metadata, vector behaviours, atomic writes."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import pytest
from conftest import SIMPLE_EVENTS

from evmult.coffea import extract
from evmult.errors import InputError
from evmult.table import atomic_path, read_table, write_table


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
