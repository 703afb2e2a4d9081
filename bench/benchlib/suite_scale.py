"""How cost grows with the work (issue 15 item 7): cold start and idle RSS against the number of steps,
API throughput against the number of routes; the queue backlog and stream fan-out curves are in
suite_scale_load.py. `run()` runs all four (bench/run.py `--only curves`, and in the full run).

The default run covers the smaller points so it stays within about three extra minutes; the largest
(500 steps x 3 starts, 1M waiting events, 5,000 WebSocket clients) need `--curves-full`."""

from __future__ import annotations

import statistics
import time
from typing import Any

from benchlib import resources
from benchlib.procs import Service
from benchlib.scale_projects import route_paths, routes_project, steps_project
from benchlib.suite_base import SuiteBase

STEP_COUNTS = {"default": (10, 100, 500), "full": (10, 100, 500)}
STEP_REPS = {"default": 1, "full": 3}  # fresh starts per point (the median is reported)
ROUTE_COUNTS = (10, 1000)
ROUTE_ROUNDS = {"default": 2, "full": 3}
ROUTE_SECONDS = 2.0


def run(suite: SuiteBase, full: bool = False) -> None:
    """Every curve; one failing curve does not cost the others."""
    from benchlib import suite_scale_load

    out: dict[str, Any] = suite.results.setdefault("curves", {"full": full})
    for name, fn in (
        ("steps", steps_curve),
        ("routes", routes_curve),
        ("backlog", suite_scale_load.backlog_curve),
        ("fanout", suite_scale_load.fanout_curve),
    ):
        try:
            out[name] = fn(suite, full)
        except Exception as exc:  # one broken curve must not cost the others
            suite.fail(f"curve: {name}", f"{type(exc).__name__}: {exc}")


def by_role(snap: dict[str, Any]) -> dict[str, float]:
    """RSS (MB) summed per role of one resources.snapshot()."""
    roles: dict[str, float] = {}
    for p in snap["processes"]:
        roles[p["role"]] = roles.get(p["role"], 0.0) + p["rss_mb"]
    return roles


def steps_curve(suite: SuiteBase, full: bool) -> dict[str, Any]:
    """Generated projects of N steps (TS API, JS event, Python API and event, a third each): `serve` to
    the first 200 OK on /ping from a fresh copy (no .motia cache), both CPUs, and the tree's RSS 2 s
    later."""
    mode = "full" if full else "default"
    points: list[dict[str, Any]] = []
    for n in STEP_COUNTS[mode]:
        starts: list[float] = []
        idle: dict[str, Any] | None = None
        for rep in range(STEP_REPS[mode]):
            project = steps_project(suite.work / f"steps-{n}-{rep}", n)
            svc, port = suite.motia_core(project, f"motia-core-steps-{n}-{rep}", suite.layout.both)
            svc.start()
            try:
                starts.append(svc.wait_http(f"http://127.0.0.1:{port}/ping", timeout=60 + n * 0.5))
                if rep == STEP_REPS[mode] - 1:
                    time.sleep(2.0)  # settled: lazy loads after the first request are done
                    idle = resources.snapshot(svc.pid)
            finally:
                svc.stop()
        assert idle is not None
        point = {
            "steps": n,
            "cold_start_s": starts,
            "cold_start_median_s": statistics.median(starts),
            "idle_rss_mb": idle["rss_mb"],
            "idle_uss_mb": idle["uss_mb"],
            "idle_by_role_mb": by_role(idle),
        }
        points.append(point)
        suite.progress(
            f"curve steps {n}",
            f"cold start {point['cold_start_median_s'] * 1000:,.0f} ms (median of {len(starts)}), idle RSS "
            f"{idle['rss_mb']:.0f} MB ("
            + ", ".join(f"{r} {mb:.0f}" for r, mb in point["idle_by_role_mb"].items())
            + ")",
        )
    return {"points": points, "growth": growth(points, "steps", ["cold_start_median_s", "idle_rss_mb"])}


