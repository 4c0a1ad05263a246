"""Compare generators on the same held-out events: a leaderboard.

Every model is trained on the same training split of one event table, generates as
many events as are held out, and is validated against the held-out events with
:func:`evmult.validation.validate`. The leaderboard has one row per model (classifier
AUC, max KS, correlation difference, mass peaks, novelty, effective sample size,
training time, generation rate) and the reference rows: the smearing multiplier and
the real-vs-real floor.

Example:
    >>> from evmult.compare import compare
    >>> board = compare("zll.parquet", ["flow-vae", "vae"], n_train=20_000)  # doctest: +SKIP
    >>> board.write("leaderboard/")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from evmult.errors import InputError
from evmult.io.files import atomic_directory
from evmult.io.tables import as_table, json_safe, split_table, table_metadata
from evmult.models import MODELS, Generator

__all__ = ["Leaderboard", "Run", "compare", "generation_rate"]

REFERENCE = "smearing"
"""The baseline every leaderboard shows."""


def generation_rate(
    model: Generator, n: int = 50_000, repeats: int = 3, *, label: str | None = None
) -> float:
    """Events per second on one thread, to memory, decoded into an event table.

    Args:
        model: a trained generator.
        n: events per timing.
        repeats: timings (of other seeds) after a warm-up; the fastest counts, as
            ``timeit`` advises: the slower ones measure what else the machine was
            doing (one model gave 206k, 235k and 244k events/s in three consecutive
            timings of 200,000 events).
        label: for a conditional model, time the events of this label alone (else
            every label in its training share).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.sample(min(n, 2_000), seed=0, label=label)  # warm-up
        best = math.inf
        for seed in range(1, repeats + 1):
            start = time.perf_counter()
            model.sample(n, seed=seed, label=label)
            best = min(best, time.perf_counter() - start)
        return n / best
    finally:
        torch.set_num_threads(threads)


