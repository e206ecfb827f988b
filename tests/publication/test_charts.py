"""The estimates chart draws whatever estimates a publication can store."""

from __future__ import annotations

from typing import Any

from inspect_engine.publication.charts import estimates_chart


def _domain(key: str, share: str, low: str, high: str) -> dict[str, Any]:
    return {"key": key, "share": share, "ci_low": low, "ci_high": high, "enough": True}


def test_a_share_outside_its_interval_still_draws() -> None:
    """An HT share of a small domain can exceed 1 while its Wilson interval ends at 1."""
    estimates = {
        "month": "2026-10",
        "overall": {"share": "0.12", "ci_low": "0.10", "ci_high": "0.14"},
        "by_district": [
            _domain("440103", "1.0800", "0.4100", "1.0000"),  # above its interval
            _domain("440104", "0.0500", "0.0200", "0.1100"),
        ],
        "by_industry_section": [_domain("F", "0.2000", "0.2100", "0.3000")],  # below it
    }
    png = estimates_chart(estimates)
    assert png[:4] == b"\x89PNG" and len(png) > 1000
