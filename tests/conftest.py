"""Shared fixtures: the real samples in ../shared/data and small synthetic files."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest
import uproot
import vector

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EVMULT_SHARED_DATA", REPO.parent / "shared" / "data"))
DEMO_SAMPLE = REPO / "examples" / "data" / "demo_zll.root"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--device",
        default="cpu",
        help="torch device of the tests marked gpu (e.g. cuda); they are skipped on cpu",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--device").startswith("cuda"):
        return
    skip = pytest.mark.skip(reason="a GPU path: run with --device cuda where a GPU is lent")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def device(request: pytest.FixtureRequest) -> str:
    """The ``--device`` the GPU tests run on."""
    return request.config.getoption("--device")


#: Masses of the D⁺ → K⁻π⁺π⁺ daughters (GeV).
KPIPI_MASSES = (0.493677, 0.13957, 0.13957)


def draw_decays(n: int, seed: int) -> tuple[vector.MomentumNumpy4D, dict[str, np.ndarray]]:
    """Boosted D⁺-like parents (4 MeV mass spread) and uniformly drawn decay
    coordinates (those of :func:`evmult.physics.decay_coordinates`): phase space."""
    rng = np.random.default_rng(seed)
    parent = vector.array(
        {
            "pt": rng.exponential(5.0, n) + 0.5,
            "eta": rng.uniform(-5, 5, n),
            "phi": rng.uniform(-math.pi, math.pi, n),
            "mass": rng.normal(1.8697, 0.004, n),
        }
    )
    coords = {
        "m12": rng.uniform(0, 1, n),
        "cos13": rng.uniform(-1, 1, n),
        "cos": rng.uniform(-1, 1, n),
        "alpha": rng.uniform(-math.pi, math.pi, n),
        "gamma": rng.uniform(-math.pi, math.pi, n),
    }
    return parent, coords


#: A refiner (see evmult.models.refiner) trained in a fraction of a second.
QUICK_REFINE = {"refine.multiple": 1, "refine.train.epochs": 2, "refine.train.min_steps": 0}

#: Settings that train every model family in about a second (tests of behaviour, not
#: of fidelity); every family but the smearing baseline is refined (``auto``).
QUICK = {
    "flow-vae": {
        "latent": 2,
        "hidden": (32,),
        "flow_transforms": 2,
        "flow_hidden": (32,),
        "train.epochs": 2,
        "train.min_steps": 0,
        "prior_train.epochs": 2,
        "prior_train.min_steps": 0,
        **QUICK_REFINE,
    },
    "vae": {"latent": 2, "hidden": (32,), "train.epochs": 2, "train.min_steps": 0, **QUICK_REFINE},
    "alpha-vae": {
        "latent": 2,
        "hidden": (32,),
        "train.epochs": 2,
        "train.min_steps": 0,
        **QUICK_REFINE,
    },
    "vae-nf": {
        "latent": 2,
        "hidden": (32,),
        "flow_transforms": 2,
        "flow_hidden": (16,),
        "train.epochs": 2,
        "train.min_steps": 0,
        **QUICK_REFINE,
    },
    "ae-latent": {
        "latent": 2,
        "hidden": (32,),
        "prior_transforms": 2,
        "train.epochs": 2,
        "train.min_steps": 0,
        "prior_train.epochs": 2,
        "prior_train.min_steps": 0,
        **QUICK_REFINE,
    },
    "vae-d": {
        "latent": 2,
        "hidden": (32,),
        "disc_hidden": (16,),
        "train.epochs": 2,
        "train.min_steps": 0,
        **QUICK_REFINE,
    },
    "vae-nf-d": {
        "latent": 2,
        "hidden": (32,),
        "flow_transforms": 2,
        "flow_hidden": (16,),
        "disc_hidden": (16,),
        "train.epochs": 2,
        "train.min_steps": 0,
        **QUICK_REFINE,
    },
    "copula-vae": {
        "latent": 2,
        "hidden": (32,),
        "train.epochs": 2,
        "train.min_steps": 0,
        "decoder_train.epochs": 1,
        "decoder_train.min_steps": 0,
        **QUICK_REFINE,
    },
    "copula-vae-d": {
        "latent": 2,
        "hidden": (32,),
        "disc_hidden": (16,),
        "train.epochs": 2,
        "train.min_steps": 0,
        **QUICK_REFINE,
    },
    "smearing": {},
}


@pytest.fixture(scope="session")
def shared() -> Callable[[str], Path]:
    """Path to a file of the project's shared samples; skips the test when absent."""

    def get(name: str) -> Path:
        path = SHARED / name
        if not path.is_file():
            pytest.skip(f"shared sample {name} not found under {SHARED} (set EVMULT_SHARED_DATA)")
        return path

    return get


