"""Figures are written (PNG + PDF) for continuous and discrete features."""

from __future__ import annotations

from pathlib import Path

import hist
import numpy as np

from evmult.plotting import auto_axis, plot_comparison


def test_comparison_with_ratio_panel(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    real, gen = rng.normal(91, 3, 5_000), rng.normal(91, 3.3, 8_000)
    png = plot_comparison(
        (real, None), (gen, np.full(8_000, 0.5)), "mll", "mll [GeV]", tmp_path / "mll.png"
    )
    assert png.stat().st_size > 10_000
    assert (tmp_path / "mll.pdf").is_file()


def test_discrete_features_get_integer_bins(tmp_path: Path) -> None:
    njet = np.array([0, 0, 1, 2, 3, 0, 1, np.nan])
    axis = auto_axis([njet], "nJet", "jets")
    assert isinstance(axis, hist.axis.Integer)
    assert list(axis.edges) == [0, 1, 2, 3, 4]
    png = plot_comparison((njet, None), (njet[::-1], None), "nJet", "jets", tmp_path / "n.png")
    assert png.is_file()
