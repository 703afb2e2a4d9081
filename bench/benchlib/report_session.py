"""The report's "core in its own session vs the caller's" table and target (suite_session.py)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from benchlib.report_format import LANGS, RUNNER_OF, cpu_per_request, ctx_per_request, num, pct, table
from benchlib.spread import Spread, spread

# The caller's session may cost at most this much more CPU per request than the core's own session:
# the same work, scheduled differently. One pair of runs moves ±20 % on this machine; the median of 8
# short interleaved rounds resolves the target (bench/README.md, "Rows that flip with noise").
MAX_CPU_RATIO = 1.25
OTHER_LOAD_PCT = 10.0  # median other load on the servers' CPU above which the row says so


def _cpu(run: dict[str, Any], lang: str) -> float | None:
    core = cpu_per_request(run, "core")
    runner = cpu_per_request(run, RUNNER_OF[lang])
    return None if core is None or runner is None else core + runner


def round_ratios(res: dict[str, Any]) -> dict[str, list[float]]:
    """Per language: CPU per request (core + runner) caller / own, one ratio per interleaved round."""
    out: dict[str, list[float]] = {}
    for lang, modes in res.get("api_session", {}).items():
        ratios: list[float] = []
        for own_run, caller_run in zip(modes.get("own", []), modes.get("caller", []), strict=False):
            own, caller = _cpu(own_run, lang), _cpu(caller_run, lang)
            if own and caller is not None:
                ratios.append(caller / own)
        if ratios:
            out[lang] = ratios
    return out


def cpu_ratios(res: dict[str, Any]) -> dict[str, Spread]:
    """Per language: the median and quartiles of the per-round ratios."""
    return {lang: s for lang, rs in round_ratios(res).items() if (s := spread(rs)) is not None}


def _times(x: float) -> str:
    return f"{x:.2f}×"


def session_target(res: dict[str, Any]) -> dict[str, str] | None:
    ratios = cpu_ratios(res)
    if not ratios:
        return None
    worst = max(ratios, key=lambda k: ratios[k].median)
    return {
        "target": f"Core in the caller's session: CPU per request ≤ {MAX_CPU_RATIO:g}× its own session's "
        "(Python, Ruby, TS at c16)",
        "status": "met" if ratios[worst].median <= MAX_CPU_RATIO else "missed",
        "measured": ", ".join(f"{LANGS[k]} {v.text(_times)}" for k, v in ratios.items())
        + f" (worst: {LANGS[worst]}; median of the per-round ratios)"
        + _other_load(res),
    }


def _other_load(res: dict[str, Any]) -> str:
    """Other processes on the servers' CPU cost the core CPU per request (cold caches after each switch),
    and autogroup gives them more of it against one session than the other: say so when it was there."""
    by_mode: dict[str, list[float]] = {"own": [], "caller": []}
    for modes in res.get("api_session", {}).values():
        for mode, runs in modes.items():
            by_mode.setdefault(mode, []).extend(
                float(x) for r in runs if (x := r.get("resources", {}).get("foreign_pct_on_server_cpus")) is not None
            )
    med = {m: statistics.median(v) for m, v in by_mode.items() if v}
    if not med or max(med.values()) < OTHER_LOAD_PCT:
        return ""
    return (
        "; other load on the servers' CPU "
        + ", ".join(f"{m} {v:.0f} %" for m, v in med.items())
        + ": not a quiet machine, the ratio measures the sessions' share of it"
    )


def render_session(res: dict[str, Any], w: Callable[[str], None]) -> None:
    data = res.get("api_session")
    if not data:
        return
    w("### c16 with the core started in the caller's session\n")
    w(
        "Linux (with `kernel.sched_autogroup_enabled=1`) shares CPU time between *sessions* first. The runs "
        "above start motia-core with `setsid` and wrk in a session of its own; here a second motia-core runs "
        "in the bench's own session with wrk in it too, as a plain shell script would start them (same CPU "
        "layout). The runners follow the core into its session (docs/performance.md). *CPU / request* = core "
        "+ the step's runner, from /proc; with the servers' CPU saturated it follows this VM's CPU speed, which "
        "drifts by ±20 % over seconds, as req/s does. Median of the interleaved rounds; *caller / own* is the "
        "median of the per-round ratios of CPU per request, with their quartiles "
        "(a round: one short run in each session, back to back, ABBA order; warm-up runs not counted).\n"
    )
    ratios = cpu_ratios(res)
    rows: list[list[str]] = []
    for lang, modes in data.items():
        for mode in ("own", "caller"):
            runs = modes.get(mode, [])
            if not runs:
                continue
            cpu = [x for r in runs if (x := _cpu(r, lang)) is not None]
            core = [x for r in runs if (x := cpu_per_request(r, "core")) is not None]
            mid = sorted(runs, key=lambda r: r["rps"])[(len(runs) - 1) // 2]
            rows.append(
                [
                    LANGS[lang],
                    "own (setsid)" if mode == "own" else "caller's (with wrk)",
                    num(statistics.median(r["rps"] for r in runs)),
                    f"{statistics.median(cpu):,.0f} µs" if cpu else "–",
                    f"{statistics.median(core):,.0f} µs" if core else "–",
                    ctx_per_request(mid, ["core", RUNNER_OF[lang]]),
                    ratios[lang].text(_times) if mode == "caller" and lang in ratios else "",
                    pct(mid["resources"].get("foreign_pct_on_server_cpus", 0) / 100)
                    if mid["resources"].get("foreign_pct_on_server_cpus") is not None
                    else "–",
                ]
            )
    w(
        table(
            [
                "step",
                "core's session",
                "req/s",
                "CPU / request",
                "of which core",
                "context switches / request",
                "caller / own (CPU)",
                "other load",
            ],
            rows,
        )
    )
    w("")
