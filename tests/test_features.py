"""Feature columns and channel definitions, on events with known answers."""

from __future__ import annotations

import math
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

import evmult.io.layout  # noqa: F401  (registers vector's awkward behaviours)
from evmult.channels import CHANNELS, get_channel
from evmult.errors import SelectionError
from evmult.features import derived_columns, feature_columns, feature_label, slot_columns
from evmult.io.tables import write_table
from evmult.processors import PROCESSORS
from evmult.summary import summarise

MU = 0.1056584


def _objects(rows: list[list[dict]], extra: dict[str, type]) -> ak.Array:
    fields = {"pt": float, "eta": float, "phi": float, "mass": float, **extra}
    template = {k: t(0) for k, t in fields.items()}
    return ak.Array(
        [[template | o for o in event] for event in rows],
        with_name="Momentum4D",
    )


@pytest.fixture
def zll_table() -> ak.Array:
    """A μμ event (50 and 40 GeV back to back, one b-tagged jet, three jets in all) and
    an ee event (30 and 20 GeV at right angles, no jet)."""
    lepton = {"charge": int, "pdgId": int}
    muons = _objects(
        [
            [
                {"pt": 50.0, "phi": 0.0, "mass": MU, "charge": -1, "pdgId": 13},
                {"pt": 40.0, "phi": math.pi, "mass": MU, "charge": 1, "pdgId": -13},
            ],
            [],
        ],
        lepton,
    )
    electrons = _objects(
        [
            [],
            [
                {"pt": 30.0, "phi": 0.0, "charge": -1, "pdgId": 11},
                {"pt": 20.0, "phi": math.pi / 2, "charge": 1, "pdgId": -11},
            ],
        ],
        lepton,
    )
    jets = _objects([[{"pt": 35.0, "eta": 1.0, "mass": 5.0, "btag": True}], []], {"btag": bool})
    met = ak.Array([{"pt": 10.0, "phi": 0.5}, {"pt": 0.0, "phi": 0.0}], with_name="Momentum2D")
    return ak.zip(
        {
            "Muon": muons,
            "Electron": electrons,
            "Jet": jets,
            "MET": met,
            "nJet": np.array([3, 0], np.int32),
            "weight": np.ones(2),
        },
        depth_limit=1,
    )


def test_feature_columns_rank_leptons_whatever_their_flavour(zll_table: ak.Array) -> None:
    cols = feature_columns(zll_table, get_channel("zll"))
    assert cols["lep1_pt"].tolist() == [50.0, 30.0]
    assert cols["lep2_pt"].tolist() == [40.0, 20.0]
    assert cols["lep1_flavour"].tolist() == [13.0, 11.0]
    np.testing.assert_array_equal(cols["jet1_pt"], [35.0, np.nan])
    np.testing.assert_array_equal(cols["jet1_btag"], [1.0, np.nan])
    assert np.isnan(cols["jet2_pt"]).all()  # absent objects are NaN
    assert cols["nJet"].tolist() == [3.0, 0.0]  # the full count, not the jets kept
    assert cols["MET_pt"].tolist() == [10.0, 0.0]
    # back to back: m² = 2 p1 p2 (1 − cos π) + 2 m_μ² (up to the masses' terms)
    assert cols["mll"][0] == pytest.approx(math.sqrt(8000.0), rel=1e-5)
    assert cols["mll"][1] == pytest.approx(math.sqrt(2 * 30 * 20), rel=1e-6)
    assert all(len(v) == 2 and v.dtype == np.float64 for v in cols.values())


def test_derived_columns_of_the_leading_pair(zll_table: ak.Array) -> None:
    derived = derived_columns(zll_table, get_channel("zll"))
    assert derived["sys_pt"] == pytest.approx([10.0, math.hypot(30.0, 20.0)])
    assert derived["dphi_12"] == pytest.approx([math.pi, math.pi / 2])
    assert derived["dR_12"] == pytest.approx([math.pi, math.pi / 2])
    assert derived_columns(zll_table[:0], get_channel("zll"))["sys_pt"].shape == (0,)


def test_feature_labels() -> None:
    zll = get_channel("zll")
    assert feature_label("mll", zll) == zll.resonances[0].label
    assert feature_label("lep1_pt", zll) == "lep1 $p_{T}$ [GeV]"
    assert feature_label("nJet", zll) == "number of jets"
    assert feature_label("dR_12", zll) == r"$\Delta R$ of the leading lepton pair"
    assert feature_label("sys_pt", get_channel("dplus")).startswith("$p_{T}$ of the K/Pi1/Pi2")


def test_every_channel_has_a_processor_and_consistent_resonances() -> None:
    assert set(PROCESSORS) == set(CHANNELS)
    for channel in CHANNELS.values():
        assert get_channel(channel.name) is channel
        known = set(channel.collections) | set(channel.particles)
        for resonance in channel.resonances:
            assert set(resonance.objects) <= known, (channel.name, resonance.name)
        assert set(channel.leptons) <= set(channel.collections)
    with pytest.raises(SelectionError, match="unknown channel 'zmm'; known channels: "):
        get_channel("zmm")


def test_slot_columns_pad_every_slot_and_keep_signed_ids(zll_table: ak.Array) -> None:
    # the one flattening: merged pT-ordered leptons with signed pdgId and charge, the
    # event's nJet standing for the jet collection's count, absent slots NaN
    slots = slot_columns(zll_table, get_channel("zll"))
    assert list(slots)[:6] == [
        "nLepton",
        "lep1_pt",
        "lep1_eta",
        "lep1_phi",
        "lep1_pdgId",
        "lep1_charge",
    ]
    assert slots["nLepton"].tolist() == [2, 2]
    assert slots["lep2_pdgId"].tolist() == [-13, -11]
    assert slots["lep1_charge"].tolist() == [-1, -1]
    assert slots["nJet"].tolist() == [3, 0]
    assert slots["jet1_btag"][0] == 1.0
    assert np.isnan(slots["jet1_btag"][1])
    assert np.isnan(slots["jet2_pt"]).all()
    assert slots["MET_pt"].tolist() == [10.0, 0.0]


def test_summary_rows_are_the_statistics_of_the_finite_values(
    zll_table: ak.Array, tmp_path: Path
) -> None:
    table = ak.Array(zll_table, attrs={"evmult": {"channel": "zll"}})
    summary = summarise(write_table(table, tmp_path / "t.parquet"))
    rows = {r["feature"]: r for r in summary.rows}
    assert summary.n_events == 2
    assert summary.yield_ == 2.0
    assert rows["lep1_pt"] == {
        "feature": "lep1_pt",
        "n": 2,
        "mean": 40.0,
        "std": 10.0,
        "min": 30.0,
        "median": 40.0,
        "max": 50.0,
    }
    assert rows["jet1_pt"]["n"] == 1
    assert rows["jet1_pt"]["mean"] == 35.0
    assert rows["jet2_pt"]["n"] == 0
    assert math.isnan(rows["jet2_pt"]["mean"])
    assert "lep1_pt" in summary.text.splitlines()[3]
