"""tt̄ → ℓ+jets with every jet: fidelity, AGC-style observables and speed, printed.

Extracts ``ttbar_semilep`` from the shared ``delphes_ttbar.root``, trains generators on
3,000 events (seed-1 split; with ``--all``, on every event of ``delphes_ttbar.root`` and
``delphes_ttbar_b.root`` but a fixed 3,000 held out): the ``--runs`` of ``default``,
``refine off`` and ``fast`` (the fast preset), by default the first two. It generates as
many events as are held out and prints, for each:

* the classifier two-sample AUC over the lepton, the four leading jets (pT, η, φ,
  mass, b-tag), MET and nJet, with the real-vs-real floor;
* the KS distance of nJet;
* the observables of the IRIS-HEP Analysis Grand Challenge's regions, over every jet
  the table holds (the channel's jets: pT > 30 GeV, not the AGC's 25): HT in 4j1b
  (≥ 4 jets, exactly one b-tag) and m_bjj in 4j2b (≥ 4 jets, ≥ 2 b-tags; the mass of
  the trijet of largest pT with at least one b-tagged jet). For each, KS and χ²/ndf of
  as many generated events as half the held-out ones against one half of the held-out
  events, beside the same for the other half (real vs real): the medians of twenty
  draws, each with fresh generated events and a fresh split of the held-out ones (one
  draw of a few hundred events per region moves the KS by about as much as the bar);
  then the m_bjj mode and interquartile width of twenty times as many generated events
  against all held-out events, with the spread of the held-out values (bootstrap):
  the halves' values move by tens of GeV between splits; and, on those events, the KS
  distance of the three leading jets' openings in η and φ and of their mass m_j1j2j3;
* the generation rate on one thread (fastest of three timings of 200,000 events,
  decoding and the selection check included), and, in the same run, the rate of
  Pythia 8 (``pythia8mc``) generating pp → tt̄ at generator level (parton shower and
  hadronisation, no multiparton interactions: the shared samples' settings) on one
  core, per event and per event the ℓ+jets selection keeps (the shared files'
  acceptance). The cost evmult replaces is that plus the detector simulation (Delphes
  here, Geant4 in a full simulation), which this rate leaves out.

Usage:
    python benchmarks/bench_ttbar_jets.py
    python benchmarks/bench_ttbar_jets.py --runs default --set train.epochs=50
    python benchmarks/bench_ttbar_jets.py --all --runs default
    python benchmarks/bench_ttbar_jets.py --pythia 0   # without the Pythia 8 timing
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import awkward as ak
import numpy as np
import uproot
from scipy import stats

from evmult.coffea import extract
from evmult.compare import generation_rate
from evmult.io.tables import split_table
from evmult.pipeline import fit
from evmult.validation import validate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FEATURES = [
    *(f"lep1_{f}" for f in ("pt", "eta", "phi", "flavour")),
    *(f"jet{i}_{f}" for i in range(1, 5) for f in ("pt", "eta", "phi", "mass", "btag")),
    "MET_pt",
    "MET_phi",
    "nJet",
]
M_BJJ_EDGES = np.linspace(50, 450, 41)
OBSERVABLE_EDGES = {"HT_4j1b": np.linspace(120, 1200, 28), "m_bjj_4j2b": M_BJJ_EDGES}
DRAWS = 20  # generated samples of the held-out size, and splits of the held-out events
RUNS = {"default": {}, "refine off": {"refine": "off"}, "fast": {"preset": "fast"}}


def agc_observables(table: ak.Array) -> dict[str, np.ndarray]:
    """HT and m_bjj over every jet of each event of the table, NaN outside the
    observable's region (4j1b for HT, 4j2b for m_bjj)."""
    jets = table.Jet
    n_jets = ak.to_numpy(ak.num(jets))
    n_b = ak.to_numpy(ak.sum(jets.btag, axis=1))
    four = n_jets >= 4
    ht = ak.to_numpy(ak.sum(jets.pt, axis=1)).astype(np.float64)
    trijets = ak.combinations(jets, 3, fields=["a", "b", "c"])
    p4 = trijets.a + trijets.b + trijets.c
    has_b = trijets.a.btag | trijets.b.btag | trijets.c.btag
    best = ak.argmax(ak.where(has_b, p4.pt, -1.0), axis=1, keepdims=True)
    m_bjj = ak.to_numpy(ak.fill_none(ak.firsts(p4[best].mass), np.nan)).astype(np.float64)
    return {
        "HT_4j1b": np.where(four & (n_b == 1), ht, np.nan),
        "m_bjj_4j2b": np.where(four & (n_b >= 2), m_bjj, np.nan),
    }


