"""The load-side scale curves (issue 15 item 7), run by suite_scale.run():

* event throughput against the queue backlog: the bench project's chain (API -> TS -> Python -> JS, k16)
  on SQLite with 0, 100k (and, with --curves-full, 1M) events already waiting in .motia/queue.db on a
  subscription no step consumes, written in bulk through SqliteQueue.enqueue_many before the core starts;
* stream fan-out against clients: 50, 500 (and 5,000) WebSocket clients of one group, one core, a
  fixed budget of deliveries per second (writes/s = budget / clients), so each point does the same
  work in total and any growth in the core's CPU per delivered message is the fan-out's own."""

from __future__ import annotations

import asyncio
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import resources
from benchlib.procs import Service, pinned, run_bounded
from benchlib.suite_base import BENCH_DIR, SuiteBase

BACKLOGS = {"default": (0, 100_000), "full": (0, 100_000, 1_000_000)}
BACKLOG_SUBSCRIPTION = "bench.backlog::nobody"  # the queue's key format (events.subscription_key); no step has it
BACKLOG_BATCH = 20_000  # events per enqueue_many call: one transaction each
CHAIN_K = 16
CHAIN_SECONDS = 3.0
BACKLOG_ROUNDS = {"default": 2, "full": 3}  # interleaved: each point's core in turn
FANOUT_CLIENTS = {"default": (50, 500), "full": (50, 500, 5_000)}
FANOUT_DELIVERIES_PER_S = 5_000  # the same delivery budget at every point, well under saturation
FANOUT_SECONDS = 4.0
IDLE_SECONDS = 3.0  # the core with every client joined and nothing written


def fill_backlog(db: Path, n: int) -> float:
    """`n` events on BACKLOG_SUBSCRIPTION, through the queue's own API (SqliteQueue.enqueue_many), so the
    rows are exactly what the core writes; returns the seconds it took."""
    from motia_core.queue.base import QueuedEvent
    from motia_core.queue.sqlite import SqliteQueue

    t0 = time.perf_counter()

    async def fill() -> None:
        queue = SqliteQueue(db)
        try:
            data = b'{"id":"waiting","payload":"' + b"x" * 200 + b'"}'  # about a chain event's size
            done = 0
            while done < n:
                batch = min(BACKLOG_BATCH, n - done)
                await queue.enqueue_many(
                    [
                        (BACKLOG_SUBSCRIPTION, QueuedEvent("bench.backlog", data, trace_id="backlog"), 0.0)
                        for _ in range(batch)
                    ]
                )
                done += batch
        finally:
            await queue.close()

    asyncio.run(fill())
    return time.perf_counter() - t0


