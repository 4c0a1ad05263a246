"""The amplification study, a model's worth curve and the multiply warning (small sizes)."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from conftest import DEMO_SAMPLE, QUICK

from evmult.amplify import amplification_study, worth_curve
from evmult.channels import get_channel
from evmult.cli import main
from evmult.coffea import extract
from evmult.generation import worth_warning
from evmult.io.tables import split_table, write_table
from evmult.physics import resonance_mass
from evmult.pipeline import PRESETS, SMALL_DEEPER_FROM, fit, load, preset_settings


@pytest.fixture(scope="module")
def zll() -> ak.Array:
    return extract([DEMO_SAMPLE], "zll")


@pytest.fixture(scope="module")
def quick_model(zll: ak.Array) -> tuple[object, ak.Array, ak.Array]:
    train, rest = split_table(zll, n=1_000, seed=3)
    return fit(train, seed=3, refine="off", **QUICK["flow-vae"]), train, rest


def test_a_worth_curve_rises_towards_its_asymptote(quick_model: tuple) -> None:
    model, train, rest = quick_model
    curve = worth_curve(model, rest, factors=[1, 4, 16], train=train, seed=1)
    effective = [p["effective"] for p in curve.points]
    assert [p["n_generated"] for p in curve.points] == [1_000, 4_000, 16_000]
    assert effective[0] < effective[2]  # more events of one model are worth more ...
    assert effective[2] <= curve.asymptotic * 1.05  # ... but never more than infinitely many
    # the one-line-per-point bookkeeping is consistent
    for p in curve.points:
        assert p["amplification"] == pytest.approx(p["effective"] / 1_000)
        assert set(p["per_feature"]) >= set(curve.counted)
    # absolute azimuths are reported, not counted
    assert "lep1_phi" in curve.points[0]["per_feature"]
    assert not any(n.endswith("_phi") for n in curve.counted)
    assert curve.largest_useful_factor == pytest.approx(9 * curve.asymptotic / 1_000)
    # the training events themselves are measured the same way: about their size
    assert curve.training is not None
    assert abs(curve.training["effective"] - 1_000) < 3 * curve.training["effective_std"]
    record = curve.record()
    assert record["at_factor"] in (1, 4, 16)
    assert record["largest_useful_factor"] == curve.largest_useful_factor


def test_smeared_copies_are_worth_less_than_what_they_copy(zll: ak.Array) -> None:
    """The smearing baseline (copies of the training events, N(1, 0.05) on every
    momentum) adds noise to the training sample's: worth less at every factor."""
    train, rest = split_table(zll, n=1_000, seed=4)
    curve = worth_curve(fit(train, model="smearing"), rest, factors=[1, 8], train=train, seed=2)
    assert curve.training is not None
    for point in curve.points:
        assert point["effective"] < curve.training["effective"]


def test_the_study_trains_per_size_and_draw(zll: ak.Array) -> None:
    settings = dict(QUICK["flow-vae"]) | {"refine": "off"}
    study = amplification_study(
        zll, sizes=[1_000, 500], factors=[1, 3], settings=settings, repeats=2, seed=5
    )
    assert list(study.curves) == [500, 1_000]
    assert all(len(c) == 2 for c in study.curves.values())
    rows = study.summary()
    assert [r["n_train"] for r in rows] == [500, 1_000]
    for row in rows:
        amps = [c.points[0]["amplification"] for c in study.curves[row["n_train"]]]
        assert row["factors"][1.0]["amplification"] == pytest.approx(np.mean(amps))
        assert row["factors"][1.0]["spread"] == pytest.approx(np.std(amps, ddof=1))
        assert row["resolution"] > 6  # 7,000+ reference events
    assert "500 train" in study.text


