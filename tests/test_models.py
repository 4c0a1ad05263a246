"""The generator contract, for every model family: fit, sample, seeds, files, errors."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest
import torch
from conftest import DEMO_SAMPLE, QUICK, rewrite_model_file

from evmult.cli import main
from evmult.coffea import extract
from evmult.errors import InputError, ModelFileError, TrainingError
from evmult.io.tables import read_table, write_table
from evmult.models import DEFAULT_MODEL, MODELS, Generator
from evmult.pipeline import apply_overrides, fit, load, multiply
from evmult.validation import physicality


@pytest.fixture(scope="module")
def zll() -> ak.Array:
    return extract([DEMO_SAMPLE], "zll")[:3000]


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request: pytest.FixtureRequest, zll: ak.Array) -> Generator:
    return fit(zll, model=request.param, seed=1, **QUICK[request.param])


def test_every_family_is_quick_tested() -> None:
    assert set(QUICK) == set(MODELS)
    assert DEFAULT_MODEL == "flow-vae"  # the CLI's --model default names it literally


def test_samples_have_the_table_schema_and_keep_the_yield(fitted: Generator, zll: ak.Array) -> None:
    events = fitted.sample(5_000, seed=3)
    assert len(events) == 5_000
    assert set(ak.fields(events)) == set(ak.fields(zll))
    assert events.attrs["evmult"]["channel"] == "zll"
    rejected = events.attrs["evmult"]["generated"]["rejected_fraction"]
    refiner = fitted.refiner
    # the selection rejects few events; an applied refiner keeps about its acceptance
    kept = refiner.record["acceptance"] if refiner is not None and refiner.applied else 1.0
    assert 0.0 <= rejected < 1.0 - 0.5 * kept
    assert float(ak.sum(events.weight)) == pytest.approx(float(ak.sum(zll.weight)))
    checks = physicality(events, fitted._fitted()._channel)
    assert checks["phi_range"] == 1.0
    assert checks["pt_positive"] == 1.0
    assert checks["counts_valid"] == 1.0
    assert ak.all(ak.num(events.Muon) + ak.num(events.Electron) == 2)


def test_seeds_reproduce(fitted: Generator) -> None:
    a, b, c = fitted.sample(700, seed=4), fitted.sample(700, seed=4), fitted.sample(700, seed=5)
    assert ak.array_equal(a, b)
    assert not ak.array_equal(a, c)


def test_save_and_load_give_identical_samples(fitted: Generator, tmp_path: Path) -> None:
    path = fitted.save(tmp_path / "m.evmult")
    again = load(path)
    assert type(again) is type(fitted)
    assert again.config == fitted.config
    assert ak.array_equal(fitted.sample(500, seed=6), again.sample(500, seed=6))
    with pytest.raises(InputError, match="exists"):
        fitted.save(path)


def test_the_selection_is_a_function_handed_to_the_generator(zll: ak.Array, tmp_path: Path) -> None:
    # models know no channel selection: evmult.fit and evmult.load hand them the
    # channel processor's, a bare model file holds none, and any handed check is kept
    gen = fit(zll, seed=1, **QUICK[DEFAULT_MODEL])
    assert gen.selection is not None
    path = gen.save(tmp_path / "m.evmult")
    from evmult.models import load as bare_load

    assert bare_load(path).selection is None
    assert load(path).selection is not None
    cut = float(np.median(ak.to_numpy(zll.MET.pt)))
    gen.selection = lambda t: ak.to_numpy(t.MET.pt) > cut
    events = gen.sample(400, seed=2)
    assert len(events) == 400
    assert (ak.to_numpy(events.MET.pt) > cut).all()
    assert events.attrs["evmult"]["generated"]["rejected_fraction"] > 0.2


NEURAL = sorted(set(MODELS) - {"smearing"})


@pytest.mark.parametrize("family", NEURAL)
def test_training_is_deterministic_on_cpu(zll: ak.Array, family: str) -> None:
    a = fit(zll, model=family, seed=7, **QUICK[family])
    b = fit(zll, model=family, seed=7, **QUICK[family])
    for (k, x), (_, y) in zip(a._tensors().items(), b._tensors().items(), strict=True):
        assert torch.equal(x, y), k


def test_every_parameter_learns(fitted: Generator, zll: ak.Array) -> None:
    if fitted.name == "smearing":
        pytest.skip("the smearing baseline has no parameters")
    module = fitted.module
    assert module is not None
    x = torch.as_tensor(fitted._fitted().transform(zll[:256], rng=np.random.default_rng(0)))
    module.train()
    module.loss(x, torch.ones(len(x))).backward()
    for name, p in module.named_parameters():
        assert p.grad is not None, name
        assert torch.any(p.grad != 0), name


def test_amp_and_device_paths_run_on_cpu(zll: ak.Array) -> None:
    model = fit(
        zll, model="vae", seed=0, **QUICK["vae"], **{"train.amp": True, "train.device": "cpu"}
    )
    assert model.info["vae"]["device"] == "cpu"
    assert np.isfinite(model.info["vae"]["best_val_loss"])
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA device"):
            fit(zll, model="vae", **QUICK["vae"], **{"train.device": "cuda"})


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["flow-vae", "vae"])
def test_training_and_sampling_on_the_gpu(zll: ak.Array, device: str, name: str) -> None:
    model = fit(
        zll, model=name, seed=0, **QUICK[name], **{"train.device": device, "train.amp": True}
    )
    assert model.info["vae"]["device"].startswith("cuda")
    events = model.sample(2_000, seed=1)
    assert len(events) == 2_000
    assert float(ak.sum(events.weight)) == pytest.approx(float(ak.sum(zll.weight)))
    assert np.isfinite(ak.to_numpy(ak.flatten(events.Muon.pt))).all()


def test_nan_loss_is_refused(zll: ak.Array) -> None:
    with pytest.raises(TrainingError, match="lower the learning rate"):
        fit(zll, model="vae", **QUICK["vae"], **{"train.lr": 1e30})


def test_bad_settings_and_files(zll: ak.Array, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown setting 'latnet'"):
        fit(zll, model="vae", latnet=3)
    with pytest.raises(InputError, match="unknown model"):
        fit(zll, model="gan")
    junk = tmp_path / "junk.evmult"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(ModelFileError, match=r"junk\.evmult: not a readable evmult model file"):
        load(junk)
    with pytest.raises(ModelFileError, match="no such model file"):
        load(tmp_path / "missing.evmult")
    good = fit(zll, model="smearing").save(tmp_path / "good.evmult")
    # as from an older, incompatible evmult
    old = rewrite_model_file(
        good, tmp_path / "old.evmult", lambda header: header["encoding"].pop("aliases")
    )
    with pytest.raises(ModelFileError, match=r"old\.evmult: its configuration or encoding"):
        load(old)
    # every earlier format: 2 held four tt̄ jets, not ten; 3 learned every jet's η as such
    for version in (1, 2, 3):
        older = rewrite_model_file(
            good, tmp_path / f"v{version}.evmult", lambda h, v=version: h.update(format_version=v)
        )
        with pytest.raises(
            ModelFileError,
            match=rf"v{version}\.evmult: model-file format {version}; .* reads formats 4, 5, 6 "
            "only: retrain",
        ):
            load(older)
    # format 4, written before the encoding fitted η slopes, loads: every slope is 1
    four = rewrite_model_file(
        good,
        tmp_path / "v4.evmult",
        lambda h: (h.update(format_version=4), h["encoding"].pop("eta_slope")),
    )
    assert load(four).encoding.eta_slope == {}
    # format 5, written before three leptons learned their bits around a Z pair
    five = rewrite_model_file(
        good,
        tmp_path / "v5.evmult",
        lambda h: (h.update(format_version=5), h["encoding"].pop("lepton_pair")),
    )
    assert not load(five).encoding.lepton_pair
    with pytest.raises(ModelFileError, match="holds a 'smearing' model, not flow-vae"):
        MODELS["flow-vae"].load(good)
    wrong = rewrite_model_file(good, tmp_path / "gan.evmult", lambda h: h.update(model="gan"))
    with pytest.raises(ModelFileError, match="holds a 'gan' model; known: flow-vae"):
        load(wrong)
    cfg = apply_overrides(MODELS["flow-vae"].Config(), {"train.epochs": "3", "hidden": "[16, 8]"})
    assert cfg.train.epochs == 3
    assert cfg.hidden == (16, 8)


def test_multiply_by_factor(fitted: Generator, zll: ak.Array) -> None:
    events = multiply(fitted, factor=2.5, seed=0)
    assert len(events) == round(2.5 * len(zll))
    assert float(ak.sum(events.weight)) == pytest.approx(float(ak.sum(zll.weight)))
    with pytest.raises(InputError, match="exactly one of factor and n"):
        multiply(fitted, factor=2, n=3)


def test_cli_train_and_multiply(
    zll: ak.Array, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "zll.parquet"
    write_table(zll, table, metadata=zll.attrs["evmult"])
    model = tmp_path / "zll.evmult"
    sets = [x for k, v in QUICK["vae"].items() for x in ("--set", f"{k}={json.dumps(v)}")]
    sets += ["--set", "calibrate=true"]
    assert main(["train", str(table), "-o", str(model), "--model", "vae", "--quiet", *sets]) == 0
    printed = capsys.readouterr().out
    assert "vae on 3,000 zll events" in printed
    (line,) = [x for x in printed.splitlines() if x.startswith("calibrated: ")]
    assert "nJet" in line.split(";")[0]
    assert line.endswith("; mll at the training quantiles")
    out = tmp_path / "more.parquet"
    assert main(["multiply", str(model), "--factor", "3", "-o", str(out), "--seed", "2"]) == 0
    more = read_table(out)
    assert len(more) == 9_000
    assert more.attrs["evmult"]["generated"]["model"] == "vae"
    assert main(["multiply", str(model), "--n", "10", "-o", str(out)]) == 1  # exists
    assert "pass --force" in capsys.readouterr().err
    assert main(["models"]) == 0
    assert "flow-vae" in capsys.readouterr().out


def test_generated_tables_summarise(zll: ak.Array, tmp_path: Path) -> None:
    from evmult.summary import summarise

    path = tmp_path / "gen.parquet"
    write_table(fit(zll, model="smearing").sample(300, seed=1), path)
    summary = summarise(path, tmp_path / "summary")
    assert summary.n_events == 300
    assert "Generated by smearing (seed 1)" in (tmp_path / "summary" / "summary.html").read_text()


def test_generated_events_pass_the_training_selection(fitted: Generator) -> None:
    from evmult.coffea import processor_for

    if fitted.name == "smearing":
        pytest.skip("the smearing baseline copies events as published, with no selection")
    events = fitted.sample(3_000, seed=8)
    assert processor_for("zll", fitted.info["selection_options"]).accepts(events).all()


def test_top_level_api(zll: ak.Array, tmp_path: Path) -> None:
    import evmult

    model = evmult.fit(zll, model="smearing", seed=1)
    events = evmult.multiply(model, n=10, seed=2)
    assert len(events) == 10
    path = model.save(tmp_path / "m.evmult")
    assert ak.array_equal(evmult.multiply(evmult.load(path), n=10, seed=2), events)


def _loss_falls_without(module: torch.nn.Module, x: torch.Tensor, term: str) -> bool:
    """Whether the loss of ``x`` (same random draws) is lower with the MMD term that
    ``term`` switches off: the biased MMD² is > 0."""
    losses = []
    for _ in range(2):
        torch.manual_seed(0)
        with torch.no_grad():
            losses.append(float(module.loss(x, torch.ones(len(x)))))
        setattr(module, term, None)
    return losses[0] > losses[1]


def test_mmd_term_on_the_resonance_mass(zll: ak.Array) -> None:
    from evmult.models.nn import mmd2

    a = torch.randn(400, generator=torch.Generator().manual_seed(0))
    b = torch.randn(400, generator=torch.Generator().manual_seed(1))
    widths = (0.1, 0.5)
    assert 5 * float(mmd2(a, b, widths)) < float(mmd2(a, b + 1.0, widths))
    for family in ("flow-vae", "vae"):
        model = fit(zll, model=family, seed=1, mmd=1.0, **QUICK[family])
        assert len(model.sample(200, seed=1)) == 200
        x = torch.as_tensor(model.encoding.encode(zll)[0][:256])
        assert _loss_falls_without(model.module, x, "mass_column")
    dplus_like = fit(zll, model="vae", seed=1, resonance_coordinate=False, **QUICK["vae"])
    assert dplus_like.module.mass_column is None
    with pytest.raises(InputError, match="mmd needs a resonance mass"):
        fit(zll, model="vae", mmd=1.0, resonance_coordinate=False, **QUICK["vae"])


def _four_jets(table: ak.Array, seed: int) -> ak.Array:
    """``table`` with four random jets in every event, pT-ordered."""
    rng = np.random.default_rng(seed)
    n = len(table)
    pt = -np.sort(-(30 + rng.exponential(60, (n, 4))), axis=1)
    fields = {
        "pt": pt,
        "eta": rng.uniform(-2.4, 2.4, (n, 4)),
        "phi": rng.uniform(-np.pi, np.pi, (n, 4)),
        "mass": rng.uniform(2, 20, (n, 4)),
        "btag": rng.random((n, 4)) < 0.3,
    }
    jets = ak.zip(
        {
            k: ak.unflatten(v.astype(bool if k == "btag" else np.float32).ravel(), 4)
            for k, v in fields.items()
        },
        with_name="Momentum4D",
    )
    return ak.with_field(ak.with_field(table, jets, "Jet"), np.full(n, 4, np.int32), "nJet")


def test_mmd_term_on_the_masses_of_resonance_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import vector

    from evmult.channels import CHANNELS
    from evmult.encoding import Encoding
    from evmult.models.masses import CandidateMasses

    vector.register_awkward()
    # four jet slots every event fills (the third and fourth jets' η learned from the
    # first's): the W and top candidates are the highest-pT pair and triplet of them
    four = dataclasses.replace(CHANNELS["zll"], collections={"Muon": 2, "Electron": 2, "Jet": 4})
    monkeypatch.setitem(CHANNELS, "zll", four)
    table = _four_jets(extract([DEMO_SAMPLE], "zll")[:2000], seed=3)
    enc = Encoding.fit(table, "zll")
    x, noise = enc.encode(table)
    masses = CandidateMasses(enc, x, noise)
    assert masses.slots == ["jet1", "jet2", "jet3", "jet4"]
    assert [len(g) for g in masses.groups] == [6, 4]
    jets = table.Jet
    for column, size in enumerate((2, 3)):
        combos = ak.combinations(jets, size, fields=list("abc"[:size]))
        summed = combos.a + combos.b
        if size == 3:
            summed = summed + combos.c
        best = ak.argmax(summed.pt, axis=1, keepdims=True)
        expected = np.log(ak.to_numpy(ak.flatten(summed[best].mass)))
        got = masses.log_masses(torch.as_tensor(x))[:, column].numpy()
        np.testing.assert_allclose(got, expected, atol=2e-3)
    standardised = masses(torch.as_tensor(x))
    np.testing.assert_allclose(standardised.mean(0).numpy(), 0, atol=1e-4)
    np.testing.assert_allclose(standardised.std(0).numpy(), 1, atol=1e-3)
    xt = torch.as_tensor(x).requires_grad_(True)
    masses(xt).sum().backward()  # the term reaches the jets' pT, η and φ columns
    names = [c.name for c in enc.columns]
    grad = xt.grad.abs().sum(0)
    for name in ("jet1_logpt", "jet4_logitratio", "jet1_eta", "jet3_deta", "jet2_dphi"):
        assert grad[names.index(name)] > 0, name
    assert grad[names.index("lep1_eta")] == 0

    model = fit(table, seed=1, candidate_mmd=1.0, refine="off", **QUICK["flow-vae"])
    assert _loss_falls_without(model.module, torch.as_tensor(x[:256]), "masses")
    with pytest.raises(InputError, match="candidate_mmd needs a collection"):
        fit(extract([DEMO_SAMPLE], "zll")[:2000], seed=1, candidate_mmd=1.0, **QUICK["flow-vae"])


def test_alpha_vae_samples_around_training_events(zll: ak.Array) -> None:
    import dataclasses

    model = fit(zll, model="alpha-vae", seed=1, alpha=0.0, **QUICK["alpha-vae"])
    with torch.no_grad():
        means = model.module.decoder(model.codes[0]).numpy()

    def distance_to_means(x: np.ndarray) -> np.ndarray:
        return np.abs(x[:, None, :] - means[None]).max(-1).min(1)

    assert (
        distance_to_means(model._sample_matrix(50, seed=3, context=torch.zeros(50, 0))).max() < 1e-5
    )  # α = 0: copies
    model.config = dataclasses.replace(model.config, alpha=1.0)
    spread = distance_to_means(model._sample_matrix(50, seed=3, context=torch.zeros(50, 0)))
    assert np.median(spread) > 1e-2  # α = 1: around them (a draw may still land close)


def test_ae_latent_reconstructs_events(zll: ak.Array) -> None:
    model = fit(zll, model="ae-latent", seed=1, **QUICK["ae-latent"])
    back = model.reconstruct(zll[:100])
    assert len(back) == 100
    assert set(ak.fields(back)) >= {"Muon", "Electron", "Jet", "MET", "nJet"}


@pytest.mark.parametrize(("marginal", "collapsed"), [(0.0, True), (10.0, False)])
def test_autoencoder_marginal_term_keeps_distributions(marginal: float, collapsed: bool) -> None:
    """Two independent columns through a one-number code: the squared error alone
    squeezes one column towards its mean (KS 0.21, spread 0.43 here); with the
    marginal term both columns' distributions survive (KS ≤ 0.02)."""
    from evmult.models.ae_latent import AELatentConfig, Autoencoder
    from evmult.models.training import TrainSettings, train
    from evmult.validation.metrics import ks_statistic

    x = np.random.default_rng(0).standard_normal((4_000, 2)).astype(np.float32)
    torch.manual_seed(0)
    model = Autoencoder(2, AELatentConfig(latent=1, hidden=(32, 32), marginal=marginal))
    settings = TrainSettings(epochs=30, patience=30, min_steps=0, device="cpu")
    train(model, model.loss, x, np.ones(len(x)), settings, seed=0)
    with torch.no_grad():
        rec = model.reconstruct(torch.as_tensor(x)).numpy()
    worst = max(ks_statistic(x[:, j], rec[:, j]) for j in range(2))
    assert (worst > 0.15) if collapsed else (worst < 0.05)


