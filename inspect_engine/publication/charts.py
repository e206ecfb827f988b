"""Charts of the published population estimates (PNG, matplotlib's object API: no global
pyplot state, safe in a web server)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any


def estimates_chart(estimates: Mapping[str, Any]) -> bytes:
    """Bars of the estimated share with problems and their 95% intervals, per district and
    per industry section; domains with too few observations are left out. Axes carry the
    codes (the page beside the chart names them), so no CJK font is needed."""
    from matplotlib.figure import Figure

    panels = [
        ("by_district", "by district (GB/T 2260)"),
        ("by_industry_section", "by industry section (GB/T 4754)"),
    ]
    figure = Figure(figsize=(8, 7), dpi=100)
    axes = figure.subplots(2, 1)
    for ax, (key, title) in zip(axes, panels, strict=True):
        rows = [r for r in estimates.get(key, []) if r.get("enough") and r.get("share")]
        names = [str(r["key"]) for r in rows]
        _bars(ax, names, rows)
        ax.set_title(title, fontsize=10)
    overall = estimates.get("overall", {})
    if overall.get("share") is not None:
        figure.suptitle(
            f"{estimates.get('month', '')}: {float(overall['share']):.1%} "
            f"[{float(overall['ci_low']):.1%}, {float(overall['ci_high']):.1%}] (95%)",
            fontsize=11,
        )
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _bars(ax: Any, names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        ax.text(0.5, 0.5, "not enough observations", ha="center", va="center")
        ax.set_axis_off()
        return
    share = [float(r["share"]) for r in rows]
    # A small domain's Horvitz–Thompson share can leave [0, 1] while its Wilson interval
    # stays inside, so the bar can end outside its interval: that side gets no whisker.
    low = [max(0.0, s - float(r["ci_low"])) for s, r in zip(share, rows, strict=True)]
    high = [max(0.0, float(r["ci_high"]) - s) for s, r in zip(share, rows, strict=True)]
    positions = list(range(len(rows)))
    ax.bar(positions, share, yerr=[low, high], capsize=3, color="#3d6fb6")
    ax.set_xticks(positions, names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("share with problems")
    ax.set_ylim(bottom=0)
