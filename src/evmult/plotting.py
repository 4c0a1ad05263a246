"""Figures in the field's look: hist for binning, mplhep for style and labels.

matplotlib and mplhep are imported inside the functions, so importing evmult never
pulls in a plotting backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import hist
import numpy as np

__all__ = ["auto_axis", "plot_comparison", "plot_correlations", "plot_distributions"]

_DISCRETE_MAX_VALUES = 25


def auto_axis(
    values: Sequence[np.ndarray], name: str, label: str, bins: int = 50
) -> hist.axis.AxisProtocol:
    """A binning that shows every sample: integer bins for discrete features, else
    a regular axis over the 0.5-99.5 % quantiles of all samples together."""
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    if finite.size == 0:
        return hist.axis.Regular(1, 0.0, 1.0, name=name, label=label)
    uniq = np.unique(finite)
    if uniq.size <= _DISCRETE_MAX_VALUES and np.all(uniq == np.round(uniq)):
        lo, hi = int(uniq.min()), int(uniq.max())
        return hist.axis.Integer(
            lo, hi + 1, name=name, label=label, underflow=False, overflow=False
        )
    lo, hi = np.quantile(finite, [0.005, 0.995])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return hist.axis.Regular(bins, float(lo), float(hi), name=name, label=label)


def _filled(
    axis: hist.axis.AxisProtocol, values: np.ndarray, weights: np.ndarray | None
) -> hist.Hist:
    """A weighted histogram of the finite values (integer axes get integer values)."""
    ok = np.isfinite(values)
    h = hist.Hist(axis, storage=hist.storage.Weight())
    filled = values[ok].astype(int) if isinstance(axis, hist.axis.Integer) else values[ok]
    h.fill(filled, weight=None if weights is None else np.asarray(weights)[ok])
    return h


def plot_distributions(
    samples: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
    name: str,
    label: str,
    path: str | Path,
    *,
    title: str = "Simulation",
) -> Path:
    """Normalised histograms of one feature for one or more samples, saved as PNG.

    Args:
        samples: sample label -> (values, weights or None); NaNs are skipped.
        name: feature name (axis name).
        label: x-axis label.
        path: output PNG path (a PDF is written beside it).
        title: the experiment-style label's text.

    Returns:
        The PNG path.
    """
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    axis = auto_axis([v for v, _ in samples.values()], name, label)
    fig, ax = plt.subplots(figsize=(6, 5))
    for sample, (values, weights) in samples.items():
        h = _filled(axis, values, weights)
        n = int(np.isfinite(values).sum())
        mplhep.histplot(h, ax=ax, density=True, yerr=True, label=f"{sample} ({n:,})")
    ax.set_xlabel(label)
    ax.set_ylabel("normalised")
    ax.legend(fontsize="small")
    mplhep.label.exp_label(exp="evmult", llabel=title, com=13, ax=ax, data=False)
    path = Path(path)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    fig.savefig(path.with_suffix(".pdf"), bbox_inches="tight")
    plt.close(fig)
    return path


def _density(h: hist.Hist) -> tuple[np.ndarray, np.ndarray]:
    """Normalised bin contents and their statistical errors."""
    total = h.values().sum()
    widths = h.axes[0].widths
    norm = total * widths if total > 0 else np.ones_like(widths)
    variances = h.variances()
    assert variances is not None  # filled with weights: Weight storage
    return h.values() / norm, np.sqrt(variances) / norm


def plot_comparison(
    reference: tuple[np.ndarray, np.ndarray | None],
    generated: tuple[np.ndarray, np.ndarray | None],
    name: str,
    label: str,
    path: str | Path,
    *,
    labels: tuple[str, str] = ("simulation", "generated"),
    others: Mapping[str, tuple[np.ndarray, np.ndarray | None]] | None = None,
    title: str = "Simulation",
    bins: int = 50,
) -> Path:
    """Reference vs generated distribution of one feature, with a ratio panel.

    Both are normalised to unit area; error bars and the grey band are the statistical
    uncertainties of the generated and reference histograms. Saved as PNG and PDF.
    Further samples (e.g. the training events) are drawn as lines in the upper panel.

    Args:
        reference: (values, weights or None) of the real sample.
        generated: (values, weights or None) of the generated sample.
        name: feature name.
        label: x-axis label.
        path: output PNG path.
        labels: legend labels of the two samples.
        others: label -> (values, weights or None) of further samples to overlay.
        title: the experiment-style label's text.
        bins: bins of a continuous feature (e.g. more for a narrow mass peak).

    Returns:
        The PNG path.
    """
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    others = dict(others or {})
    axis = auto_axis([reference[0], generated[0]], name, label, bins=bins)
    hists = [_filled(axis, values, weights) for values, weights in (reference, generated)]
    (ref, ref_err), (gen, gen_err) = _density(hists[0]), _density(hists[1])
    edges = np.asarray(axis.edges)  # type: ignore[attr-defined]  # hist axes have edges
    fig, (ax, rax) = plt.subplots(
        2, 1, figsize=(6, 6), sharex=True, gridspec_kw={"height_ratios": (3, 1), "hspace": 0.05}
    )
    mplhep.histplot(ref, edges, yerr=ref_err, ax=ax, label=labels[0], histtype="fill", alpha=0.35)
    mplhep.histplot(
        gen, edges, yerr=gen_err, ax=ax, label=labels[1], histtype="errorbar", color="k"
    )
    for other, (values, weights) in others.items():
        density, _ = _density(_filled(axis, values, weights))
        mplhep.histplot(density, edges, ax=ax, label=other, histtype="step", ls="--")
    ax.set_ylabel("normalised")
    ax.legend(fontsize="small")
    mplhep.label.exp_label(exp="evmult", llabel=title, com=13, ax=ax, data=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ref > 0, gen / ref, np.nan)
        ratio_err = np.where(ref > 0, gen_err / ref, 0.0)
        band = np.where(ref > 0, ref_err / ref, 0.0)
    rax.stairs(1 + band, edges, baseline=1 - band, fill=True, color="grey", alpha=0.4)
    mplhep.histplot(ratio, edges, yerr=ratio_err, ax=rax, histtype="errorbar", color="k")
    rax.axhline(1.0, color="grey", lw=1)
    rax.set_ylim(0.5, 1.5)
    rax.set_ylabel(f"{labels[1][:3]}. / {labels[0][:3]}.")
    rax.set_xlabel(label)
    ax.set_xlabel("")
    path = Path(path)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    fig.savefig(path.with_suffix(".pdf"), bbox_inches="tight")
    plt.close(fig)
    return path


def plot_correlations(
    reference: np.ndarray,
    generated: np.ndarray,
    names: Sequence[str],
    path: str | Path,
    *,
    labels: tuple[str, str] = ("simulation", "generated"),
    method: str = "Pearson",
) -> Path:
    """Correlation matrices of the reference and the generated sample and their
    difference, side by side. Saved as PNG and PDF.

    Args:
        reference: correlation matrix of the real sample (k × k).
        generated: correlation matrix of the generated sample (k × k).
        names: the k feature names.
        path: output PNG path.
        labels: titles of the first two panels.
        method: the correlation's name for the titles.

    Returns:
        The PNG path.
    """
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    k = len(names)
    diff = generated - reference
    limit = max(float(np.abs(diff).max()), 0.05)
    size = max(4.0, 0.32 * k + 1.5)
    fig, axes = plt.subplots(1, 3, figsize=(3 * size + 1.5, size), constrained_layout=True)
    panels = (
        (reference, f"{method}: {labels[0]}", 1.0),
        (generated, f"{method}: {labels[1]}", 1.0),
        (diff, f"{labels[1]} − {labels[0]}", limit),
    )
    for ax, (matrix, title, vmax) in zip(axes, panels, strict=True):
        image = ax.imshow(matrix, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(title, fontsize="medium")
        ax.set_xticks(range(k), names, rotation=90, fontsize="x-small")
        ax.set_yticks(range(k), names, fontsize="x-small")
        fig.colorbar(image, ax=ax, shrink=0.8)
    path = Path(path)
    fig.savefig(path, dpi=100)
    fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)
    return path
