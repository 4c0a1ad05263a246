"""Classifier refinement: the density ratio it learns, the events it keeps, its file."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch
from conftest import DEMO_SAMPLE, QUICK, rewrite_model_file

from evmult.cli import main
from evmult.coffea import extract
from evmult.errors import InputError, ModelFileError
from evmult.models.refiner import Refiner, RefineSettings, refiner_features
from evmult.models.training import TrainSettings
from evmult.pipeline import fit, load

FAST = TrainSettings(epochs=30, batch_size=256, patience=5, min_steps=0, device="cpu")


@pytest.fixture(scope="module")
def zll() -> ak.Array:
    return extract([DEMO_SAMPLE], "zll")[:3000]


def _shifted(shift: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """2,000 'training' points from N(0, 1) and 20,000 'generated' from N(shift, 1), in 2-D."""
    rng = np.random.default_rng(seed)
    train = rng.standard_normal((2_000, 2)).astype(np.float32)
    generated = rng.standard_normal((20_000, 2)).astype(np.float32)
    generated[:, 0] += shift
    return train, generated


def test_kept_events_follow_the_training_density() -> None:
    train, generated = _shifted(0.6)
    settings = RefineSettings(quantile=0.99, train=FAST)
    refiner = Refiner.fit(train, np.ones(len(train)), generated, settings, seed=0)
    assert refiner.applied
    assert refiner.record["auc"] > 0.6  # N(0.6, 1) vs N(0, 1): 0.66 for the exact ratio
    # log r = -0.6 x + 0.18 for these two Gaussians
    slope = np.polyfit(generated[:, 0], refiner.log_ratio(generated), 1)[0]
    assert slope == pytest.approx(-0.6, abs=0.15)
    keep = np.random.default_rng(1).random(len(generated)) < refiner.acceptance(generated)
    assert abs(generated[keep, 0].mean()) < 0.15  # was 0.6
    assert generated[keep, 0].std() == pytest.approx(1.0, abs=0.1)
    assert keep.mean() == pytest.approx(refiner.record["acceptance"], abs=0.02)


def test_auto_leaves_a_generator_it_cannot_tell_apart() -> None:
    train, generated = _shifted(0.0)
    auto = Refiner.fit(train, np.ones(len(train)), generated, RefineSettings(train=FAST), seed=0)
    assert auto.record["auc"] < 0.55
    assert not auto.applied
    on = RefineSettings(mode="on", train=FAST)
    assert Refiner.fit(train, np.ones(len(train)), generated, on, seed=0).applied


def test_settings_are_checked() -> None:
    with pytest.raises(InputError, match="'sometimes' is not one of auto, on, off"):
        RefineSettings(mode="sometimes")
    with pytest.raises(InputError, match=r"quantile 1\.5"):
        RefineSettings(quantile=1.5)


def test_features_are_rotation_invariant_and_finite(zll: ak.Array) -> None:
    model = fit(zll, seed=1, refine="off", **QUICK["flow-vae"])
    assert model.refiner is None
    assert "refiner" not in model.info
    features = refiner_features(model.encoding, zll)
    assert features.shape[0] == len(zll)
    assert np.all(np.isfinite(features))
    turned = ak.Array(zll, attrs=zll.attrs)
    for coll in ("Muon", "Electron", "Jet", "MET"):
        phi = (turned[coll].phi + 1.0 + np.pi) % (2 * np.pi) - np.pi
        turned = ak.with_field(turned, phi, [coll, "phi"])
    np.testing.assert_allclose(refiner_features(model.encoding, turned), features, atol=2e-4)


def test_a_refined_generator_keeps_fewer_events_and_its_file_keeps_the_refiner(
    zll: ak.Array, tmp_path: Path
) -> None:
    model = fit(zll, seed=1, refine="on", **QUICK["flow-vae"])
    record = model.info["refiner"]
    assert record["applied"]
    assert record["n_generated"] == len(zll)
    events = model.sample(2_000, seed=3)
    assert len(events) == 2_000
    rejected = events.attrs["evmult"]["generated"]["rejected_fraction"]
    again = load(model.save(tmp_path / "m.evmult"))
    assert again.refiner is not None
    assert again.refine == model.refine
    for (k, a), (_, b) in zip(
        model.refiner.state_dict().items(), again.refiner.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k
    assert ak.array_equal(again.sample(500, seed=6), model.sample(500, seed=6))
    again.refiner = None  # the same generator, unrefined
    plain = again.sample(2_000, seed=3).attrs["evmult"]["generated"]["rejected_fraction"]
    assert 1 - rejected == pytest.approx((1 - plain) * record["acceptance"], rel=0.25)
    assert float(ak.sum(events.weight)) == pytest.approx(float(ak.sum(zll.weight)))


def test_files_without_refinement_settings_are_refused(zll: ak.Array, tmp_path: Path) -> None:
    def unrefined(header: dict) -> None:
        for key in ("refine", "refiner"):
            header.pop(key, None)
        header["info"].pop("refiner", None)

    path = fit(zll, seed=1, **QUICK["flow-vae"]).save(tmp_path / "new.evmult")
    old = rewrite_model_file(
        path, tmp_path / "old.evmult", unrefined, lambda name: not name.startswith("refiner.")
    )
    with pytest.raises(ModelFileError, match=r"old\.evmult: its configuration or encoding"):
        load(old)


def test_cli_train_reports_the_refiner(zll: ak.Array, tmp_path: Path, capsys) -> None:
    from evmult.io.tables import write_table

    table = tmp_path / "zll.parquet"
    write_table(zll, table, metadata=zll.attrs["evmult"])
    sets = [x for k, v in QUICK["flow-vae"].items() for x in ("--set", f"{k}={json.dumps(v)}")]
    out = tmp_path / "m.evmult"
    args = ["train", str(table), "-o", str(out), "--quiet", "--refine", "on", *sets]
    assert main([*args, "--set", "refine.quantile=0.95"]) == 0
    assert "refiner: AUC" in capsys.readouterr().out
    assert load(out).refine.quantile == 0.95
    with pytest.raises(InputError, match="unknown setting 'cap'"):
        fit(zll, seed=1, **QUICK["flow-vae"], **{"refine.cap": 3})


def test_the_fast_preset_is_not_refined(zll: ak.Array) -> None:
    model = fit(zll, seed=1, preset="fast", **QUICK["flow-vae"])
    assert model.refine.mode == "off"
    assert model.refiner is None
    refined = fit(zll, seed=1, preset="fast", refine="on", **QUICK["flow-vae"])
    assert refined.refiner is not None
    assert refined.refiner.applied


def test_a_labels_weight_is_not_a_density_ratio() -> None:
    # two labels alike in training and generated events; the first label's training
    # events weigh 50 × more (a cross-section), and the model makes the labels in
    # proportion to their training events
    rng = np.random.default_rng(5)
    x_train, x_gen = rng.standard_normal((4_000, 2)), rng.standard_normal((20_000, 2))
    l_train, l_gen = np.arange(4_000) % 2, np.arange(20_000) % 2
    onehot = np.eye(2)
    train = np.hstack([x_train, onehot[l_train]]).astype(np.float32)
    generated = np.hstack([x_gen, onehot[l_gen]]).astype(np.float32)
    weights = np.where(l_train == 0, 50.0, 1.0)
    settings = RefineSettings(mode="on", quantile=0.99, train=FAST)
    refiner = Refiner.fit(train, weights, generated, settings, seed=0, labels=(l_train, l_gen))
    assert refiner.record["auc"] < 0.55
    kept = refiner.acceptance(generated)
    assert kept[l_gen == 0].mean() == pytest.approx(kept[l_gen == 1].mean(), abs=0.05)
    # without the labels, the weights tell the labels apart
    blind = Refiner.fit(train, weights, generated, settings, seed=0)
    assert blind.record["auc"] > 0.7
    kept = blind.acceptance(generated)
    assert kept[l_gen == 0].mean() > 2 * kept[l_gen == 1].mean()
