"""Conditional models (``--condition``) for every family, and the ``inclusive`` channel."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from conftest import DEMO_SAMPLE, QUICK

from evmult.cli import main
from evmult.coffea import extract
from evmult.encoding import Encoding
from evmult.errors import InputError
from evmult.features import feature_columns
from evmult.generation import plan
from evmult.io.tables import read_table, write_table
from evmult.models import MODELS, Generator
from evmult.output import write_generated
from evmult.pipeline import fit, load


@pytest.fixture(scope="module")
def zll() -> ak.Array:
    return extract([DEMO_SAMPLE], "zll")[:3000]


@pytest.fixture(scope="module")
def inclusive() -> ak.Array:
    """The demo sample's every event, labelled ``a``/``b`` by lepton count (0-1 / 2)."""
    table = extract([DEMO_SAMPLE], "inclusive")[:4000]
    two = ak.to_numpy(ak.num(table.Muon) + ak.num(table.Electron)) == 2
    labels = np.where(two, "b", "a").tolist()
    return ak.Array(ak.with_field(table, labels, "process"), attrs=table.attrs)


def _electrons_only(events: ak.Array) -> bool:
    return bool(ak.all(ak.num(events.Muon) == 0) and ak.all(ak.num(events.Electron) == 2))


# ---------------------------------------------------------------------- encoding
def test_condition_is_given_not_learned(zll: ak.Array) -> None:
    enc = Encoding.fit(zll, "zll", condition="flavour")
    assert enc.condition == "lep1_muon"
    assert enc.labels == ["e", "mu"]
    names = [c.name for c in enc.columns]
    assert "lep1_muon" not in names
    assert "lep2_muon" not in names  # the pair's second flavour follows the condition:
    assert enc.constants["lep2_same"] == enc.constants["lep2_opposite"] == 1.0  # SFOS
    x = enc.transform(zll)
    labels = enc.label_index(zll)
    back = enc.inverse(x, rng=np.random.default_rng(0), labels=labels)
    assert ak.array_equal(ak.num(back.Muon), ak.num(zll.Muon))
    assert ak.array_equal(ak.num(back.Electron), ak.num(zll.Electron))
    flipped = enc.inverse(x, rng=np.random.default_rng(0), labels=1 - labels)
    assert ak.array_equal(ak.num(flipped.Muon), ak.num(zll.Electron))
    with pytest.raises(ValueError, match="needs a label per event"):
        enc.inverse(x, rng=np.random.default_rng(0))


def test_a_joint_condition_labels_every_combination(zll: ak.Array) -> None:
    enc = Encoding.fit(zll, "zll", condition="flavour+nJet")
    assert enc.condition == "lep1_muon+nJet"
    assert enc.condition_columns == ["lep1_muon", "nJet"]
    muon, jets = ak.to_numpy(ak.num(zll.Muon) > 0), ak.to_numpy(zll.nJet)
    pairs = sorted(set(zip(muon.tolist(), jets.tolist(), strict=True)))
    assert enc.labels == [f"{'mu' if m else 'e'},nJet={j}" for m, j in pairs]
    names = [c.name for c in enc.columns]
    assert "lep1_muon" not in names
    assert "nJet" not in names
    labels = enc.label_index(zll)
    table = np.asarray(enc.condition_values)
    np.testing.assert_array_equal(table[labels, 0], muon)
    np.testing.assert_array_equal(table[labels, 1], jets)
    back = enc.inverse(enc.transform(zll), rng=np.random.default_rng(0), labels=labels)
    assert ak.array_equal(ak.num(back.Muon), ak.num(zll.Muon))
    assert back.nJet.tolist() == zll.nJet.tolist()
    assert ak.array_equal(ak.num(back.Jet), ak.num(zll.Jet))
    # the state round trips through JSON, and an unseen combination is named
    again = Encoding.from_state(json.loads(json.dumps(enc.state())))
    np.testing.assert_array_equal(again.label_index(zll), labels)
    few = Encoding.fit(zll[zll.nJet == 0], "zll", condition="flavour+nJet")
    with pytest.raises(InputError, match=r"has lep1_muon = [01], nJet = [1-9].*not trained on"):
        few.label_index(zll)
    with pytest.raises(InputError, match="cannot condition on 'lep1_pt'"):
        Encoding.fit(zll, "zll", condition="flavour+lep1_pt")