def test_amplify_and_worth_commands(
    zll: ak.Array, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = write_table(zll, tmp_path / "zll.parquet")
    quick = [f"--set={k}={json.dumps(v)}" for k, v in QUICK["flow-vae"].items()]
    out = tmp_path / "amp"
    args = ["amplify", str(table), "-o", str(out), "--sizes", "600", "--factors", "1,2"]
    assert main([*args, "--refine", "off", "--quiet", *quick]) == 0
    assert {p.name for p in out.iterdir()} >= {
        "amplification.json",
        "amplification.html",
        "amplification_600.png",
        "amplification_600.pdf",
    }
    data = json.loads((out / "amplification.json").read_text())
    assert data["setup"]["sizes"] == [600]
    assert len(data["curves"]["600"][0]["points"]) == 2
    assert "600 train" in capsys.readouterr().out
    # a size that leaves too few reference events: one line, no output
    assert main([*args[:3], str(tmp_path / "no"), "--sizes", "5000", "--quiet"]) == 1
    assert "leaves fewer reference events" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()

    train, rest = split_table(zll, n=1_000, seed=6)
    paths = {n: write_table(t, tmp_path / f"{n}.parquet") for n, t in (("t", train), ("r", rest))}
    model = tmp_path / "m.evmult"
    fit(train, seed=6, refine="off", **QUICK["flow-vae"]).save(model)
    worth = ["worth", str(model), "--reference", str(paths["r"]), "--factors", "1,4"]
    assert main([*worth, "--train", str(paths["t"]), "-o", str(tmp_path / "w"), "--record"]) == 0
    printed = capsys.readouterr().out
    assert "the training events themselves" in printed
    assert "recorded in" in printed
    assert (tmp_path / "w" / "worth.png").is_file()
    recorded = load(model).info["worth"]
    assert recorded["reference"]["path"] == str(paths["r"].resolve())
    assert recorded["largest_useful_factor"] > 0

    # multiplying far beyond the recorded factor warns on one line, and still writes
    factor = 3 * max(recorded["largest_useful_factor"], 0.5)
    args = ["multiply", str(model), "--factor", f"{factor:.3g}", "--quiet"]
    assert main([*args, "-o", str(tmp_path / "more.parquet")]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("evmult: warning: asked for")
    assert (tmp_path / "more.parquet").is_file()


def test_worth_warning_only_far_beyond_a_measured_factor() -> None:
    info = {
        "n_train": 1_000,
        "worth": {
            "largest_useful_factor": 5.0,
            "lower_bound": False,
            "asymptotic_amplification": 0.6,
        },
    }
    assert worth_warning(info, 10_000) is None  # ×10: within twice the useful factor
    assert "11×" in (worth_warning(info, 11_000) or "")
    assert worth_warning({"n_train": 1_000}, 10**6) is None  # nothing recorded
    bound = {"n_train": 1_000, "worth": info["worth"] | {"lower_bound": True}}
    assert worth_warning(bound, 10**6) is None  # a lower bound never warns


def test_the_small_preset_reflects_keeps_the_flavour_shares_and_pools_five(zll: ak.Array) -> None:
    train = zll[:800]
    model = fit(train, preset="small", seed=1, refine="off", **QUICK["flow-vae"])
    assert model.config.members == 5
    assert model.config.member.mirror
    assert model.condition == "flavour"
    assert model.labels == ["e", "mu"]
    events = model.sample(8_000, seed=2)
    muons = ak.to_numpy(ak.num(events.Muon) > 0).mean()
    assert muons == pytest.approx(ak.to_numpy(ak.num(train.Muon) > 0).mean(), abs=1e-3)
    # a condition asked for beats the preset's
    other = fit(train, preset="small", condition="nJet", seed=1, refine="off", **QUICK["flow-vae"])
    assert other.condition == "nJet"
    assert other.config.member.mirror
    single = fit(train, preset="small", members=1, seed=1, refine="off", **QUICK["flow-vae"])
    assert single.config.mirror


def test_the_small_preset_deepens_the_decoder_flow_from_its_size_on(zll: ak.Array) -> None:
    quick = {k: v for k, v in QUICK["flow-vae"].items() if k != "flow_transforms"}
    below = fit(zll[: SMALL_DEEPER_FROM - 1], preset="small", members=1, refine="off", **quick)
    assert below.config.flow_transforms == 4
    deeper = fit(zll[:SMALL_DEEPER_FROM], preset="small", members=1, refine="off", **quick)
    assert deeper.config.flow_transforms == 6
    assert deeper.config.mirror
    # a setting asked for beats the preset's
    asked = fit(
        zll[:SMALL_DEEPER_FROM], preset="small", members=1, refine="off", **QUICK["flow-vae"]
    )
    assert asked.config.flow_transforms == QUICK["flow-vae"]["flow_transforms"]
    assert preset_settings("fast", 10**6) == PRESETS["fast"]


def test_the_small_preset_asks_no_flavour_of_events_without_leptons() -> None:
    inclusive = extract([DEMO_SAMPLE], "inclusive")[:600]  # 0, 1 or 2 leptons
    model = fit(inclusive, preset="small", seed=1, refine="off", **QUICK["flow-vae"])
    assert model.condition is None
    assert model.config.member.mirror


def test_a_calibrated_model_makes_the_training_shares_of_its_integers(
    zll: ak.Array, tmp_path: Path
) -> None:
    train = zll[:1500]
    model = fit(train, seed=1, refine="off", calibrate=True, **QUICK["flow-vae"])
    assert {"nJet", "jet1_btag", "mll"} <= set(model.info["calibration"])
    events = model.sample(20_000, seed=2)
    for count in range(3):
        want = np.mean(ak.to_numpy(train.nJet) == count)
        assert np.mean(ak.to_numpy(events.nJet) == count) == pytest.approx(want, abs=0.01)
    loaded = load(model.save(tmp_path / "c.evmult"))
    assert ak.array_equal(loaded.sample(300, seed=3), model.sample(300, seed=3))
    plain = fit(train, seed=1, refine="off", **QUICK["flow-vae"])
    assert "calibration" not in plain.info
    assert all(not (c.cuts or c.knots) for c in plain._fitted().columns)
    # and the mass the training quantiles, where the same network misses them
    mll = get_channel("zll").resonances[0]
    levels = [0.1, 0.25, 0.5, 0.75, 0.9]

    def off(table: ak.Array) -> np.ndarray:
        made = np.quantile(np.asarray(resonance_mass(table, mll)), levels)
        return np.abs(made / np.quantile(np.asarray(resonance_mass(train, mll)), levels) - 1)

    assert off(events).max() < 5e-3 < off(plain.sample(20_000, seed=2)).max()