def test_copula_reproduces_marginals_and_dependence() -> None:
    from evmult.models.copula_vae import fit_copula, sample_copula

    gen = torch.Generator().manual_seed(0)
    g1, g2 = torch.randn(2, 20_000, generator=gen)
    # a Gaussian copula (ρ = 0.8) with marginals that are not Gaussian at all
    codes = torch.stack([g1.exp(), (0.8 * g1 + 0.6 * g2) ** 3], dim=1)
    labels = torch.zeros(20_000, dtype=torch.long)
    labels[10_000:] = 1
    codes[10_000:] *= -1.0  # the second label mirrored
    q, chol = fit_copula(codes, labels, 2, 256)
    torch.manual_seed(1)
    drawn = sample_copula(q, chol, labels)
    for label in (0, 1):
        real, new = codes[labels == label], drawn[labels == label]
        probs = torch.tensor([0.1, 0.5, 0.9])
        np.testing.assert_allclose(
            torch.quantile(new, probs, dim=0),
            torch.quantile(real, probs, dim=0),
            rtol=0.06,
            atol=0.03,
        )

        def spearman(x: torch.Tensor) -> float:  # a copula keeps rank correlations
            return float(torch.corrcoef(x.argsort(0).argsort(0).T.double())[0, 1])

        assert spearman(new) == pytest.approx(spearman(real), abs=0.02)
    assert (drawn[labels == 1] <= q[1, -1] + 1e-6).all()  # within the training range


