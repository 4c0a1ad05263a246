"""Classifiers and the classifier study on samples with known answers (small sizes)."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import awkward as ak
import numpy as np
import pytest
from conftest import DEMO_SAMPLE, QUICK
from scipy import stats

from evmult.classifiers import CLASSIFIERS, PARAMETERISED, make
from evmult.classifiers.base import held_out
from evmult.classify import classifier_study, refinement
from evmult.classify_metrics import (
    augmented_weights,
    equivalent_events,
    metrics_of,
    paired_gain,
    scored,
)
from evmult.classify_parameterised import parameterised_study
from evmult.coffea import extract
from evmult.errors import InputError


@pytest.mark.parametrize("name", sorted(set(CLASSIFIERS) - PARAMETERISED))
def test_separable_gaussians_reach_the_analytic_auc(name: str) -> None:
    # two unit Gaussians one σ apart in each of two dimensions: AUC = Φ(√2 / √2) = Φ(1)
    rng = np.random.default_rng(3)
    n = 6_000
    x = np.r_[rng.normal(0, 1, (n, 2)), rng.normal(1, 1, (n, 2))]
    y = np.r_[np.zeros(n), np.ones(n)]
    x[rng.random(2 * n) < 0.1, 1] = np.nan  # absent objects are handled
    clf = make(name, seed=1).fit(x, y, np.ones(2 * n))
    xt = np.r_[rng.normal(0, 1, (n, 2)), rng.normal(1, 1, (n, 2))]
    m = metrics_of(y, clf.score(xt), np.ones(2 * n), bootstrap=20)
    assert m["auc"]["value"] == pytest.approx(stats.norm.cdf(1.0), abs=0.015)
    assert 0.001 < m["auc"]["std"] < 0.01
    # at the score 0.5 with balanced classes the accuracy is Φ(√2 / 2)
    assert m["accuracy"]["value"] == pytest.approx(stats.norm.cdf(math.sqrt(2) / 2), abs=0.02)
    # a fixed seed gives the same classifier
    again = make(name, seed=1).fit(x, y, np.ones(2 * n))
    np.testing.assert_allclose(again.score(xt[:100]), clf.score(xt[:100]))


def test_rejection_and_kappa_of_a_known_score() -> None:
    y = np.r_[np.zeros(1_000), np.ones(1_000)]
    # background scores uniform, signal scores all above every background's: ε_B = 0
    scores = np.r_[np.linspace(0.0, 0.49, 1_000), np.linspace(0.5, 1.0, 1_000)]
    m = metrics_of(y, scores, np.ones(2_000), bootstrap=0)
    assert m["auc"]["value"] == 1.0
    assert m["rejection_50"]["value"] == 2_000  # bounded by half a background event
    assert m["kappa"]["value"] == 1.0
    assert m["f1"]["value"] == 1.0
    # the signal's upper half passes the score 0.75: 1/4 of the background passes 0.7
    mixed = np.r_[np.linspace(0.0, 1.0, 1_000), np.linspace(0.0, 1.0, 1_000)]
    m = metrics_of(y, mixed, np.ones(2_000), bootstrap=0)
    assert m["rejection_50"]["value"] == pytest.approx(2.0, rel=0.01)
    assert m["auc"]["value"] == pytest.approx(0.5, abs=1e-3)


def _gaussian_test_set(n_signal: int, n_background: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and logistic scores of a signal N(1, 1) against a background N(0, 1)."""
    rng = np.random.default_rng(11)
    x = np.r_[rng.normal(1, 1, n_signal), rng.normal(0, 1, n_background)]
    return np.r_[np.ones(n_signal), np.zeros(n_background)], 1 / (1 + np.exp(-x))


