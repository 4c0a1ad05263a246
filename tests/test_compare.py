"""`evmult compare`: several generators ranked on the same held-out events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DEMO_SAMPLE, QUICK_REFINE

from evmult.cli import main
from evmult.coffea import extract
from evmult.compare import compare, generation_rate
from evmult.errors import InputError
from evmult.io.tables import write_table

QUICK_VAE = {"latent": 2, "hidden": (16,), "train.epochs": 2, "train.min_steps": 0, **QUICK_REFINE}


@pytest.fixture(scope="module")
def table_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    table = extract([DEMO_SAMPLE], "zll")[:2400]
    return write_table(table, tmp_path_factory.mktemp("compare") / "zll.parquet")


def test_leaderboard_rows_and_files(table_path: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    board = compare(
        table_path,
        [("vae", "vae", QUICK_VAE), ("tiny vae", "vae", QUICK_VAE | {"latent": 1})],
        n_train=1_200,
        seed=3,
        rate_events=2_000,
        progress=lines.append,
    )
    assert board.channel == "zll"
    assert (board.setup["n_train"], board.setup["n_holdout"]) == (1_200, 1_200)
    labels = [r["model"] for r in board.rows]
    assert sorted(labels[:-1]) == ["smearing", "tiny vae", "vae"]  # smearing added
    assert labels[-1] == "real vs real"
    aucs = [r["auc"] for r in board.rows[:-1]]
    assert aucs == sorted(aucs)
    smearing = next(r for r in board.rows if r["model"] == "smearing")
    assert smearing["reference"]
    assert smearing["novelty"] < 0.9  # it copies training events
    assert smearing["refiner"] == {}  # the baseline is never refined
    vae = next(r for r in board.rows if r["model"] == "vae")
    assert vae["auc"] > 0.6  # two epochs of a plain VAE are easy to tell apart
    assert vae["events_per_s"] > 0
    assert vae["settings"]["latent"] == 2
    assert vae["refiner"]["applied"]  # its refiner tells two epochs' events apart
    assert 0 < vae["refiner"]["acceptance"] < 1
    assert "mll" in vae["peaks"]
    assert any("[3/3] smearing: AUC" in line for line in lines)

    board.write(tmp_path / "board")
    saved = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    assert [r["model"] for r in saved["rows"]] == labels
    page = (tmp_path / "board" / "leaderboard.html").read_text()
    assert "tiny vae" in page
    assert "real vs real" in page
    assert (tmp_path / "board" / "leaderboard.png").stat().st_size > 10_000
    with pytest.raises(InputError, match="not empty"):
        board.write(tmp_path / "board")


def test_unknown_model_is_refused(table_path: Path) -> None:
    with pytest.raises(InputError, match="unknown model"):
        compare(table_path, ["gan"])


def test_cli_compare(table_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sets = [x for k, v in QUICK_VAE.items() for x in ("--set", f"vae:{k}={json.dumps(v)}")]
    out = tmp_path / "lb"
    args = ["compare", str(table_path), "--models", "vae", "--train", "1200", "-o", str(out)]
    assert main([*args, "--quiet", *sets]) == 0
    assert "leaderboard.json" in capsys.readouterr().out
    assert (out / "leaderboard.html").is_file()
    assert main([*args, "--force", "--set", "flow-vae:latent=2"]) == 1
    assert "not in --models" in capsys.readouterr().err
    assert main([*args, "--quiet", *sets]) == 1  # the directory is not empty
    assert "pass --force" in capsys.readouterr().err


def test_generation_rate_times_the_label_asked_for_fastest_of_repeats() -> None:
    calls: list[tuple[int, int, str | None]] = []

    class Recorder:
        def sample(self, n: int, *, seed: int, label: str | None = None) -> None:
            calls.append((n, seed, label))

    rate = generation_rate(Recorder(), 5_000, repeats=3, label="wz")  # type: ignore[arg-type]
    assert calls == [(2_000, 0, "wz"), (5_000, 1, "wz"), (5_000, 2, "wz"), (5_000, 3, "wz")]
    assert rate > 5_000  # three no-op timings: far under a second
