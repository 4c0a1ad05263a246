"""The generator as a classifier: anomaly scores of events, written where an analysis
can cut on them, and their evaluation with a signal injected into a background.

A model trained on background events scores any event of its channel
(:meth:`Generator.score <evmult.models.base.Generator.score>`; what each score is:
:mod:`evmult.models.scoring`): higher means less like the training events.
:func:`write_scored` writes a table's events with their scores, as new columns of the
event table (parquet) or as ``evmult_score_<name>`` branches of a ROOT file in the
channel's layout, the same events in the same order. :func:`anomaly_study` scores
background events the model never saw and one or more signal samples, and reports per
score the ROC AUC, the signal efficiency ε_S at background efficiencies 10⁻² and 10⁻³
and the significance improvement ε_S/√ε_B there, with spreads over Poisson resamples.

Usage::

    import evmult
    from evmult.anomaly import anomaly_study, write_scored

    model = evmult.load("background.evmult")
    write_scored(model, table, "scored.root")
    study = anomaly_study(model, background_test, {"wz": wz})
    study.write("anomaly")

Reference: the DarkMachines unsupervised challenge, Aarrestad et al., SciPost Phys. 12,
043 (arXiv:2105.14027), whose figures (AUC, ε_S at ε_B = 10⁻², 10⁻³, and the
significance improvement) these are.
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from evmult._version import __version__
from evmult.errors import InputError
from evmult.io.files import atomic_directory, atomic_path, file_sha256
from evmult.io.tables import event_weights, json_safe, table_metadata, write_table
from evmult.models.base import Generator

__all__ = [
    "BACKGROUND_EFFICIENCIES",
    "SCORE_PREFIX",
    "AnomalyStudy",
    "anomaly_study",
    "score_table",
    "working_points",
    "write_scored",
]

SCORE_PREFIX = "evmult_score_"
"""Prefix of a score's column (event table) and branch (ROOT file)."""

BACKGROUND_EFFICIENCIES = (1e-2, 1e-3)
"""Background efficiencies at which ε_S and ε_S/√ε_B are read."""

MIN_PASSING = 10
"""Background events a working point needs above its threshold to be measured; with
fewer, the point is reported as unresolved (the background sample is too small)."""

_CHUNK = 100_000
"""Events per ROOT ``extend``."""

_CURVE = np.logspace(-4, 0, 41)
"""Background efficiencies at which the stored ROC curve gives ε_S."""


def score_table(
    model: Generator,
    table: ak.Array,
    names: Sequence[str] | None = None,
    *,
    draws: int = 8,
    seed: int = 0,
) -> ak.Array:
    """``table`` with each score as a new field ``evmult_score_<name>``.

    Args:
        model: a trained generator (:func:`evmult.load`).
        table: events of the model's channel.
        names: the scores (default: every one the model gives).
        draws: noise draws averaged (see :meth:`Generator.score`).
        seed: seed of those draws.

    Raises:
        InputError: see :meth:`Generator.score`.
    """
    scores = model.score(table, names, draws=draws, seed=seed)
    out = table
    for name, values in scores.items():
        out = ak.with_field(out, values, SCORE_PREFIX + name)
    meta = table_metadata(table) | {"scores": _record(model, list(scores), draws, seed)}
    return ak.Array(out, attrs={"evmult": meta})


def _record(model: Generator, names: list[str], draws: int, seed: int) -> dict[str, Any]:
    return {
        "model": model.title,
        "channel": model.info.get("channel"),
        "n_train": model.info.get("n_train"),
        "scores": names,
        "draws": draws,
        "seed": seed,
        "evmult_version": __version__,
    }