def test_bad_conditions_are_refused(zll: ak.Array) -> None:
    with pytest.raises(InputError, match="fewer than two processes"):
        Encoding.fit(zll, "zll", condition="process")
    with pytest.raises(InputError, match=r"no such discrete column.*flavour.*nJet"):
        Encoding.fit(zll, "zll", condition="lep1_pt")
    enc = Encoding.fit(zll[ak.num(zll.Muon) == 2], "zll", condition="flavour")
    assert enc.labels == ["mu"]
    with pytest.raises(InputError, match=r"not trained on .*knows mu"):
        enc.label_index(zll)


def _assert_inclusive_round_trip(enc: Encoding, inclusive: ak.Array) -> None:
    x = enc.transform(inclusive)
    back = enc.inverse(x, rng=np.random.default_rng(1), labels=enc.label_index(inclusive))
    assert enc.consistent(x, back).mean() > 0.999
    channel = enc._channel
    a, b = feature_columns(inclusive, channel), feature_columns(back, channel)
    # azimuths from the leading lepton, from MET in events without one
    for name in ("jet1_phi", "MET_phi", "lep2_phi"):
        np.testing.assert_allclose(
            np.cos(b[name] - b["MET_phi"]), np.cos(a[name] - a["MET_phi"]), atol=1e-4
        )
    assert np.bincount(ak.to_numpy(ak.num(back.Muon) + ak.num(back.Electron))).tolist() == (
        np.bincount(ak.to_numpy(ak.num(inclusive.Muon) + ak.num(inclusive.Electron))).tolist()
    )
    for name in ("lep1_pt", "lep2_pt", "lep2_flavour", "jet4_pt", "photon1_pt", "MET_pt", "mll"):
        np.testing.assert_allclose(b[name], a[name], rtol=1e-4, equal_nan=True, err_msg=name)
    assert back.process.tolist() == inclusive.process.tolist()

    def charges(t: ak.Array) -> list[list[int]]:
        leptons = ak.concatenate([t.Muon, t.Electron], axis=1)
        return leptons.charge[ak.argsort(leptons.pt, ascending=False)].tolist()

    assert charges(back) == charges(inclusive)


def test_inclusive_encoding_round_trips_zero_one_and_two_leptons(inclusive: ak.Array) -> None:
    inclusive = _same_charge_pairs(inclusive)
    enc = Encoding.fit(inclusive, "inclusive", condition="process")
    names = [c.name for c in enc.columns]
    assert "nLepton" in names
    assert enc.resonance == "mll"  # the leading pair's mass, where there is a pair
    assert "lep2_logpt" not in names
    assert "lep2_logitratio" in names  # the pair's pT order holds by construction
    assert "mll_root" not in names
    assert {"lep2_same", "lep2_opposite"} <= set(names)  # relative to the leading lepton
    assert "lep2_muon" not in names
    # a same-flavour opposite-charge pair learns its mass, any other event (one
    # lepton, an eμ or same-charge pair) the leading log pT
    sfos = _sfos(inclusive)
    assert 200 < np.sum((_n_leptons(inclusive) == 2) & ~sfos) < np.sum(sfos)
    absent = enc.encode(inclusive)[1] == 1.0
    np.testing.assert_array_equal(absent[:, names.index("mll")], ~sfos)
    lone = (_n_leptons(inclusive) == 1) | ((_n_leptons(inclusive) == 2) & ~sfos)
    np.testing.assert_array_equal(absent[:, names.index("lep1_logpt")], ~lone)
    _assert_inclusive_round_trip(enc, inclusive)
    # any pair decodes with positive, ordered pT's and, where it learns one, its mass
    x = np.random.default_rng(2).normal(size=(3000, enc.n_features)).astype(np.float32)
    back = enc.inverse(x, rng=np.random.default_rng(3), labels=np.zeros(3000, int))
    two = _n_leptons(back) == 2
    assert np.sum(two & _sfos(back)) > 100
    assert np.sum(two & ~_sfos(back)) > 100
    leptons = ak.concatenate([back.Muon, back.Electron], axis=1)
    leptons = leptons[ak.argsort(leptons.pt, ascending=False)][two]
    assert ak.all(leptons.pt > 0)
    assert ak.all(leptons.pt[:, 0] >= leptons.pt[:, 1])
    ok = enc.consistent(x, back)
    assert ok[two & ~_sfos(back)].all()
    assert ok.mean() > 0.99
    mll = feature_columns(back, enc._channel)["mll"]
    asked = np.exp(
        x[:, names.index("mll")] * enc.columns[names.index("mll")].std
        + enc.columns[names.index("mll")].mean
    )
    np.testing.assert_allclose(
        mll[two & _sfos(back) & ok], asked[two & _sfos(back) & ok], rtol=1e-4
    )


