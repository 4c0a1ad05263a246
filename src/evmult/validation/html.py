"""The HTML page of a validation report (``report.html``) and the style every evmult
page shares."""

from __future__ import annotations

import html
import math

from evmult._version import __version__
from evmult.validation.flags import (
    FALSE_FLAG_RATE,
    FLAG_FACTOR,
    NOVELTY_MIN,
    c2st_flagged,
    correlation_flagged,
    ratio,
    worth_below_training,
)
from evmult.validation.record import ValidationReport, worth_text

__all__ = ["PAGE_STYLE", "report_html"]


PAGE_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1400px}\n"
    "table{border-collapse:collapse;margin-bottom:1em}\n"
    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}\n"
    "figure{display:inline-block;margin:4px}"
)
"""The style every evmult HTML page shares (reports, studies)."""


def cell(value: float | None, digits: str = ".4f") -> str:
    return "—" if value is None or not math.isfinite(value) else format(value, digits)


def report_html(report: ValidationReport) -> str:
    esc = html.escape
    c = report.c2st
    ess = report.effective_size or {}
    rows = [
        (
            "classifier AUC (0.5 = indistinguishable)",
            f"{c['auc']:.4f} ± {c['auc_std']:.4f}",
            f"{c['floor_auc']:.4f}",
            c2st_flagged(c),
        )
    ]
    for method in ("pearson", "spearman"):
        corr = report.correlations[method]
        rows.append(
            (
                f"{method} correlations, max |Δ|",
                f"{corr['max_abs']:.4f}",
                f"{corr['floor_max_abs']:.4f} ± {corr['floor_max_abs_std']:.4f}",
                correlation_flagged(corr),
            )
        )
    worst = max(report.features, key=lambda f: ratio(f["ks"], f["ks_floor"]))
    rows.append(
        (
            f"largest KS ({worst['name']})",
            cell(worst["ks"]),
            f"{cell(worst['ks_floor'])} (band {cell(worst['ks_band'])})",
            worst["flagged"],
        )
    )
    if report.novelty:
        nov = report.novelty
        rows.append(
            (
                "novelty (1 = as new as fresh real events)",
                f"{nov['ratio']:.3f}",
                "1",
                nov["ratio"] < NOVELTY_MIN,
            )
        )
    if ess:
        below = ess.get("amplification") is not None and worth_below_training(
            ess, report.inputs["train"]["n"]
        )
        rows.append(
            (
                f"worth in real events (vs {ess['reference']})",
                worth_text(ess, report.inputs).removeprefix("worth "),
                f"{ess['n_generated']:,.0f} generated",
                below,
            )
        )
    headline = "".join(
        f'<tr class="{"flag" if bad else "ok"}"><td>{esc(name)}</td><td>{esc(value)}</td>'
        f"<td>{esc(floor)}</td><td>{'flagged' if bad else 'ok'}</td></tr>"
        for name, value, floor, bad in rows
    )
    per_ess = ess.get("per_feature", {})
    features = "".join(
        f'<tr class="{"flag" if f["flagged"] else "ok"}"><td>{esc(f["name"])}</td>'
        f"<td>{f['n_real']:,}</td><td>{f['n_generated']:,}</td>"
        f"<td>{cell(f['ks'])}</td><td>{cell(f['ks_floor'])}</td><td>{cell(f['ks_band'])}</td>"
        f"<td>{cell(f['w1_iqr'])}</td><td>{cell(f['w1_iqr_floor'])}</td>"
        f"<td>{cell(f['w1_iqr_band'])}</td>"
        f"<td>{cell(per_ess.get(f['name']), ',.0f')}</td></tr>"
        for f in report.features
    )
    peaks = ""
    for name, fits in report.peaks.items():
        cells = "".join(
            f"<td>{esc(fits[role]['error'])}</td><td></td>"
            if "error" in fits[role]
            else f"<td>{fits[role]['position']:.5g} ± {fits[role]['position_error']:.2g}</td>"
            f"<td>{fits[role]['width']:.4g} ± {fits[role]['width_error']:.2g}</td>"
            for role in ("real", "generated")
        )
        peaks += f"<tr><td>{esc(name)}</td>{cells}</tr>"
    phys = "".join(
        f"<tr><td>{esc(k)}</td><td>{v['real']:.4%}</td><td>{v['generated']:.4%}</td></tr>"
        for k, v in report.physicality.items()
    )
    holes = "".join(
        f'<tr class="{"flag" if v["generated"] > v["band"] else "ok"}"><td>{esc(k)}</td>'
        f"<td>{v['real']:.2%} ± {v['real_std']:.2%}</td><td>{v['band']:.2%}</td>"
        f"<td>{v['generated']:.2%}</td><td>{v['events']:,}</td><td>{v['bins_per_axis']}²</td></tr>"
        for k, v in report.holes.items()
    )
    inputs = "".join(
        f"<tr><td>{esc(role)}</td><td><code>{esc(str(i['source']))}</code></td>"
        f"<td>{i['n']:,}</td><td>{i['sum_weights']:.6g}</td></tr>"
        for role, i in report.inputs.items()
    )
    flags = "".join(f"<li>{esc(f)}</li>" for f in report.flags) or "<li>none</li>"
    figures = "".join(
        f'<figure><a href="{esc(p)}"><img src="{esc(p)}" alt="{esc(p)}"></a></figure>'
        for p in report.figures
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>evmult validation: {esc(report.channel)}</title>
<style>{PAGE_STYLE}
td:first-child{{text-align:left}} tr.flag td{{background:#fdd}} img{{width:380px}}</style></head>
<body><h1>Validation of generated <code>{esc(report.channel)}</code> events</h1>
<p>evmult {esc(__version__)}. A metric is flagged when it exceeds {FLAG_FACTOR:g}× its
real-vs-real floor (the value two independent real samples of the same sizes give; for
the AUC, the excess over 0.5) and leaves the floor's band (set for a
{FALSE_FLAG_RATE:.0%} chance of any false flag in this report for a perfect generator).
Novelty below {NOVELTY_MIN} is flagged.</p>
<h2>Inputs</h2><table><tr><th>sample</th><th>source</th><th>events</th>
<th>sum of weights</th></tr>{inputs}</table>
<h2>Summary</h2><table><tr><th>metric</th><th>value</th><th>floor</th><th></th></tr>
{headline}</table>
<h2>Flags</h2><ul>{flags}</ul>
<h2>Per feature</h2><table><tr><th>feature</th><th>n real</th><th>n generated</th>
<th>KS</th><th>KS floor</th><th>KS band</th><th>W1/IQR</th><th>W1/IQR floor</th>
<th>W1/IQR band</th>
<th>worth (events)</th></tr>{features}</table>
<h2>Mass peaks (Gaussian core)</h2><table><tr><th>mass</th><th>real position</th>
<th>real width</th><th>generated position</th><th>generated width</th></tr>{peaks}</table>
<h2>Physicality</h2><table><tr><th>check</th><th>real</th><th>generated</th></tr>{phys}
</table>
<h2>Holes (empty bins, equal sizes)</h2><table><tr><th>histogram</th>
<th>real halves</th><th>band</th><th>generated</th><th>events</th><th>bins</th></tr>{holes}
</table>
<h2>Figures</h2>{figures}
</body></html>
"""
