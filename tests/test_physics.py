"""Channel masses from vector, against hand calculations."""

from __future__ import annotations

import itertools
import math

import awkward as ak
import numpy as np
import pytest
import vector
from conftest import KPIPI_MASSES, draw_decays

from evmult.channels import get_channel
from evmult.physics import channel_masses, decay_coordinates, decay_momenta, resonance_mass

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


def test_trijet_mass_of_float32_jets_is_computed_in_float64() -> None:
    # jets as a float32 table stores them: summed in float32, the trijet's mass is
    # 4e-7 off here, up to 1e-4 on the shared tt̄ events
    pt, eta = [62.474312, 49.429375, 33.470932, 33.313438], [0.953104, 1.4, 1.2, 1.5]
    phi, mass = [1.300785, -0.6, -0.9, -1.8], [5.896535, 9.430020, 3.807546, 5.033971]
    jets = ak.Array(
        [[_obj(*values) for values in zip(pt, eta, phi, mass, strict=True)]],
        with_name="Momentum4D",
    )
    jets = ak.values_astype(jets, np.float32)
    mjjj = get_channel("ttbar_semilep").resonances[0]
    got = resonance_mass(ak.zip({"Jet": jets}, depth_limit=1), mjjj)
    p4 = [
        vector.obj(pt=float(j.pt), eta=float(j.eta), phi=float(j.phi), mass=float(j.mass))
        for j in jets[0]
    ]
    best = max(itertools.combinations(p4, 3), key=lambda t: (t[0] + t[1] + t[2]).pt)
    assert got[0] == pytest.approx((best[0] + best[1] + best[2]).mass, rel=1e-9)


def test_dilepton_mass_is_nan_without_leptons() -> None:
    muons = ak.Array(
        [[_obj(1, 0, 0)], [_obj(45, 0, 0), _obj(45, 0, math.pi)]], with_name="Momentum4D"
    )
    muons = muons[ak.Array([[False], [True, True]])]
    table = ak.zip({"Muon": muons, "Electron": muons[muons.pt < 0]}, depth_limit=1)
    mll = channel_masses(table, get_channel("zll"))["mll"]
    assert np.isnan(mll[0])
    assert mll[1] == pytest.approx(90.0)


def test_decay_coordinates_invert_decay_momenta() -> None:
    parent, coords = draw_decays(5_000, 1)
    daughters = decay_momenta(parent, coords, KPIPI_MASSES)
    for d, m in zip(daughters, KPIPI_MASSES, strict=True):
        np.testing.assert_allclose(d.mass, m, atol=1e-6)
    total = daughters[0] + daughters[1] + daughters[2]
    for field in ("pt", "eta", "mass"):
        np.testing.assert_allclose(getattr(total, field), getattr(parent, field), rtol=1e-7)
    np.testing.assert_allclose(np.cos(total.phi - parent.phi), 1.0, atol=1e-9)
    # the Dalitz variable sits where it was asked for in its kinematic range
    m12 = (daughters[0] + daughters[1]).mass
    low, high = KPIPI_MASSES[0] + KPIPI_MASSES[1], parent.mass - KPIPI_MASSES[2]
    np.testing.assert_allclose(m12, low + coords["m12"] * (high - low), rtol=1e-7)
    # the first daughter's polar angle about the flight direction, in the rest frame
    rest = daughters[0].boostCM_of_p4(parent)
    flight = parent.to_Vector3D().unit()
    cos = rest.to_Vector3D().unit().dot(flight)
    np.testing.assert_allclose(cos, coords["cos"], atol=1e-7)
    again_parent, again = decay_coordinates(daughters)
    np.testing.assert_allclose(again_parent.mass, parent.mass, rtol=1e-7)
    for name, value in coords.items():
        got = again[name]
        if name in ("alpha", "gamma"):
            np.testing.assert_allclose(np.cos(got - value), 1.0, atol=1e-8, err_msg=name)
        else:
            np.testing.assert_allclose(got, value, atol=1e-6, err_msg=name)


def test_decay_coordinates_do_not_turn_with_the_event_or_swap_roles() -> None:
    parent, coords = draw_decays(2_000, 2)
    daughters = decay_momenta(parent, coords, KPIPI_MASSES)
    turned = [d.rotateZ(1.234) for d in daughters]
    _, again = decay_coordinates(turned)
    for name, value in coords.items():
        np.testing.assert_allclose(np.cos(again[name] - value), 1.0, atol=1e-8, err_msg=name)
    # the orientation belongs to daughter 1: with 2 first, the angles change
    _, swapped = decay_coordinates([daughters[1], daughters[0], daughters[2]])
    assert np.mean(np.isclose(swapped["cos"], coords["cos"], atol=1e-3)) < 0.05
