"""Augmented files: NanoAOD-style and flat ROOT output, parquet, streaming, Dask, atomicity."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from conftest import DEMO_SAMPLE, QUICK, REPO

from evmult.channels import get_channel
from evmult.cli import main
from evmult.coffea import extract
from evmult.errors import InputError
from evmult.io.tables import read_table, write_table
from evmult.output import write_generated, write_generated_dask
from evmult.pipeline import fit, load, multiply

pytestmark = pytest.mark.filterwarnings("ignore:Missing cross-reference")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("output")


@pytest.fixture(scope="module")
def zll_table(workdir: Path) -> Path:
    table = extract([DEMO_SAMPLE], "zll")[:3000]
    return write_table(table, workdir / "train.parquet")


@pytest.fixture(scope="module")
def zll_model(workdir: Path, zll_table: Path) -> Path:
    """A quickly trained default model that records its training table."""
    return fit(zll_table, seed=1, **QUICK["flow-vae"]).save(workdir / "zll.evmult")


def _events(path: Path, tree: str = "Events") -> ak.Array:
    with uproot.open(path) as f:
        return f[tree].arrays()


def test_root_file_is_reselected_by_the_channel_processor(zll_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "more.root"
    info = write_generated(zll_model, out, n=5_000, seed=2, chunk_size=1_234)
    assert info["events"] == 5_000
    generated = multiply(zll_model, n=5_000, seed=2)
    model = load(zll_model)
    assert info["sum_weights"] == pytest.approx(model.info["train_yield"], rel=1e-9)

    again = extract([out], "zll")  # NanoAODSchema, through coffea's Runner
    assert again.attrs["evmult"]["format"] == "nanoaod"
    assert len(again) == len(generated)  # every generated event passes the selection
    for coll in ("Muon", "Electron", "Jet"):
        assert ak.all(ak.num(again[coll]) == ak.num(generated[coll]))
        for f in ("pt", "eta", "phi"):
            np.testing.assert_allclose(
                ak.flatten(again[coll][f]), ak.flatten(generated[coll][f]), rtol=1e-6
            )
    assert ak.all(again.Jet.btag == generated.Jet.btag)
    assert ak.all(again.nJet == generated.nJet)
    np.testing.assert_allclose(again.MET.pt, generated.MET.pt, rtol=1e-6)
    assert float(np.sum(again.weight)) == pytest.approx(model.info["train_yield"], rel=1e-6)

    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = NanoEventsFactory.from_root(
            {str(out): "Events"}, schemaclass=NanoAODSchema, mode="eager"
        ).events()
    assert ak.all(events.evmult.isGenerated)
    assert ak.all(events.evmult.sourceIndex == -1)
    assert np.array_equal(ak.to_numpy(events.event), np.arange(1, 5_001))
    with uproot.open(out) as f:
        record = json.loads(str(f["evmult_provenance"]))
    assert record["generated"]["seed"] == 2
    assert record["generated"]["model"] == "flow-vae"
    assert len(record["model_file"]["sha256"]) == 64
    assert record["sources"][0]["path"].endswith("demo_zll.root")


def test_an_unchanged_coffea_analysis_reads_the_file(zll_model: Path, tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "augmented_analysis", REPO / "examples" / "augmented_analysis.py"
    )
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    out = tmp_path / "more.root"
    write_generated(zll_model, out, n=2_000, seed=7, include_original=True)
    result = example.run(out)
    ev = _events(out)
    mumu = ak.to_numpy((ak.num(ev.Muon_pt) == 2) & (ak.sum(ev.Muon_charge, axis=1) == 0))
    assert result["events"] == mumu.sum() > 0
    w = ak.to_numpy(ev.genWeight).astype(np.float64)
    assert result["yield"] == pytest.approx(w[mumu].sum(), rel=1e-6)
    generated = mumu & ak.to_numpy(ev.evmult_isGenerated)
    assert result["generated_yield"] == pytest.approx(w[generated].sum(), rel=1e-6)
    assert 0 < result["generated_yield"] < result["yield"]


@pytest.mark.parametrize(
    ("channel", "sample"),
    [
        ("wz", "delphes/delphes_wz.root"),
        ("ttbar_semilep", "delphes/delphes_ttbar.root"),
        ("zgamma", "delphes/delphes_zll.root"),
    ],
)
def test_every_collection_channel_round_trips(
    shared, channel: str, sample: str, tmp_path: Path
) -> None:
    table = extract([shared(sample)], channel)[:2_000]
    model = fit(table, seed=1, **QUICK["flow-vae"])
    out = tmp_path / f"{channel}.root"
    write_generated(model, out, n=1_500, seed=2)
    again = extract([out], channel)
    generated = multiply(model, n=1_500, seed=2)
    assert len(again) == 1_500
    for coll in get_channel(channel).collections:
        assert ak.all(ak.num(again[coll]) == ak.num(generated[coll]))
        np.testing.assert_allclose(
            ak.flatten(again[coll].pt), ak.flatten(generated[coll].pt), rtol=1e-6
        )
    with uproot.open(out) as f:
        branches = f["Events"].arrays(["nJet"], library="np")
        keys = f["Events"].keys()
    if "nJet" in get_channel(channel).event_fields:
        assert ak.all(again.nJet == generated.nJet)
    else:  # every jet is stored: the NanoAOD counter is the jet count, nothing else
        assert "evmult_nJet" not in keys
        assert branches["nJet"].tolist() == ak.num(generated.Jet).tolist()
        assert ak.max(ak.num(generated.Jet)) > 4
    assert float(np.sum(again.weight)) == pytest.approx(float(np.sum(table.weight)), rel=1e-6)


def test_same_seed_same_file_whatever_the_chunk_size(zll_model: Path, tmp_path: Path) -> None:
    n, block = 2_500, 1_000  # three seeded blocks
    a = tmp_path / "a.root"
    b = tmp_path / "b.root"
    write_generated(zll_model, a, n=n, seed=3, chunk_size=300, block=block)
    write_generated(zll_model, b, n=n, seed=3, chunk_size=5_000, block=block)
    assert ak.array_equal(_events(a), _events(b))
    c = tmp_path / "c.parquet"
    write_generated(zll_model, c, n=n, seed=3, chunk_size=700, block=block)
    table = read_table(c)
    assert table.attrs["evmult"]["channel"] == "zll"
    assert np.array_equal(
        ak.to_numpy(ak.flatten(_events(a).Muon_pt)), ak.to_numpy(ak.flatten(table.Muon.pt))
    )
    assert ak.array_equal(table, multiply(zll_model, n=n, seed=3, block=block))
    assert not ak.array_equal(table, multiply(zll_model, n=n, seed=4, block=block))


def test_original_events_and_the_weight_scheme(
    zll_model: Path, zll_table: Path, tmp_path: Path
) -> None:
    out = tmp_path / "both.root"
    info = write_generated(zll_model, out, factor=2, seed=4, include_original=True)
    assert (info["original"], info["generated"]) == (3_000, 6_000)
    ev = _events(out)
    is_gen = ak.to_numpy(ev.evmult_isGenerated)
    assert is_gen.sum() == 6_000
    assert np.array_equal(ak.to_numpy(ev.evmult_sourceIndex[~is_gen]), np.arange(3_000))
    w = ak.to_numpy(ev.genWeight).astype(np.float64)
    real = read_table(zll_table)
    assert w.sum() == pytest.approx(float(np.sum(real.weight)), rel=1e-6)
    assert w[~is_gen].sum() == pytest.approx(float(np.sum(real.weight)) / 3, rel=1e-6)
    first = ak.to_numpy(ak.firsts(ev.Muon_pt[~is_gen]))
    expected = ak.to_numpy(ak.firsts(real.Muon.pt))
    np.testing.assert_allclose(
        np.nan_to_num(first.astype(float)), np.nan_to_num(expected.astype(float))
    )

    other = tmp_path / "other.parquet"
    write_table(extract([DEMO_SAMPLE], "zgamma"), other)
    with pytest.raises(InputError, match="channel 'zgamma'"):
        write_generated(zll_model, tmp_path / "x.root", n=10, include_original=other)
    with pytest.raises(InputError, match="exists"):
        write_generated(zll_model, out, n=10)
    with pytest.raises(InputError, match=r"\.root or \.parquet"):
        write_generated(zll_model, tmp_path / "x.csv", n=10)


def test_changed_training_table_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "t.parquet"
    write_table(extract([DEMO_SAMPLE], "zll")[:500], table)
    model = fit(table, model="smearing")
    write_table(extract([DEMO_SAMPLE], "zll")[:400], table, force=True)
    with pytest.raises(InputError, match="changed since the model was trained"):
        write_generated(model, tmp_path / "x.root", n=10, include_original=True)
    assert not (tmp_path / "x.root").exists()


def test_flat_ntuple_channel_keeps_its_branches(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 2_000
    masses = {"K": 0.493677, "Pi1": 0.13957, "Pi2": 0.13957}
    branches = {}
    for i, (name, m) in enumerate(masses.items()):
        p = rng.normal(0, 3, (n, 3)) + np.array([0.0, 0.0, 20.0 + i])
        branches |= {f"{name}_P{c}": p[:, j] for j, c in enumerate("XYZ")}
        branches[f"{name}_PE"] = np.sqrt((p**2).sum(1) + m**2)
        branches[f"{name}_ID"] = np.full(n, 321 if name == "K" else -211, np.int32)
    source = tmp_path / "dplus.root"
    with uproot.recreate(source) as f:
        f["DecayTree"] = branches
    table = extract([source], "dplus")
    model = fit(table, model="smearing", seed=1)
    out = tmp_path / "more.root"
    write_generated(model, out, factor=3, seed=2)
    with uproot.open(out) as f:
        assert "DecayTree" in f
        names = set(f["DecayTree"].keys())
    assert {"K_PX", "K_PE", "K_ID", "Pi2_PZ", "weight", "evmult_isGenerated"} <= names
    again = extract([out], "dplus")
    assert len(again) == 3 * n
    generated = multiply(model, factor=3, seed=2)
    mass = (again.K + again.Pi1 + again.Pi2).mass
    np.testing.assert_allclose(mass, (generated.K + generated.Pi1 + generated.Pi2).mass, rtol=1e-9)
    assert float(np.sum(again.weight)) == pytest.approx(n)


def test_cli_writes_root_and_refuses_to_overwrite(
    zll_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli.root"
    args = ["multiply", str(zll_model), "--n", "300", "-o", str(out), "--quiet"]
    assert main([*args, "--tree", "Augmented", "--compression", "lz4"]) == 0
    assert "300 generated events" in capsys.readouterr().out
    with uproot.open(out) as f:
        assert f["Augmented"].num_entries == 300
    assert main(args) == 1
    assert "pass --force" in capsys.readouterr().err
    assert main([*args, "--force", "--include-original"]) == 0
    assert "+ 3,000 original" in capsys.readouterr().out


def test_dask_partitions_hold_the_local_events(zll_model: Path, tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client, LocalCluster

    n, block = 2_100, 500
    local = tmp_path / "local.root"
    write_generated(zll_model, local, n=n, seed=5, block=block)
    out = tmp_path / "dask.root"
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        info = write_generated_dask(
            zll_model, out, client=client, n=n, seed=5, partitions=2, block=block
        )
    assert [Path(p).name for p in info["paths"]] == ["dask_0000.root", "dask_0001.root"]
    parts = [_events(Path(p)) for p in info["paths"]]
    assert len(parts[0]) > 0
    assert len(parts[1]) > 0
    assert ak.array_equal(ak.concatenate(parts), _events(local))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_dask_executor(
    zll_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("dask.distributed")
    out = tmp_path / "d.root"
    args = ["multiply", str(zll_model), "--n", "600", "-o", str(out), "--seed", "4"]
    assert main([*args, "--executor", "dask", "--workers", "1", "--quiet"]) == 0
    assert "d_0000.root" in capsys.readouterr().out
    local = tmp_path / "local.root"
    write_generated(zll_model, local, n=600, seed=4)
    assert ak.array_equal(_events(tmp_path / "d_0000.root"), _events(local))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_killed_mid_write_leaves_no_file(zll_model: Path, tmp_path: Path, sig: int) -> None:
    out = tmp_path / "big.root"
    cmd = [sys.executable, "-m", "evmult.cli", "multiply", str(zll_model), "--n", "5000000"]
    # a background job (`make test &` in a script) ignores SIGINT and a child inherits
    # that, so Python would install no KeyboardInterrupt handler: un-ignore it here
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [*cmd, "-o", str(out), "--chunk-size", "5000", "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=os.environ | {"PYTHONWARNINGS": "ignore"},
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 120
    while not any(p.name.endswith(".tmp") and p.stat().st_size > 0 for p in tmp_path.iterdir()):
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "no temporary file appeared"
        time.sleep(0.2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file
    assert "evmult: interrupted" in err.decode()
    # 130 from main(); under load CPython has also reported the handled interrupt
    # as death by SIGINT (-2) at exit, after the cleanup
    assert proc.returncode in (130, -signal.SIGINT), err.decode()


def test_root_itself_reads_the_file(zll_model: Path, tmp_path: Path) -> None:
    root = pytest.importorskip("ROOT", reason="the optional test-root extra (pip install root)")
    out = tmp_path / "for_root.root"
    write_generated(zll_model, out, n=2_000, seed=6)
    ev = _events(out)
    df = root.RDataFrame("Events", str(out))
    assert df.Count().GetValue() == 2_000
    total = df.Sum("genWeight").GetValue()
    assert total == pytest.approx(float(np.sum(ak.to_numpy(ev.genWeight), dtype=np.float64)))
    hist = df.Histo1D(("h", "", 20, 0.0, 200.0), "Muon_pt").GetValue()
    counts, _ = np.histogram(ak.to_numpy(ak.flatten(ev.Muon_pt)), bins=20, range=(0.0, 200.0))
    assert [hist.GetBinContent(i + 1) for i in range(20)] == counts.tolist()