def test_folds_of_one_classifier_give_the_figures_of_the_whole_background() -> None:
    # two folds of equal size scored by the same classifier: the folds' mean AUC,
    # accuracy, F1 and κ and the pooled background efficiency are the whole set's
    y, s = _gaussian_test_set(2_000, 4_000)
    folds = np.r_[np.full(2_000, -1), np.arange(4_000) % 2]
    whole, _ = scored(y, s, np.ones(6_000), bootstrap=0, seed=0)
    split, _ = scored(y, np.stack([s, s]), np.ones(6_000), bootstrap=0, seed=0, folds=folds)
    for key, value in whole["metrics"].items():
        assert split["metrics"][key]["value"] == pytest.approx(value["value"], rel=1e-12), key
    np.testing.assert_allclose(split["roc"], whole["roc"], rtol=1e-12)
    for side in ("signal", "background"):
        np.testing.assert_allclose(split["scores"][side], whole["scores"][side], atol=1e-12)


def test_each_background_fold_is_scored_by_the_classifier_that_never_saw_it() -> None:
    # classifier k scores its own fold's background low and every other fold's high:
    # read fold by fold the background never passes; read by one classifier it does
    y = np.r_[np.ones(300), np.zeros(900)]
    folds = np.r_[np.full(300, -1), np.arange(900) % 3]
    scores = np.stack([np.where(folds == k, 0.1, 0.9) for k in range(3)])
    scores[:, :300] = 0.5
    record, draws = scored(y, scores, np.ones(1_200), bootstrap=10, seed=0, folds=folds)
    assert record["metrics"]["auc"]["value"] == 1.0
    assert record["metrics"]["rejection_50"]["value"] == 2 * 900  # half an event of 900
    assert len(draws) == 10
    one, _ = scored(y, scores[0], np.ones(1_200), bootstrap=0, seed=0)
    assert one["metrics"]["auc"]["value"] == pytest.approx(1 / 3)


def test_repeated_trainings_are_averaged_and_their_spread_counts() -> None:
    # two trainings of one classifier, one sharper than the other: the figures are
    # their mean, and the spread of that mean (|a - b| / 2 for two) joins the test
    # events' spread, in every figure and in a gain over a repeated baseline
    y, s = _gaussian_test_set(2_000, 4_000)
    rng = np.random.default_rng(4)
    logit = np.log(s / (1 - s))
    noisy = 1 / (1 + np.exp(-(logit + rng.normal(0, 1.5, len(s)))))
    w = np.ones(6_000)
    a, draws_a = scored(y, s, w, bootstrap=20, seed=0)
    b, _ = scored(y, noisy, w, bootstrap=20, seed=0)
    both, draws = scored(y, np.stack([s, noisy]), w, bootstrap=20, seed=0)
    auc_a, auc_b = a["metrics"]["auc"]["value"], b["metrics"]["auc"]["value"]
    auc = both["metrics"]["auc"]
    assert auc["value"] == pytest.approx((auc_a + auc_b) / 2, rel=1e-12)
    assert auc["std_training"] == pytest.approx(abs(auc_a - auc_b) / 2, rel=1e-9)
    assert auc["std"] > auc["std_training"] > 0.02  # the noise costs ~0.07 in AUC
    assert [r["auc"] for r in both["repeats"]] == pytest.approx([auc_a, auc_b], rel=1e-12)
    # folds within repeats: shape (repeats, folds, events)
    folds = np.r_[np.full(2_000, -1), np.arange(4_000) % 2]
    split, _ = scored(y, np.stack([[s, s], [noisy, noisy]]), w, bootstrap=0, seed=0, folds=folds)
    assert split["metrics"]["auc"]["value"] == pytest.approx(auc["value"], rel=1e-12)
    # a gain of one repeated training over another: the repeats' spread is in its std
    gain = paired_gain(both, both, draws, draws)["auc"]
    assert gain["value"] == 0.0
    assert gain["std_training"] == 0.0
    swapped = dict(both, repeats=both["repeats"][::-1])
    gain = paired_gain(swapped, both, draws, draws)["auc"]
    assert gain["std_training"] == pytest.approx(abs(auc_a - auc_b), rel=1e-9)
    assert gain["std"] == pytest.approx(gain["std_training"], rel=1e-9)
    assert "repeats" not in a
    assert "std_training" not in paired_gain(a, a, draws_a, draws_a)["auc"]


def test_generated_events_share_the_real_yield() -> None:
    w = augmented_weights(np.array([1.0, 2.0, 3.0]), 9)
    assert len(w) == 12
    assert w.sum() == pytest.approx(6.0)
    assert np.ptp(w) == 0


