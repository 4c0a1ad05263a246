"""Physicality fractions, holes and peak fits on samples with known answers."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from conftest import DEMO_SAMPLE

from evmult.channels import get_channel
from evmult.coffea import extract
from evmult.physics import channel_masses
from evmult.validation import fit_peak, holes_fraction, physicality


@pytest.fixture(scope="module")
def demo() -> ak.Array:
    return extract([DEMO_SAMPLE], "zll")


def test_real_events_are_physical(demo: ak.Array) -> None:
    checks = physicality(demo, get_channel("zll"), reference=demo)
    assert checks == {
        "pt_positive": 1.0,
        "mass_squared_nonnegative": 1.0,
        "pt_ordered": 1.0,
        "phi_range": 1.0,
        "eta_acceptance": 1.0,
        "counts_valid": 1.0,
    }


def test_broken_events_are_counted(demo: ak.Array) -> None:
    n = len(demo)
    bad_pt = np.zeros(n, dtype=bool)
    bad_pt[: n // 4] = True
    muons = demo.Muon
    pt = ak.where(bad_pt, -muons.pt, muons.pt)  # a quarter of events get negative pT (muon ones)
    broken = ak.with_field(demo, ak.with_field(muons, pt, "pt"), "Muon")
    has_mu = ak.to_numpy(ak.num(muons) > 0)
    checks = physicality(broken, get_channel("zll"))
    assert checks["pt_positive"] == pytest.approx(1 - np.mean(bad_pt & has_mu))
    assert checks["phi_range"] == 1.0


def test_holes_fraction_sees_a_gap() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-np.pi, np.pi, (2, 50_000))
    edges = (np.linspace(-np.pi, np.pi, 21), np.linspace(-np.pi, np.pi, 21))
    assert holes_fraction(x, y, edges) == 0.0
    gap = ~((x > 0) & (x < np.pi / 2) & (y > 0) & (y < np.pi / 2))  # one quadrant of a quadrant
    assert holes_fraction(x[gap], y[gap], edges) == pytest.approx(25 / 400)


def test_gaussian_peak_on_a_continuum() -> None:
    rng = np.random.default_rng(4)
    peak = rng.normal(91.19, 2.5, 40_000)
    continuum = rng.uniform(60, 120, 10_000)
    fit = fit_peak(np.r_[peak, continuum])
    assert fit.position == pytest.approx(91.19, abs=3 * fit.position_error + 0.02)
    assert fit.width == pytest.approx(2.5, rel=0.05)


def test_broad_skewed_core_stays_in_its_window() -> None:
    # a continuum such as WZ's m3l: this draw's core fit ran off to 411 GeV unbounded
    values = 95 + np.random.default_rng(17).gamma(2.0, 30.0, 7820)
    fit = fit_peak(values)
    mode = 95 + 30.0  # of the gamma shape (k − 1) θ above its edge
    assert fit.position == pytest.approx(mode, abs=25)
    assert 10 < fit.width < 60


def test_demo_z_peak(demo: ak.Array) -> None:
    fit = fit_peak(channel_masses(demo, get_channel("zll"))["mll"])
    # Z mass with 1-2 % lepton resolution on top of the 2.5 GeV Breit-Wigner
    assert fit.position == pytest.approx(91.0, abs=0.5)
    assert 1.5 < fit.width < 3.5
