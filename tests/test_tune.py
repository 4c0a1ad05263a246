"""Hyper-parameter studies: search spaces, resumption, interruption, failures, CLI."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DEMO_SAMPLE, QUICK

from evmult.cli import main
from evmult.coffea import extract
from evmult.errors import InputError
from evmult.io.tables import write_table
from evmult.tune import search_space, settings_of, tune

optuna = pytest.importorskip("optuna", reason="evmult tune needs optuna (pip install evmult[hpo])")

# a trial of the plain VAE in about a second; the search varies only cheap settings
FIXED = {k: v for k, v in QUICK["vae"].items() if not k.startswith("refine") and k != "latent"}
SPACE = dict.fromkeys(("train.batch_size", "train.lr", "activation", "layers", "nodes")) | {
    "latent": {"type": "int", "low": 2, "high": 4}
}


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events = extract([DEMO_SAMPLE], "zll")[:1200]
    return write_table(events, tmp_path_factory.mktemp("tune") / "train.parquet")


def states(storage: Path, name: str) -> list[str]:
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{storage}")
    return [t.state.name for t in study.trials]


def running(storage: Path) -> bool:
    """Whether a trial in ``storage`` is running, read without creating the schema (an
    optuna storage opened here while the tuning process creates it races with it)."""
    if not storage.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{storage}?mode=ro", uri=True)) as db:
            return bool(db.execute("SELECT 1 FROM trials WHERE state = 'RUNNING'").fetchall())
    except sqlite3.OperationalError:  # the tables are not created yet
        return False


def test_the_search_spaces_follow_the_family_and_the_objective() -> None:
    assert "beta" in search_space("vae", "c2st")
    assert "beta" not in search_space("vae", "loss")  # a loss weight changes the loss
    d = search_space("vae-nf-d", "c2st")
    assert {"alpha", "gamma", "flow_type", "flow_transforms", "layers", "nodes"} <= set(d)
    assert {"flow_bins", "flow_nodes"} <= set(search_space("flow-vae", "loss"))
    narrowed = search_space("vae", "loss", {"latent": {"type": "int", "low": 2, "high": 3}})
    assert narrowed["latent"]["high"] == 3
    assert "activation" not in search_space("vae", "loss", {"activation": None})
    with pytest.raises(InputError, match="not a setting of vae"):
        search_space("vae", "loss", {"flow_bins": {"type": "int", "low": 2, "high": 3}})
    with pytest.raises(InputError, match="no distribution"):
        search_space("vae", "loss", {"latent": {"type": "int", "low": 5, "high": 3}})
    with pytest.raises(InputError, match="no search space"):
        search_space("smearing", "loss")
    assert settings_of({"layers": 2, "nodes": 64, "latent": 3}) == {"hidden": [64, 64], "latent": 3}
    with pytest.raises(InputError, match="searched together"):
        settings_of({"layers": 2})


def test_a_study_continues_to_its_trial_count(table: Path, tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    first = tune(table, "vae", trials=2, storage=db, space=SPACE, settings=FIXED, seed=1)
    assert [t["state"] for t in first.trials] == ["COMPLETE", "COMPLETE"]
    assert first.best is not None
    assert set(first.best["settings"]) == {"latent"}
    more = tune(table, "vae", trials=4, storage=db, space=SPACE, settings=FIXED, seed=1)
    assert [t["number"] for t in more.trials] == [0, 1, 2, 3]
    again = tune(table, "vae", trials=4, storage=db, space=SPACE, settings=FIXED, seed=1)
    assert len(again.trials) == 4  # nothing left to run
    with pytest.raises(InputError, match="not vae-nf on loss"):
        tune(table, "vae-nf", trials=1, storage=db, study_name=first.study, settings=FIXED)
    with pytest.raises(InputError, match="records no validation loss"):
        tune(table, "vae-d", trials=1, storage=db, objective="loss")


def test_failed_trials_are_recorded_and_counted_interrupted_ones_rerun(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evmult.pipeline

    db = tmp_path / "study.db"
    real_fit = evmult.pipeline.fit
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            msg = "out of memory"
            raise RuntimeError(msg)
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(evmult.pipeline, "fit", flaky)
    with pytest.raises(KeyboardInterrupt):
        tune(table, "vae", trials=3, storage=db, space=SPACE, settings=FIXED)
    assert states(db, "evmult-vae-loss") == ["COMPLETE", "FAIL", "FAIL"]
    result = tune(table, "vae", trials=3, storage=db, space=SPACE, settings=FIXED)
    # the error counts as a finished trial, the interruption does not
    assert [t["state"] for t in result.trials] == ["COMPLETE", "FAIL", "FAIL", "COMPLETE"]
    assert result.trials[1]["error"] == "RuntimeError: out of memory"
    assert result.trials[2]["error"] == "interrupted"


def test_sigterm_mid_trial_leaves_a_study_that_resumes(table: Path, tmp_path: Path) -> None:
    db, out = tmp_path / "study.db", tmp_path / "out"
    # a trial long enough to be killed in
    slow = {**FIXED, "train.min_steps": 200_000, "train.patience": 200_000}
    args = [str(table), "--model", "vae", "--trials", "2", "--storage", str(db), "-o", str(out)]
    args += [f"--set={k}={json.dumps(v)}" for k, v in slow.items()]
    code = "import sys; from evmult.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, "tune", *args], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if running(db):
                break
            time.sleep(0.2)
        else:
            pytest.fail("no trial started within a minute")
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 130
    finally:
        proc.kill()
    assert states(db, "evmult-vae-loss") == ["FAIL"]  # recorded, not left running
    assert not out.exists()  # no half-written output
    fast = [f"--set={k}={json.dumps(v)}" for k, v in FIXED.items()]
    resumed = [a for a in args if not a.startswith("--set")] + fast
    assert main(["tune", *resumed]) == 0
    assert states(db, "evmult-vae-loss") == ["FAIL", "COMPLETE", "COMPLETE"]
    assert json.loads((out / "best.json").read_text())["model"] == "vae"


def test_train_takes_the_best_configuration(table: Path, tmp_path: Path) -> None:
    db, out = tmp_path / "study.db", tmp_path / "out"
    space = tmp_path / "space.json"
    space.write_text(json.dumps(SPACE))
    args = ["tune", str(table), "--model", "vae", "--trials", "2", "--storage", str(db)]
    args += ["--space", str(space), "-o", str(out)]
    args += [f"--set={k}={json.dumps(v)}" for k, v in FIXED.items()]
    assert main(args) == 0
    best = json.loads((out / "best.json").read_text())
    assert (out / "history.png").is_file()
    assert (out / "importances.png").is_file()
    assert len((out / "trials.csv").read_text().splitlines()) == 3
    model_file = tmp_path / "best.evmult"
    train = ["train", str(table), "-o", str(model_file), "--config", str(out / "best.json")]
    train += [f"--set={k}={json.dumps(v)}" for k, v in FIXED.items()] + ["--quiet"]
    assert main(train) == 0
    from evmult.pipeline import load

    model = load(model_file)
    assert model.name == "vae"
    assert model.config.latent == best["settings"]["latent"]
    assert main(["train", str(table), "-o", str(tmp_path / "x"), "--config", str(space)]) == 1


def test_tune_refuses_bad_input(table: Path, tmp_path: Path) -> None:
    bad = tmp_path / "space.json"
    bad.write_text("[1, 2]")
    args = ["tune", str(table), "--storage", str(tmp_path / "s.db"), "-o", str(tmp_path / "o")]
    assert main([*args, "--space", str(bad)]) == 1
    assert main([*args, "--model", "smearing"]) == 1
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("not a database")
    assert main(["tune", str(table), "--storage", str(not_sqlite), "-o", str(tmp_path / "o")]) == 1
    assert not_sqlite.read_text() == "not a database"  # no data lost
    assert not (tmp_path / "o").exists()