@dataclasses.dataclass
class Leaderboard:
    """Rows of a comparison, best classifier AUC first, and how they were made.

    Attributes:
        channel: the table's channel.
        setup: the split and seeds (training and held-out sizes, seed, sources).
        rows: one dict per model: ``model`` (its label), ``family``, ``settings``,
            ``auc``, ``auc_std``, ``max_ks`` (and its feature, ``max_ks_feature``),
            ``mean_ks``, ``max_corr_diff``, ``peaks`` (mass -> ``shift``,
            ``width_ratio``), ``novelty``, ``effective_size``, ``train_s``,
            ``events_per_s``, ``flags``, ``refiner`` (its ``auc``, whether it is
            ``applied`` and its ``acceptance``; empty where not trained); the reference
            rows have ``reference`` true.
    """

    channel: str
    setup: dict[str, Any]
    rows: list[dict[str, Any]]

    def write(self, outdir: str | Path, *, force: bool = False) -> Path:
        """Write ``leaderboard.json``, ``leaderboard.html`` and ``leaderboard.png``/``.pdf``
        (atomically: a failure leaves no partial directory)."""
        with atomic_directory(outdir, force=force) as tmp:
            (tmp / "leaderboard.json").write_text(
                json.dumps(json_safe(dataclasses.asdict(self)), indent=1)
            )
            self._figure(tmp / "leaderboard.png")
            (tmp / "leaderboard.html").write_text(self._html())
        return Path(outdir)

    def _figure(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import mplhep

        plt.style.use(mplhep.style.CMS)
        rows = [r for r in self.rows if r["model"] != "real vs real"]
        floor = next(r["auc"] for r in self.rows if r["model"] == "real vs real")
        fig, ax = plt.subplots(figsize=(10, 1.5 + 0.8 * len(rows)))
        y = np.arange(len(rows))
        ax.barh(y, [r["auc"] - 0.5 for r in rows], left=0.5, xerr=[r["auc_std"] for r in rows])
        ax.axvline(floor, color="k", ls="--", label=f"real vs real {floor:.3f}")
        ax.set_yticks(y, [r["model"] for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(0.49, max(0.6, max(r["auc"] for r in rows) + 0.02))
        ax.set_xlabel("classifier AUC, generated vs held-out (0.5 = indistinguishable)")
        ax.legend(loc="lower right", fontsize="small")
        mplhep.cms.text("Simulation", ax=ax, loc=0)
        ax.set_title(f"{self.channel}: {self.setup['n_train']:,} train", loc="right")
        fig.tight_layout()
        fig.savefig(path)
        fig.savefig(path.with_suffix(".pdf"))
        plt.close(fig)

    def _html(self) -> str:
        columns = [
            ("model", "model", "{}"),
            ("auc", "AUC", "{:.3f}"),
            ("auc_std", "± ", "{:.3f}"),
            ("max_ks", "max KS", "{:.3f}"),
            ("max_corr_diff", "max |Δρ|", "{:.3f}"),
            ("novelty", "novelty", "{:.3f}"),
            ("effective_size", "effective events", "{:,.0f}"),
            ("train_s", "train [s]", "{:.0f}"),
            ("events_per_s", "events/s/thread", "{:,.0f}"),
            ("flags", "flags", "{}"),
        ]

        def cell(row: dict[str, Any], key: str, fmt: str) -> str:
            value = row.get(key)
            return "—" if value is None else html.escape(fmt.format(value))

        head = "".join(f"<th>{html.escape(t)}</th>" for _, t, _ in columns) + "<th>peaks</th>"
        body = []
        for row in self.rows:
            peaks = "; ".join(
                f"{k} {v['shift']:+.3g}, ×{v['width_ratio']:.3f}"
                for k, v in (row.get("peaks") or {}).items()
            )
            cells = "".join(f"<td>{cell(row, k, f)}</td>" for k, _, f in columns)
            style = ' class="ref"' if row.get("reference") else ""
            body.append(f"<tr{style}>{cells}<td>{html.escape(peaks)}</td></tr>")
        setup = html.escape(json.dumps(json_safe(self.setup)))
        return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>evmult leaderboard: {html.escape(self.channel)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}tr.ref{{color:#666;font-style:italic}}</style>
</head><body>
<h1>{html.escape(self.channel)}: generators on the same held-out events</h1>
<p>{self.setup["n_train"]:,} training and {self.setup["n_holdout"]:,} held-out events; every
model generates as many events as are held out. Peaks: shift in GeV and width ratio of a
Gaussian-core fit, generated over held out. Novelty 1 = as far from the training events as
fresh real events are. Reference rows in italics.</p>
<table><tr>{head}</tr>
{chr(10).join(body)}
</table>
<p><img src="leaderboard.png" alt="classifier AUC per model" style="max-width:900px"></p>
<p><small>setup: {setup}</small></p>
</body></html>
"""


def _row(name: str, settings: Mapping[str, Any], report: Any) -> dict[str, Any]:
    peaks = {}
    for mass, fits in report.peaks.items():
        real, gen = fits["real"], fits["generated"]
        if "error" not in real and "error" not in gen:
            peaks[mass] = {
                "shift": gen["position"] - real["position"],
                "width_ratio": gen["width"] / real["width"],
            }
    ess = report.effective_size or {}
    worst = max(report.features, key=lambda f: f["ks"])
    return {
        "model": name,
        "settings": dict(settings),
        "auc": report.c2st["auc"],
        "auc_std": report.c2st["auc_std"],
        "max_ks": worst["ks"],
        "max_ks_feature": worst["name"],
        "mean_ks": float(np.mean([f["ks"] for f in report.features])),
        "max_corr_diff": report.correlations["pearson"]["max_abs"],
        "peaks": peaks,
        "novelty": report.novelty["ratio"] if report.novelty else None,
        "effective_size": ess.get("overall"),
        "flags": len(report.flags),
    }


Run = tuple[str, str, Mapping[str, Any]]
"""A leaderboard entry: (label, model family, configuration overrides)."""


def compare(
    table: ak.Array | str | Path,
    models: Sequence[str | Run],
    *,
    n_train: int | None = None,
    seed: int = 0,
    features: Sequence[str] | None = None,
    rate_events: int = 50_000,
    progress: Callable[[str], None] | None = None,
) -> Leaderboard:
    """Train every model on one split of ``table`` and validate each on the rest.

    Args:
        table: an event table (or its path).
        models: model family names (see :data:`evmult.models.MODELS`) or
            ``(label, family, settings)`` runs (settings as for :func:`evmult.fit`,
            e.g. ``{"preset": "fast"}``); the smearing multiplier is added as a
            reference row when absent.
        n_train: training events (default: half of the table).
        seed: seed of the split, the training and the generation.
        features: validation features (default: all of the channel's).
        rate_events: events per timing of the generation rate (the fastest of three,
            see :func:`generation_rate`).
        progress: called with one line per step (e.g. ``print``).

    Returns:
        The :class:`Leaderboard`, best AUC first, the real-vs-real floor last.

    Raises:
        InputError: for an unknown model or too few events.
    """
    from evmult.pipeline import fit
    from evmult.validation import validate

    runs: list[Run] = [(m, m, {}) if isinstance(m, str) else m for m in models]
    unknown = [family for _, family, _ in runs if family not in MODELS]
    if unknown or not runs:
        msg = f"unknown model(s) {unknown or list(models)}; known: {', '.join(MODELS)}"
        raise InputError(msg)
    if not any(family == REFERENCE for _, family, _ in runs):
        runs.append((REFERENCE, REFERENCE, {"reference": True}))
    data = as_table(table)
    if n_train is None:
        train, holdout = split_table(data, fraction=0.5, seed=seed)
    else:
        train, holdout = split_table(data, n=n_train, seed=seed)
    say = progress or (lambda _line: None)
    rows = []
    floor: dict[str, Any] = {}
    for i, (label, family, overrides) in enumerate(runs, 1):
        step = f"[{i}/{len(runs)}] {label}"
        settings = {k: v for k, v in overrides.items() if k != "reference"}
        say(f"{step}: training on {len(train):,} events")
        start = time.perf_counter()
        model = fit(train, model=family, seed=seed, **settings)
        seconds = time.perf_counter() - start
        generated = model.sample(len(holdout), seed=seed + 1)
        say(f"{step}: validating ({seconds:.0f} s training)")
        report = validate(holdout, generated, train=train, features=features, seed=seed)
        row = _row(label, settings, report) | {
            "family": family,
            "train_s": seconds,
            "events_per_s": generation_rate(model, rate_events),
            "reference": bool(overrides.get("reference")),
            "refiner": {
                k: v
                for k, v in model.info.get("refiner", {}).items()
                if k in ("auc", "applied", "acceptance")
            },
        }
        rows.append(row)
        floor = {"auc": report.c2st["floor_auc"], "auc_std": report.c2st["floor_auc_std"]}
        say(f"{step}: AUC {row['auc']:.3f}, max KS {row['max_ks']:.3f}")
    rows.sort(key=lambda r: r["auc"])
    rows.append({"model": "real vs real", "reference": True, "settings": {}} | floor)
    meta = table_metadata(data)
    setup = {
        "n_train": len(train),
        "n_holdout": len(holdout),
        "seed": seed,
        "features": list(features) if features else None,
        "sources": meta.get("sources", []),
    }
    return Leaderboard(channel=meta.get("channel", "?"), setup=setup, rows=rows)
