"""Figures of the classifier study (:mod:`evmult.classify`), in the field's look (mplhep).

matplotlib and mplhep are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_learning_curve", "plot_rejection"]

_STYLES = {"real+generated": ("*", "tab:red"), "real+copies": ("x", "tab:grey")}


def _axes(figsize: tuple[float, float], **kwargs: Any) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.CMS)
    return plt.subplots(figsize=figsize, **kwargs)


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path)
    fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)
    return path


def plot_learning_curve(rows: Sequence[Mapping[str, Any]], path: Path, *, title: str) -> Path:
    """Test AUC against real signal training events, with the multiplied trainings at
    their real budget and a dotted line to where the real-only curve reaches them."""
    import mplhep

    fig, ax = _axes((10, 7))
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
    return _save(fig, path)


def plot_rejection(rows: Sequence[Mapping[str, Any]], path: Path, *, title: str) -> Path:
    """Background rejection 1/ε_B against signal efficiency for the real budget, the
    largest real sample and the multiplied trainings, with their ratio to the budget's."""
    import mplhep

    from evmult.classify import ROC_EFFICIENCIES

    fig, (ax, ratio) = _axes((10, 9), nrows=2, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    real = [r for r in rows if r["training"] == "real"]
    budget, largest = real[0], real[-1]
    eff = np.asarray(ROC_EFFICIENCIES)
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
    return _save(fig, path)
