"""The bodies-as-bytes section of the report (issue 15 item 3): the 1 MB JSON echo of
suite_bodies.py, throughput against the bare echo and the CPU each process spent per MB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LABELS = {"bare": "bare aiohttp echo (the limit)", "ts": "motia-core, TypeScript step", "py": "motia-core, Python step"}
TARGET = 0.5  # issue 15: the echo through a step keeps at least half of the bare echo's throughput


def render_bodies(res: dict[str, Any], w: Callable[[str], None]) -> None:
    bodies: dict[str, Any] = res.get("bodies") or {}
    runs: dict[str, dict[str, Any]] = bodies.get("runs") or {}
    if not runs:
        return
    mb = bodies["body_bytes"] / 1e6
    w(f"\n## Bodies as bytes: a {mb:g} MB JSON echo (c{bodies['c']})\n")
    w(
        "`POST /echo/<lang>` with a 1 MB JSON body that the step returns (bench/benchlib/suite_bodies.py); "
        "the bare echo parses and re-encodes the same body. CPU = utime + stime of each process over a "
        "fixed-length wrk run, per request and so per MB of request body (each request carries 1 MB back too). "
        f"Target (issue 15): the TS and Python echoes at >= {TARGET * 100:.0f} % of the bare echo's throughput.\n"
    )
    w("| system | req/s | p50 | of bare | CPU ms per MB, by process | target |")
    w("|---|---|---|---|---|---|")
    bare = runs.get("bare", {}).get("rps")
    for key in ("bare", "ts", "py"):
        run = runs.get(key)
        if not run:
            continue
        share = run["rps"] / bare if bare else None
        cpu = ", ".join(f"{name} {ms:.2f}" for name, ms in run["cpu_ms_per_mb"].items() if ms >= 0.01)
        verdict = "–" if key == "bare" or share is None else ("met" if share >= TARGET else "missed")
        of_bare = "100 %" if key == "bare" else (f"{share * 100:.0f} %" if share is not None else "–")
        w(f"| {LABELS[key]} | {run['rps']:,.1f} | {run['p50_ms']:,.1f} ms | {of_bare} | {cpu} | {verdict} |")
    w("")
    floor: dict[str, float] = bodies.get("floor_ms_per_request") or {}
    bare_ms = (runs.get("bare", {}).get("cpu_ms_per_mb") or {}).get("bare aiohttp")
    if floor and bare_ms:
        # The core, its runners and the bare echo each get one CPU: at half the bare echo's rate the
        # core and the runner together may spend twice the bare echo's CPU per request, no more.
        budget = bare_ms * mb / TARGET
        parts = ", ".join(
            f"{name} {ms:.2f} ms ({'JSON.parse + JSON.stringify' if name == 'node' else 'orjson loads + dumps'})"
            for name, ms in sorted(floor.items())
        )
        w(
            f"Floor (suite_bodies.floors: parse and re-encode the same body in a plain process, CPU per request): "
            f"{parts}. The target leaves the core and a runner {budget:.2f} ms per request together "
            f"(twice the bare echo's {bare_ms * mb:.2f} ms)."
        )
        w("")
