"""The physics-aware encoding: exact round trips, dequantisation, absent objects, state."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch
import uproot
import vector
from conftest import DEMO_SAMPLE, KPIPI_MASSES, draw_decays

from evmult.channels import CHANNELS, get_channel
from evmult.coffea import extract
from evmult.encoding import Encoding, objects, resonance, wrap_phi
from evmult.errors import InputError
from evmult.features import derived_columns, feature_columns
from evmult.models.training import reflections
from evmult.physics import decay_momenta, resonance_mass
from evmult.selection import has_sfos_pair, merge_leptons, split_flavours


@pytest.fixture(scope="module")
def zll() -> ak.Array:
    return extract([DEMO_SAMPLE], "zll")


def _invariants(table: ak.Array, channel: str) -> dict[str, np.ndarray]:
    """Features that do not depend on the global azimuth."""
    ch = get_channel(channel)
    cols = feature_columns(table, ch) | derived_columns(table, ch)
    return {k: v for k, v in cols.items() if not k.endswith("_phi")}


def _assert_round_trip(table: ak.Array, channel: str, enc: Encoding) -> None:
    x = enc.transform(table)
    back = enc.inverse(x, rng=np.random.default_rng(0))
    assert enc.consistent(x, back).mean() > 0.998  # real events carry their own mass
    a, b = _invariants(table, channel), _invariants(back, channel)
    for name in a:
        np.testing.assert_array_equal(np.isnan(a[name]), np.isnan(b[name]), err_msg=name)
        ok = np.isfinite(a[name])
        close = np.isclose(a[name][ok], b[name][ok], rtol=1e-4, atol=5e-3)
        # float32 rounding: collinear pairs (m << pT) and mT near 0 are ill-conditioned
        assert close.mean() > 0.998, (name, close.mean())


def test_zll_round_trip_and_layout(zll: ak.Array) -> None:
    enc = Encoding.fit(zll, "zll")
    names = [c.name for c in enc.columns]
    assert "mll" in names  # the resonance replaces the subleading lepton's pT
    assert "lep2_logpt" not in names
    assert "lep1_phi" not in names  # the global azimuth is not learned
    assert {"lep1_muon", "nJet", "jet1_btag"} <= {
        c.name for c in enc.columns if c.kind == "discrete"
    }
    _assert_round_trip(zll, "zll", enc)
    back = enc.inverse(enc.transform(zll), rng=np.random.default_rng(1))
    assert ak.all(ak.num(back.Jet) == np.minimum(back.nJet, 2))
    assert ak.all(back.Muon.pt[:, :1] >= back.Muon.pt[:, 1:2])
    assert float(ak.sum(back.weight)) == len(zll)


def test_without_resonance_coordinate(zll: ak.Array) -> None:
    enc = Encoding.fit(zll, "zll", resonance_coordinate=False)
    assert enc.resonance is None
    assert {"lep1_logpt", "lep2_logitratio"} <= {c.name for c in enc.columns}  # pT order kept
    _assert_round_trip(zll, "zll", enc)


def test_dequantised_and_standardised(zll: ak.Array) -> None:
    enc = Encoding.fit(zll, "zll")
    x = enc.transform(zll, rng=np.random.default_rng(2))
    assert x.dtype == np.float32
    assert np.all(np.isfinite(x))  # absent jets are noise, not NaN
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=0.05)
    np.testing.assert_allclose(x.std(axis=0), 1.0, atol=0.05)
    j = [c.name for c in enc.columns].index("nJet")
    col = enc.columns[j]
    njet = np.rint(x[:, j].astype(np.float64) * col.std + col.mean)
    np.testing.assert_array_equal(njet, ak.to_numpy(zll.nJet))
    # the dequantised jet count is continuous: no two events share a value
    assert len(np.unique(x[:, j])) > 0.99 * len(x)


def test_state_is_json_and_rebuilds_the_same_encoding(zll: ak.Array) -> None:
    enc = Encoding.fit(zll, "zll")
    again = Encoding.from_state(json.loads(json.dumps(enc.state())))
    x = enc.transform(zll[:500])
    np.testing.assert_array_equal(again.transform(zll[:500]), x)
    a = enc.inverse(x, rng=np.random.default_rng(3))
    b = again.inverse(x, rng=np.random.default_rng(3))
    assert ak.array_equal(a, b)


def test_any_matrix_decodes_inside_the_training_acceptance(zll: ak.Array) -> None:
    """pT above the fitted floor and |η| inside the fitted bound, whatever the model
    outputs (here: ±6 standard units in every column)."""
    enc = Encoding.fit(zll, "zll")
    leptons = ak.concatenate([zll.Muon, zll.Electron], axis=1)
    assert enc.eta_bound["lep"] == pytest.approx(1.001 * float(ak.max(abs(leptons.eta))))
    assert enc.eta_bound["jet"] == pytest.approx(1.001 * float(ak.max(abs(zll.Jet.eta))))
    x = np.random.default_rng(0).choice([-6.0, 6.0], size=(2_000, enc.n_features))
    back = enc.inverse(x.astype(np.float32), rng=np.random.default_rng(1))
    float32 = 1e-6  # the table holds float32
    for name, kind in (("Muon", "lep"), ("Electron", "lep"), ("Jet", "jet")):
        assert float(ak.max(abs(back[name].eta))) <= enc.eta_bound[kind] * (1 + float32)
    assert float(ak.min(back.Jet.pt)) >= enc.pt_floor["jet"] * (1 - float32)
    assert enc.pt_floor["jet"] == pytest.approx(0.999 * float(ak.min(zll.Jet.pt)))


def _learned(enc: Encoding, x: np.ndarray, name: str) -> np.ndarray:
    """A column of an encoded matrix in its own units (Δφ wrapped)."""
    j = [c.name for c in enc.columns].index(name)
    col = enc.columns[j]
    value = x[:, j] * col.std + col.mean
    return wrap_phi(value + col.centre) if name.endswith("_dphi") else value


def test_later_jets_azimuth_is_measured_from_the_leading_jet(zll: ak.Array) -> None:
    two = zll[ak.num(zll.Jet) >= 2][:300]
    jet1, jet2 = two.Jet[:, 0], two.Jet[:, 1]
    lep = ak.concatenate([two.Muon, two.Electron], axis=1)
    lep1 = lep[ak.argmax(lep.pt, axis=1, keepdims=True)][:, 0]
    enc = Encoding.fit(zll, "zll")
    x = enc.transform(two)
    np.testing.assert_allclose(
        _learned(enc, x, "jet2_dphi"),
        wrap_phi(ak.to_numpy(jet2.phi - jet1.phi)),
        atol=1e-5,
    )
    np.testing.assert_allclose(  # the leading jet's is still measured from the lepton
        _learned(enc, x, "jet1_dphi"),
        wrap_phi(ak.to_numpy(jet1.phi - lep1.phi)),
        atol=1e-5,
    )
    back = enc.inverse(x, rng=np.random.default_rng(5))
    np.testing.assert_allclose(
        wrap_phi(ak.to_numpy(back.Jet[:, 1].phi - back.Jet[:, 0].phi)),
        wrap_phi(ak.to_numpy(jet2.phi - jet1.phi)),
        atol=1e-4,
    )


def test_generated_phi_is_uniform_and_relative_angles_kept(zll: ak.Array) -> None:
    enc = Encoding.fit(zll, "zll")
    back = enc.inverse(enc.transform(zll), rng=np.random.default_rng(4))
    lep = ak.concatenate([back.Muon, back.Electron], axis=1)
    phi = ak.to_numpy(lep.phi[ak.argmax(lep.pt, axis=1, keepdims=True)][:, 0])
    counts, _ = np.histogram(phi, bins=8, range=(-np.pi, np.pi))
    assert counts.min() > 0.8 * len(phi) / 8
    a = derived_columns(zll, get_channel("zll"))["dphi_12"]
    b = derived_columns(back, get_channel("zll"))["dphi_12"]
    assert np.mean(np.isclose(a, b, atol=1e-4)) > 0.9995


def test_bad_input_is_named(zll: ak.Array) -> None:
    with pytest.raises(InputError, match="empty table"):
        Encoding.fit(zll[:0], "zll")
    one_lepton = ak.with_field(zll, zll.Muon[:, :1], "Muon")
    one_lepton = ak.with_field(one_lepton, one_lepton.Electron[:, :1], "Electron")
    with pytest.raises(InputError, match="exactly 2 leptons per event; event 0 has 1"):
        Encoding.fit(one_lepton, "zll")


@pytest.mark.parametrize(
    ("channel", "sample"),
    [
        ("dplus", "flat/dplus_kpipi.root"),
        ("wz", "delphes/delphes_wz.root"),
        ("ttbar_semilep", "delphes/delphes_ttbar.root"),
        ("zgamma", "delphes/delphes_zll.root"),
    ],
)
def test_round_trip_of_every_channel(shared, channel: str, sample: str) -> None:
    table = extract([shared(sample)], channel)
    enc = Encoding.fit(table, channel)
    _assert_round_trip(table, channel, enc)
    if channel == "dplus":  # learned in the D's rest frame
        assert enc.decay_frame


def _with_third_lepton(zll: ak.Array, seed: int) -> ak.Array:
    """The demo sample's lepton pair and a third lepton of random flavour and charge:
    a WZ-like table of the ``wz`` channel."""
    rng = np.random.default_rng(seed)
    n = len(zll)
    flavour = rng.choice([11, 13], n)
    charge = rng.choice([-1, 1], n)
    third = ak.zip(
        {
            "pt": (10 + rng.exponential(30, n)).astype(np.float32),
            "eta": rng.uniform(-2.4, 2.4, n).astype(np.float32),
            "phi": rng.uniform(-np.pi, np.pi, n).astype(np.float32),
            "mass": np.where(flavour == 13, 0.10566, 0.000511).astype(np.float32),
            "charge": charge.astype(np.int32),
            "pdgId": (-flavour * charge).astype(np.int32),
        },
        with_name="Momentum4D",
    )
    leptons = merge_leptons(zll.Muon, zll.Electron, ak.unflatten(third, 1))
    table = zll
    for name, coll in split_flavours(leptons).items():
        table = ak.with_field(table, coll, name)
    return ak.Array(table, attrs={"evmult": {"channel": "wz"}})


def test_three_leptons_learn_their_bits_around_the_z_pair(zll: ak.Array) -> None:
    wz = _with_third_lepton(zll, seed=3)
    enc = Encoding.fit(wz, "wz")
    assert enc.lepton_pair
    names = [c.name for c in enc.columns]
    assert {"wlep_slot", "wlep_same", "wlep_opposite", "lep1_muon", "lep1_charge"} <= set(names)
    assert not {f"lep{i}_{b}" for i in (2, 3) for b in ("same", "opposite")} & set(names)
    _assert_round_trip(wz, "wz", enc)
    x = enc.transform(wz)
    back = enc.inverse(x, rng=np.random.default_rng(0))
    for coll in ("Muon", "Electron"):  # every flavour and charge back in its slot
        assert ak.all(back[coll].pdgId == wz[coll].pdgId)
    # the slot learned is the lepton's outside the pair nearest the Z mass
    leptons = merge_leptons(wz.Muon, wz.Electron)
    pdg = ak.to_numpy(ak.to_regular(leptons.pdgId))
    p4 = [
        vector.array(
            {f: ak.to_numpy(leptons[:, i][f]) for f in ("pt", "eta", "phi")}
            | {"mass": np.zeros(len(wz))}
        )
        for i in range(3)
    ]
    best, outside = np.full(len(wz), np.inf), np.zeros(len(wz))
    for a, b, other in ((0, 1, 3), (0, 2, 2), (1, 2, 1)):
        distance = np.abs((p4[a] + p4[b]).mass - 91.1876)
        distance = np.where(pdg[:, a] == -pdg[:, b], distance, np.inf)
        outside = np.where(distance < best, other, outside)
        best = np.minimum(distance, best)
    slot = names.index("wlep_slot")
    learned = x[:, slot] * enc.columns[slot].std + enc.columns[slot].mean
    np.testing.assert_array_equal(np.rint(learned), outside)
    assert 0.1 < np.mean(outside == 1) < np.mean(outside == 3)  # a third lepton mostly soft
    # every value of the bits describes leptons with such a pair
    rng = np.random.default_rng(1)
    bits = [j for j, c in enumerate(enc.columns) if c.kind == "discrete" and c.name != "nJet"]
    assert len(bits) == 5
    for j in bits:
        col = enc.columns[j]
        x[:, j] = (rng.integers(col.low, col.high + 1, len(x)) - col.mean) / col.std
    drawn = enc.inverse(x, rng=rng)
    assert np.all(has_sfos_pair(merge_leptons(drawn.Muon, drawn.Electron)))
    # with an event without one, the bits are relative to the first lepton's, and
    # random bits describe no such pair in 7 of 16 values
    charge = ak.to_numpy(ak.to_regular(leptons.charge))
    charge[0] = 1  # the first event's three leptons all positive
    no_pair = ak.with_field(leptons, ak.from_regular(charge), "charge")
    no_pair = ak.with_field(no_pair, ak.from_regular(-np.abs(pdg) * charge), "pdgId")
    table = wz
    for name, coll in split_flavours(no_pair).items():
        table = ak.with_field(table, coll, name)
    relative = Encoding.fit(table, "wz")
    assert not relative.lepton_pair
    assert "lep2_same" in [c.name for c in relative.columns]
    y = relative.transform(table)
    for j, col in enumerate(relative.columns):
        if col.kind == "discrete" and col.name != "nJet":
            y[:, j] = (rng.integers(col.low, col.high + 1, len(y)) - col.mean) / col.std
    decoded = relative.inverse(y, rng=rng)
    without = 1 - has_sfos_pair(merge_leptons(decoded.Muon, decoded.Electron)).mean()
    assert without == pytest.approx(7 / 16, abs=0.03)


def test_later_jets_learn_their_eta_from_the_first_jets(
    zll: ak.Array, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the η opening of two jets is a coordinate, as their azimuth opening is, in a
    # collection of three slots or more (zll's two keep absolute η's)
    names = [c.name for c in Encoding.fit(zll, "zll").columns]
    assert {"jet2_eta", "jet2_dphi"} <= set(names)
    assert "jet2_deta" not in names
    three = dataclasses.replace(CHANNELS["zll"], collections={"Muon": 2, "Electron": 2, "Jet": 3})
    monkeypatch.setitem(CHANNELS, "zll", three)
    enc = Encoding.fit(zll, "zll")
    names = [c.name for c in enc.columns]
    assert {"jet1_eta", "jet2_deta", "jet2_dphi"} <= set(names)
    assert "jet2_eta" not in names
    x = enc.transform(zll)
    col = enc.columns[names.index("jet2_deta")]
    learned = x[:, names.index("jet2_deta")] * col.std + col.mean
    eta = ak.to_numpy(ak.fill_none(ak.pad_none(zll.Jet.eta, 2, clip=True), np.nan)).astype(float)
    two = np.isfinite(eta[:, 1])
    bound = enc.eta_bound["jet"]
    # a second jet in only some events: relative to a fitted share of the first's η
    slope = enc.eta_slope["jet2"]
    assert 0 < slope < 1
    a1, a2 = np.arctanh(eta[two, 0] / bound), np.arctanh(eta[two, 1] / bound)
    assert slope == pytest.approx(np.cov(a2, a1, bias=True)[0, 1] / np.var(a1), rel=1e-4)
    np.testing.assert_allclose(learned[two], a2 - slope * a1, atol=1e-5)
    # an encoding without slopes (model-file format 4) reads the column as a difference
    old = Encoding.from_state({k: v for k, v in enc.state().items() if k != "eta_slope"})
    drawn = old.inverse(x, rng=np.random.default_rng(0))
    first = ak.to_numpy(ak.fill_none(ak.pad_none(drawn.Jet.eta, 2, clip=True), np.nan))
    np.testing.assert_allclose(
        first[two, 1], bound * np.tanh(learned[two] + np.arctanh(first[two, 0] / bound)), atol=1e-4
    )
    assert two.sum() > 100  # events with two jets (a few per cent of the demo sample)
    back = enc.inverse(x, rng=np.random.default_rng(0))  # exact, η inside the acceptance
    decoded = ak.to_numpy(ak.fill_none(ak.pad_none(back.Jet.eta, 2, clip=True), np.nan))
    np.testing.assert_allclose(decoded[two], eta[two], atol=1e-4)


def test_eta_slopes_known_answers() -> None:
    # slope 1 for a slot every event fills, the least-squares slope of atanh(η / bound)
    # on the first object's elsewhere, clipped to [0, 1]; 0 with too few events
    rng = np.random.default_rng(3)
    n, bound = 4000, 2.5
    a1 = rng.normal(0, 0.6, n)
    some = rng.random(n) < 0.4
    few = np.arange(n) < 10

    def eta(a: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
        return np.where(present if present is not None else True, bound * np.tanh(a), np.nan)

    raw = {
        "jet1_eta": eta(a1),
        "jet2_eta": eta(0.3 * a1 + rng.normal(0, 0.5, n)),  # every event
        "jet3_eta": eta(0.3 * a1 + rng.normal(0, 0.5, n), some),
        "jet4_eta": eta(-0.5 * a1 + rng.normal(0, 0.5, n), some),
        "jet5_eta": eta(a1 + rng.normal(0, 0.1, n), few),
    }
    slopes = objects.fit_eta_slopes(raw, get_channel("ttbar_semilep"), {"jet": bound})
    assert slopes["jet2"] == 1.0
    assert slopes["jet3"] == pytest.approx(0.3, abs=0.05)
    assert slopes["jet4"] == 0.0
    assert slopes["jet5"] == 0.0
    assert "jet1" not in slopes


def test_noise_widths(zll: ak.Array) -> None:
    enc = Encoding.fit(zll, "zll")
    x, scale = enc.encode(zll)
    names = [c.name for c in enc.columns]
    njet, jet2 = names.index("nJet"), names.index("jet2_logitratio")
    assert np.all(scale[:, names.index("lep1_eta")] == 0.0)
    assert np.allclose(scale[:, njet], 0.1 / enc.columns[njet].std)
    absent = ak.to_numpy(ak.num(zll.Jet) < 2)
    assert np.all(scale[absent, jet2] == 1.0)
    assert np.all(x[absent, jet2] == 0.0)
    assert np.all(scale[~absent, jet2] == 0.0)


def test_inconsistent_rows_are_found(zll: ak.Array) -> None:
    enc = Encoding.fit(zll, "zll")
    x = enc.transform(zll[:200])
    back = enc.inverse(x, rng=np.random.default_rng(0))
    j = [c.name for c in enc.columns].index("mll")
    moved = x.copy()
    moved[:50, j] += 1.0  # ask for another mass than the table was decoded with
    mask = enc.consistent(moved, back)
    assert not mask[:50].any()
    assert mask[50:].mean() > 0.99


@pytest.fixture(scope="module")
def dplus(tmp_path_factory: pytest.TempPathFactory) -> ak.Array:
    """Boosted D⁺ → K⁻π⁺π⁺ decays (phase space, 4 MeV mass spread) in a flat ntuple,
    the harder pion first."""
    n = 3_000
    parent, coords = draw_decays(n, 5)
    daughters = decay_momenta(parent, coords, KPIPI_MASSES)
    swap = daughters[2].pt > daughters[1].pt
    daughters[1], daughters[2] = (
        vector.array(
            {c: np.where(swap, getattr(b, c), getattr(a, c)) for c in ("px", "py", "pz", "E")}
        )
        for a, b in ((daughters[1], daughters[2]), (daughters[2], daughters[1]))
    )
    branches = {}
    sign = np.random.default_rng(6).choice([-1, 1], n)
    for name, mass, d in zip(("K", "Pi1", "Pi2"), KPIPI_MASSES, daughters, strict=True):
        branches |= {f"{name}_P{c}": getattr(d, f"p{c.lower()}") for c in "XYZ"}
        branches[f"{name}_PE"] = np.sqrt(d.p**2 + mass**2)
        branches[f"{name}_ID"] = (sign * (-321 if name == "K" else 211)).astype(np.int32)
    path = Path(tmp_path_factory.mktemp("dplus")) / "dplus.root"
    with uproot.recreate(path) as f:
        f["DecayTree"] = branches
    return extract([path], "dplus")


def test_the_small_preset_asks_no_flavour_of_a_channel_without_leptons(dplus: ak.Array) -> None:
    from conftest import QUICK

    from evmult.pipeline import fit

    model = fit(dplus[:500], preset="small", members=1, seed=1, refine="off", **QUICK["flow-vae"])
    assert model.condition is None
    assert model.config.mirror


def test_three_body_decay_is_learned_in_its_rest_frame(dplus: ak.Array) -> None:
    enc = Encoding.fit(dplus, "dplus")
    names = [c.name for c in enc.columns]
    assert enc.decay_frame
    assert {"mkpipi", "parent_logpt", "parent_eta", "decay_m12", "decay_cos"} <= set(names)
    assert not any(n.startswith(("K_", "Pi1_", "Pi2_")) for n in names[1:])  # but K's charge
    assert "mkpipi_root" not in names
    _assert_round_trip(dplus, "dplus", enc)
    # any matrix decodes into a decay of the mass asked for, with the pdg masses
    x = np.random.default_rng(2).normal(size=(2_000, enc.n_features)).astype(np.float32)
    back = enc.inverse(x, rng=np.random.default_rng(3))
    column = enc.columns[names.index("mkpipi")]
    asked = np.exp(x[:, names.index("mkpipi")] * column.std + column.mean)
    np.testing.assert_allclose((back.K + back.Pi1 + back.Pi2).mass, asked, rtol=1e-4)
    np.testing.assert_allclose(back.Pi2.mass, 0.13957, rtol=1e-4)
    assert ak.all(back.K.charge == -back.Pi1.charge)
    assert ak.all(back.Pi1.pdgId == back.Pi2.pdgId)
    # the two identical pions are listed as in the training sample: harder first
    assert enc.pt_sorted == [["Pi1", "Pi2"]]
    assert ak.all(back.Pi1.pt >= back.Pi2.pt)
    assert ak.any(back.K.pt < back.Pi2.pt)  # the kaon is not sorted in
    even = np.arange(len(dplus)) % 2 == 0  # the other order in half of the events
    mixed = ak.with_field(dplus, ak.where(even, dplus.Pi2, dplus.Pi1), "Pi1")
    mixed = ak.with_field(mixed, ak.where(even, dplus.Pi1, dplus.Pi2), "Pi2")
    assert Encoding.fit(mixed, "dplus").pt_sorted == []


def test_decays_stay_inside_the_training_acceptance(dplus: ak.Array) -> None:
    inside = np.ones(len(dplus), bool)
    for name in ("K", "Pi1", "Pi2"):  # a forward detector's window, as LHCb's
        eta = ak.to_numpy(dplus[name].eta)
        inside &= (eta > 1) & (eta < 4)
    window = dplus[inside]
    assert len(window) > 100
    enc = Encoding.fit(window, "dplus")
    for pt_min, low, high in enc.acceptance.values():
        assert pt_min > 0
        assert 0.99 < low < 1.1  # the window, widened by 0.1 % of its width
        assert 3.9 < high < 4.01
    x = enc.transform(window)
    assert enc.consistent(x, enc.inverse(x, rng=np.random.default_rng(0))).all()
    # generated decays: the momenta say nothing of the window, the check does
    x = np.random.default_rng(4).normal(size=(2_000, enc.n_features)).astype(np.float32)
    back = enc.inverse(x, rng=np.random.default_rng(5))
    ok = enc.consistent(x, back)
    out = np.zeros(len(back), bool)
    for name, (_, low, high) in enc.acceptance.items():
        eta = ak.to_numpy(back[name].eta)
        out |= (eta < low) | (eta > high)
    assert 0.05 < out.mean() < 0.95
    assert not (ok & out).any()
    assert ok[~out].mean() > 0.95


def test_a_resonance_of_named_particles_outside_a_rest_frame_solves_the_last_pt(
    dplus: ak.Array, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the path a two-body decay of named particles takes: every particle's pT, η and φ
    # but the last one's pT, solved from the mass (with the root bit)
    with monkeypatch.context() as m:
        m.setattr(resonance, "three_body", lambda *_: False)
        enc = Encoding.fit(dplus, "dplus")
    names = [c.name for c in enc.columns]
    assert {"mkpipi_root", "K_logpt", "Pi1_dphi"} <= set(names)
    _assert_round_trip(dplus, "dplus", enc)


@pytest.mark.parametrize("on", ["training batches", "generated events"])
def test_reflections_negate_every_eta_or_every_azimuth_of_an_event(zll: ak.Array, on: str) -> None:
    enc = Encoding.fit(zll, "zll")
    mirror = enc.mirror()
    assert mirror is not None
    names = [c.name for c in enc.columns]
    assert {names[j] for j in mirror.eta} == {n for n in names if n.endswith(("_eta", "_deta"))}
    assert {names[j] for j in mirror.phi} == {n for n in names if n.endswith("_dphi")}
    x, noise = enc.encode(zll)
    a = enc.inverse(x, rng=np.random.default_rng(1))
    if on == "training batches":
        torch.manual_seed(0)
        reflected = reflections(mirror)(torch.as_tensor(x), torch.as_tensor(noise)).numpy()
        np.testing.assert_array_equal(reflected[noise > 0], x[noise > 0])  # absent, discrete
        b = enc.inverse(reflected, rng=np.random.default_rng(1))
    else:
        b = enc.inverse(x, rng=np.random.default_rng(1), reflect=True)
        assert ak.to_list(b.Jet.btag) == ak.to_list(a.Jet.btag)
    ca, cb = _invariants(a, "zll"), _invariants(b, "zll")
    np.testing.assert_allclose(cb["mll"], ca["mll"], rtol=1e-5)  # a reflection keeps masses
    np.testing.assert_allclose(cb["lep1_pt"], ca["lep1_pt"], rtol=1e-5)
    eta = {k: (ca[k], cb[k]) for k in ca if k.endswith("_eta")}
    sign = np.sign(cb["lep1_eta"] * ca["lep1_eta"])
    for k, (before, after) in eta.items():
        ok = np.isfinite(before)
        np.testing.assert_allclose(after[ok], sign[ok] * before[ok], atol=2e-4, err_msg=k)
    dphi = [wrap_phi(t.Muon.phi[:, 1:2] - t.Muon.phi[:, :1]) for t in (a, b)]
    dphi = [ak.to_numpy(ak.flatten(d)) for d in dphi]
    phi_sign = np.sign(dphi[0] * dphi[1])
    np.testing.assert_allclose(dphi[1], phi_sign * dphi[0], atol=2e-4)
    assert 0.4 < np.mean(sign < 0) < 0.6  # each reflection for about half the events
    assert 0.4 < np.mean(phi_sign < 0) < 0.6


def test_no_reflections_for_a_one_sided_acceptance(dplus: ak.Array) -> None:
    assert Encoding.fit(dplus, "dplus").mirror() is None


def test_more_objects_than_the_channel_keeps_is_a_clear_error() -> None:
    table = extract([DEMO_SAMPLE], "zll", options={"max_jets": 3})
    assert ak.max(ak.num(table.Jet)) == 3
    with pytest.raises(
        InputError, match=r"zll keeps at most 2 Jet objects; event \d+ has 3 .*max_jets=2"
    ):
        Encoding.fit(table, "zll")


def _shares(values: np.ndarray, low: float, high: float) -> np.ndarray:
    values = values[np.isfinite(values)]
    return np.array([np.mean(values == k) for k in np.arange(low, high + 1)])


def test_calibrated_cuts_give_the_training_shares_in_the_models_order(zll: ak.Array) -> None:
    enc = Encoding.fit(zll, "zll")
    names = [c.name for c in enc.columns]
    j, b = names.index("nJet"), names.index("jet1_btag")
    njet, btag = enc.columns[j], enc.columns[b]
    rng = np.random.default_rng(1)
    # a model that under-fills the larger values: every count 0.5 too low, b-tags too
    x = enc.transform(zll, rng=rng)
    x[:, j] -= 0.5 / njet.std
    x[:, b] -= 0.5 / btag.std
    truth = enc.inverse(enc.transform(zll), rng=rng)
    want_n = _shares(ak.to_numpy(truth.nJet).astype(float), njet.low, njet.high)
    first_b = ak.to_numpy(ak.fill_none(ak.firsts(truth.Jet.btag), np.nan)).astype(float)
    want_b = _shares(first_b, 0, 1)
    before = enc.inverse(x, rng=rng)
    assert (
        np.abs(_shares(ak.to_numpy(before.nJet).astype(float), njet.low, njet.high) - want_n).max()
        > 0.05
    )
    cuts = enc.calibrate(x, zll, np.ones(len(zll)))
    assert set(cuts) >= {"nJet", "jet1_btag"}
    after = enc.inverse(x, rng=rng)
    got_n = _shares(ak.to_numpy(after.nJet).astype(float), njet.low, njet.high)
    np.testing.assert_allclose(got_n, want_n, atol=2e-3)
    got_b = ak.to_numpy(ak.fill_none(ak.firsts(after.Jet.btag), np.nan)).astype(float)
    np.testing.assert_allclose(_shares(got_b, 0, 1), want_b, atol=5e-3)
    # monotone: a larger value never decodes to a smaller count
    order = np.argsort(x[:, j])
    assert np.all(np.diff(ak.to_numpy(after.nJet)[order]) >= 0)
    # the cuts are part of the state; a state without them (older files) rounds
    again = Encoding.from_state(json.loads(json.dumps(enc.state())))
    assert again.columns[j].cuts == njet.cuts
    state = enc.state()
    for c in state["columns"]:
        c.pop("cuts")
    old = Encoding.from_state(state)
    assert ak.array_equal(old.inverse(x, rng=np.random.default_rng(2)).nJet, before.nJet)


def test_calibrated_coordinate_gives_the_training_quantiles_in_the_models_order(
    zll: ak.Array,
) -> None:
    enc = Encoding.fit(zll, "zll")
    j = [c.name for c in enc.columns].index("mll")
    x = enc.transform(zll)
    x[:, j] = 0.9 * x[:, j] - 0.05  # a model whose log mass is low and narrow
    mll = get_channel("zll").resonances[0]

    def masses(table: ak.Array) -> np.ndarray:
        return np.asarray(resonance_mass(table, mll), dtype=np.float64)

    real = masses(zll)
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    before = masses(enc.inverse(x, rng=np.random.default_rng(0)))
    assert np.abs(np.quantile(before, levels) / np.quantile(real, levels) - 1).max() > 3e-3
    knots = enc.calibrate(x, zll, np.ones(len(zll)))["mll"]
    assert len(knots[0]) == len(knots[1]) == 21
    decoded = enc.inverse(x, rng=np.random.default_rng(0))
    after = masses(decoded)
    np.testing.assert_allclose(np.quantile(after, levels), np.quantile(real, levels), rtol=3e-4)
    assert enc.consistent(x, decoded).mean() > 0.998  # the leptons carry the mapped mass
    order = np.argsort(x[:, j])  # monotone: every event keeps its rank
    assert np.all(np.diff(after[order]) >= -1e-3 * after[order][1:])
    # part of the state; without them (older files) masses are kept as learned
    again = Encoding.from_state(json.loads(json.dumps(enc.state())))
    np.testing.assert_array_equal(masses(again.inverse(x, rng=np.random.default_rng(0))), after)
    state = enc.state()
    for c in state["columns"]:
        c.pop("knots")
    unmapped = masses(Encoding.from_state(state).inverse(x, rng=np.random.default_rng(0)))
    np.testing.assert_array_equal(unmapped, before)
    # with a variable lepton count, among the pairs that learn their mass (the others'
    # coordinate is noise, 0 here)
    inclusive = extract([DEMO_SAMPLE], "inclusive")
    enc = Encoding.fit(inclusive, "inclusive")
    j = [c.name for c in enc.columns].index("mll")
    x = enc.transform(inclusive)
    real = masses(inclusive)
    pair = np.isfinite(
        enc._features(objects.raw_columns(inclusive, enc._channel, []), inclusive)["mll"]
    )
    assert 0.2 < pair.mean() < 0.8
    x[pair, j] = 0.9 * x[pair, j] - 0.05
    enc.calibrate(x, inclusive, np.ones(len(inclusive)))
    after = masses(enc.inverse(x, rng=np.random.default_rng(0)))
    np.testing.assert_allclose(
        np.quantile(after[pair], levels), np.quantile(real[pair], levels), rtol=3e-4
    )
    # a conditional encoding's labels differ in mass: no map
    conditional = Encoding.fit(zll, "zll", condition="flavour")
    labels = conditional.label_index(zll)
    cuts = conditional.calibrate(conditional.transform(zll), zll, np.ones(len(zll)), labels=labels)
    assert "nJet" in cuts
    assert "mll" not in cuts