def test_equivalent_events_on_a_learning_curve() -> None:
    sizes, aucs = [1_000, 2_000, 8_000], [0.80, 0.82, 0.85]
    assert equivalent_events(sizes, aucs, 0.82) == (2_000.0, "")
    n, bound = equivalent_events(sizes, aucs, 0.835)
    assert bound == ""
    assert n == pytest.approx(4_000, rel=1e-6)  # halfway in log n between 2,000 and 8,000
    assert equivalent_events(sizes, aucs, 0.79) == (1_000.0, "<")
    assert equivalent_events(sizes, aucs, 0.90) == (8_000.0, ">")


@pytest.fixture(scope="module")
def zll_by_jets() -> tuple[ak.Array, ak.Array]:
    """Events with jets (signal) against events without (background), to be told
    apart by the leptons and MET alone."""
    table = extract([DEMO_SAMPLE], "zll")
    jets = ak.to_numpy(table.nJet) > 0
    return table[jets], table[~jets]


FEATURES = ["lep1_pt", "lep1_eta", "lep2_pt", "lep2_eta", "MET_pt", "mll"]


def test_copies_add_nothing_and_the_study_reports_every_training(
    zll_by_jets: tuple[ak.Array, ak.Array],
) -> None:
    signal, background = zll_by_jets
    study = classifier_study(
        signal,
        background,
        sizes=[300, 900],
        factors=[4],
        classifiers=["bdt"],
        settings={"refine": "off", **QUICK["flow-vae"]},
        features=FEATURES,
        bootstrap=20,
        repeats=2,
        seed=2,
    )
    kinds = [(r["training"], r["n_real"], r["factor"]) for r in study.rows]
    assert kinds == [
        ("real", 300, 0.0),
        ("real", 900, 0.0),
        ("real+generated", 300, 4.0),
        ("real+copies", 300, 4.0),
    ]
    real, _, generated, copies = study.rows
    assert generated["n_generated"] == copies["n_generated"] == 1_200
    # copies carry the information of the real events, no more
    gain = copies["gain"]["auc"]
    assert gain["value"] < 2 * gain["std"] + 0.005
    # two trainings of each (classifier seeds 2 and 3): averaged, their spread counted
    assert study.setup["repeats"] == 2
    assert len(copies["repeats"]) == 2
    assert gain["std"] >= gain["std_training"] > 0

    # the paired spread is that of a difference on the same test events: smaller than
    # the two trainings' spreads over the test events combined as if independent
    def over_test_events(m: dict[str, float]) -> float:
        return math.sqrt(m["std"] ** 2 - m["std_training"] ** 2)

    a, b = copies["metrics"]["auc"], real["metrics"]["auc"]
    assert over_test_events(gain) < math.hypot(over_test_events(a), over_test_events(b))
    assert study.rows[1]["metrics"]["auc"]["value"] > real["metrics"]["auc"]["value"]
    for row in (generated, copies):
        assert row["bound"] in ("", "<", ">")
        assert 300 <= row["equivalent"] <= 900
    assert study.setup["n_test_signal"] == round(0.3 * len(signal))
    assert study.setup["refiners"] == {"300": None}  # refine off: no refiner trained
    assert "real+copies ×4" in study.text
    assert "no change beyond the spread" in study.text or "better" in study.text


def test_a_study_says_what_refinement_did_to_its_generator() -> None:
    record = {"auc": 0.6412, "applied": True, "acceptance": 0.43, "cap": 2.5}
    said: list[str] = []
    with_refiner = SimpleNamespace(refiner=SimpleNamespace(record=record))
    assert refinement(with_refiner, said.append) == record  # type: ignore[arg-type]
    assert said == [
        "refiner: AUC 0.641 generated vs training events, applied: keeps 43% of generated events"
    ]
    assert refinement(SimpleNamespace(refiner=None), said.append) is None  # type: ignore[arg-type]
    assert len(said) == 1


