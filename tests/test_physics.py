"""Channel masses from vector, against hand calculations."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
import vector

from evmult.channels import get_channel
from evmult.physics import channel_masses

vector.register_awkward()


def _obj(pt: float, eta: float, phi: float, mass: float = 0.0, **extra: float) -> dict:
    return {"pt": pt, "eta": eta, "phi": phi, "mass": mass, **extra}


def test_ttbar_masses() -> None:
    jets = [
        _obj(100, 0, 0, btag=False),
        _obj(80, 0, 2.0, btag=False),
        _obj(60, 0, -2.0, btag=True),
        _obj(30, 1, 1, btag=False),
    ]
    muons = ak.Array([[_obj(40, 0, 0, 0.1057, charge=1, pdgId=-13)]], with_name="Momentum4D")
    table = ak.zip(
        {
            "Muon": muons,
            "Electron": muons[:, :0],
            "Jet": ak.Array([jets], with_name="Momentum4D"),
            "MET": ak.Array([{"pt": 30.0, "phi": math.pi}], with_name="Momentum2D"),
        },
        depth_limit=1,
    )
    masses = channel_masses(table, get_channel("ttbar_semilep"))
    # mT of a (nearly massless) lepton back to back with MET: sqrt(2 * 40 * 30 * 2)
    assert masses["mtw"][0] == pytest.approx(math.sqrt(2 * 40 * 30 * 2), rel=1e-3)
    # the triplet with the largest pT: jets 0, 1, 3 (vector sums by hand below)
    p4 = [vector.obj(pt=j["pt"], eta=j["eta"], phi=j["phi"], mass=0.0) for j in jets]
    best = max(
        ((a, b, c) for a in range(4) for b in range(a + 1, 4) for c in range(b + 1, 4)),
        key=lambda t: (p4[t[0]] + p4[t[1]] + p4[t[2]]).pt,
    )
    expected = (p4[best[0]] + p4[best[1]] + p4[best[2]]).mass
    assert masses["mjjj"][0] == pytest.approx(expected, rel=1e-6)


def test_dilepton_mass_is_nan_without_leptons() -> None:
    muons = ak.Array(
        [[_obj(1, 0, 0)], [_obj(45, 0, 0), _obj(45, 0, math.pi)]], with_name="Momentum4D"
    )
    muons = muons[ak.Array([[False], [True, True]])]
    table = ak.zip({"Muon": muons, "Electron": muons[muons.pt < 0]}, depth_limit=1)
    mll = channel_masses(table, get_channel("zll"))["mll"]
    assert np.isnan(mll[0])
    assert mll[1] == pytest.approx(90.0)