def waiting(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT COUNT(*) FROM queue WHERE subscription = ?", (BACKLOG_SUBSCRIPTION,)).fetchone()
    return int(row[0])


def backlog_curve(suite: SuiteBase, full: bool) -> dict[str, Any]:
    """Every point's core side by side on the servers' CPU (an idle core only polls), measured in
    interleaved rounds, so each point's share of the empty queue's rate is a median of ratios taken
    seconds apart, whatever else the machine does."""
    sizes = BACKLOGS["full" if full else "default"]
    rounds = BACKLOG_ROUNDS["full" if full else "default"]
    cores: dict[int, tuple[Service, int, Path]] = {}
    points = {n: {"backlog": n, "runs": []} for n in sizes}
    try:
        for n in sizes:
            project = suite.copy_project("bench", suite.work / f"backlog-{n}")
            db = project / ".motia" / "queue.db"
            db.parent.mkdir(exist_ok=True)
            points[n]["fill_s"] = fill_backlog(db, n) if n else 0.0
            svc, port = suite.motia_core(project, f"motia-core-backlog-{n}", suite.layout.sut)
            svc.start()
            points[n]["start_s"] = svc.wait_http(f"http://127.0.0.1:{port}/noop/ts", timeout=120)
            cores[n] = (svc, port, db)
        for r in range(rounds):
            for n, (svc, port, _) in cores.items():
                with resources.Sampler(svc.pid) as sampler:
                    run = suite.chain_load(port, "/chain", CHAIN_K, CHAIN_SECONDS, 1.0)
                res = sampler.result()
                core = res["by_role"].get("core", {})
                chains = run["per_s"] * res["wall_s"]
                points[n]["runs"].append(
                    {
                        "chains_per_s": run["per_s"],
                        "p50_us": run["latency_us"].get("p50"),
                        "p99_us": run["latency_us"].get("p99"),
                        "lost": run["lost"],
                        "core_cpu_us_per_chain": core.get("cpu_pct", 0) / 100 * res["wall_s"] / chains * 1e6
                        if chains
                        else None,
                    }
                )
                suite.progress(
                    f"curve backlog {n:,} round {r + 1}/{rounds}",
                    f"{run['per_s']:>6,.0f} chains/s ({run['per_s'] * 3:,.0f} events/s)  p50 "
                    f"{(run['latency_us'].get('p50') or 0) / 1000:.2f} ms  lost {run['lost']}",
                )
    finally:
        for svc, _, _ in cores.values():
            svc.stop()
    for n, (_, _, db) in cores.items():
        left = waiting(db)
        if left != n:  # the backlog must be untouched, or the point measured something else
            raise RuntimeError(f"backlog {n:,}: {left:,} events left on {BACKLOG_SUBSCRIPTION} after the run")
        points[n]["db_mb"] = sum(p.stat().st_size for p in db.parent.glob("queue.db*")) / 2**20
    base = points[sizes[0]]["runs"]
    out: list[dict[str, Any]] = []
    for n in sizes:
        p = points[n]
        runs = p["runs"]
        mid = sorted(runs, key=lambda x: x["chains_per_s"])[len(runs) // 2]
        ratios = [a["chains_per_s"] / b["chains_per_s"] for a, b in zip(runs, base, strict=False) if b["chains_per_s"]]
        cpu = [x["core_cpu_us_per_chain"] for x in runs if x["core_cpu_us_per_chain"]]
        out.append(
            {
                **{k: v for k, v in p.items() if k != "runs"},
                **mid,
                "events_per_s": mid["chains_per_s"] * 3,
                "of_empty": statistics.median(ratios) if ratios else None,
                "core_cpu_us_per_chain": statistics.median(cpu) if cpu else None,
                "rounds": runs,
            }
        )
    return {"k": CHAIN_K, "seconds": CHAIN_SECONDS, "subscription": BACKLOG_SUBSCRIPTION, "points": out}


def raise_fd_limit(needed: int) -> tuple[int, int]:
    """Lift the soft open-files limit to the hard one (inherited by the core and the driver); refuse
    a point the hard limit cannot hold, with the numbers."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if needed > soft:
        raise RuntimeError(f"{needed:,} file descriptors needed, the limit is {soft:,} (ulimit -n)")
    return soft, hard


def fanout_curve(suite: SuiteBase, full: bool) -> dict[str, Any]:
    counts = FANOUT_CLIENTS["full" if full else "default"]
    soft, hard = raise_fd_limit(max(counts) + 200)  # one socket per client, on each side, plus the core's own
    project = suite.copy_project("streams", suite.work / "fanout-project")
    svc, port = suite.motia_core(project, "motia-core-fanout", suite.layout.sut)
    svc.start()
    points: list[dict[str, Any]] = []
    try:
        svc.wait_http(f"http://127.0.0.1:{port}/__motia/streams/list", timeout=60)
        base_rss = resources.snapshot(svc.pid)
        for n in counts:
            rate = max(1.0, FANOUT_DELIVERIES_PER_S / n)
            points.append(_fanout_point(suite, svc.pid, port, n, rate, base_rss))
    finally:
        svc.stop()
    return {
        "deliveries_per_s_budget": FANOUT_DELIVERIES_PER_S,
        "seconds": FANOUT_SECONDS,
        "fd_limit": [soft, hard],
        "points": points,
    }


def _fanout_point(
    suite: SuiteBase, core_pid: int, port: int, n: int, rate: float, base_rss: dict[str, Any]
) -> dict[str, Any]:
    spec = {
        "phases": [
            # no writers: the core's CPU with n clients connected and nothing to deliver (heartbeats)
            {"name": f"idle{n}", "mode": "closed", "writers": 0, "duration": IDLE_SECONDS, "warmup": 0.5},
            {
                "name": f"c{n}",
                "lang": "ts",
                "path": "/ticks/ts",
                "mode": "open",
                "rate": rate,
                "duration": FANOUT_SECONDS,
                "warmup": 1.0,
            },
        ]
    }
    out_path = suite.work / f"fanout-{n}.json"
    argv = pinned(
        suite.layout.load,
        [
            sys.executable,
            str(BENCH_DIR / "benchlib/streamload.py"),
            "--port",
            str(port),
            "--clients",
            str(n),
            "--group",
            f"fanout-{n}",
            "--core-pid",
            str(core_pid),
            "--drain",
            "15",
            "--spec",
            json.dumps(spec),
            "--out",
            str(out_path),
        ],
    )
    proc = run_bounded(argv, timeout=180 + n * 0.05, stdout=None, stderr=subprocess.PIPE)
    if not out_path.exists():
        raise RuntimeError(f"{n} clients: streams driver failed: {(proc.stderr or '')[-500:]}")
    res = json.loads(out_path.read_text())
    idle, ph = res["phases"][0], res["phases"][1]
    core = ph.get("resources", {}).get("by_role", {}).get("core", {})
    idle_pct = idle.get("resources", {}).get("by_role", {}).get("core", {}).get("cpu_pct", 0.0)
    delivered = ph["delivered_in_window"]
    cpu_s = core.get("cpu_pct", 0.0) / 100 * ph["duration_s"]
    net_s = max(0.0, core.get("cpu_pct", 0.0) - idle_pct) / 100 * ph["duration_s"]
    with_clients = res.get("core_idle_with_clients") or {}
    core_rss = next((p["rss_mb"] for p in with_clients.get("processes", []) if p["role"] == "core"), None)
    core_rss0 = next((p["rss_mb"] for p in base_rss["processes"] if p["role"] == "core"), None)
    point = {
        "clients": n,
        "connect_and_join_s": res.get("connect_and_join_s"),
        "writes_per_s_target": rate,
        "writes_per_s": ph["writes_per_s"],
        "delivered_per_s": ph["delivered_per_s"],
        "latency_us": ph["latency_us"],
        "latency_all_clients_us": ph["latency_all_clients_us"],
        "lost": ph["lost"],
        "duplicates": ph["duplicates"],
        "closed_clients": len(res.get("closed_clients") or []),
        "core_cpu_pct": core.get("cpu_pct"),
        "core_cpu_us_per_delivery": cpu_s / delivered * 1e6 if delivered else None,
        "core_idle_cpu_pct": idle_pct,  # the clients connected, nothing written
        "core_cpu_us_per_delivery_net": net_s / delivered * 1e6 if delivered else None,
        "core_rss_with_clients_mb": core_rss,
        "core_rss_kb_per_client": (core_rss - core_rss0) * 1024 / n if core_rss and core_rss0 else None,
    }
    lat = point["latency_us"] or {}
    suite.progress(
        f"curve fan-out {n:,} clients",
        f"{ph['writes_per_s']:,.0f} writes/s -> {ph['delivered_per_s']:,.0f} deliveries/s  p50 "
        f"{lat.get('p50', 0) / 1000:.2f} ms  p99 {lat.get('p99', 0) / 1000:.2f} ms  lost {ph['lost']}  core "
        f"{point['core_cpu_us_per_delivery'] or 0:.1f} µs CPU/delivery "
        f"({point['core_cpu_us_per_delivery_net'] or 0:.1f} "
        f"above its {idle_pct:.1f} % CPU with the clients idle; joined in "
        f"{point['connect_and_join_s'] or 0:.1f} s)",
    )
    return point