def write_scored(
    model: Generator,
    table: ak.Array,
    path: str | Path,
    names: Sequence[str] | None = None,
    *,
    draws: int = 8,
    seed: int = 0,
    tree: str | None = None,
    model_file: str | Path | None = None,
    force: bool = False,
) -> Path:
    """Write ``table``'s events with their scores, atomically: a ``.parquet`` event
    table with ``evmult_score_<name>`` columns, or a ``.root`` file in the channel's
    layout (what :func:`evmult.multiply` writes, for the same processor) with
    ``evmult_score_<name>`` branches; ``evmult_sourceIndex`` is each event's index in
    ``table``.

    Args:
        model: a trained generator.
        table: events of its channel.
        path: the output file, ``.parquet`` or ``.root``.
        names: the scores (default: every one the model gives).
        draws: noise draws averaged (see :meth:`Generator.score`).
        seed: seed of those draws.
        tree: ROOT tree name (default: the model's, :func:`evmult.output.default_tree`).
        model_file: the model's file, recorded with its SHA-256.
        force: overwrite an existing file.

    Raises:
        InputError: for another suffix, or see :meth:`Generator.score`.
    """
    path = Path(path)
    if path.suffix not in {".parquet", ".root"}:
        msg = f"{path}: the scored events are written as .parquet or .root"
        raise InputError(msg)
    if path.exists() and not force:
        msg = f"{path} exists; pass force=True (--force) to replace it"
        raise InputError(msg)
    scored = score_table(model, table, names, draws=draws, seed=seed)
    record = table_metadata(scored)
    if model_file is not None:
        source = Path(model_file)
        record["scores"]["model_file"] = {
            "path": str(source.resolve()),
            "sha256": file_sha256(source),
        }
    if path.suffix == ".parquet":
        return write_table(scored, path, metadata=record, force=force)
    from evmult.output import root_writer

    fields = [f for f in ak.fields(scored) if f.startswith(SCORE_PREFIX)]
    with atomic_path(path, force=force) as tmp:
        writer = root_writer(model, tmp, record, tree=tree)
        for start in range(0, len(table), _CHUNK):
            chunk = table[start : start + _CHUNK]
            extra = {f: ak.to_numpy(scored[f][start : start + _CHUNK]) for f in fields}
            writer.write(chunk, np.arange(start, start + len(chunk)), start, extra=extra)
        writer.close()
    return path


def working_points(
    y: np.ndarray, score: np.ndarray, weights: np.ndarray | None = None
) -> dict[str, Any]:
    """ROC AUC, and ε_S and ε_S/√ε_B at each of :data:`BACKGROUND_EFFICIENCIES`, of a
    score that is higher for signal (``y == 1``) than for background.

    Returns:
        A dict: ``auc``; ``eps_s`` and ``sic`` (ε_S and ε_S/√ε_B by background
        efficiency); ``resolved`` (by background efficiency: whether at least
        :data:`MIN_PASSING` background events pass); ``curve`` (ε_S at each of the
        stored curve's background efficiencies).
    """
    from sklearn.metrics import auc, roc_curve

    w = np.ones(len(y)) if weights is None else np.asarray(weights, np.float64)
    fpr, tpr, _ = roc_curve(y, score, sample_weight=w)
    n_background = int(np.sum(y == 0))
    eps_s = {e: float(np.interp(e, fpr, tpr)) for e in BACKGROUND_EFFICIENCIES}
    return {
        "auc": float(auc(fpr, tpr)),  # roc_auc_score's area, without sorting again
        "eps_s": eps_s,
        "sic": {e: s / np.sqrt(e) for e, s in eps_s.items()},
        "resolved": {e: n_background * e >= MIN_PASSING for e in BACKGROUND_EFFICIENCIES},
        "curve": np.interp(_CURVE, fpr, tpr).tolist(),
    }


