"""A quick look at an event table: a statistics table and one plot per feature.

This is what ``evmult summary`` (and ``make demo``) shows: the numbers and the shapes of
what a channel selection kept, before anything is learned from it.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evmult.channels import get_channel
from evmult.features import feature_columns, feature_label
from evmult.table import read_table

__all__ = ["Summary", "summarise"]


@dataclass
class Summary:
    """Per-feature statistics of an event table.

    Attributes:
        channel: channel name.
        n_events: number of events.
        yield_: sum of weights.
        rows: one dict per feature (name, n, mean, std, min, median, max).
    """

    channel: str
    n_events: int
    yield_: float
    rows: list[dict[str, float | str]]

    @property
    def text(self) -> str:
        """The statistics as an aligned text table."""
        head = f"{'feature':<16}{'n':>9}{'mean':>11}{'std':>11}{'min':>11}{'median':>11}{'max':>11}"
        lines = [
            f"channel {self.channel}: {self.n_events:,} events, sum of weights {self.yield_:.6g}",
            head,
            "-" * len(head),
        ]
        for r in self.rows:
            nums = "".join(f"{r[k]:>11.4g}" for k in ("mean", "std", "min", "median", "max"))
            lines.append(f"{r['feature']:<16}{r['n']:>9,}{nums}")
        return "\n".join(lines)


def _rows(columns: dict[str, np.ndarray]) -> list[dict[str, float | str]]:
    rows: list[dict[str, float | str]] = []
    for name, values in columns.items():
        ok = values[np.isfinite(values)]
        stats = (
            (ok.mean(), ok.std(), ok.min(), np.median(ok), ok.max()) if ok.size else (np.nan,) * 5
        )
        rows.append(
            {"feature": name, "n": int(ok.size)}
            | dict(zip(("mean", "std", "min", "median", "max"), map(float, stats), strict=True))
        )
    return rows


def summarise(path: str | Path, outdir: str | Path | None = None) -> Summary:
    """Summarise an event table; with ``outdir``, also plot every feature.

    Args:
        path: event table written by ``evmult extract``.
        outdir: directory for ``<feature>.png``/``.pdf``, ``summary.json`` and
            ``summary.html`` (created if missing).

    Returns:
        The :class:`Summary`.
    """
    table = read_table(path)
    meta = table.attrs["evmult"]
    channel = get_channel(meta["channel"])
    columns = feature_columns(table, channel)
    weights = np.asarray(table.weight, dtype=np.float64)
    summary = Summary(channel.name, len(table), float(weights.sum()), _rows(columns))
    if outdir is not None:
        from evmult.plotting import plot_distributions

        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        images = []
        for name, values in columns.items():
            png = plot_distributions(
                {"extracted": (values, weights)},
                name,
                feature_label(name, channel),
                out / f"{name}.png",
            )
            images.append(png.name)
        (out / "summary.json").write_text(
            json.dumps({"metadata": meta, "n_events": len(table), "rows": summary.rows}, indent=1)
        )
        _write_html(out / "summary.html", summary, meta, images)
    return summary


def _write_html(path: Path, summary: Summary, meta: dict, images: list[str]) -> None:
    sources = "".join(
        f"<li><code>{html.escape(s['path'])}</code> (sha256 {s['sha256'][:12]}…)</li>"
        for s in meta["sources"]
    )
    cells = "".join(
        "<tr>"
        + f"<td>{html.escape(str(r['feature']))}</td><td>{r['n']:,}</td>"
        + "".join(f"<td>{r[k]:.4g}</td>" for k in ("mean", "std", "min", "median", "max"))
        + "</tr>"
        for r in summary.rows
    )
    figs = "".join(
        f'<figure><img src="{html.escape(i)}" alt="{html.escape(i)}"></figure>' for i in images
    )
    path.write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>evmult summary: {summary.channel}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}
figure{{display:inline-block;margin:4px}}img{{width:360px}}</style></head>
<body><h1>Channel <code>{summary.channel}</code>: {summary.n_events:,} events</h1>
<p>Sum of weights {summary.yield_:.6g}. Format {html.escape(meta["format"])}, evmult {html.escape(meta["evmult_version"])}.</p>
<h2>Sources</h2><ul>{sources}</ul>
<h2>Cutflow</h2><pre>{html.escape(json.dumps(meta["cutflow"], indent=1))}</pre>
<h2>Features</h2><table><tr><th>feature</th><th>n</th><th>mean</th><th>std</th><th>min</th>
<th>median</th><th>max</th></tr>{cells}</table>
<h2>Distributions</h2>{figs}
</body></html>
"""
    )