def _same_charge_pairs(table: ak.Array) -> ak.Array:
    """``table`` with the leading muon's charge flipped in every third event."""
    flip = (np.arange(len(table)) % 3 == 0)[:, np.newaxis] & (ak.local_index(table.Muon) == 0)
    sign = ak.where(flip, -1, 1)
    muons = ak.with_field(table.Muon, table.Muon.charge * sign, "charge")
    muons = ak.with_field(muons, table.Muon.pdgId * sign, "pdgId")
    return ak.Array(ak.with_field(table, muons, "Muon"), attrs=table.attrs)


def _n_leptons(table: ak.Array) -> np.ndarray:
    return ak.to_numpy(ak.num(table.Muon) + ak.num(table.Electron))


def _sfos(table: ak.Array) -> np.ndarray:
    """Events with two muons or two electrons of opposite charge."""
    return np.asarray(
        ((ak.num(table.Muon) == 2) & (ak.sum(table.Muon.charge, axis=1) == 0))
        | ((ak.num(table.Electron) == 2) & (ak.sum(table.Electron.charge, axis=1) == 0))
    )


def test_inclusive_processor_keeps_every_event(inclusive: ak.Array) -> None:
    assert len(inclusive) == 4000
    leptons = ak.num(inclusive.Muon) + ak.num(inclusive.Electron)
    assert set(np.unique(ak.to_numpy(leptons))) == {0, 1, 2}
    assert ak.all(ak.num(inclusive.Jet) <= 4)
    assert ak.all(ak.num(inclusive.Jet) == np.minimum(ak.to_numpy(inclusive.nJet), 4))
    assert ak.all(ak.num(inclusive.Photon) <= 1)


# ---------------------------------------------------------------------- every family
@pytest.fixture(scope="module", params=sorted(MODELS))
def conditional(request: pytest.FixtureRequest, zll: ak.Array) -> Generator:
    return fit(zll, model=request.param, condition="flavour", seed=1, **QUICK[request.param])


def test_conditional_sampling_respects_the_label(conditional: Generator, zll: ak.Array) -> None:
    electrons = conditional.sample(400, seed=2, label="e")
    assert _electrons_only(electrons)
    is_e = ak.num(zll.Electron) == 2
    n_e = int(ak.sum(is_e))
    assert float(ak.sum(electrons.weight)) == pytest.approx(float(ak.sum(zll.weight[is_e])))
    mixed = conditional.sample(1000, seed=2)
    counts = mixed.attrs["evmult"]["generated"]["labels"]
    assert counts == conditional.label_counts(1000)
    assert counts["e"] == round(1000 * n_e / len(zll))
    assert _electrons_only(mixed[: counts["e"]])
    muons = mixed[counts["e"] :]
    assert ak.all(ak.num(muons.Muon) == 2)
    assert float(ak.sum(mixed.weight)) == pytest.approx(float(ak.sum(zll.weight)))
    assert float(ak.sum(muons.weight)) == pytest.approx(
        float(ak.sum(zll.weight[ak.num(zll.Muon) == 2]))
    )