@pytest.mark.parametrize("steps", [1, 2, 20, 21])
def test_short_trainings_keep_a_valid_schedule(steps: int) -> None:
    """OneCycleLR divided by zero where 5 % of the steps made exactly one warm-up step."""
    from evmult.models.training import TrainSettings, train

    x = np.random.default_rng(0).standard_normal((64 * steps, 1)).astype(np.float32)
    shift = torch.nn.Parameter(torch.zeros(1))
    module = torch.nn.Module()
    module.shift = shift
    settings = TrainSettings(epochs=1, batch_size=64, val_fraction=0.0, min_steps=0, lr=0.1)

    def loss(batch: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return (w[:, None] * (batch - module.shift) ** 2).mean()

    record = train(module, loss, x, np.ones(len(x)), settings, seed=0)
    assert record["epochs_run"] == 1
    assert float(shift.detach()) != 0.0  # it took steps


def test_flow_vae_trains_on_reflected_events_when_asked(
    zll: ak.Array, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evmult.models import flow_vae as vae

    batches: list[int] = []
    original = vae.reflections

    def spy(mirror: Any) -> Any:
        reflect = original(mirror)

        def counted(x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
            batches.append(len(x))
            return reflect(x, noise)

        return counted

    monkeypatch.setattr(vae, "reflections", spy)
    plain = fit(zll, model="flow-vae", seed=1, **QUICK["flow-vae"])
    assert not batches
    mirrored = fit(zll, model="flow-vae", seed=1, mirror=True, **QUICK["flow-vae"])
    assert sum(batches) == 2 * (len(zll) - round(0.1 * len(zll)))  # every event, 2 epochs
    weights = [next(m.module.decoder.parameters()).detach() for m in (plain, mirrored)]
    assert not torch.equal(*weights)
    assert len(mirrored.sample(300, seed=2)) == 300
    # and reflects its generated events at random (Encoding.inverse's reflect)
    asked: list[bool] = []
    inverse = type(mirrored.encoding).inverse

    def spied(self: Any, x: np.ndarray, **kwargs: Any) -> ak.Array:
        asked.append(kwargs["reflect"])
        return inverse(self, x, **kwargs)

    monkeypatch.setattr(type(mirrored.encoding), "inverse", spied)
    mirrored.sample(100, seed=3)
    assert set(asked) == {True}
    asked.clear()
    plain.sample(100, seed=3)
    assert set(asked) == {False}


def test_a_channel_gives_the_default_model_its_settings_under_the_users(shared) -> None:
    table = extract([shared("delphes/delphes_ttbar.root")], "ttbar_semilep")[:400]
    quick = {k: v for k, v in QUICK["flow-vae"].items() if k != "latent"}
    gen = fit(table, seed=1, **quick)
    assert (gen.config.mirror, gen.config.latent) == (True, 8)  # ttbar_semilep's own
    assert (gen.refine.mode, gen.refiner) == ("off", None)  # not refined unless asked
    asked = fit(table, seed=1, refine="auto", **quick)
    assert asked.refine.mode == "auto"
    assert asked.refiner is not None
    mine = fit(table, seed=1, latent=3, **quick)
    assert (mine.config.mirror, mine.config.latent) == (True, 3)  # the user's win
    assert fit(table, seed=1, preset="fast", **quick).config.latent == 8
    other = fit(table, model="vae", seed=1, **QUICK["vae"])  # another family: untouched
    assert other.config.latent == QUICK["vae"]["latent"]


def test_spline_transform_is_zukos_spline_to_rounding():
    """The faster spline construction is the same map as zuko's, both ways."""
    from zuko.transforms import MonotonicRQSTransform

    from evmult.models.nn import SplineTransform

    gen = torch.Generator().manual_seed(3)
    widths, heights = torch.randn(500, 6, 8, generator=gen), torch.randn(500, 6, 8, generator=gen)
    derivatives = torch.randn(500, 6, 7, generator=gen)
    ours = SplineTransform(widths, heights, derivatives, slope=1e-3)
    zukos = MonotonicRQSTransform(widths, heights, derivatives, slope=1e-3)
    x = 3 * torch.randn(500, 6, generator=gen)
    torch.testing.assert_close(ours(x), zukos(x), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ours.inv(x), zukos.inv(x), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ours.inv(ours(x)), x, rtol=1e-4, atol=1e-4)
    y = zukos(x)
    torch.testing.assert_close(
        ours.log_abs_det_jacobian(x, y), zukos.log_abs_det_jacobian(x, y), rtol=1e-3, atol=1e-3
    )


@pytest.mark.parametrize(("kind", "features"), [("spline", 7), ("spline", 8), ("affine", 5)])
def test_coupling_flows_are_zukos_nice_with_the_same_parameters(kind: str, features: int) -> None:
    """The strided coupling layers hold zuko's parameters under zuko's names (model files
    load) and give its samples and densities exactly."""
    import zuko

    from evmult.models.nn import SplineTransform, coupling_flow

    torch.manual_seed(0)
    ours = coupling_flow(features, 2, 3, (16,), kind=kind, bins=4)
    spline = {"univariate": partial(SplineTransform, slope=1e-3), "shapes": [(4,), (4,), (3,)]}
    zukos = zuko.flows.NICE(
        features,
        context=2,
        transforms=3,
        hidden_features=(16,),
        **(spline if kind == "spline" else {}),
    )
    zukos.load_state_dict(ours.state_dict())  # strict: the same names and shapes
    c, x = torch.randn(300, 2), torch.randn(300, features)
    torch.manual_seed(1)
    a = ours(c).sample()
    torch.manual_seed(1)
    b = zukos(c).sample()
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(ours(c).log_prob(x), zukos(c).log_prob(x), rtol=0, atol=0)