@dataclasses.dataclass
class AnomalyStudy:
    """Scores of background and signal events and their figures.

    Attributes:
        channel: the model's channel.
        setup: the model, its training size, the scores, sample sizes, seed, bootstrap.
        rows: one per (signal, score): ``signal``, ``score``, ``n_signal``,
            ``n_background``, ``auc`` and, per background efficiency (as a string key),
            ``eps_s`` and ``sic`` (each ``value`` and ``std``), ``resolved``, and
            ``curve`` (ε_S at the background efficiencies ``setup["curve"]``).
    """

    channel: str
    setup: dict[str, Any]
    rows: list[dict[str, Any]]

    def best(self, signal: str) -> dict[str, Any]:
        """The row of the score with the largest AUC for ``signal``."""
        rows = [r for r in self.rows if r["signal"] == signal]
        return max(rows, key=lambda r: r["auc"]["value"])

    @property
    def signals(self) -> list[str]:
        """The signal samples, in the order given."""
        return list(dict.fromkeys(r["signal"] for r in self.rows))

    @property
    def text(self) -> str:
        """A line per (signal, score), best score first, unresolved points marked."""
        head = (
            f"{self.channel}: {self.setup['model']} trained on "
            f"{self.setup['n_train']:,} events, scored on {self.setup['n_background']:,} "
            "background events it never saw"
        )
        lines = [head]
        for signal in self.signals:
            rows = sorted(
                (r for r in self.rows if r["signal"] == signal), key=lambda r: -r["auc"]["value"]
            )
            lines.append(f"{signal} ({rows[0]['n_signal']:,} events):")
            for r in rows:
                points = "  ".join(
                    f"εS {r['eps_s'][k]['value']:.3f} SIC {r['sic'][k]['value']:.2f} at εB {k}"
                    + ("" if r["resolved"][k] else " (unresolved)")
                    for k in r["eps_s"]
                )
                lines.append(
                    f"  {r['score']:15s} AUC {r['auc']['value']:.3f} ± {r['auc']['std']:.3f}"
                    f"  {points}"
                )
        return "\n".join(lines)

    def write(self, outdir: str | Path, *, force: bool = False) -> Path:
        """Write ``anomaly.json`` (every number), ``summary.txt``, a ROC figure per
        signal (PNG and PDF) and ``report.html``, atomically."""
        with atomic_directory(outdir, force=force) as tmp:
            (tmp / "anomaly.json").write_text(
                json.dumps(json_safe(dataclasses.asdict(self)), indent=1)
            )
            (tmp / "summary.txt").write_text(self.text + "\n")
            figures = [self._plot(signal, tmp) for signal in self.signals]
            (tmp / "report.html").write_text(self._html(figures))
        return Path(outdir)

    def _plot(self, signal: str, outdir: Path) -> Path:
        import mplhep

        from evmult.classify_report import figure_axes, save_figure

        fig, ax = figure_axes((9, 8))
        eps_b = np.asarray(self.setup["curve"])
        for r in (r for r in self.rows if r["signal"] == signal):
            eps_s = np.asarray(r["curve"])
            ok = eps_s > 0
            ax.plot(
                eps_s[ok],
                1 / eps_b[ok],
                label=f"{r['score']} (AUC {r['auc']['value']:.3f})",
            )
        grid = np.logspace(-4, 0, 50)
        ax.plot(grid, 1 / grid, "k:", lw=1, label="random")
        floor = MIN_PASSING / self.setup["n_background"]
        ax.axhline(1 / floor, color="grey", lw=0.8, ls="--", label=f"{MIN_PASSING} bkg events")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(1e-3, 1)
        ax.set_xlabel(r"signal efficiency $\varepsilon_S$")
        ax.set_ylabel(r"background rejection $1/\varepsilon_B$")
        ax.legend(fontsize="small", loc="lower left")
        mplhep.cms.text("Simulation", ax=ax, loc=0)
        ax.set_title(f"{self.channel}: {signal}", loc="right", fontsize="small")
        fig.tight_layout()
        return save_figure(fig, outdir / f"roc_{_slug(signal)}.png")

    def _html(self, figures: Sequence[Path]) -> str:
        from evmult.validation.html import PAGE_STYLE

        esc = html.escape
        keys = list(self.rows[0]["eps_s"]) if self.rows else []
        head = ["signal", "score", "AUC"] + [f"εS at εB {k}" for k in keys]
        head += [f"εS/√εB at εB {k}" for k in keys]
        body = []
        for r in self.rows:
            cells = [r["signal"], r["score"], _pm(r["auc"], 3)]
            for what in ("eps_s", "sic"):
                cells += [
                    _pm(r[what][k], 3) + ("" if r["resolved"][k] else " (unresolved)") for k in keys
                ]
            body.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
        imgs = "".join(
            f'<figure><img src="{esc(f.name)}" alt="{esc(f.name)}"></figure>' for f in figures
        )
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>evmult: anomaly scores</title>
<style>{PAGE_STYLE}
img{{width:560px}} td:nth-child(-n+2){{text-align:left}}</style>
</head><body><h1>Anomaly scores: {esc(self.channel)}</h1>
<p>Higher scores are less like the events the model trained on. Every figure is on
background events the model never trained on; ± is the spread over Poisson resamples.
A working point with fewer than {MIN_PASSING} background events above its threshold is
unresolved: the background sample is too small to measure it.</p>
<pre>{esc(self.text)}</pre>
<h2>Every score</h2><table><tr>{"".join(f"<th>{esc(h)}</th>" for h in head)}</tr>
{"".join(body)}</table>
<h2>Figures</h2>{imgs}
<p><small>setup: {esc(json.dumps(json_safe(self.setup)))}</small></p></body></html>
"""


def _pm(figure: Mapping[str, float], digits: int) -> str:
    return f"{figure['value']:.{digits}f} ± {figure['std']:.{digits}f}"


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def anomaly_study(
    model: Generator,
    background: ak.Array,
    signals: Mapping[str, ak.Array],
    names: Sequence[str] | None = None,
    *,
    draws: int = 8,
    seed: int = 0,
    bootstrap: int = 100,
) -> AnomalyStudy:
    """Score background events the model never trained on and each signal sample, and
    measure how well each score separates them.

    Args:
        model: a generator trained on background events of the channel.
        background: background events **not** in the model's training sample.
        signals: signal samples by name (events of the same channel).
        names: the scores (default: every one the model gives).
        draws: noise draws averaged per score (see :meth:`Generator.score`).
        seed: seed of the draws and the resamples.
        bootstrap: Poisson resamples of the events for the spreads.

    Raises:
        InputError: for no signal, an empty sample, or see :meth:`Generator.score`.
    """
    if not signals:
        msg = "an anomaly study needs at least one signal sample"
        raise InputError(msg)
    for label, table in {"background": background, **signals}.items():
        if len(table) == 0:
            msg = f"the {label} sample holds no events"
            raise InputError(msg)
    b_scores = model.score(background, names, draws=draws, seed=seed)
    b_weights = event_weights(background)
    rng = np.random.default_rng(seed)
    rows = []
    for label, table in signals.items():
        s_scores = model.score(table, names, draws=draws, seed=seed)  # the same noise vectors
        y = np.r_[np.zeros(len(background)), np.ones(len(table))]
        w = np.r_[b_weights, event_weights(table)]
        resamples = [rng.poisson(1.0, len(y)) for _ in range(bootstrap)]
        for name in b_scores:
            score = np.r_[b_scores[name], s_scores[name]]
            point = working_points(y, score, w)
            draws_ = [working_points(y, score, w * k) for k in resamples]
            rows.append(
                {
                    "signal": label,
                    "score": name,
                    "n_signal": len(table),
                    "n_background": len(background),
                    "auc": _spread(point["auc"], [d["auc"] for d in draws_]),
                    **{
                        what: {
                            str(e): _spread(point[what][e], [d[what][e] for d in draws_])
                            for e in BACKGROUND_EFFICIENCIES
                        }
                        for what in ("eps_s", "sic")
                    },
                    "resolved": {str(e): point["resolved"][e] for e in BACKGROUND_EFFICIENCIES},
                    "curve": point["curve"],
                }
            )
    setup = {
        "model": model.title,
        "n_train": model.info.get("n_train"),
        "train_sources": model.info.get("sources", []),
        "scores": list(b_scores),
        "n_background": len(background),
        "signals": {label: len(t) for label, t in signals.items()},
        "draws": draws,
        "seed": seed,
        "bootstrap": bootstrap,
        "curve": _CURVE.tolist(),
    }
    return AnomalyStudy(str(model.info.get("channel")), setup, rows)


def _spread(value: float, draws: Sequence[float]) -> dict[str, float]:
    return {"value": float(value), "std": float(np.std(draws)) if len(draws) > 1 else 0.0}
