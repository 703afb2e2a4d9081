"""Memory (issue 15 item 6): RSS of the core and each runner idle and under c64 API load (TS, Python),
in the default run; and the soak (`bench/run.py --soak SECONDS`, not in the default run): the RSS of
every process sampled every 10 s under mixed load (API steps in TS and Python at a fixed rate, the
event chain, a stream with WebSocket clients), with its growth: slope per minute, first third vs last
third, and a flag for growth that does not level off."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from benchlib import resources
from benchlib.memory_idle import settled_snapshot
from benchlib.procs import pinned, run_bounded
from benchlib.suite_base import BENCH_DIR, PROJECTS, SuiteBase

LOAD_C = 64
LOAD_SECONDS = 4.0
SOAK_INTERVAL = 10.0
SOAK_API_RATE = 300  # req/s per API step (TS and Python): steady, well under saturation
SOAK_CHAIN_K = 4
SOAK_STREAM_CLIENTS = 10
SOAK_STREAM_RATE = 20  # writes/s, each delivered to every client
# growth that "does not level off": the last third is above the first by more than this, and the
# second half still climbs at more than half the whole run's slope
GROWTH_MIN_MB = 2.0
GROWTH_MIN_FRACTION = 0.03
LEVEL_SLOPE_MB_MIN = 0.2


def memory(suite: SuiteBase) -> None:
    """The bench project's core on the servers' CPU: RSS per process idle, then peak and after under wrk
    c64 on /noop/ts and /noop/py."""
    project = suite.copy_project("bench", suite.work / "memory-project")
    svc, port = suite.motia_core(project, "motia-core-memory", suite.layout.sut)
    svc.start()
    out: dict[str, Any] = {"c": LOAD_C, "seconds": LOAD_SECONDS}
    suite.results["memory"] = out
    try:
        svc.wait_http(f"http://127.0.0.1:{port}/noop/ts", timeout=60)
        svc.wait_http(f"http://127.0.0.1:{port}/noop/py", timeout=30)
        out["idle"] = settled_snapshot(svc.pid)  # after V8 gave back what the start used (memory_idle.settle)
        for lang in ("ts", "py"):
            url = f"http://127.0.0.1:{port}/noop/{lang}"
            suite.load(url, LOAD_C, 1.0)  # warm-up, not counted
            with resources.Sampler(svc.pid) as sampler:
                run = suite.load(url, LOAD_C, LOAD_SECONDS)
            res = sampler.result()
            out[lang] = {
                "rps": run["rps"],
                "errors": run["errors"],
                "peak_by_role_mb": {r: v["peak_rss_mb"] for r, v in res["by_role"].items()},
                "after": resources.snapshot(svc.pid),
            }
            suite.progress(
                f"memory c{LOAD_C} {lang}",
                f"{run['rps']:,.0f} req/s; peak RSS "
                + ", ".join(f"{r} {v:.0f} MB" for r, v in out[lang]["peak_by_role_mb"].items())
                + " (idle: "
                + ", ".join(f"{p['role']} {p['rss_mb']:.0f}" for p in out["idle"]["processes"])
                + ")",
            )
    finally:
        svc.stop()


def soak(suite: SuiteBase, seconds: float) -> None:
    """Mixed load for `seconds` on one core; every SOAK_INTERVAL the RSS of each of its processes."""
    project = suite.copy_project("bench", suite.work / "soak-project")
    shutil.copytree(PROJECTS / "streams" / "steps", project / "steps" / "streams")
    svc, port = suite.motia_core(project, "motia-core-soak", suite.layout.sut)
    svc.start()
    samples: list[dict[str, Any]] = []
    out: dict[str, Any] = {
        "seconds": seconds,
        "interval_s": SOAK_INTERVAL,
        "load": {
            "api_rate_per_step": SOAK_API_RATE,
            "chain_k": SOAK_CHAIN_K,
            "stream_clients": SOAK_STREAM_CLIENTS,
            "stream_writes_per_s": SOAK_STREAM_RATE,
        },
        "samples": samples,
    }
    suite.results["soak"] = out
    try:
        svc.wait_http(f"http://127.0.0.1:{port}/noop/ts", timeout=60)
        svc.wait_http(f"http://127.0.0.1:{port}/noop/py", timeout=30)
        loads: dict[str, Any] = {}
        errors: list[str] = []

        def spawn(name: str, fn: Callable[[], Any]) -> threading.Thread:
            def body() -> None:
                try:
                    loads[name] = fn()
                except Exception as exc:  # reported with the soak, never silently dropped
                    errors.append(f"{name}: {type(exc).__name__}: {exc}")

            t = threading.Thread(target=body, name=f"soak-{name}", daemon=True)
            t.start()
            return t

        base = f"http://127.0.0.1:{port}"
        threads = [
            spawn(
                f"api {lang}",
                lambda lang=lang: suite.load(f"{base}/noop/{lang}", 16, seconds, rate=SOAK_API_RATE),
            )
            for lang in ("ts", "py")
        ]
        threads.append(spawn("chain", lambda: suite.chain_load(port, "/chain", SOAK_CHAIN_K, seconds, 1.0)))
        threads.append(spawn("stream", lambda: _stream_clients(suite, port, seconds)))
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds + 1:
            snap = resources.snapshot(svc.pid)
            samples.append(
                {
                    "t": time.perf_counter() - t0,
                    "rss": {f"{p['role']} {p['pid']}": p["rss_mb"] for p in snap["processes"]},
                }
            )
            if len(samples) % 6 == 1:
                suite.progress(
                    f"soak {samples[-1]['t']:.0f}/{seconds:.0f} s",
                    ", ".join(f"{k} {v:.0f} MB" for k, v in samples[-1]["rss"].items()),
                )
            time.sleep(max(0.0, SOAK_INTERVAL - (time.perf_counter() - t0) % SOAK_INTERVAL))
        for t in threads:
            t.join(timeout=120)
        out["errors"] = errors
        out["load_results"] = _load_summary(loads)
        out["growth"] = {name: growth(samples, name) for name in samples[0]["rss"]} if samples else {}
        for name, g in out["growth"].items():
            suite.progress(
                f"soak growth {name}",
                f"{g['first_mb']:.0f} -> {g['last_mb']:.0f} MB, slope {g['slope_mb_per_min']:+.2f} MB/min "
                f"(second half {g['late_slope_mb_per_min']:+.2f}), first/last third {g['first_third_mb']:.1f}/"
                f"{g['last_third_mb']:.1f} MB" + ("  GROWS WITHOUT LEVELLING OFF" if g["grows"] else ""),
            )
        if errors:
            suite.fail("soak", "; ".join(errors))
    finally:
        svc.stop()


def _stream_clients(suite: SuiteBase, port: int, seconds: float) -> dict[str, Any]:
    spec = {
        "phases": [
            {
                "name": "soak",
                "lang": "py",
                "path": "/ticks/py",
                "mode": "open",
                "rate": SOAK_STREAM_RATE,
                "duration": seconds,
                "warmup": 0.5,
            }
        ]
    }
    out_path = suite.work / "soak-stream.json"
    argv = pinned(
        suite.layout.load,
        [
            sys.executable,
            str(BENCH_DIR / "benchlib/streamload.py"),
            "--port",
            str(port),
            "--clients",
            str(SOAK_STREAM_CLIENTS),
            "--group",
            "soak",
            "--spec",
            json.dumps(spec),
            "--out",
            str(out_path),
        ],
    )
    proc = run_bounded(argv, timeout=seconds + 90, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if not out_path.exists():
        raise RuntimeError(f"streams driver failed: {(proc.stderr or '')[-500:]}")
    res: dict[str, Any] = json.loads(out_path.read_text())
    return res


def _load_summary(loads: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, r in loads.items():
        with contextlib.suppress(KeyError, IndexError, TypeError):
            if name.startswith("api"):
                out[name] = {"rps": r["rps"], "errors": r["errors"], "p99_us": r["latency_us"].get("p99")}
            elif name == "chain":
                out[name] = {"chains_per_s": r["per_s"], "lost": r["lost"]}
            elif name == "stream":
                ph = r["phases"][0]
                out[name] = {
                    "writes_per_s": ph["writes_per_s"],
                    "lost": ph["lost"],
                    "p99_us": ph["latency_us"].get("p99"),
                }
    return out


def growth(samples: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """One process's RSS series: least-squares slope (MB/min) over the whole run and over its second
    half, mean of the first and last thirds. `grows`: the last third is clearly above the first and the
    second half still climbs (a one-off rise that then stays flat is not flagged); the floors (lowest
    sample of the first and last thirds) must rise too, so a garbage collector's sawtooth is not
    mistaken for growth."""
    pts = [(s["t"], s["rss"][name]) for s in samples if name in s["rss"]]
    if len(pts) < 3:
        return {
            "samples": len(pts),
            "first_mb": pts[0][1] if pts else 0.0,
            "last_mb": pts[-1][1] if pts else 0.0,
            "slope_mb_per_min": 0.0,
            "late_slope_mb_per_min": 0.0,
            "first_third_mb": 0.0,
            "last_third_mb": 0.0,
            "grows": False,
        }
    third = max(1, len(pts) // 3)
    first = sum(v for _, v in pts[:third]) / third
    last = sum(v for _, v in pts[-third:]) / third
    slope = _slope(pts) * 60
    late = _slope(pts[len(pts) // 2 :]) * 60
    # the lowest sample of each third: after a garbage collection (V8, CPython) what is really retained
    floor0 = min(v for _, v in pts[:third])
    floor1 = min(v for _, v in pts[-third:])
    bar = max(GROWTH_MIN_MB, GROWTH_MIN_FRACTION * first)
    rose = last - first > bar and floor1 - floor0 > bar
    return {
        "samples": len(pts),
        "first_mb": pts[0][1],
        "last_mb": pts[-1][1],
        "slope_mb_per_min": slope,
        "late_slope_mb_per_min": late,
        "first_third_mb": first,
        "last_third_mb": last,
        "first_floor_mb": floor0,
        "last_floor_mb": floor1,
        "grows": bool(rose and late > max(LEVEL_SLOPE_MB_MIN, 0.5 * slope)),
    }


def _slope(pts: list[tuple[float, float]]) -> float:
    n = len(pts)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in pts) / n
    my = sum(v for _, v in pts) / n
    den = sum((t - mx) ** 2 for t, _ in pts)
    return sum((t - mx) * (v - my) for t, v in pts) / den if den else 0.0
