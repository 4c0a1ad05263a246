"""Figures and HTML pages of the classifier studies (:mod:`evmult.classify`,
:mod:`evmult.classify_parameterised`), in the field's look (mplhep).

matplotlib and mplhep are imported inside the functions.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evmult.validation.html import PAGE_STYLE

__all__ = [
    "figure_axes",
    "headline",
    "plot_learning_curve",
    "plot_parameter_scan",
    "plot_rejection",
    "plot_scores",
    "save_figure",
    "training",
    "write_html",
]

_STYLES = {
    "real+generated": ("*", "tab:red"),
    "real+copies": ("x", "tab:grey"),
    "signal+generated": ("*", "tab:red"),
    "background+generated": ("D", "tab:green"),
}


def figure_axes(figsize: tuple[float, float], **kwargs: Any) -> tuple[Any, Any]:
    """A figure and its axes in the CMS style of mplhep (the Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.CMS)
    return plt.subplots(figsize=figsize, **kwargs)


def save_figure(fig: Any, path: Path) -> Path:
    """Save ``fig`` as ``path`` and as a PDF beside it, and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(path)
    fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)
    return path


def plot_learning_curve(rows: Sequence[Mapping[str, Any]], path: Path, *, title: str) -> Path:
    """Test AUC against real signal training events, with the multiplied trainings at
    their real budget and a dotted line to where the real-only curve reaches them."""
    import mplhep

    fig, ax = figure_axes((10, 7))
    real = [r for r in rows if r["training"] == "real"]
    ax.errorbar(
        [r["n_real"] for r in real],
        [r["metrics"]["auc"]["value"] for r in real],
        yerr=[r["metrics"]["auc"]["std"] for r in real],
        fmt="o-",
        color="k",
        label="real only",
    )
    for row in rows:
        if row["training"] == "real":
            continue
        marker, color = _STYLES.get(row["training"], ("s", "tab:blue"))
        auc = row["metrics"]["auc"]
        ax.errorbar(
            [row["n_real"]],
            [auc["value"]],
            yerr=[auc["std"]],
            fmt=marker,
            color=color,
            ms=12,
            label=f"{row['training']} ×{row['factor']:g} (worth {row['equivalent']:,.0f})",
        )
        ax.plot([row["n_real"], row["equivalent"]], [auc["value"]] * 2, ":", color=color)
    ax.set_xscale("log")
    ax.set_xlabel("real signal training events")
    ax.set_ylabel("test ROC AUC")
    ax.legend(fontsize="small", loc="lower right")
    mplhep.cms.text("Simulation", ax=ax, loc=0)
    ax.set_title(title, loc="right", fontsize="small")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_rejection(
    rows: Sequence[Mapping[str, Any]],
    path: Path,
    *,
    title: str,
    efficiencies: Sequence[float],
) -> Path:
    """Background rejection 1/ε_B against signal efficiency for the real budget, the
    largest real sample and the multiplied trainings, with their ratio to the budget's;
    each row's ``roc`` holds the rejections at ``efficiencies``."""
    import mplhep

    fig, (ax, ratio) = figure_axes(
        (10, 9), nrows=2, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    real = [r for r in rows if r["training"] == "real"]
    budget, largest = real[0], real[-1]
    eff = np.asarray(efficiencies)
    base = np.asarray(budget["roc"])
    shown = [(budget, "k", f"real {budget['n_real']:,}")]
    if largest is not budget:
        shown.append((largest, "tab:blue", f"real {largest['n_real']:,}"))
    shown += [
        (r, _STYLES.get(r["training"], ("s", "tab:green"))[1], f"{r['training']} ×{r['factor']:g}")
        for r in rows
        if r["training"] != "real"
    ]
    for row, color, label in shown:
        values = np.asarray(row["roc"])
        ax.plot(eff, values, color=color, label=label)
        ratio.plot(eff, values / base, color=color)
    ax.set_yscale("log")
    ax.set_ylabel(r"background rejection $1/\varepsilon_B$")
    ax.legend(fontsize="small", loc="upper right")
    ratio.axhline(1.0, color="k", lw=0.5)
    ratio.set_ylabel(f"/ real {budget['n_real']:,}")
    ratio.set_xlabel(r"signal efficiency $\varepsilon_S$")
    mplhep.cms.text("Simulation", ax=ax, loc=0)
    ax.set_title(title, loc="right", fontsize="small")
    fig.tight_layout()
    return save_figure(fig, path)


def training(row: Mapping[str, Any]) -> str:
    """A row's training in words, e.g. ``real+generated ×10``."""
    return row["training"] + (f" ×{row['factor']:g}" if row["factor"] else "")


def headline(row: Mapping[str, Any]) -> str:
    """A row's test AUC and rejection at 50 % with their spreads, for the summaries."""
    auc, rejection = row["metrics"]["auc"], row["metrics"]["rejection_50"]
    return (
        f"AUC {auc['value']:.4f} ± {auc['std']:.4f}, "
        f"1/εB(50%) {rejection['value']:.1f} ± {rejection['std']:.1f}"
    )


def plot_scores(rows: Sequence[Mapping[str, Any]], path: Path, *, title: str) -> Path:
    """The test signal's and background's score distributions of the real training
    (the real budget; the first value of a parameterised study) filled, and of the
    multiplied trainings of the same real events as lines (signal solid, background
    dashed)."""
    import mplhep

    first = rows[0].get("value")
    rows = [r for r in rows if r.get("value") == first]
    real = next(r for r in rows if r["training"] == "real")
    others = [r for r in rows if r["training"] != "real" and r["n_real"] == real["n_real"]]
    fig, ax = figure_axes((10, 7))
    edges = np.asarray(real["scores"]["edges"])
    for side, color in (("signal", "tab:blue"), ("background", "tab:orange")):
        mplhep.histplot(
            np.asarray(real["scores"][side]),
            edges,
            ax=ax,
            histtype="fill",
            alpha=0.35,
            color=color,
            label=f"{side}, {training(real)}",
        )
    for row in others:
        _, color = _STYLES.get(row["training"], ("o", "k"))
        for side, style in (("signal", "-"), ("background", "--")):
            mplhep.histplot(
                np.asarray(row["scores"][side]),
                edges,
                ax=ax,
                histtype="step",
                color=color,
                ls=style,
                label=f"{side}, {training(row)}",
            )
    ax.set_yscale("log")
    ax.set_ylim(top=ax.get_ylim()[1] * 30)  # room for the legend
    ax.set_xlabel("classifier score")
    ax.set_ylabel("fraction of test events")
    ax.legend(fontsize="small", loc="upper center")
    ax.set_title(title, loc="right", fontsize="small")
    mplhep.cms.text("Simulation", ax=ax, loc=0)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_parameter_scan(
    rows: Sequence[Mapping[str, Any]], path: Path, *, title: str, parameter: str
) -> Path:
    """Test AUC and background rejection at 50 % signal efficiency against the
    parameter value, one line per training; the left-out value ringed."""
    import mplhep

    fig, (top, bottom) = figure_axes((10, 10), nrows=2, sharex=True)
    trainings = list(dict.fromkeys((r["training"], r["factor"]) for r in rows))
    for kind, factor in trainings:
        line = sorted(
            (r for r in rows if (r["training"], r["factor"]) == (kind, factor)),
            key=lambda r: r["value"],
        )
        marker, color = _STYLES.get(kind, ("o", "k"))
        for ax, key in ((top, "auc"), (bottom, "rejection_50")):
            ax.errorbar(
                [r["value"] for r in line],
                [r["metrics"][key]["value"] for r in line],
                yerr=[r["metrics"][key]["std"] for r in line],
                fmt=marker + "-",
                color=color,
                label=training(line[0]),
            )
            out = [r for r in line if r["left_out"]]
            ax.plot(
                [r["value"] for r in out],
                [r["metrics"][key]["value"] for r in out],
                "o",
                ms=18,
                mfc="none",
                color=color,
            )
    top.set_ylabel("test ROC AUC")
    bottom.set_ylabel(r"$1/\varepsilon_B$ at $\varepsilon_S$ = 50 %")
    bottom.set_yscale("log")
    bottom.set_xlabel(parameter)
    top.legend(fontsize="small", loc="lower right", title="ringed: left out of training")
    mplhep.cms.text("Simulation", ax=top, loc=0)
    top.set_title(title, loc="right", fontsize="small")
    fig.tight_layout()
    return save_figure(fig, path)


def _cell(figure: Mapping[str, float], digits: int) -> str:
    return f"{figure['value']:.{digits}f} ± {figure['std']:.{digits}f}"


def write_html(
    path: Path,
    *,
    title: str,
    summary: str,
    rows: Sequence[Mapping[str, Any]],
    figures: Sequence[Path],
    setup: Mapping[str, Any],
) -> Path:
    """One page: the summary, a table of every training's test figures (with the
    parameter value, the equivalent real events and the verdict where the rows have
    them) and the figures; the style of ``evmult validate``'s report."""
    import json

    from evmult.io.tables import json_safe

    esc = html.escape
    param = "value" in rows[0]
    head = ["classifier", "training"] + (["value"] if param else [])
    head += ["real signal", "generated", "AUC", "1/εB (50 %)", "1/εB (80 %)"]
    head += ["accuracy", "F1", "κ", "worth (real signal)", "verdict"]
    body = []
    for r in rows:
        m = r["metrics"]
        worth = ""
        if "equivalent" in r:
            worth = {"<": "≤ ", ">": "> "}.get(r["bound"], "") + f"{r['equivalent']:,.0f}"
        cells = [r["classifier"], training(r)] + (
            [f"{r['value']:g}" + (" (left out)" if r["left_out"] else "")] if param else []
        )
        cells += [f"{r['n_real']:,}", f"{r['n_generated']:,}", _cell(m["auc"], 4)]
        cells += [_cell(m["rejection_50"], 1), _cell(m["rejection_80"], 2)]
        cells += [_cell(m[k], 3) for k in ("accuracy", "f1", "kappa")]
        cells += [worth, r.get("verdict", "")]
        body.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    imgs = "".join(
        f'<figure><img src="{esc(f.name)}" alt="{esc(f.name)}"></figure>' for f in figures
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>evmult: {esc(title)}</title>
<style>{PAGE_STYLE}
img{{width:560px}} td:nth-child(2){{text-align:left}} td:last-child{{text-align:left}}</style>
</head><body><h1>{esc(title)}</h1>
<p>Every figure is on real test events no generator or classifier trained on; ± is the
spread over Poisson resamples of them. A multiplied training's gain is claimed only
beyond twice its spread, the two trainings compared on the same resamples.</p>
<pre>{esc(summary)}</pre>
<h2>Every training</h2><table><tr>{"".join(f"<th>{esc(h)}</th>" for h in head)}</tr>
{"".join(body)}</table>
<h2>Figures</h2>{imgs}
<p><small>setup: {esc(json.dumps(json_safe(dict(setup))))}</small></p></body></html>
"""
    path.write_text(page)
    return path
