"""Selected-event counts on the real samples, against independent plain-uproot counts.

The reference counts below are written from the selection definitions with uproot,
numpy and per-event Python loops only: none of evmult's code is used for them.
"""

from __future__ import annotations

import math
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from evmult.coffea import extract
from evmult.physics import invariant_mass


def _dr(a: tuple, b: tuple) -> float:
    dphi = (a[1] - b[1] + math.pi) % (2 * math.pi) - math.pi
    return math.hypot(a[0] - b[0], dphi)


def _leptons(pts, etas, phis, qs, flavour, pt_min, eta_max):
    out = [
        (pt, eta, phi, q, flavour)
        for pt, eta, phi, q in zip(pts, etas, phis, qs, strict=True)
        if pt > pt_min and abs(eta) < eta_max
    ]
    return sorted(out, key=lambda lep: -lep[0])


def _first_os_pair(leps: list, lead: float) -> list | None:
    for i in range(len(leps)):
        for j in range(i + 1, len(leps)):
            if leps[i][3] * leps[j][3] < 0 and leps[i][0] > lead:
                return [leps[i], leps[j]]
    return None


def _events(path: Path, tree: str, names: dict[str, str]) -> list[dict]:
    arrays = uproot.open(path)[tree].arrays(list(names.values()), library="np")
    cols = {k: arrays[v] for k, v in names.items()}
    n = len(next(iter(cols.values())))
    return [
        {k: (v[i].tolist() if hasattr(v[i], "tolist") else v[i]) for k, v in cols.items()}
        for i in range(n)
    ]


def _delphes_names(collections: tuple[str, ...]) -> dict[str, str]:
    fields = {
        "Muon": ("PT", "Eta", "Phi", "Charge"),
        "Electron": ("PT", "Eta", "Phi", "Charge"),
        "Photon": ("PT", "Eta", "Phi"),
        "Jet": ("PT", "Eta", "Phi"),
    }
    return {f"{c}.{f}": f"{c}/{c}.{f}" for c in collections for f in fields[c]}


def _ev_leptons(ev: dict, prefix: str = "{c}.{f}", pt_min: float = 10.0) -> tuple[list, list]:
    keys = {"pt": "PT", "eta": "Eta", "phi": "Phi", "q": "Charge"}
    get = {
        c: [ev[prefix.format(c=c, f=keys[k])] for k in ("pt", "eta", "phi", "q")]
        for c in ("Muon", "Electron")
    }
    mu = _leptons(*get["Muon"], 13, pt_min, 2.4)
    el = _leptons(*get["Electron"], 11, pt_min, 2.5)
    return mu, el


def _zll_pair(mu: list, el: list) -> list | None:
    return _first_os_pair(mu, 20.0) or _first_os_pair(el, 20.0)


@pytest.mark.slow
def test_zll_delphes(shared) -> None:
    path = shared("delphes/delphes_zll.root")
    events = _events(path, "Delphes", _delphes_names(("Muon", "Electron")))
    pairs = [_zll_pair(*_ev_leptons(ev)) for ev in events]
    expected = sum(p is not None for p in pairs)
    table = extract([path], "zll")
    assert len(table) == expected
    # the chosen pairs are the same: compare the mean dilepton mass
    ref = []
    for p in pairs:
        if p is None:
            continue
        (pt1, eta1, phi1, *_), (pt2, eta2, phi2, *_) = p
        ref.append(math.sqrt(2 * pt1 * pt2 * (math.cosh(eta1 - eta2) - math.cos(phi1 - phi2))))

    leptons = ak.concatenate([table.Muon, table.Electron], axis=1)
    assert np.mean(invariant_mass(leptons)) == pytest.approx(np.mean(ref), rel=1e-4)


@pytest.mark.slow
def test_zgamma_delphes(shared) -> None:
    path = shared("delphes/delphes_zll.root")
    events = _events(path, "Delphes", _delphes_names(("Muon", "Electron", "Photon")))
    expected = 0
    for ev in events:
        pair = _zll_pair(*_ev_leptons(ev))
        if pair is None:
            continue
        photons = [
            (eta, phi)
            for pt, eta, phi in zip(
                ev["Photon.PT"], ev["Photon.Eta"], ev["Photon.Phi"], strict=True
            )
            if pt > 10 and abs(eta) < 2.5
        ]
        if any(all(_dr(g, (lep[1], lep[2])) > 0.4 for lep in pair) for g in photons):
            expected += 1
    assert len(extract([path], "zgamma")) == expected


@pytest.mark.slow
def test_wz_delphes(shared) -> None:
    path = shared("delphes/delphes_wz.root")
    events = _events(path, "Delphes", _delphes_names(("Muon", "Electron")))
    expected = 0
    for ev in events:
        mu, el = _ev_leptons(ev)
        top3 = sorted(mu + el, key=lambda lep: -lep[0])[:3]
        if len(top3) < 3:
            continue
        pairs = [(a, b) for i, a in enumerate(top3) for b in top3[i + 1 :]]
        if any(a[4] == b[4] and a[3] * b[3] < 0 for a, b in pairs):
            expected += 1
    assert len(extract([path], "wz")) == expected


