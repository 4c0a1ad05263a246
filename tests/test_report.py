"""The validation report: flags on samples with known answers, files, CLI, browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from conftest import DEMO_SAMPLE

from evmult.cli import main
from evmult.coffea import extract
from evmult.errors import InputError
from evmult.io.tables import write_table
from evmult.validation import validate


def smear_lepton_pt(table: ak.Array, width: float, seed: int) -> ak.Array:
    """Multiply every lepton pT by N(1, width): mll and pT change, angles do not."""
    rng = np.random.default_rng(seed)
    out = table
    for coll in ("Muon", "Electron"):
        objs = table[coll]
        factor = ak.unflatten(rng.normal(1.0, width, int(ak.sum(ak.num(objs)))), ak.num(objs))
        out = ak.with_field(out, ak.with_field(objs, objs.pt * factor, "pt"), coll)
    return out


@pytest.fixture(scope="module")
def split() -> dict[str, ak.Array]:
    table = extract([DEMO_SAMPLE], "zll")
    perm = np.random.default_rng(0).permutation(len(table))
    n = len(table)
    return {
        "train": table[perm[: n // 2]],
        "a": table[perm[n // 2 : 3 * n // 4]],
        "b": table[perm[3 * n // 4 :]],
    }


def test_two_real_halves_raise_no_flag(split: dict[str, ak.Array]) -> None:
    report = validate(split["a"], split["b"], train=split["train"], folds=3)
    assert report.c2st["auc"] == pytest.approx(0.5, abs=0.03)
    assert report.flags == []
    for f in report.features:
        assert f["ks"] < f["ks_floor"] + 4 * f["ks_floor_std"], f["name"]
    assert report.novelty is not None
    assert report.novelty["ratio"] == pytest.approx(1.0, abs=0.05)
    assert set(report.peaks["mll"]) == {"real", "generated"}
    assert report.physicality["pt_positive"] == {"real": 1.0, "generated": 1.0}
    amp = report.effective_size
    assert amp is not None
    assert amp["amplification"] == pytest.approx(amp["overall"] / len(split["train"]))


def test_smeared_leptons_are_flagged(split: dict[str, ak.Array]) -> None:
    smeared = smear_lepton_pt(split["b"], 0.05, seed=1)
    report = validate(split["a"], smeared, folds=3)
    flagged = {f["name"] for f in report.features if f["flagged"]}
    assert "mll" in flagged
    assert not flagged & {"lep1_eta", "lep1_phi", "lep2_phi", "MET_pt", "nJet"}
    assert report.c2st["auc"] > 0.57
    assert any(f.startswith("classifier AUC") for f in report.flags)
    assert any(f.startswith("mll peak width") for f in report.flags)
    # smearing breaks the pT order of some events
    assert report.physicality["pt_ordered"]["generated"] < 0.99
    assert any("pt_ordered" in f for f in report.flags)


def test_a_generator_worth_less_than_its_training_sample_is_told_so(
    split: dict[str, ak.Array],
) -> None:
    smeared = smear_lepton_pt(split["b"], 0.05, seed=2)
    report = validate(split["a"], smeared, train=split["train"], folds=3)
    ess = report.effective_size
    assert ess is not None
    assert not ess["overall_saturated"]
    assert ess["overall"] + 2 * ess["overall_std"] < len(split["train"])
    assert "fewer than the training sample itself, so they add no statistics" in report.text
    assert any("fewer than the training sample itself" in f for f in report.flags)
    assert ess["largest_useful_factor"] == pytest.approx(
        9 * ess["asymptotic"] / len(split["train"])
    )
    # a real sample half the training size is not resolved against a reference of its
    # own size: a lower bound, never called worse than the training sample
    real = validate(split["a"], split["b"], train=split["train"], folds=3).effective_size
    assert real is not None
    assert real["overall_saturated"]


def test_holes_beyond_the_real_vs_real_band_are_flagged(split: dict[str, ak.Array]) -> None:
    # azimuths rounded to multiples of 1.5 rad leave most bins of phi1 vs phi2 empty
    coarse = split["b"]
    for coll in ("Muon", "Electron"):
        objs = coarse[coll]
        coarse = ak.with_field(
            coarse, ak.with_field(objs, np.round(objs.phi / 1.5) * 1.5, "phi"), coll
        )
    report = validate(split["a"], coarse, folds=3)
    holes = report.holes["lep1_phi:lep2_phi"]
    assert holes["generated"] > holes["band"] > holes["real"]
    assert holes["events"] == len(split["a"]) // 2
    assert any(f.startswith("holes in lep1_phi:lep2_phi") for f in report.flags)
    # the band is where real halves scatter: the eta plane of the same events is fine
    assert not any(f.startswith("holes in lep1_eta") for f in report.flags)


def test_copies_of_training_events_are_flagged(split: dict[str, ak.Array]) -> None:
    copies = split["train"][: len(split["b"])]
    report = validate(split["a"], copies, train=split["train"], folds=3)
    assert report.novelty is not None
    assert report.novelty["ratio"] == pytest.approx(0.0, abs=1e-9)
    assert report.novelty["near_copy_fraction"] == 1.0
    assert any(f.startswith("novelty ratio") for f in report.flags)
    assert report.c2st["auc"] == pytest.approx(0.5, abs=0.03)  # the two-sample test is blind


def test_a_feature_the_generator_never_makes_is_flagged(split: dict[str, ak.Array]) -> None:
    no_jets = ak.with_field(split["b"], split["b"].Jet[:, :0], "Jet")
    report = validate(split["a"], no_jets, folds=3)
    jet1 = next(f for f in report.features if f["name"] == "jet1_pt")
    assert (jet1["n_generated"], jet1["ks"], jet1["flagged"]) == (0, 1.0, True)
    assert "jet1_pt: never present in the generated sample" in report.flags


def test_weighted_samples(split: dict[str, ak.Array]) -> None:
    # the generated sample carries weight 0.1 per event (a ×10 multiplication)
    gen = ak.with_field(split["b"], ak.full_like(split["b"].weight, 0.1), "weight")
    report = validate(split["a"], gen, folds=3)
    assert report.inputs["generated"]["sum_weights"] == pytest.approx(0.1 * len(gen))
    assert report.flags == []
    # a weight that doubles the events with two jets is seen in nJet
    reweighted = ak.with_field(gen, ak.where(gen.nJet >= 1, 0.3, 0.1), "weight")
    report = validate(split["a"], reweighted, folds=3)
    assert "nJet" in {f["name"] for f in report.features if f["flagged"]}


def test_bad_inputs_name_the_sample(split: dict[str, ak.Array], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such generated event table"):
        validate(split["a"], tmp_path / "missing.parquet")
    with pytest.raises(InputError, match="the generated sample has 10 events"):
        validate(split["a"], split["b"][:10], channel="zll")
    bad = ak.with_field(split["b"], ak.where(split["b"].nJet > 0, np.nan, 1.0), "weight")
    with pytest.raises(InputError, match="weights are NaN"):
        validate(split["a"], bad, channel="zll")
    with pytest.raises(InputError, match="unknown feature"):
        validate(split["a"], split["b"], features=["lep1_pt", "nope"])
    with pytest.raises(InputError, match="only lep1_pt qualify"):  # jet2: 4 % of events
        validate(split["a"], split["b"], features=["lep1_pt", "jet2_pt"])
    other = ak.Array(split["b"], attrs={"evmult": {"channel": "zgamma"}})
    with pytest.raises(InputError, match="channels differ"):
        validate(split["a"], other)


def _write(table: ak.Array, path: Path) -> Path:
    write_table(table, path, metadata=table.attrs["evmult"])
    return path


def test_cli_writes_the_report_and_it_renders(
    split: dict[str, ak.Array], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = _write(split["a"], tmp_path / "real.parquet")
    gen = _write(smear_lepton_pt(split["b"], 0.05, seed=2), tmp_path / "gen.parquet")
    train = _write(split["train"], tmp_path / "train.parquet")
    out = tmp_path / "report"
    args = ["validate", "--real", str(real), "--generated", str(gen), "--train", str(train)]
    few = ["--features", "lep1_pt,lep1_eta,MET_pt,nJet,mll", "--folds", "3"]
    assert main([*args, *few, "-o", str(out), "--fail-on-flag"]) == 2
    stdout = capsys.readouterr().out
    assert "classifier AUC" in stdout
    assert "flag(s):" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["channel"] == "zll"
    assert metrics["inputs"]["train"]["n"] == len(split["train"])
    assert metrics["flags"]
    for fig in metrics["figures"]:
        assert (out / fig).stat().st_size > 10_000
        assert (out / fig).with_suffix(".pdf").is_file()
    assert {"figures/mll.png", "figures/correlations_pearson.png"} <= set(metrics["figures"])
    html = (out / "report.html").read_text()
    assert "http" not in html.replace("http-equiv", "")  # no network
    assert html.count("<img") == len(metrics["figures"])
    # an existing report is kept unless --force
    assert main([*args, "-o", str(out)]) == 1
    assert "pass --force" in capsys.readouterr().err
    assert (out / "metrics.json").is_file()
    _renders_in_chromium(out / "report.html", len(metrics["figures"]))


def _renders_in_chromium(report: Path, n_images: int) -> None:
    """Open the report in headless Chromium and count the images that decoded."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install chromium) for the browser check")
    probe = report.with_name(".probe.html")
    script = (
        "<script>addEventListener('load',()=>{const i=[...document.images];"
        "document.body.dataset.rendered=i.filter(x=>x.complete&&x.naturalWidth>0).length"
        "+'/'+i.length})</script></body>"
    )
    probe.write_text(report.read_text().replace("</body>", script))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={report.parent / '.chromium'}",
        "--virtual-time-budget=10000",
        "--dump-dom",
    ]
    dom = subprocess.run(
        [chromium, *flags, probe.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert f'data-rendered="{n_images}/{n_images}"' in dom


def test_a_failed_validation_leaves_no_directory(
    split: dict[str, ak.Array], tmp_path: Path
) -> None:
    real = _write(split["a"], tmp_path / "real.parquet")
    small = _write(split["b"][:5], tmp_path / "small.parquet")
    out = tmp_path / "report"
    assert main(["validate", "--real", str(real), "--generated", str(small), "-o", str(out)]) == 1
    assert sorted(tmp_path.iterdir()) == sorted([real, small])  # no report, no temporary


@pytest.mark.slow
def test_shared_zll_halves_smearing_and_copies(shared) -> None:
    """The issue's acceptance numbers on the shared Delphes zll table (45,498 events)."""
    table = extract([shared("delphes/delphes_zll.root")], "zll")
    perm = np.random.default_rng(1).permutation(len(table))
    train, holdout = table[perm[:20_000]], table[perm[20_000:]]
    a, b = holdout[: len(holdout) // 2], holdout[len(holdout) // 2 :]
    halves = validate(a, b, train=train)
    assert halves.c2st["auc"] == pytest.approx(0.5, abs=0.02)
    assert not [f["name"] for f in halves.features if f["flagged"]]
    assert halves.novelty is not None
    assert halves.novelty["ratio"] == pytest.approx(1.0, abs=0.05)

    smeared = validate(a, smear_lepton_pt(b, 0.05, seed=3))
    flagged = {f["name"] for f in smeared.features if f["flagged"]}
    # only what the smearing touches: lepton pTs and what is built from them
    assert "mll" in flagged
    assert flagged & {"lep1_pt", "lep2_pt"}
    assert flagged <= {"lep1_pt", "lep2_pt", "mll", "sys_pt"}

    copies = validate(a, train[: len(b)], train=train)
    assert copies.novelty is not None
    assert copies.novelty["ratio"] < 0.01
    assert any(f.startswith("novelty ratio") for f in copies.flags)


def test_constant_features_are_checked_not_compared(shared) -> None:
    """D+ daughters' masses are PDG constants up to float rounding (1e-11): rounding
    noise must not decide the KS or the classifier; a generator that moves them is
    flagged."""
    from evmult.pipeline import fit

    table = extract([shared("flat/dplus_kpipi.root")], "dplus")
    perm = np.random.default_rng(0).permutation(len(table))
    a, b, c = table[perm[:3000]], table[perm[3000:6000]], table[perm[6000:9000]]
    halves = validate(a, b, folds=3)
    assert set(halves.constants) == {"K_mass", "Pi1_mass", "Pi2_mass"}
    assert "K_mass" not in {f["name"] for f in halves.features}
    assert halves.c2st["auc"] == pytest.approx(0.5, abs=0.03)
    assert not any("constant" in f for f in halves.flags)
    smeared = validate(a, fit(c, model="smearing").sample(3000, seed=1), folds=3)
    assert any(f.startswith("K_mass: constant") for f in smeared.flags)
