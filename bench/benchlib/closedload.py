"""A closed-loop HTTP load for servers too slow for a fixed wrk window (classic Motia's API steps).

    python bench/benchlib/closedload.py --url URL --connections C --min-seconds S --per-connection N

Why not wrk: wrk counts the requests answered inside its window and divides by the window. Classic
Motia spawns a process per call, so at c16 the 16 requests move together and one round takes ~2.7 s:
a 4 s window holds one finished round and 16 unfinished requests, and the rate it reports (16 / 4 s)
is quantized by the window, not measured (bench/README.md, "Classic Motia's API figure").

Here every connection sends its next request when the answer arrives, as wrk's do, but stops only
once it has sent at least `--per-connection` requests and `--min-seconds` have passed; the requests
in flight then finish. The rate is the completed requests over the time they took (first send to the
last answer), so no request is cut off by a window edge. Little's law (connections / mean latency) is
reported beside it as a check: both estimate the same closed loop's throughput.

Prints one JSON object with the same keys as loadgen.wrk's result, plus the method's own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib.loadgen import percentiles

METHOD = (
    "closed loop: each connection sends until it has sent its share and the minimum time has passed; "
    "rate = completed requests / (first send to last answer)"
)


async def _connection(
    session: aiohttp.ClientSession, url: str, start: float, args: argparse.Namespace, out: dict[str, list[Any]]
) -> None:
    sent = 0
    while sent < args.per_connection or time.perf_counter() - start < args.min_seconds:
        if time.perf_counter() - start > args.max_seconds:
            break  # the bound: a server this slow still yields a figure, from what completed
        sent += 1
        t0 = time.perf_counter()
        try:
            async with session.get(url) as resp:
                await resp.read()
                ok = resp.status == 200
        except (TimeoutError, aiohttp.ClientError) as exc:
            out["errors"].append(type(exc).__name__)
            continue
        t1 = time.perf_counter()
        if not ok:
            out["errors"].append("status")
        out["latency_us"].append((t1 - t0) * 1e6)
        out["ends"].append(t1 - start)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, list[Any]] = {"latency_us": [], "ends": [], "errors": []}
    connector = aiohttp.TCPConnector(limit=args.connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        await asyncio.gather(*(_connection(session, args.url, start, args, out) for _ in range(args.connections)))
    return summarize(args.url, args.connections, out["latency_us"], out["ends"], out["errors"])


def summarize(
    url: str, connections: int, latency_us: list[float], ends: list[float], errors: list[str]
) -> dict[str, Any]:
    """The run's figures from each answer's latency and its end time (seconds after the first send)."""
    span = max(ends) if ends else 0.0
    n = len(latency_us)
    lat, cdf = percentiles(latency_us)
    mean = sum(latency_us) / n if n else 0.0
    detail = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    for e in errors:
        key = "status" if e == "status" else "timeout" if "Timeout" in e else "read"
        detail[key] += 1
    return {
        "url": url,
        "connections": connections,
        "duration_s": round(span, 3),
        "requests": n,
        "rps": n / span if span else 0.0,
        "errors": len(errors),
        "error_detail": detail,
        "latency_us": lat,
        "cdf_us": cdf,
        "mean_us": mean,
        "max_us": max(latency_us) if latency_us else 0.0,
        # Little's law for a closed loop: throughput = connections / mean latency
        "rps_little": connections / (mean / 1e6) if mean else 0.0,
        # how many times each connection went round: the rounds of 16 the figure averages over at c16
        "rounds": n / connections if connections else 0.0,
        "method": METHOD,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--connections", type=int, required=True)
    p.add_argument("--min-seconds", type=float, default=4.0, help="no connection stops before this")
    p.add_argument("--per-connection", type=int, default=5, help="requests each connection sends at least")
    p.add_argument("--max-seconds", type=float, default=60.0, help="no new request after this")
    p.add_argument("--timeout", type=float, default=30.0, help="per request")
    args = p.parse_args()
    if args.connections < 1 or args.per_connection < 1 or not math.isfinite(args.min_seconds):
        p.error("--connections and --per-connection must be >= 1")
    print(json.dumps(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
