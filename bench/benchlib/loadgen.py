"""HTTP load with wrk (closed loop, or open loop at a fixed rate through lua/wrk_json.lua), and the
percentile helpers every scenario shares."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchlib.procs import pinned, run_bounded

BENCH_DIR = Path(__file__).resolve().parents[1]
WRK_LUA = BENCH_DIR / "lua" / "wrk_json.lua"
HEADLINE = (50.0, 90.0, 99.0, 99.9)


def wrk(
    url: str,
    *,
    connections: int,
    duration: float,
    cpus: str | None,
    method: str | None = None,
    body_file: Path | None = None,
    rate: float | None = None,
    timeout: float = 5.0,
    new_session: bool = True,
) -> dict[str, Any]:
    """One bounded wrk run (-t1). Returns requests, rps, errors and latency percentiles in µs.
    new_session=False runs wrk in the caller's session (bench/session_check.py)."""
    with tempfile.NamedTemporaryFile(prefix="wrk-", suffix=".json", delete=False) as tmp:
        out = Path(tmp.name)
    env = {**os.environ, "WRK_OUT": str(out)}
    if method:
        env["WRK_METHOD"] = method
    if body_file:
        env["WRK_BODY_FILE"] = str(body_file)
    if rate:
        env["WRK_RATE"] = f"{rate:g}"
    argv = pinned(
        cpus,
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            f"--timeout={timeout:g}s",
            "-s",
            str(WRK_LUA),
            url,
        ],
    )
    try:
        proc = run_bounded(
            argv,
            timeout=duration + timeout + 30,
            new_session=new_session,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
        raw = json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw["errors"].values())
    result: dict[str, Any] = {
        "url": url,
        "connections": connections,
        "duration_s": round(seconds, 3),
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds if seconds else 0.0,
        "errors": errors,
        "error_detail": raw["errors"],
        "latency_us": summarize_points(raw["percentiles_us"]),
        "cdf_us": raw["percentiles_us"],
        "mean_us": raw["latency_us"]["mean"],
        "max_us": raw["latency_us"]["max"],
    }
    if rate:
        result.update(
            rate_target=rate, maxlag_ms=raw["maxlag_ms"], late_sends=raw["late_sends"], sendlag_ms=raw["sendlag_ms"]
        )
    return result


def summarize_points(points: Sequence[Sequence[float]]) -> dict[str, float]:
    """{"p50": µs, ...} for the headline percentiles from [[percentile, µs], ...]."""
    table = {float(p): float(v) for p, v in points}
    return {pname(p): table[p] for p in HEADLINE if p in table}


def pname(p: float) -> str:
    return "p" + (f"{p:g}".replace(".", "_") if p % 1 else str(int(p)))


def percentiles(samples_us: Sequence[float]) -> tuple[dict[str, float], list[list[float]]]:
    """Headline percentiles and CDF points (same points as the wrk script) of raw samples (µs)."""
    if not samples_us:
        return {}, []
    data = sorted(samples_us)
    n = len(data)

    def at(p: float) -> float:
        # nearest rank, as HdrHistogram's percentile() does
        rank = max(1, min(n, int(-(-p * n // 100))))
        return data[rank - 1]

    points = [float(p) for p in range(1, 100)]
    points += [p / 10 for p in range(991, 1000)] + [p / 100 for p in range(9991, 10000)] + [100.0]
    cdf = [[p, at(p)] for p in points]
    return {pname(p): at(p) for p in HEADLINE}, cdf