def test_study_errors(zll_by_jets: tuple[ak.Array, ak.Array]) -> None:
    signal, background = zll_by_jets
    with pytest.raises(InputError, match="must lie in 2"):
        classifier_study(signal, background, sizes=[10**6])
    with pytest.raises(InputError, match=r"budgets \[150\] must be among the sizes \[100, 200\]"):
        classifier_study(signal, background, sizes=[100, 200], budgets=[150])
    with pytest.raises(InputError, match="repeats must be a whole number of at least 1, got 0"):
        classifier_study(signal, background, sizes=[100], repeats=0)
    with pytest.raises(InputError, match="unknown classifier"):
        make("svm")
    other = ak.Array(background, attrs={"evmult": {"channel": "wz"}})
    with pytest.raises(InputError, match="different channels"):
        classifier_study(signal, other, sizes=[100])


def test_classify_command(
    zll_by_jets: tuple[ak.Array, ak.Array], tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from evmult.cli import main
    from evmult.io.tables import write_table

    signal, background = zll_by_jets
    paths = [
        write_table(t, tmp_path / f"{n}.parquet") for n, t in (("s", signal), ("b", background))
    ]
    quick = [f"--set={k}={json.dumps(v)}" for k, v in QUICK["flow-vae"].items()]
    out = tmp_path / "study"
    args = ["classify", "--signal", str(paths[0]), "--background", str(paths[1]), "-o", str(out)]
    args += ["--sizes", "200,400", "--factors", "2", "--features", ",".join(FEATURES)]
    assert main([*args, "--budgets", "200,400", "--refine", "off", "--quiet", *quick]) == 0
    data = json.loads((out / "classifiers.json").read_text())
    assert [(r["training"], r["n_real"], r["n_generated"]) for r in data["rows"]] == [
        ("real", 200, 0),
        ("real", 400, 0),
        ("real+generated", 200, 400),
        ("real+copies", 200, 400),
        ("real+generated", 400, 800),
        ("real+copies", 400, 800),
    ]
    assert all("verdict" in r for r in data["rows"][2:])
    assert "worth" in (out / "summary.txt").read_text()
    assert {p.name for p in out.iterdir()} >= {
        "learning_curve_bdt.png",
        "learning_curve_bdt.pdf",
        "rejection_bdt.png",
        "rejection_bdt.pdf",
        "scores_bdt.png",
        "report.html",
    }
    page = (out / "report.html").read_text()
    assert page.count("<tr>") == 1 + len(data["rows"])
    assert 'src="scores_bdt.png"' in page
    for row in data["rows"]:  # normalised score distributions of the test events
        for side in ("signal", "background"):
            assert sum(row["scores"][side]) == pytest.approx(1.0)
    assert all(len(r["roc"]) == 19 for r in data["rows"])
    assert all(np.all(np.diff(r["roc"]) <= 1e-9) for r in data["rows"])  # falls with ε_S
    assert "real+generated ×2" in capsys.readouterr().out
    # every background event tested, in two folds
    folded = tmp_path / "folded"
    args[args.index(str(out))] = str(folded)
    folds = ["--background-folds", "2", "--repeats", "2"]
    assert main([*args, *folds, "--refine", "off", "--quiet", *quick]) == 0
    data = json.loads((folded / "classifiers.json").read_text())
    assert data["setup"]["repeats"] == 2
    assert all(len(r["repeats"]) == 2 for r in data["rows"])
    assert (
        "each classifier trained 2 times, averaged, their spread in every ±"
        in (folded / "summary.txt").read_text()
    )
    assert data["setup"]["n_test_background"] == len(background)
    assert data["setup"]["n_train_background"] == len(background) // 2
    assert len(data["rows"]) == 4
    assert "(every background event, in 2 folds)" in capsys.readouterr().out
    # bad input: one line, no output
    bad = ["classify", "--signal", str(paths[0]), "--background", str(paths[1])]
    assert main([*bad, "-o", str(tmp_path / "no"), "--sizes", "99999999", "--quiet"]) == 1
    assert "must lie in 2" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
    assert main([*bad, "-o", str(tmp_path / "no"), "--background-folds", "0", "--quiet"]) == 1
    assert "background_folds must be a whole number from 1" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
    assert main([*bad, "-o", str(tmp_path / "no"), "--repeats", "0", "--quiet"]) == 1
    assert "repeats must be a whole number of at least 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()


def test_copies_sharing_their_events_weight_train_the_forest_as_the_events() -> None:
    rng = np.random.default_rng(7)
    sig, bkg = rng.normal(1, 1, (400, 2)), rng.normal(0, 1, (4_000, 2))
    test = np.r_[rng.normal(1, 1, (4_000, 2)), rng.normal(0, 1, (4_000, 2))]
    y_test = np.r_[np.ones(4_000), np.zeros(4_000)]

    def auc(signal: np.ndarray, w_signal: np.ndarray) -> float:
        x = np.r_[signal, bkg]
        y = np.r_[np.ones(len(signal)), np.zeros(len(bkg))]
        clf = make("rf", seed=3).fit(x, y, np.r_[w_signal, np.ones(len(bkg))])
        return metrics_of(y_test, clf.score(test), np.ones(8_000), bootstrap=0)["auc"]["value"]

    alone = auc(sig, np.ones(400))
    copies = auc(np.tile(sig, (10, 1)), augmented_weights(np.ones(400), 3_600))
    assert copies == pytest.approx(alone, abs=0.004)


def test_early_stopping_holds_out_events_with_their_copies() -> None:
    # 20 signal events and 40 copies of them; 300 background events, numbered from 0 too
    # (groups are per class)
    y = np.r_[np.ones(60), np.zeros(300)]
    source = np.arange(40) % 20
    held = held_out(y, np.r_[np.arange(20), source, np.arange(300)], 0.1, seed=4)
    assert held[:20].sum() == 2  # a tenth of the signal events
    np.testing.assert_array_equal(held[20:60], held[:20][source])  # copies follow them
    assert held[60:].sum() == 30  # and a tenth of the background
    assert held_out(y, None, 0.1, seed=4).sum() == 36  # every event its own group


def test_copies_of_an_event_held_out_do_not_train_the_network() -> None:
    # the copies baseline: held out with their event, copies that share its weight train
    # the network as the events alone do; without groups the network stops on copies of
    # its own training events and learns them
    rng = np.random.default_rng(5)
    sig, bkg = rng.normal(0.7, 1, (150, 4)), rng.normal(0, 1, (3_000, 4))
    test = np.r_[rng.normal(0.7, 1, (4_000, 4)), rng.normal(0, 1, (4_000, 4))]
    y_test = np.r_[np.ones(4_000), np.zeros(4_000)]

    def auc(signal: np.ndarray, w_signal: np.ndarray, groups: np.ndarray | None) -> float:
        x = np.r_[signal, bkg]
        y = np.r_[np.ones(len(signal)), np.zeros(len(bkg))]
        full = None if groups is None else np.r_[groups, np.arange(len(bkg))]
        clf = make("nn", seed=3).fit(x, y, np.r_[w_signal, np.ones(len(bkg))], full)
        return metrics_of(y_test, clf.score(test), np.ones(8_000), bootstrap=0)["auc"]["value"]

    alone = auc(sig, np.ones(150), None)
    copies = np.tile(sig, (10, 1))
    w = augmented_weights(np.ones(150), 1_350)
    grouped = auc(copies, w, np.arange(1_500) % 150)
    ungrouped = auc(copies, w, None)
    assert grouped == pytest.approx(alone, abs=0.01)
    assert ungrouped < grouped


def test_the_parameterised_network_reaches_the_optimum_at_a_value_it_never_saw() -> None:
    # signal N(m, 0.5) at m = -2, -1, 1, 2; background N(0, 2); tested at m = 0, left out
    rng = np.random.default_rng(5)
    n = 2_000
    values = [-2.0, -1.0, 1.0, 2.0]
    signal = np.vstack([np.c_[rng.normal(m, 0.5, n), np.full(n, m)] for m in values])
    background = np.c_[rng.normal(0, 2, 4 * n), np.full(4 * n, np.nan)]
    x, y = np.r_[signal, background], np.r_[np.ones(len(signal)), np.zeros(len(background))]
    pnn = make("pnn", seed=1).fit(x, y, np.ones(len(x)))
    test = np.r_[rng.normal(0, 0.5, 5_000), rng.normal(0, 2, 5_000)]
    y_test = np.r_[np.ones(5_000), np.zeros(5_000)]
    ratio = -0.5 * (test / 0.5) ** 2 + 0.5 * (test / 2) ** 2  # the likelihood ratio's log
    best = metrics_of(y_test, 1 / (1 + np.exp(-ratio)), np.ones(10_000), bootstrap=0)
    at = metrics_of(y_test, pnn.score(np.c_[test, np.zeros(10_000)]), np.ones(10_000), bootstrap=0)
    assert at["auc"]["value"] == pytest.approx(best["auc"]["value"], abs=0.005)
    # the parameter matters: at the hypothesis m = 2 the same events are barely told apart
    wrong = pnn.score(np.c_[test, np.full(10_000, 2.0)])
    assert metrics_of(y_test, wrong, np.ones(10_000), bootstrap=0)["auc"]["value"] < 0.6
    with pytest.raises(InputError, match="parameter value"):
        pnn.score(np.c_[test, np.full(10_000, np.nan)])
    with pytest.raises(InputError, match="last column"):
        make("pnn").fit(np.c_[test, np.full(10_000, np.nan)], y_test, np.ones(10_000))


@pytest.fixture(scope="module")
def zll_by_jet_count() -> tuple[dict[float, ak.Array], ak.Array]:
    """Events with 1, 2 and 3+ jets as a signal at three "values" of the jet count,
    against events without jets, told apart by the leptons and MET alone."""
    table = extract([DEMO_SAMPLE], "zll")
    n = ak.to_numpy(table.nJet)
    return {1.0: table[n == 1], 2.0: table[n == 2], 3.0: table[n >= 3]}, table[n == 0]


def _quick_study(signals: dict[float, ak.Array], background: ak.Array, **kwargs: Any) -> Any:
    """A parameterised study of the jet-count "values", signal multiplied ×2 by quick
    generators."""
    return parameterised_study(
        signals,
        background,
        parameter="nJet",
        factors=[2],
        multiply=["signal"],
        settings={"refine": "off", **QUICK["flow-vae"]},
        features=FEATURES,
        bootstrap=10,
        seed=1,
        **kwargs,
    )


def test_parameterised_study_trains_the_pnn_once_and_every_other_classifier_per_value(
    zll_by_jet_count: tuple[dict[float, ak.Array], ak.Array], tmp_path
) -> None:
    signals, background = zll_by_jet_count
    study = _quick_study(
        signals,
        background,
        classifiers=["pnn", "bdt"],
        left_out=2.0,
        signal_generator="per-value",
    )
    keys = [(r["classifier"], r["training"], r["value"], r["left_out"]) for r in study.rows]
    assert keys == [
        (c, t, v, c == "pnn" and v == 2.0)
        for c in ("pnn", "bdt")
        for t in ("real", "signal+generated")
        for v in (1.0, 2.0, 3.0)
    ]
    n_train = study.setup["n_train_signal"]
    assert n_train == {
        k: len(t) - round(0.3 * len(t))
        for k, t in (("1", signals[1.0]), ("2", signals[2.0]), ("3", signals[3.0]))
    }
    for row in study.rows:
        assert row["n_real"] == n_train[f"{row['value']:g}"]
        generated = row["training"] == "signal+generated"
        assert row["n_generated"] == (2 * row["n_real"] if generated else 0)
        assert ("gain" in row) == generated
        assert 0.5 < row["metrics"]["auc"]["value"] <= 1.0
    assert "2 left out" in study.text
    assert "(left out)" in study.text
    out = study.write(tmp_path / "pnn")
    assert {p.name for p in out.iterdir()} >= {
        "classifiers.json",
        "summary.txt",
        "report.html",
        "parameter_pnn.png",
        "parameter_pnn.pdf",
        "scores_bdt.png",
    }
    assert "(left out)" in (out / "report.html").read_text()


def test_one_conditional_generator_multiplies_the_signal_at_every_value(
    zll_by_jet_count: tuple[dict[float, ak.Array], ak.Array], monkeypatch: pytest.MonkeyPatch
) -> None:
    import evmult.pipeline

    signals, background = zll_by_jet_count
    fits: list[tuple[list[str], str | None]] = []
    real_fit = evmult.pipeline.fit

    def spy(table: ak.Array, **kwargs: Any) -> Any:
        labels = sorted(set(ak.to_list(table.process))) if "process" in ak.fields(table) else []
        fits.append((labels, kwargs.get("condition")))
        return real_fit(table, **kwargs)

    monkeypatch.setattr(evmult.pipeline, "fit", spy)
    study = _quick_study(signals, background, classifiers=["bdt"])
    assert fits == [(["nJet=1", "nJet=2", "nJet=3"], "process")]  # one generator for all
    assert study.setup["signal_generator"] == "conditional"  # the default
    for row in study.rows:  # each value gets twice its own training events
        generated = row["training"] == "signal+generated"
        assert row["n_generated"] == (2 * row["n_real"] if generated else 0)


def test_parameterised_study_errors(
    zll_by_jet_count: tuple[dict[float, ak.Array], ak.Array],
    zll_by_jets: tuple[ak.Array, ak.Array],
) -> None:
    signals, background = zll_by_jet_count
    with pytest.raises(InputError, match="two values at least"):
        parameterised_study({1.0: signals[1.0]}, background)
    with pytest.raises(InputError, match="left-out"):
        parameterised_study(signals, background, left_out=5.0)
    with pytest.raises(InputError, match="cannot multiply"):
        parameterised_study(signals, background, multiply=["both"])
    with pytest.raises(InputError, match="exceeds"):
        parameterised_study(signals, background, size=10**6)
    with pytest.raises(InputError, match="signal generator 'joint'"):
        parameterised_study(signals, background, signal_generator="joint")
    with pytest.raises(InputError, match="needs signal tables at several"):
        classifier_study(*zll_by_jets, sizes=[100], classifiers=["pnn"])


def test_classify_command_with_a_signal_at_several_values(
    zll_by_jet_count: tuple[dict[float, ak.Array], ak.Array],
    tmp_path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from evmult.cli import main
    from evmult.io.tables import write_table

    signals, background = zll_by_jet_count
    args = ["classify", "--background", str(write_table(background, tmp_path / "b.parquet"))]
    for value, table in signals.items():
        args += ["--signal", f"{write_table(table, tmp_path / f's{value:g}.parquet')}={value:g}"]
    quick = [f"--set={k}={json.dumps(v)}" for k, v in QUICK["flow-vae"].items()]
    out = tmp_path / "study"
    args += ["--classifiers", "pnn", "--multiply", "background", "--factors", "1"]
    args += ["--features", ",".join(FEATURES), "--parameter", "nJet", "--refine", "off"]
    assert main([*args, "-o", str(out), "--quiet", *quick]) == 0
    data = json.loads((out / "classifiers.json").read_text())
    assert data["setup"]["left_out"] == 2.0  # the middle value by default
    assert [r["training"] for r in data["rows"]] == ["real"] * 3 + ["background+generated"] * 3
    n_background = data["setup"]["n_train_background"]
    assert all(r["n_generated"] == n_background for r in data["rows"][3:])
    assert "background+generated ×1" in capsys.readouterr().out
    # several signal tables without values: one line, no output
    bad = [
        "classify",
        "--background",
        "b.parquet",
        "--signal",
        "a.parquet",
        "--signal",
        "c.parquet",
    ]
    assert main([*bad, "-o", str(tmp_path / "no")]) == 1
    assert "FILE=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
    # background folds are for one signal table
    assert main([*args, "-o", str(tmp_path / "no"), "--background-folds", "2", "--quiet"]) == 1
    assert "--background-folds is for one signal table" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
    # one conditional generator needs several values
    one = ["classify", "--background", "b.parquet", "--signal", "a.parquet"]
    assert main([*one, "--signal-generator", "per-value", "-o", str(tmp_path / "no")]) == 1
    assert "--signal-generator is for a signal at several values" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