def test_conditional_seeds_and_files(conditional: Generator, tmp_path: Path) -> None:
    a = conditional.sample(300, seed=4, label={"mu": 200, "e": 100})
    assert ak.array_equal(a, conditional.sample(300, seed=4, label={"mu": 200, "e": 100}))
    assert ak.all(ak.num(a.Muon[:200]) == 2)
    again = load(conditional.save(tmp_path / "c.evmult"))
    assert again.labels == ["e", "mu"]
    assert ak.array_equal(again.sample(300, seed=4, label={"mu": 200, "e": 100}), a)


def test_each_label_is_learned_with_weights_of_mean_one(
    zll: ak.Array, monkeypatch: pytest.MonkeyPatch
) -> None:
    # electron pairs weigh 1000 × more (as a process with a larger cross-section would)
    is_e = ak.to_numpy(ak.num(zll.Electron) == 2)
    rng = np.random.default_rng(0)
    weights = np.where(is_e, 1000.0, 1.0) * rng.uniform(0.5, 1.5, len(zll))
    table = ak.Array(ak.with_field(zll, weights, "weight"), attrs=zll.attrs)
    seen = {}

    def spy(*args: object, **_: object) -> dict:
        seen["w"] = args[3]  # (self, x, noise, weights)
        return {}

    monkeypatch.setattr(MODELS["flow-vae"], "_fit_matrix", spy)
    monkeypatch.setattr(MODELS["flow-vae"], "_codes", lambda *_: None)  # nothing trained
    model = fit(table, model="flow-vae", condition="flavour", refine="off")
    learned = seen["w"]
    for members in (is_e, ~is_e):  # the same shape within a label, mean 1
        assert learned[members].mean() == pytest.approx(1.0)
        np.testing.assert_allclose(learned[members] / weights[members], 1 / weights[members].mean())
    # the yields are kept as they were
    assert model.info["labels"]["e"]["yield"] == pytest.approx(weights[is_e].sum())
    assert model.info["labels"]["mu"]["yield"] == pytest.approx(weights[~is_e].sum())


def test_label_errors(conditional: Generator, zll: ak.Array) -> None:
    with pytest.raises(ValueError, match="unknown label 'tau'"):
        conditional.sample(10, label="tau")
    with pytest.raises(ValueError, match="do not add up to 10"):
        conditional.sample(10, label={"e": 3})
    plain = fit(zll, model="smearing")
    with pytest.raises(ValueError, match="not conditional"):
        plain.sample(10, label="e")


# ---------------------------------------------------------------------- files, CLI
@pytest.fixture(scope="module")
def inclusive_model(inclusive: ak.Array) -> Generator:
    return fit(inclusive, model="flow-vae", condition="process", seed=1, **QUICK["flow-vae"])


def test_the_mixture_preset_reflects_and_yields_to_given_settings(inclusive: ak.Array) -> None:
    model = fit(inclusive, condition="process", preset="mixture", seed=1, **QUICK["flow-vae"])
    assert model.config.mirror
    assert model.config.train.epochs == 2  # a given setting beats the preset's 400
    assert model.config.train.patience == 40  # the preset's, not given
    assert model.info["vae"]["epochs_run"] == 2
    plain = fit(inclusive, condition="process", seed=1, **QUICK["flow-vae"])
    assert not plain.config.mirror