def rewrite_model_file(
    path: Path,
    out: Path,
    edit: Callable[[dict[str, Any]], None],
    keep: Callable[[str], bool] | None = None,
) -> Path:
    """Copy a model file as an older (or a broken) evmult would have written it: the
    JSON header changed in place by ``edit``, only the tensors whose names ``keep``
    accepts (all without it)."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(path), framework="pt") as f:
        header = json.loads(f.metadata()["evmult"])
    edit(header)
    tensors = {k: v for k, v in load_file(str(path)).items() if keep is None or keep(k)}
    save_file(tensors, str(out), metadata={"evmult": json.dumps(header)})
    return out


def _jagged(values: list[list[float]], dtype: type) -> ak.Array:
    counts = [len(v) for v in values]
    return ak.unflatten(np.array([x for v in values for x in v], dtype=dtype), counts)


def write_nanoaod(path: Path, events: list[dict]) -> Path:
    """Write a minimal NanoAOD-style file from a list of per-event dicts.

    Each event: ``mu``/``el`` lists of (pt, eta, phi, charge), ``jet`` list of
    (pt, eta, phi, btag score), ``met`` (pt, phi). IDs pass, masses are physical.
    """
    n = len(events)
    branches: dict[str, object] = {
        "run": np.ones(n, np.uint32),
        "luminosityBlock": np.ones(n, np.uint32),
        "event": np.arange(n, dtype=np.uint64),
        "genWeight": np.full(n, 2.0, np.float32),
        "MET_pt": np.array([e.get("met", (10.0, 0.0))[0] for e in events], np.float32),
        "MET_phi": np.array([e.get("met", (10.0, 0.0))[1] for e in events], np.float32),
    }
    for coll, key, pdg, mass in (("Muon", "mu", 13, 0.1057), ("Electron", "el", 11, 0.000511)):
        objs = [e.get(key, []) for e in events]
        fields = {
            "pt": _jagged([[o[0] for o in v] for v in objs], np.float32),
            "eta": _jagged([[o[1] for o in v] for v in objs], np.float32),
            "phi": _jagged([[o[2] for o in v] for v in objs], np.float32),
            "mass": _jagged([[mass for _ in v] for v in objs], np.float32),
            "charge": _jagged([[o[3] for o in v] for v in objs], np.int32),
            "pdgId": _jagged([[-pdg * o[3] for o in v] for v in objs], np.int32),
        }
        if coll == "Muon":
            fields["looseId"] = _jagged([[True for _ in v] for v in objs], np.bool_)
        else:
            fields["cutBased"] = _jagged([[4 for _ in v] for v in objs], np.int32)
        branches[coll] = ak.zip(fields)
    jets = [e.get("jet", []) for e in events]
    branches["Jet"] = ak.zip(
        {
            "pt": _jagged([[o[0] for o in v] for v in jets], np.float32),
            "eta": _jagged([[o[1] for o in v] for v in jets], np.float32),
            "phi": _jagged([[o[2] for o in v] for v in jets], np.float32),
            "mass": _jagged([[5.0 for _ in v] for v in jets], np.float32),
            "btagDeepFlavB": _jagged([[o[3] for o in v] for v in jets], np.float32),
        }
    )
    with uproot.recreate(path) as f:
        f.mktree(
            "Events",
            {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in branches.items()},
        )
        f["Events"].extend(branches)
    return path


@pytest.fixture
def nanoaod_file(tmp_path: Path) -> Callable[[list[dict], str], Path]:
    """Factory writing a small synthetic NanoAOD file into the test's tmp_path."""

    def make(events: list[dict], name: str = "nano.root") -> Path:
        return write_nanoaod(tmp_path / name, events)

    return make


#: Three events: a muon Z, an electron Z with a b-jet, an event with one muon only.
SIMPLE_EVENTS = [
    {"mu": [(45.0, 0.1, 0.2, 1), (40.0, -0.3, 2.9, -1)], "jet": [(50.0, 1.0, -1.0, 0.1)]},
    {
        "el": [(50.0, 0.5, 1.0, -1), (30.0, -1.0, -2.0, 1)],
        "jet": [(80.0, -2.0, 0.5, 0.9), (35.0, 0.0, 1.0, 0.1)],
        "met": (25.0, 1.5),
    },
    {"mu": [(60.0, 0.0, 0.0, 1)]},
]
