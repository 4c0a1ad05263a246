"""Channel processors inside a user's own coffea Runner, as the README shows."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from coffea import processor
from coffea.nanoevents import NanoAODSchema
from conftest import DEMO_SAMPLE

from evmult.coffea import collect, extract
from evmult.processors import ZllProcessor


@pytest.mark.filterwarnings("ignore:Missing cross-reference")
def test_own_runner_gives_the_extract_table() -> None:
    runner = processor.Runner(
        executor=processor.IterativeExecutor(status=False), schema=NanoAODSchema, chunksize=7_000
    )
    out = runner(
        {"demo_zll": [str(DEMO_SAMPLE)]},
        processor_instance=ZllProcessor("nanoaod"),
        treename="Events",
    )
    table = collect(out)
    assert out["cutflow"]["demo_zll"]["events"] == 20_000
    assert ak.array_equal(table, extract([DEMO_SAMPLE], "zll"))
    assert len(table) == out["cutflow"]["demo_zll"]["sfos_pair"]


def test_options_change_the_selection() -> None:
    loose = extract([DEMO_SAMPLE], "zll")
    tight = extract([DEMO_SAMPLE], "zll", options={"lead_pt_min": 40.0, "jet_pt_min": 50.0})
    assert 0 < len(tight) < len(loose)
    lead = ak.max(ak.concatenate([tight.Muon.pt, tight.Electron.pt], axis=1), axis=1)
    assert ak.all(lead > 40.0)
    assert ak.all(ak.fill_none(ak.min(tight.Jet.pt, axis=1), 99.0) > 50.0)


def test_accepts_finds_events_the_selection_would_change() -> None:
    from evmult.coffea import processor_for

    table = extract([DEMO_SAMPLE], "zll")
    proc = processor_for("zll", table.attrs["evmult"]["options"])
    assert proc.accepts(table).all()
    tight = processor_for("zll", {"lead_pt_min": 40.0, "jet_pt_min": 50.0})
    lead = ak.max(ak.concatenate([table.Muon.pt, table.Electron.pt], axis=1), axis=1)
    jets_ok = ak.all(table.Jet.pt > 50.0, axis=1)
    assert np.array_equal(tight.accepts(table), ak.to_numpy((lead > 40.0) & jets_ok))
