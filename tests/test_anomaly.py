"""Anomaly scores from trained generators, scored files and the signal-injection study."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from conftest import DEMO_SAMPLE, QUICK, rewrite_model_file
from sklearn.metrics import roc_auc_score

from evmult.anomaly import SCORE_PREFIX, anomaly_study, score_table, working_points
from evmult.cli import main
from evmult.coffea import extract
from evmult.errors import InputError
from evmult.io.tables import read_table, write_table
from evmult.models import MODELS
from evmult.pipeline import fit, load

SCORING = sorted(set(MODELS) - {"smearing"})


def shifted(table: ak.Array, seed: int = 5) -> ak.Array:
    """The events with every lepton's pT scaled by exp(N(0.3, 0.1)), one draw per event:
    a Gaussian shift of log pT, the injected signal."""
    scale = np.exp(np.random.default_rng(seed).normal(0.3, 0.1, len(table)))
    out = table
    for name in ("Muon", "Electron"):
        leptons = out[name]
        out = ak.with_field(out, ak.with_field(leptons, leptons.pt * scale, "pt"), name)
    return ak.Array(out, attrs=table.attrs)


def auc(background: np.ndarray, signal: np.ndarray) -> float:
    y = np.r_[np.zeros(len(background)), np.ones(len(signal))]
    return float(roc_auc_score(y, np.r_[background, signal]))


@pytest.fixture(scope="module")
def zll() -> ak.Array:
    return extract([DEMO_SAMPLE], "zll")


@pytest.fixture(scope="module")
def model(zll: ak.Array):
    settings = QUICK["flow-vae"] | {"train.epochs": 15, "prior_train.epochs": 10}
    return fit(zll[:3000], seed=1, **settings)


def test_the_scores_find_an_injected_gaussian_shift(model, zll: ak.Array) -> None:
    test = zll[3000:5000]
    background = model.score(test)
    signal = model.score(shifted(test))
    assert set(background) == {"density", "reco", "kl", "latent_pca", "latent_density"}
    assert auc(background["density"], signal["density"]) > 0.8
    assert auc(background["reco"], signal["reco"]) > 0.8
    # held-out background is not anomalous: two halves of it score alike
    half = len(test) // 2
    for name, values in background.items():
        assert abs(auc(values[:half], values[half:]) - 0.5) < 0.05, name


def test_an_events_scores_do_not_depend_on_the_other_events(model, zll: ak.Array) -> None:
    test = zll[3000:4000]
    alone = model.score(test[::-1][:300])
    together = model.score(test)
    for name, values in together.items():
        np.testing.assert_allclose(alone[name], values[::-1][:300], rtol=1e-5, atol=1e-6)
    again = model.score(test)
    assert all(np.array_equal(again[n], together[n]) for n in together)
    other = model.score(test, seed=1)
    assert not np.array_equal(other["density"], together["density"])
    # a subset of the scores, in the order asked, with the same values
    only = model.score(test, ["kl", "density"])
    assert list(only) == ["kl", "density"]
    assert all(np.array_equal(only[n], together[n]) for n in only)


@pytest.mark.parametrize("family", SCORING)
def test_every_family_gives_the_scores_it_lists(family: str, zll: ak.Array) -> None:
    m = fit(zll[:1500], model=family, seed=1, **QUICK[family])
    scores = m.score(zll[1500:1800])
    assert tuple(scores) == m.available_scores()
    assert "reco" in scores
    assert "latent_pca" in scores
    for name, values in scores.items():
        assert values.shape == (300,), name
        assert np.isfinite(values).all(), name
    assert len(set(m.score(zll[1500:1800], ["reco"]))) == 1


def test_what_cannot_be_scored_is_refused(model, zll: ak.Array) -> None:
    smearing = fit(zll[:500], model="smearing", seed=1)
    with pytest.raises(InputError, match="gives no anomaly score"):
        smearing.score(zll[:10])
    with pytest.raises(InputError, match="no score 'nonsense'"):
        model.score(zll[:10], ["nonsense"])
    with pytest.raises(InputError, match="no events"):
        model.score(zll[:0])
    other = ak.Array(zll[:10], attrs={"evmult": {"channel": "wz"}})
    with pytest.raises(InputError, match="channel 'wz'"):
        model.score(other)
    fast = fit(zll[:1500], seed=1, preset="fast", **QUICK["flow-vae"])
    assert "density" not in fast.available_scores()  # the aggregate prior has no density


def test_a_model_file_without_the_code_axes_loads_without_that_score(
    model, zll: ak.Array, tmp_path: Path
) -> None:
    path = model.save(tmp_path / "m.evmult")
    old = rewrite_model_file(
        path, tmp_path / "old.evmult", lambda _: None, keep=lambda k: "latent_pca" not in k
    )
    loaded = load(old)
    assert "latent_pca" not in loaded.available_scores()
    np.testing.assert_array_equal(
        loaded.score(zll[:50], ["density"])["density"],
        model.score(zll[:50], ["density"])["density"],
    )
    assert load(path).latent_pca is not None


def test_working_points_of_a_known_score() -> None:
    # background scores uniform on (0, 1), signal uniform on (0.5, 1.5)
    n = 100_000
    background = (np.arange(n) + 0.5) / n
    signal = 0.5 + (np.arange(n) + 0.5) / n
    y = np.r_[np.zeros(n), np.ones(n)]
    point = working_points(y, np.r_[background, signal])
    # ε_B = 0.01 cuts at 0.99: the signal above it is 0.51
    assert point["eps_s"][1e-2] == pytest.approx(0.51, abs=1e-3)
    assert point["eps_s"][1e-3] == pytest.approx(0.501, abs=1e-3)
    assert point["sic"][1e-2] == pytest.approx(5.1, abs=0.01)
    assert point["auc"] == pytest.approx(1 - 0.125, abs=1e-3)
    assert point["resolved"] == {1e-2: True, 1e-3: True}
    few = working_points(y[n - 5_000 : n + 5_000], np.r_[background, signal][n - 5_000 : n + 5_000])
    assert few["resolved"][1e-3] is False  # 5 background events pass 10⁻³ of 5,000


def test_the_study_reports_every_score_and_writes_its_report(
    model, zll: ak.Array, tmp_path: Path
) -> None:
    test = zll[3000:5000]
    study = anomaly_study(model, test, {"shifted": shifted(test)}, ["density", "kl"], bootstrap=20)
    assert [r["score"] for r in study.rows] == ["density", "kl"]
    best = study.best("shifted")
    assert best["score"] == "density"
    assert best["auc"]["value"] > 0.8
    assert 0 < best["auc"]["std"] < 0.02
    assert best["resolved"] == {"0.01": True, "0.001": False}  # 2,000 background events
    assert "density" in study.text.splitlines()[2]
    out = study.write(tmp_path / "anomaly")
    record = json.loads((out / "anomaly.json").read_text())
    assert record["rows"][0]["eps_s"]["0.01"]["value"] == pytest.approx(
        best["eps_s"]["0.01"]["value"]
    )
    assert (out / "roc_shifted.png").is_file()
    assert "Anomaly scores" in (out / "report.html").read_text()
    with pytest.raises(InputError, match="at least one signal"):
        anomaly_study(model, test, {})
    # signal and background see the same noise: the background itself is no signal
    same = anomaly_study(model, test, {"copy": test}, ["density"], bootstrap=2)
    assert same.rows[0]["auc"]["value"] == pytest.approx(0.5, abs=1e-12)


def test_score_writes_columns_and_branches_the_processor_reads(
    model, zll: ak.Array, tmp_path: Path
) -> None:
    model_file = model.save(tmp_path / "m.evmult")
    table = write_table(zll[3000:3400], tmp_path / "test.parquet")
    parquet, root = tmp_path / "scored.parquet", tmp_path / "scored.root"
    assert main(["score", str(model_file), str(table), "-o", str(parquet)]) == 0
    scored = read_table(parquet)
    expected = score_table(model, read_table(table))
    for name in model.available_scores():
        np.testing.assert_allclose(
            ak.to_numpy(scored[SCORE_PREFIX + name]), ak.to_numpy(expected[SCORE_PREFIX + name])
        )
    assert scored.attrs["evmult"]["scores"]["model_file"]["sha256"]
    assert main(["score", str(model_file), str(table), "-o", str(root), "--scores", "reco"]) == 0
    with uproot.open(root) as f:
        tree = f["Events"]
        np.testing.assert_allclose(
            tree["evmult_score_reco"].array(library="np"), ak.to_numpy(scored.evmult_score_reco)
        )
        assert "evmult_score_density" not in tree
        np.testing.assert_array_equal(
            tree["evmult_sourceIndex"].array(library="np"), np.arange(400)
        )
    again = extract([root], "zll")
    assert len(again) == 400
    np.testing.assert_allclose(
        ak.to_numpy(ak.sum(again.Muon.pt, axis=1)),
        ak.to_numpy(ak.sum(zll[3000:3400].Muon.pt, axis=1)),
        rtol=1e-6,
    )


def test_score_and_anomaly_refuse_bad_input_and_leave_nothing(
    model, zll: ak.Array, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_file = model.save(tmp_path / "m.evmult")
    table = write_table(zll[3000:3200], tmp_path / "test.parquet")
    assert main(["score", str(model_file), str(table), "-o", str(tmp_path / "x.csv")]) == 1
    assert "written as .parquet or .root" in capsys.readouterr().err
    assert (
        main(
            [
                "score",
                str(model_file),
                str(table),
                "-o",
                str(tmp_path / "x.root"),
                "--scores",
                "bad",
            ]
        )
        == 1
    )
    assert not (tmp_path / "x.root").exists()
    assert main(["score", str(model_file), str(table), "-o", str(table)]) == 1
    assert "exists" in capsys.readouterr().err
    out = tmp_path / "study"
    args = ["anomaly", str(model_file), "--background", str(table), "-o", str(out)]
    assert main([*args, "--signal", f"{table}:wz"]) == 1
    assert "no event of process 'wz'" in capsys.readouterr().err
    assert not out.exists()
    signal = write_table(shifted(zll[3000:3200]), tmp_path / "shifted.parquet")
    assert main([*args, "--signal", str(signal), "--bootstrap", "5", "--scores", "reco"]) == 0
    assert "shifted" in capsys.readouterr().out
    assert json.loads((out / "anomaly.json").read_text())["rows"][0]["score"] == "reco"


def test_an_events_process_label_is_never_used(zll: ak.Array) -> None:
    from evmult.io.tables import string_column

    def labelled(table: ak.Array, index: np.ndarray) -> ak.Array:
        column = string_column(["dy_a", "dy_b", "other"], index)
        return ak.Array(ak.with_field(table, column, "process"), attrs=table.attrs)

    train = labelled(zll[:1500], np.arange(1500) % 2)  # the process becomes a learned column
    m = fit(train, seed=1, **QUICK["flow-vae"])
    test = zll[3000:3200]
    as_a = m.score(labelled(test, np.zeros(200, int)))
    unseen = m.score(labelled(test, np.full(200, 2)))  # a process the model never saw
    for name, values in as_a.items():
        np.testing.assert_array_equal(unseen[name], values)