def in_region(values: np.ndarray) -> np.ndarray:
    """The values of the events in the observable's region (see :func:`agc_observables`)."""
    return values[np.isfinite(values)]


def openings(table: ak.Array) -> dict[str, np.ndarray]:
    """|Δη| and |Δφ| of each pair of the three leading jets, and their mass."""
    j = table.Jet
    out = {}
    for a, b in ((0, 1), (0, 2), (1, 2)):
        out[f"Δη{a + 1}{b + 1}"] = ak.to_numpy(abs(j[:, a].eta - j[:, b].eta))
        out[f"Δφ{a + 1}{b + 1}"] = ak.to_numpy(abs(j[:, a].deltaphi(j[:, b])))
    out["m_j1j2j3"] = ak.to_numpy((j[:, 0] + j[:, 1] + j[:, 2]).mass)
    return out


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample KS distance."""
    return float(stats.ks_2samp(a, b).statistic)


def half_draws(
    generated: dict[str, np.ndarray], holdout: dict[str, np.ndarray], seed: int
) -> dict[str, tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]]:
    """Each AGC observable (:func:`agc_observables` of the generated and the held-out
    events) over :data:`DRAWS` draws: generated events as many as half the held-out
    ones (disjoint blocks of the generated events), and a random split of the held-out
    events into halves a and b, fresh in every draw (the generated events are compared
    with a, b with a: real vs real at the same size)."""
    n_generated, n_holdout = (len(next(iter(obs.values()))) for obs in (generated, holdout))
    half = n_holdout // 2
    rng = np.random.default_rng(seed + 2)
    shuffled = rng.permutation(n_generated)  # a conditional model writes label by label
    out: dict[str, tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]] = {
        name: ([], [], []) for name in OBSERVABLE_EDGES
    }
    for k in range(DRAWS):
        pick = shuffled[k * half : (k + 1) * half]
        order = rng.permutation(n_holdout)
        for name, (g, a, b) in out.items():
            g.append(in_region(generated[name][pick]))
            a.append(in_region(holdout[name][order[:half]]))
            b.append(in_region(holdout[name][order[half : 2 * half]]))
    return out


def medians(
    g: list[np.ndarray],
    a: list[np.ndarray],
    b: list[np.ndarray],
    distance: Callable[[np.ndarray, np.ndarray], float],
) -> tuple[float, float]:
    """The median over draws of ``distance`` of the generated events from half a, and of
    half b from half a."""
    values = np.array(
        [[distance(gi, ai), distance(bi, ai)] for gi, ai, bi in zip(g, a, b, strict=True)]
    )
    return float(np.median(values[:, 0])), float(np.median(values[:, 1]))


def chi2_ndf(a: np.ndarray, b: np.ndarray, edges: np.ndarray) -> float:
    """χ²/ndf of two unweighted histograms of unequal size (shape only)."""
    ha, _ = np.histogram(a, edges)
    hb, _ = np.histogram(b, edges)
    na, nb = ha.sum(), hb.sum()
    ok = (ha + hb) > 0
    ka, kb = np.sqrt(nb / na), np.sqrt(na / nb)
    chi2 = np.sum((ka * ha[ok] - kb * hb[ok]) ** 2 / (ha[ok] + hb[ok]))
    return float(chi2 / max(ok.sum() - 1, 1))


def mode_and_iqr(values: np.ndarray, edges: np.ndarray) -> tuple[float, float]:
    counts, _ = np.histogram(values, edges)
    k = int(np.argmax(counts))
    q1, q3 = np.percentile(values, [25, 75])
    return float(0.5 * (edges[k] + edges[k + 1])), float(q3 - q1)


def pythia_rate(n: int, seed: int) -> float | None:
    """Pythia 8 pp → tt̄ events per second on one core (fastest of three timings of
    ``n`` events after initialisation), with the shared Delphes samples' settings;
    ``None`` where ``pythia8mc`` is not installed (``pip install pythia8mc==8.317.2``)."""
    try:
        import pythia8mc
    except ImportError:
        return None
    pythia = pythia8mc.Pythia("", False)
    for line in (
        "Beams:eCM = 13000.",
        "Top:gg2ttbar = on",
        "Top:qqbar2ttbar = on",
        "24:onMode = off",
        "24:onIfAny = 1 2 3 4 5 11 13",  # W → ℓν (e, μ) or qq'
        "PartonLevel:MPI = off",
        "Print:quiet = on",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
    ):
        pythia.readString(line)
    pythia.init()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        done = 0
        while done < n:
            done += bool(pythia.next())
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="default,refine off", help="comma-separated runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n-train", type=int, default=3_000)
    parser.add_argument(
        "--all", action="store_true", help="train on both tt̄ samples but 3,000 held out"
    )
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--pythia", type=int, default=300, metavar="N", help="Pythia 8 events per timing (0: none)"
    )
    args = parser.parse_args()

    names = ["delphes_ttbar.root", "delphes_ttbar_b.root"] if args.all else ["delphes_ttbar.root"]
    files = [args.shared / "delphes" / n for n in names]
    table = extract(files, "ttbar_semilep")
    acceptance = len(table) / sum(uproot.open(f)["Delphes"].num_entries for f in files)
    n_train = len(table) - 3_000 if args.all else args.n_train
    train, holdout = split_table(table, n=n_train, seed=args.seed)
    obs_holdout = agc_observables(holdout)
    jets = ak.to_numpy(ak.num(table.Jet))
    print(
        f"ttbar_semilep: {len(table):,} events, {len(train):,} train, {len(holdout):,} held out;"
        f" at most {jets.max()} jets stored, mean {jets.mean():.2f}; the selection keeps"
        f" {acceptance:.1%} of the generated events",
        flush=True,
    )
    pythia = pythia_rate(args.pythia, args.seed) if args.pythia else None
    if pythia is not None:
        print(
            f"Pythia 8 pp → tt̄, generator level, one core: {pythia:,.0f} ev/s, "
            f"{pythia * acceptance:,.1f} selected ev/s (detector simulation not included)",
            flush=True,
        )
    extra = dict(s.split("=", 1) for s in args.set)
    for label in args.runs.split(","):
        start = time.perf_counter()
        model = fit(train, seed=args.seed, **RUNS[label], **extra)
        seconds = time.perf_counter() - start
        generated = model.sample(len(holdout), seed=args.seed + 1)
        report = validate(holdout, generated, train=train, features=FEATURES, seed=args.seed)
        c = report.c2st
        ks = {f["name"]: f["ks"] for f in report.features}
        rate = generation_rate(model, 200_000)
        versus = f" ({rate / (pythia * acceptance):,.0f}× Pythia 8's selected)" if pythia else ""
        print(
            f"{label:10s} AUC {c['auc']:.3f}±{c['auc_std']:.3f} (real vs real "
            f"{c['floor_auc']:.3f})  nJet KS {ks['nJet']:.3f}  train {seconds:.0f} s  "
            f"{rate:,.0f} ev/s/thread{versus}",
            flush=True,
        )
        big = model.sample(DRAWS * len(holdout), seed=args.seed + 3)
        obs_big = agc_observables(big)
        for name, (g, a, b) in half_draws(obs_big, obs_holdout, args.seed).items():
            edges = OBSERVABLE_EDGES[name]
            ks_gen, ks_real = medians(g, a, b, ks_distance)
            chi2_gen, chi2_real = medians(g, a, b, lambda x, y, e=edges: chi2_ndf(x, y, e))
            print(
                f"{'':10s} {name:10s} KS {ks_gen:.3f} (real {ks_real:.3f})  χ²/ndf "
                f"{chi2_gen:.2f} (real {chi2_real:.2f})  medians of {DRAWS} draws of about "
                f"{len(g[0])} / {len(a[0])} events",
                flush=True,
            )
        many = in_region(obs_big["m_bjj_4j2b"])
        real = in_region(obs_holdout["m_bjj_4j2b"])
        boot = np.random.default_rng(args.seed + 4)
        spread = np.std(
            [mode_and_iqr(boot.choice(real, len(real)), M_BJJ_EDGES) for _ in range(200)], axis=0
        )
        (mg, wg), (mr, wr) = mode_and_iqr(many, M_BJJ_EDGES), mode_and_iqr(real, M_BJJ_EDGES)
        print(
            f"{'':10s} m_bjj_4j2b of {len(many):,} generated: mode {mg:.0f}, IQR {wg:.0f} GeV; of "
            f"{len(real):,} held out: mode {mr:.0f} ± {spread[0]:.0f}, IQR {wr:.0f} ± "
            f"{spread[1]:.0f} GeV; KS {stats.ks_2samp(many, real).statistic:.3f}",
            flush=True,
        )
        o_g, o_r = openings(big), openings(holdout)
        ks_open = "  ".join(f"{k} {stats.ks_2samp(o_g[k], o_r[k]).statistic:.3f}" for k in o_r)
        print(f"{'':10s} KS of the leading jets' openings: {ks_open}", flush=True)


if __name__ == "__main__":
    main()