def test_plan_shares_events_and_yields_by_label(inclusive_model: Generator) -> None:
    p = plan(inclusive_model, n=1000, seed=1, block=300)
    n_b = inclusive_model.info["labels"]["b"]["n"]
    assert {k: c for k, c, _ in p.labels} == inclusive_model.label_counts(1000)
    assert sum(c for _, c, _ in p.labels) == 1000
    k_a = p.labels[0][1]
    assert p.block_labels(0, 300) == ({"a": 300} if k_a >= 300 else {"a": k_a, "b": 300 - k_a})
    assert sum(sum(p.block_labels(a, b).values()) for a, b in p.blocks()) == 1000
    only = plan(inclusive_model, factor=2, seed=1, label="b")
    assert only.n == 2 * n_b
    assert only.train_yield == inclusive_model.info["labels"]["b"]["yield"]
    with pytest.raises(InputError, match="not 'c'"):
        plan(inclusive_model, n=10, label="c")


def test_root_file_keeps_labels_and_yields_per_label(
    inclusive_model: Generator, inclusive: ak.Array, tmp_path: Path
) -> None:
    table = tmp_path / "train.parquet"
    write_table(inclusive, table)
    out = write_generated(
        inclusive_model,
        tmp_path / "gen.root",
        factor=1.5,
        seed=3,
        include_original=table,
        chunk_size=1000,
    )
    assert out["sum_weights"] == pytest.approx(float(ak.sum(inclusive.weight)))
    with uproot.open(tmp_path / "gen.root") as f:
        branches = f["Events"].arrays(
            ["evmult_label", "genWeight", "evmult_isGenerated"], library="np"
        )
        record = json.loads(str(f["evmult_provenance"]))
    assert record["labels"] == ["a", "b"]
    for i, label in enumerate(record["labels"]):
        mine = branches["evmult_label"] == i
        truth = float(ak.sum(inclusive.weight[inclusive.process == label]))
        assert branches["genWeight"][mine].sum(dtype=np.float64) == pytest.approx(truth, rel=1e-5)
        original = mine & ~branches["evmult_isGenerated"]
        assert original.sum() == inclusive_model.info["labels"][label]["n"]
    again = extract([tmp_path / "gen.root"], "inclusive")
    assert len(again) == out["events"]  # every generated event passes the selection


def test_cli_condition_and_label(
    inclusive: ak.Array, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    table = tmp_path / "t.parquet"
    write_table(inclusive, table)
    quick = [f"--set={k}={json.dumps(v)}" for k, v in QUICK["flow-vae"].items()]
    model = tmp_path / "m.evmult"
    assert (
        main(["train", str(table), "-o", str(model), "--condition", "process", "--quiet", *quick])
        == 0
    )
    assert "conditioned on process: a" in capsys.readouterr().out
    out = tmp_path / "b.parquet"
    assert (
        main(["multiply", str(model), "--factor", "1", "--label", "b", "-o", str(out), "--quiet"])
        == 0
    )
    events = read_table(out)
    assert set(events.process.tolist()) == {"b"}
    assert len(events) == int(np.sum(np.asarray(inclusive.process.tolist()) == "b"))
    assert (
        main(["multiply", str(model), "--n", "5", "--label", "c", "-o", str(tmp_path / "c.root")])
        == 1
    )
    assert "knows the labels a, b; not 'c'" in capsys.readouterr().err
    assert not (tmp_path / "c.root").exists()


def test_darkmachines_mixture_extracts_and_conditions(shared: Callable[[str], Path]) -> None:
    table = extract([shared("csv/darkmachines_mix.csv")], "inclusive")
    assert len(table) == 40_000
    model = fit(
        ak.Array(table[::10], attrs=table.attrs),
        model="flow-vae",
        condition="process",
        seed=1,
        **QUICK["flow-vae"],
    )
    assert model.labels == ["ttbar", "wz", "z_jets"]
    assert model.label_counts(4000) == {"ttbar": 1000, "wz": 1000, "z_jets": 2000}
    wz = model.sample(200, seed=1, label="wz")
    assert set(wz.process.tolist()) == {"wz"}
