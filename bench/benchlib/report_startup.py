"""Where a cold start's time goes (suite_startup.cold_phases), under the cold start table."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from benchlib.report_format import table
from benchlib.suite_startup import DETAIL, PHASES


def warmup_note(res: dict[str, Any]) -> str:
    """The method sentence for the start run before the counted ones (suite_startup.cold_start)."""
    warm: list[float] | None = res.get("cold_start", {}).get("motia_core", {}).get("warmup_s")
    if warm is None:  # a run from before the warm-up start: every start counted
        return ""
    took = f" (it took {warm[0] * 1000:,.0f} ms)" if warm else " (it did not answer)"
    return (
        " One start runs first and is not counted"
        + took
        + ": it leaves the page cache, the checkout's .pyc and the Node runner's V8 compile cache "
        "(~/.cache) as every later start finds them, so the counted starts all measure the same state."
    )


def render_cold_phases(res: dict[str, Any], w: Callable[[str], None]) -> None:
    phases: list[dict[str, float]] = res.get("cold_start", {}).get("motia_core", {}).get("phases_ms") or []
    if not phases:
        return
    w(
        f"Where the time goes (median of {len(phases)} starts, read from `serve --log-level debug`: "
        "`runners spawning`, `core imports done`, the runners' `ready` lines, `loaded N steps`, `listening on`; "
        "each start's phases add up to its time, the two `of which` rows run side by side inside `overlap`, "
        "the shares are of the median start):\n"
    )
    total = statistics.median(sum(p.get(n, 0.0) for n, _ in PHASES) for p in phases)
    rows = []
    for name, what in PHASES + DETAIL:
        values = [p[name] for p in phases if name in p]
        mid = statistics.median(values) if values else 0.0
        rows.append([what, f"{mid:,.0f} ms", f"{100 * mid / total:.0f} %" if total else "–"])
    w(table(["phase", "median", "share"], rows))
    w("")
