"""Ensembles: members trained with different seeds, events shared among them."""

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
from evmult.io.tables import write_table
from evmult.models import Ensemble, FlowVAE
from evmult.models.ensemble import member_seed
from evmult.pipeline import fit, load


@pytest.fixture(scope="module")
def zll() -> ak.Array:
    return extract([DEMO_SAMPLE], "zll")[:3000]


@pytest.fixture(scope="module")
def ensemble(zll: ak.Array) -> Ensemble:
    model = fit(zll, seed=1, members=3, **QUICK["flow-vae"])
    assert isinstance(model, Ensemble)
    return model


def test_the_first_member_is_the_single_model_of_the_seed(
    ensemble: Ensemble, zll: ak.Array
) -> None:
    single = fit(zll, seed=1, refine="off", **QUICK["flow-vae"])
    assert isinstance(single, FlowVAE)
    first, second = ensemble.members[0]._tensors(), ensemble.members[1]._tensors()
    for name, tensor in single._tensors().items():
        assert torch.equal(first[name], tensor), name
    assert not all(torch.equal(first[k], second[k]) for k in first)
    assert member_seed(1, 0) == 1
    assert not ensemble.mirrored


def test_events_are_shared_equally_among_the_members_in_a_seeded_order(ensemble: Ensemble) -> None:
    class Constant:
        def __init__(self, value: float) -> None:
            self.value = value
            self.seeds: list[int] = []

        def _sample_matrix(self, n: int, *, seed: int, context: torch.Tensor) -> np.ndarray:
            assert len(context) == n
            self.seeds.append(seed)
            return np.full((n, width), self.value, np.float32)

    width = ensemble._fitted().n_features
    stub = Ensemble(ensemble.config)
    stub.encoding = ensemble.encoding
    stub.members = [Constant(k) for k in range(3)]  # type: ignore[misc]
    owner = stub._sample_matrix(1_000, seed=5, context=torch.zeros(1_000, 0))[:, 0]
    assert sorted(np.bincount(owner.astype(int)).tolist()) == [333, 333, 334]
    again = stub._sample_matrix(1_000, seed=5, context=torch.zeros(1_000, 0))[:, 0]
    other = stub._sample_matrix(1_000, seed=6, context=torch.zeros(1_000, 0))[:, 0]
    assert np.array_equal(owner, again)
    assert not np.array_equal(owner, other)
    # each member draws its events with its own seed
    assert len({m.seeds[0] for m in stub.members}) == 3  # type: ignore[attr-defined]


def test_samples_keep_the_schema_yield_and_seeds(ensemble: Ensemble, zll: ak.Array) -> None:
    events = ensemble.sample(3_000, seed=2)
    assert set(ak.fields(events)) == set(ak.fields(zll))
    assert float(ak.sum(events.weight)) == pytest.approx(float(ak.sum(zll.weight)))
    assert ak.array_equal(events, ensemble.sample(3_000, seed=2))
    assert not ak.array_equal(events[:100], ensemble.sample(100, seed=3))


def test_save_and_load_give_identical_samples(ensemble: Ensemble, tmp_path: Path) -> None:
    again = load(ensemble.save(tmp_path / "e.evmult"))
    assert isinstance(again, Ensemble)
    assert again.config == ensemble.config
    assert len(again.members) == 3
    assert ak.array_equal(ensemble.sample(500, seed=6), again.sample(500, seed=6))
    assert again.available_scores() == ensemble.available_scores()


def test_scores_are_the_members_scores_averaged(ensemble: Ensemble, zll: ak.Array) -> None:
    table = zll[2000:2300]
    scores = ensemble.score(table, ["kl", "latent_pca"])
    for name in ("kl", "latent_pca"):
        each = [m._scores_of(table, [name], draws=8, seed=0)[name] for m in ensemble.members]
        assert np.allclose(scores[name], np.mean(each, axis=0), rtol=1e-6)


def test_bad_ensembles_and_files(ensemble: Ensemble, zll: ak.Array, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="at least 2 members"):
        fit(zll, members=0, **QUICK["flow-vae"])
    with pytest.raises(InputError, match="members must be a whole number"):
        fit(zll, members="five", **QUICK["flow-vae"])
    with pytest.raises(InputError, match="calibrate must be true or false"):
        fit(zll, calibrate="sometimes", **QUICK["flow-vae"])
    with pytest.raises(InputError, match="no seed to vary"):
        fit(zll, model="smearing", members=2)
    path = ensemble.save(tmp_path / "e.evmult")
    cut = rewrite_model_file(
        path,
        tmp_path / "cut.evmult",
        lambda _header: None,
        keep=lambda t: not t.startswith("member2."),
    )
    with pytest.raises(ModelFileError, match=r"cut\.evmult.*member 2"):
        load(cut)


def test_cli_trains_an_ensemble(
    tmp_path: Path, zll: ak.Array, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "zll.parquet"
    write_table(zll, table, metadata=zll.attrs["evmult"])
    model = tmp_path / "e.evmult"
    sets = [x for k, v in QUICK["flow-vae"].items() for x in ("--set", f"{k}={json.dumps(v)}")]
    args = ["train", str(table), "-o", str(model), "--quiet", "--set", "members=2", *sets]
    args += ["--set", "mirror=true"]
    assert main(args) == 0
    assert "ensemble of 2 flow-vae on 3,000 zll events" in capsys.readouterr().out
    trained = load(model)
    assert len(trained.members) == 2  # type: ignore[attr-defined]
    assert trained.mirrored  # the members' reflections apply to the ensemble's events