def growth(points: list[dict[str, Any]], x: str, ys: list[str]) -> dict[str, dict[str, float]]:
    """Per metric, from the first point to the last: how many times N grew, how many times the metric
    grew, and the cost of each added unit (the marginal slope). Worse than linear shows as a marginal
    cost that rises from one segment to the next."""
    out: dict[str, dict[str, float]] = {}
    if len(points) < 2:
        return out
    for y in ys:
        first, last = points[0], points[-1]
        slopes = [(b[y] - a[y]) / (b[x] - a[x]) for a, b in zip(points, points[1:], strict=False) if b[x] != a[x]]
        out[y] = {
            "x_factor": last[x] / first[x],
            "y_factor": last[y] / first[y] if first[y] else float("nan"),
            "first_slope": slopes[0],
            "last_slope": slopes[-1],
        }
    return out


def routes_curve(suite: SuiteBase, full: bool) -> dict[str, Any]:
    """Two servers side by side on the servers' CPU, 10 and 1,000 TypeScript API routes; wrk c16 on
    the last static route and the last parameterized one (`/items/:id/v<i>`, siblings under one
    prefix), interleaved rounds. Routing must not degrade: the 1,000/10 throughput ratio ~1."""
    rounds = ROUTE_ROUNDS["full" if full else "default"]
    servers: dict[int, tuple[Service, int]] = {}
    out: dict[str, Any] = {"counts": list(ROUTE_COUNTS), "rounds": rounds, "seconds": ROUTE_SECONDS, "runs": {}}
    try:
        for n in ROUTE_COUNTS:
            project = routes_project(suite.work / f"routes-{n}", n)
            svc, port = suite.motia_core(project, f"motia-core-routes-{n}", suite.layout.sut)
            svc.start()
            servers[n] = (svc, port)
        for n, (svc, port) in servers.items():
            t = svc.wait_http(f"http://127.0.0.1:{port}{route_paths(n)['static']}", timeout=60 + n * 0.2)
            out.setdefault("start_s", {})[str(n)] = t
            for path in route_paths(n).values():
                why = suite.http_ok(f"http://127.0.0.1:{port}{path}")
                if why:
                    raise RuntimeError(f"{n} routes: GET {path} does not answer: {why}; {svc.tail()}")
                suite.load(f"http://127.0.0.1:{port}{path}", 16, 1.0)  # warm-up (Node's JIT), not counted
        for r in range(rounds):
            for kind in ("static", "param"):
                for n, (svc, port) in servers.items():
                    path = route_paths(n)[kind]
                    with resources.Sampler(svc.pid) as sampler:
                        run = suite.load(f"http://127.0.0.1:{port}{path}", 16, ROUTE_SECONDS)
                    res = sampler.result()
                    cpu_s = sum(x["cpu_pct"] for x in res["by_role"].values()) / 100 * res["wall_s"]
                    entry = {
                        "rps": run["rps"],
                        "p50_us": run["latency_us"].get("p50"),
                        "p99_us": run["latency_us"].get("p99"),
                        "errors": run["errors"],
                        "cpu_us_per_request": cpu_s / run["requests"] * 1e6 if run["requests"] else None,
                        "foreign_pct": res.get("foreign_pct_on_server_cpus"),
                    }
                    out["runs"].setdefault(kind, {}).setdefault(str(n), []).append(entry)
                    suite.progress(
                        f"curve routes {n} {kind} round {r + 1}/{rounds}",
                        f"{run['rps']:>8,.0f} req/s  p50 {run['latency_us'].get('p50', 0) / 1000:.2f} ms  "
                        f"CPU {entry['cpu_us_per_request'] or 0:.0f} µs/request",
                    )
    finally:
        for svc, _ in servers.values():
            svc.stop()
    lo, hi = (str(x) for x in ROUTE_COUNTS)
    for kind, by_n in out["runs"].items():
        pairs = list(zip(by_n.get(lo, []), by_n.get(hi, []), strict=False))
        out.setdefault("ratio", {})[kind] = {
            "rps": statistics.median(b["rps"] / a["rps"] for a, b in pairs if a["rps"]),
            "cpu": statistics.median(
                b["cpu_us_per_request"] / a["cpu_us_per_request"]
                for a, b in pairs
                if a["cpu_us_per_request"] and b["cpu_us_per_request"]
            ),
        }
    return out
