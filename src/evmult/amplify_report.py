"""Figures, JSON and HTML of worth curves and amplification studies (:mod:`evmult.amplify`).

The figure is GANplification's (Butter et al., arXiv:2008.06545): effective events
against generated events, with the training size, what the training sample itself is
worth, the reference's resolution limit and a perfect generator (effective = generated)
drawn as lines. matplotlib and mplhep are imported inside the functions.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evmult.amplify import AmplificationStudy, WorthCurve
from evmult.io.files import atomic_directory
from evmult.io.tables import json_safe
from evmult.validation.html import PAGE_STYLE

__all__ = ["describe", "plot_worth", "write_curve", "write_study"]

_FEATURE_LINES = 6  # the worst-modelled counted features get a line each


def plot_worth(curves: Sequence[WorthCurve], path: Path, *, title: str) -> Path:
    """Effective against generated events for the repeats of one training size (their
    mean, the spread as error bars); saturated points are drawn open. Saves PNG + PDF."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.CMS)
    first = curves[0]
    n_train = first.n_train
    generated = np.array([p["n_generated"] for p in first.points])
    effective = np.array([[p["effective"] for p in c.points] for c in curves])
    spread = (
        effective.std(axis=0, ddof=1)
        if len(curves) > 1
        else np.array([p["effective_std"] for p in first.points])
    )
    mean = effective.mean(axis=0)
    saturated = np.array([any(c.points[i]["saturated"] for c in curves) for i in range(len(mean))])
    fig, ax = plt.subplots(figsize=(15, 8))
    worst = sorted(first.counted, key=lambda k: first.best["per_feature"][k])[:_FEATURE_LINES]
    for name in worst:
        values = np.mean([[p["per_feature"][name] for p in c.points] for c in curves], axis=0)
        ax.plot(generated, values * n_train, lw=1, alpha=0.6, label=name)
    ax.errorbar(
        generated[~saturated],
        mean[~saturated],
        yerr=spread[~saturated],
        fmt="o-",
        color="k",
        lw=2,
        label="overall",
        zorder=5,
    )
    if saturated.any():
        ax.plot(
            generated[saturated],
            mean[saturated],
            "o",
            mfc="none",
            color="k",
            label="overall, saturated (lower bound)",
            zorder=5,
        )
    grid = np.geomspace(generated.min() / 2, generated.max() * 2, 200)
    if not first.asymptotic_saturated:
        n_inf = np.mean([c.asymptotic for c in curves])
        ax.plot(
            grid,
            grid * n_inf / (grid + n_inf),
            ":",
            color="k",
            lw=1,
            label=f"N·n∞/(N + n∞), n∞ = {n_inf:,.0f}",
        )
    ax.plot(grid, grid, "--", color="grey", lw=1, label="perfect generator")
    ax.axhline(n_train, color="tab:blue", ls="--", label=f"training events ({n_train:,})")
    if first.training is not None:
        itself = float(np.mean([c.training["effective"] for c in curves]))  # type: ignore[index]
        ax.axhline(
            itself, color="tab:blue", ls=":", label=f"training sample's own worth ({itself:,.0f})"
        )
    ax.axhline(
        first.n_reference,
        color="tab:red",
        ls="-.",
        label=f"reference resolves up to {first.n_reference:,.0f}",
    )
    useful = float(np.median([c.largest_useful_factor for c in curves]))
    ax.axvline(
        useful * n_train, color="tab:green", ls="--", label=f"largest useful factor ×{useful:.2g}"
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(min(mean.min(), n_train) / 5, first.n_reference * 2)
    ax.set_xlabel("generated events")
    ax.set_ylabel("effective events (worth in real events)")
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    mplhep.cms.text("Simulation", ax=ax, loc=0)
    ax.set_title(title, loc="right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)
    return path


def write_curve(curve: WorthCurve, outdir: Path, *, title: str, force: bool = False) -> Path:
    """``worth.json`` and ``worth.png``/``.pdf`` of one model's curve (atomically)."""
    import dataclasses

    with atomic_directory(outdir, force=force) as tmp:
        (tmp / "worth.json").write_text(json.dumps(json_safe(dataclasses.asdict(curve)), indent=1))
        plot_worth([curve], tmp / "worth.png", title=title)
    return outdir


def _fmt(value: float, saturated: bool = False) -> str:
    return ("≥ " if saturated else "") + f"{value:.2f}"


def _html(study: AmplificationStudy, figures: Sequence[str]) -> str:
    esc = html.escape
    rows = study.summary()
    factors = study.setup["factors"]
    head = "".join(f"<th>×{f:g}</th>" for f in factors)
    overall = []
    for row in rows:
        cells = "".join(
            f"<td>{_fmt(v['amplification'], v['saturated'])} ± {v['spread']:.2f}</td>"
            for v in row["factors"].values()
        )
        train = row.get("training")
        own = f"{train['amplification']:.2f} ± {train['spread']:.2f}" if train else "—"
        bound = "≥ " if row["asymptotic_saturated"] else ""
        overall.append(
            f"<tr><td>{row['n_train']:,}</td>{cells}<td>{own}</td>"
            f"<td>{bound}{row['asymptotic_amplification']:.2f}</td>"
            f"<td>{bound}{row['largest_useful_factor']:.2g}</td><td>{row['resolution']:.1f}</td></tr>"
        )
    counted = set(next(iter(study.curves.values()))[0].counted)
    names = list(rows[0]["at_useful_factor"]["per_feature"])
    feat_head = "".join(f"<th>{esc(n)}{'' if n in counted else ' *'}</th>" for n in names)
    per_feature = "".join(
        f"<tr><td>{row['n_train']:,} (×{row['at_useful_factor']['factor']:g})</td>"
        + "".join(
            f'<td class="{"low" if v < 1 and n in counted else ""}">{v:.2f}</td>'
            for n, v in row["at_useful_factor"]["per_feature"].items()
        )
        + "</tr>"
        for row in rows
    )
    imgs = "".join(f'<figure><img src="{esc(f)}" alt="{esc(f)}"></figure>' for f in figures)
    setup = esc(json.dumps(json_safe(study.setup)))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>evmult amplification: {esc(study.channel)}</title>
<style>{PAGE_STYLE}
td.low{{background:#fdd}} img{{width:560px}}</style>
</head><body><h1>What generated <code>{esc(study.channel)}</code> events are worth</h1>
<p>{esc(study.setup["model"])} trained on random draws of the table; every event not drawn
is the reference. Amplification = effective real events / training events, in
{study.setup["bins"]} equal-probability bins of the reference per feature (one bin per value
for integer features); ± is the spread over {study.setup["repeats"]} draw(s) (over the
histograms' statistical noise for one draw). A value at or above the resolution
(reference / training events) cannot be resolved: ≥ marks such lower bounds.</p>
<h2>Overall</h2><table><tr><th>training events</th>{head}<th>training sample itself</th>
<th>asymptote (∞ events)</th><th>largest useful factor</th><th>resolution</th></tr>
{"".join(overall)}</table>
<h2>Per feature, at the largest useful factor</h2>
<p>* not counted in the overall figures (absolute azimuths). Red: worth less than the
training sample.</p>
<table><tr><th>training events</th>{feat_head}</tr>{per_feature}</table>
<h2>Figures</h2>{imgs}
<p><small>setup: {setup}</small></p></body></html>
"""


def write_study(study: AmplificationStudy, outdir: Path, *, force: bool = False) -> Path:
    """``amplification.json``, one ``amplification_<size>.png``/``.pdf`` per training
    size and ``amplification.html``, written atomically."""
    with atomic_directory(outdir, force=force) as tmp:
        (tmp / "amplification.json").write_text(json.dumps(json_safe(study.to_dict()), indent=1))
        figures = []
        for size, curves in study.curves.items():
            name = f"amplification_{size}.png"
            title = f"{study.channel}: {study.setup['model']}, {size:,} train"
            plot_worth(curves, tmp / name, title=title)
            figures.append(name)
        (tmp / "amplification.html").write_text(_html(study, figures))
    return outdir


def describe(worth: dict[str, Any]) -> str:
    """One line on a model's recorded worth (``info["worth"]``)."""
    bound = "≥ " if worth["lower_bound"] else ""
    return (
        f"worth {worth['amplification']:.2f}× its training events at ×{worth['at_factor']:g}; "
        f"largest useful factor {bound}{worth['largest_useful_factor']:.2g}"
    )