@pytest.mark.slow
def test_ttbar_semilep_delphes(shared) -> None:
    path = shared("delphes/delphes_ttbar.root")
    events = _events(path, "Delphes", _delphes_names(("Muon", "Electron", "Jet")))
    counts = []
    for ev in events:
        mu, el = _ev_leptons(ev, pt_min=25.0)
        leptons = mu + el
        if len(leptons) != 1:
            continue
        lep = (leptons[0][1], leptons[0][2])
        jets = [
            1
            for pt, eta, phi in zip(ev["Jet.PT"], ev["Jet.Eta"], ev["Jet.Phi"], strict=True)
            if pt > 30 and abs(eta) < 4.7 and _dr((eta, phi), lep) > 0.4
        ]
        if len(jets) >= 4:
            counts.append(len(jets))
    table = extract([path], "ttbar_semilep")
    assert len(table) == len(counts)
    assert 4000 < len(counts) < 6000  # the tt̄ -> l+jets fraction of 40k events
    # every jet is kept (up to the channel's 10), so the stored count is the jet count
    assert ak.num(table.Jet).tolist() == [min(n, 10) for n in counts]
    assert max(counts) > 4
    assert "nJet" not in ak.fields(table)


def _passing(ev: dict, coll: str, ok: list) -> list[list]:
    """pt, eta, phi, charge lists of the objects that pass identification."""
    return [
        [x for x, k in zip(ev[f"{coll}_{f}"], ok, strict=True) if k]
        for f in ("pt", "eta", "phi", "charge")
    ]


def test_zll_nanoaod(shared) -> None:
    path = shared("nanoaod/DYto2E.root")
    names = {
        f"{c}_{f}": f"{c}_{f}" for c in ("Muon", "Electron") for f in ("pt", "eta", "phi", "charge")
    } | {"Muon_looseId": "Muon_looseId", "Electron_cutBased": "Electron_cutBased"}
    expected = 0
    for ev in _events(path, "Events", names):
        mu_ok = ev["Muon_looseId"]
        el_ok = [c >= 2 for c in ev["Electron_cutBased"]]

        mu = _leptons(*_passing(ev, "Muon", mu_ok), 13, 10.0, 2.4)
        el = _leptons(*_passing(ev, "Electron", el_ok), 11, 10.0, 2.5)
        expected += _zll_pair(mu, el) is not None
    table = extract([path], "zll")
    assert len(table) == expected
    assert expected > 500  # a Drell-Yan -> ee sample


def test_dplus_flat(shared) -> None:
    path = shared("flat/dplus_kpipi.root")
    arrays = uproot.open(path)["DecayTree"].arrays(library="np")
    e = sum(arrays[f"{p}_PE"] for p in ("K", "Pi1", "Pi2"))
    p2 = sum(sum(arrays[f"{p}_{c}"] for p in ("K", "Pi1", "Pi2")) ** 2 for c in ("PX", "PY", "PZ"))
    ref_mass = np.sqrt(e**2 - p2)
    table = extract([path], "dplus")
    assert len(table) == len(ref_mass) == 50_000
    mass = (table.K + table.Pi1 + table.Pi2).mass
    assert np.median(np.asarray(mass)) == pytest.approx(np.median(ref_mass), abs=2e-4)
    assert np.median(ref_mass) == pytest.approx(1.8696, abs=1e-3)
    window = extract([path], "dplus", options={"mass_min": 1.86, "mass_max": 1.88})
    assert len(window) == int(np.sum((ref_mass > 1.86) & (ref_mass < 1.88)))


def _csv_events(path: Path) -> list[dict]:
    out = []
    with path.open() as f:
        for line in f:
            parts = line.strip().rstrip(";").split(";")
            objs = [o.split(",") for o in parts[5:]]
            out.append(
                {
                    "objs": [(o[0], float(o[2]) / 1000, float(o[3]), float(o[4])) for o in objs],
                    "process": parts[1],
                }
            )
    return out


def _csv_leptons(ev: dict, pt_min: float) -> tuple[list, list]:
    mu = [
        (pt, eta, phi, 1 if c == "m+" else -1, 13)
        for c, pt, eta, phi in ev["objs"]
        if c in ("m+", "m-")
    ]
    el = [
        (pt, eta, phi, 1 if c == "e+" else -1, 11)
        for c, pt, eta, phi in ev["objs"]
        if c in ("e+", "e-")
    ]
    mu = sorted([m for m in mu if m[0] > pt_min and abs(m[1]) < 2.4], key=lambda x: -x[0])
    el = sorted([e for e in el if e[0] > pt_min and abs(e[1]) < 2.5], key=lambda x: -x[0])
    return mu, el


@pytest.mark.slow
def test_csv_zll_and_ttbar(shared) -> None:
    path = shared("csv/darkmachines_mix.csv")
    events = _csv_events(path)
    zll = [ev for ev in events if _zll_pair(*_csv_leptons(ev, 10.0)) is not None]
    ttbar = 0
    for ev in events:
        mu, el = _csv_leptons(ev, 25.0)
        if len(mu + el) != 1:
            continue
        lep = (mu + el)[0]
        jets = [
            1
            for c, pt, eta, phi in ev["objs"]
            if c in ("j", "b")
            and pt > 30
            and abs(eta) < 4.7
            and _dr((eta, phi), (lep[1], lep[2])) > 0.4
        ]
        ttbar += len(jets) >= 4
    table = extract([path], "zll")
    assert len(table) == len(zll)
    # the process label survives, in file order
    assert list(table.process[:5]) == [ev["process"] for ev in zll[:5]]
    assert len(extract([path], "ttbar_semilep")) == ttbar
