"""What every part of the report shares: display names, number formatting, markdown tables and
the per-run figures (median run, CPU and context switches per request)."""

from __future__ import annotations

import math
from typing import Any

NAMES = {
    "bare": "bare aiohttp (the limit)",
    "ts": "motia-core, TypeScript step",
    "js": "motia-core, JavaScript step",
    "py": "motia-core, Python step",
    "rb": "motia-core, Ruby step",
    "go": "motia-core, Go step",
}
CLASSIC_NAMES = {"ts": "classic Motia, TypeScript step", "py": "classic Motia, Python step"}
LANGS = {"ts": "TS", "js": "JS", "py": "Python", "rb": "Ruby", "go": "Go"}
RUNNER_OF = {"ts": "node runner", "js": "node runner", "py": "python runner", "rb": "ruby runner", "go": "go runner"}
P = ("p50", "p90", "p99", "p99_9")
PLABEL = {"p50": "p50", "p90": "p90", "p99": "p99", "p99_9": "p99.9"}


# -- formatting ------------------------------------------------------------------------------------


def ms(us: float | None) -> str:
    if us is None or (isinstance(us, float) and math.isnan(us)):
        return "–"
    if abs(us) < 1000:
        return f"{us:.0f} µs"
    if abs(us) < 100_000:
        return f"{us / 1000:.2f} ms"
    return f"{us / 1000:,.0f} ms"


def num(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def ratio(x: float | None) -> str:
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}×"
    return f"{x:,.1f}×" if x >= 10 else f"{x:.2f}×"


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f} %"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# -- per-run figures -------------------------------------------------------------------------------


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r["rps"])
    return ordered[(len(ordered) - 1) // 2]


def cpu_us(run: dict[str, Any]) -> float | None:
    """CPU µs per request of the whole server (every process of its tree) in one run."""
    r = run.get("resources", {})
    if not r.get("by_role") or not run.get("requests"):
        return None
    return float(sum(x["cpu_pct"] for x in r["by_role"].values()) / 100 * r["wall_s"] / run["requests"] * 1e6)


def cpu_per_request(run: dict[str, Any], role: str) -> float | None:
    r = run.get("resources", {}).get("by_role", {}).get(role)
    if not r or not run.get("requests"):
        return None
    wall = run["resources"]["wall_s"]
    return float(r["cpu_pct"] / 100 * wall / run["requests"] * 1e6)


def ctx_per_request(run: dict[str, Any], roles: list[str]) -> str:
    by_role = run.get("resources", {}).get("by_role", {})
    n = sum(by_role.get(r, {}).get("ctx_switches", 0) for r in roles if r)
    return f"{n / run['requests']:.1f}" if run.get("requests") and n else "–"


def idle_moment(*snaps: tuple[str, dict[str, Any] | None]) -> str:
    """When the (label, snapshot) idle snapshots were taken: "2 s after the first 200 OK" (before
    memory_idle.settle), or once the tree's RSS settled, with how long each waited and whether it fell."""
    settles = [(label, s.get("settle")) for label, s in snaps if s]
    if not settles or not all(x for _, x in settles):
        return "2 s after the first 200 OK"
    waited = ", ".join(
        f"{label} after {x['waited_s']:.0f} s ({'its RSS fell' if x['fell'] else 'its RSS did not fall'})"
        for label, x in settles
        if x
    )
    bound = max(x["max_s"] for _, x in settles if x)
    return (
        "once the RSS settled after the first 200 OK (read every second from 2 s on; taken when flat for 3 s "
        f"after a fall of over 1 MB, at most at {bound:g} s: V8 gives back what the start used at a later GC): "
        + waited
    )
