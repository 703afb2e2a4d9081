"""Where a cold start's time goes (suite_startup.cold_phases), under the cold start table."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from benchlib.report_format import table
from benchlib.suite_startup import PHASES


def render_cold_phases(res: dict[str, Any], w: Callable[[str], None]) -> None:
    phases: list[dict[str, float]] = res.get("cold_start", {}).get("motia_core", {}).get("phases_ms") or []
    if not phases:
        return
    w(
        f"Where the time goes (median of {len(phases)} starts, read from `serve --log-level debug`: the runners' "
        "`ready` lines, `loaded N steps in X ms`, `listening on`; each start's phases add up to its time, the "
        "shares are of the median start):\n"
    )
    total = statistics.median(sum(p.values()) for p in phases)
    rows = []
    for name, what in PHASES:
        values = [p[name] for p in phases if name in p]
        mid = statistics.median(values) if values else 0.0
        rows.append([what, f"{mid:,.0f} ms", f"{100 * mid / total:.0f} %" if total else "–"])
    w(table(["phase", "median", "share"], rows))
    w("")
