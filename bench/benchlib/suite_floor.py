"""The floor (issue 15 item 1): the same GET through the real core with layers taken away one at
a time, and the core's CPU per request at each, so each layer's price is a difference of two rows.

    (a) bare aiohttp              bare_server.py, /noop/bare: the limit
    (b) core HTTP only            floor_server.py /floor/http: the core's app and route table, answered there
    (c1) + the API layer          floor_server.py /floor/api: http/api.py (body, trace, payload,
                                  response) with an invoke that answers at once
    (c) + the dispatch layers     floor_server.py /floor/dispatch: every dispatch layer (metrics,
                                  failure log, span, RunnerInvoke) to an in-process session (runners/fake.py)
    (e) + the real gRPC stream    /noop/ts and /noop/py: the bench's no-op steps in a real runner

(d), a runner answering without running a handler, coincides here with (e) Python: the no-op step's
handler only returns a constant, so what the Python runner spends is its own frame handling.

CPU is each process's utime + stime (psutil, i.e. /proc/<pid>/stat) before and after a wrk run at
c16, divided by the requests wrk counted: unlike req/s it barely moves with other load. Each target
runs `rounds` times, interleaved; the figures are the per-target medians. Then py-spy samples the
core under (c) and (e) so the µs per request can be split by module (profile.py's buckets).

In `make bench`: `bench/run.py --only floor`. Standalone (prints the tables as Markdown):

    .venv/bin/python bench/benchlib/suite_floor.py [--seconds 5] [--rounds 3] [--no-profile]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # standalone: make `benchlib` importable as in bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import profile
from benchlib.loadgen import wrk
from benchlib.procs import Service, free_port, pinned, stop_all
from benchlib.report_floor import render_floor
from benchlib.resources import cpu_busy
from benchlib.suite_bodies import cpu_by_role

BENCH_DIR = Path(__file__).resolve().parents[1]
C = 16
# (key, label, server, path); server "bare" or "core"
LAYERS = (
    ("a", "(a) bare aiohttp handler", "bare", "/noop/bare"),
    ("b", "(b) core HTTP layer, answered in the route", "core", "/floor/http"),
    ("api", "(c1) + api.py (body, trace, payload, response), answered at once", "core", "/floor/api"),
    ("c", "(c) + dispatch layers (metrics, failure log, span) to an in-process session", "core", "/floor/dispatch"),
    ("e_ts", "(e) + gRPC stream, TypeScript no-op step", "core", "/noop/ts"),
    ("e_py", "(e) + gRPC stream, Python no-op step", "core", "/noop/py"),
)
PROFILED = ("b", "api", "c", "e_ts", "e_py")
IDLE_S = 3.0  # seconds the core's idle CPU is measured
PROFILE_S = 10  # py-spy at 100 Hz: ~1,000 samples, of which a few hundred busy on a loaded machine


def matrix_extras() -> list[str]:
    """The step sets the API matrix adds to projects/bench (suite_base.SuiteBase.ruby / .go)."""
    repo = BENCH_DIR.parent
    out = []
    if (repo / "runners/ruby/bin/motia-ruby-runner").is_file() and shutil.which("ruby"):
        out.append("bench-ruby")
    if (repo / ".venv/.go-runner-installed").is_file() and shutil.which("go"):
        out.append("bench-go")
    return out


def servers(work: Path, project: Path, cpus: str | None, logs: Path) -> dict[str, tuple[Service, int]]:
    core_port, bare_port = free_port(), free_port()
    core = Service(
        "motia-core-floor",
        [
            sys.executable,
            str(BENCH_DIR / "benchlib" / "floor_server.py"),
            "serve",
            "--dir",
            str(project),
            "--port",
            str(core_port),
            "--host",
            "127.0.0.1",
            "--log-level",
            "warn",
        ],
        log=logs / "motia-core-floor.log",
        env={"BENCH_SINK_PORT": str(free_port())},
        cpus=cpus,
    )
    bare = Service(
        "bare-aiohttp-floor",
        [sys.executable, str(BENCH_DIR / "benchlib" / "bare_server.py"), "--port", str(bare_port)],
        log=logs / "bare-aiohttp-floor.log",
        cpus=cpus,
    )
    return {"core": (core, core_port), "bare": (bare, bare_port)}


def one_run(url: str, svc: Service, role: str, seconds: float, load_cpus: str | None) -> dict[str, Any]:
    busy0, t0 = cpu_busy(), time.perf_counter()
    before = cpu_by_role(svc.pid, role)
    run = wrk(url, connections=C, duration=seconds, cpus=load_cpus)
    after = cpu_by_role(svc.pid, role)
    busy1, wall = cpu_busy(), time.perf_counter() - t0
    requests = max(int(run["requests"]), 1)
    us = {r: (after[r] - before.get(r, 0.0)) * 1e6 / requests for r in after}
    return {
        "rps": run["rps"],
        "requests": run["requests"],
        "errors": run["errors"],
        "p50_us": run["latency_us"]["p50"],
        "us_per_request": {r: v for r, v in us.items() if v >= 0.05},
        "other_load_pct": _other_load(svc.pid, busy0, busy1, wall, sum(after.values()) - sum(before.values())),
    }


def _other_load(
    pid: int, busy0: dict[str, tuple[float, float]], busy1: dict[str, tuple[float, float]], wall: float, ours: float
) -> float | None:
    """Busy time of the server's CPUs that its own processes did not use, in % of one CPU: the
    machine's other load, as the API matrix's *other load* column (resources.Sampler). Under heavy
    other load CPU per request rises too (fewer requests per wake-up, cold caches), so rows are
    comparable only at similar other load (bench/README.md, "The API matrix and the floor")."""
    try:
        cpus = [str(c) for c in sorted(os.sched_getaffinity(pid))]
    except OSError:
        return None
    if not wall or len(cpus) >= len(busy0):
        return None  # unpinned: the other load is not separable from the load generator's
    busy = sum(busy1.get(c, (0.0, 0.0))[0] - busy0.get(c, (0.0, 0.0))[0] for c in cpus)
    return max(0.0, 100.0 * (busy - ours) / wall)


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    roles = {r for run in runs for r in run["us_per_request"]}
    return {
        "rps": statistics.median(r["rps"] for r in runs),
        "p50_us": statistics.median(r["p50_us"] for r in runs),
        "requests": sum(r["requests"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "us_per_request": {
            role: statistics.median(r["us_per_request"].get(role, 0.0) for r in runs) for role in sorted(roles)
        },
        "other_load_pct": _median_or_none([r.get("other_load_pct") for r in runs]),
        "rounds": runs,
    }


def _median_or_none(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return statistics.median(vals) if vals else None


IDLE_LEAVES = ("epoll_pwait", "epoll_wait")  # the loop waiting for work: not a request's cost
_NAMED = (  # frames py-spy names by a C file or shared object: (needle, module)
    ("cygrpc", "grpc"),
    ("_asynciomodule", "asyncio"),
    ("_http_parser", "aiohttp"),
    ("_http_writer", "aiohttp"),
    ("orjson", "orjson"),
    ("_message.", "protobuf"),
    ("_multidict", "multidict"),
)
_LOOP = ("asyncio/runners.py", "uvloop/__init__.py")  # the outermost frames: only the loop's own C code below


def _module(frame: str) -> str | None:
    """The module a frame belongs to: `motia_core/<file>`, a package (aiohttp, grpc, ...), or None
    for frames that decide nothing (libc, the interpreter, uvloop's and libuv's C files)."""
    file = frame.rsplit(" (", 1)[-1].rstrip(")").split(":", 1)[0]
    for needle, name in _NAMED:
        if needle in file:
            return name
    if any(file.startswith(loop) for loop in _LOOP):
        return "event loop (uvloop/libuv C, asyncio)"
    if "/" not in file or not file.endswith((".py", ".pyx")):
        return None
    if file.startswith("motia_core/"):
        return file
    return {"google": "protobuf"}.get(file.split("/", 1)[0], file.split("/", 1)[0])


def by_module(path: Path) -> dict[str, Any]:
    """Main-thread samples by the module of their innermost attributable frame (a syscall belongs to
    the Python code that made it), idle loop waits apart."""
    counts: dict[str, int] = {}
    idle = 0
    for stack, n in profile._parse(path):
        if not stack or "MainThread" not in stack[0]:
            continue
        frames = stack[1:]
        if frames and frames[-1].split(" (", 1)[0] in IDLE_LEAVES:
            idle += n
            continue
        name = next((m for m in map(_module, reversed(frames)) if m), "other (interpreter, C)")
        counts[name] = counts.get(name, 0) + n
    busy = sum(counts.values())
    rows = sorted(counts.items(), key=lambda kv: -kv[1])
    return {"busy": busy, "idle": idle, "modules": [{"module": m, "samples": n} for m, n in rows]}


def profile_under(url: str, pid: int, seconds: float, out: Path, load_cpus: str | None) -> dict[str, Any]:
    """py-spy on the core while wrk keeps c16 on `url` (profile.record: --native --threads)."""
    proc = subprocess.Popen(
        pinned(load_cpus, ["wrk", "-t1", f"-c{C}", f"-d{round(seconds) + 4}s", url]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(1.0)
        prof = profile.record(pid, seconds, out)
        prof["by_module"] = by_module(out)
        return prof
    finally:
        try:
            proc.wait(seconds + 20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def measure(
    work: Path,
    out_dir: Path,
    cpus: str | None,
    load_cpus: str | None,
    seconds: float,
    rounds: int,
    with_profile: bool,
    progress: Any = None,
) -> dict[str, Any]:
    project = work / "floor-project"
    if project.exists():
        shutil.rmtree(project)
    shutil.copytree(BENCH_DIR / "projects" / "bench", project)
    # the API matrix's project: its Ruby and Go step files too when those runners are installed, so
    # (e) is the matrix's server; their idle runners cost the core CPU per request as well
    # (bench/README.md, "The API matrix and the floor")
    extras = matrix_extras()
    for extra in extras:
        shutil.copytree(BENCH_DIR / "projects" / extra, project, dirs_exist_ok=True)
    procs = servers(work, project, cpus, out_dir / "logs")
    result: dict[str, Any] = {
        "c": C,
        "seconds": seconds,
        "rounds": rounds,
        "project": ["bench", *extras],
        "layers": {},
        "profiles": {},
    }
    say = progress or (lambda scenario, text: print(f"{scenario:<40} {text}", flush=True))
    try:
        for svc, _ in procs.values():
            svc.start()
        core, core_port = procs["core"]
        bare, bare_port = procs["bare"]
        core.wait_http(f"http://127.0.0.1:{core_port}/noop/ts", timeout=60)
        bare.wait_http(f"http://127.0.0.1:{bare_port}/noop/bare", timeout=30)
        urls = {key: f"http://127.0.0.1:{procs[server][1]}{path}" for key, _, server, path in LAYERS}
        # what the core burns with no request at all (queue polling, flush loops, gRPC's poller, runner
        # pings): each row's CPU per request includes it, spread over that row's requests
        idle0 = cpu_by_role(core.pid, "core")
        time.sleep(IDLE_S)
        idle1 = cpu_by_role(core.pid, "core")
        result["idle_cpu_pct"] = {r: 100 * (idle1[r] - idle0.get(r, 0.0)) / IDLE_S for r in idle1}
        for url in urls.values():  # warm-up, not counted (Node's JIT needs a few thousand calls)
            wrk(url, connections=C, duration=2, cpus=load_cpus)
        runs: dict[str, list[dict[str, Any]]] = {key: [] for key, *_ in LAYERS}
        for r in range(rounds):
            for key, _, server, _ in LAYERS:
                svc = procs[server][0]
                run = one_run(urls[key], svc, "bare aiohttp" if server == "bare" else "core", seconds, load_cpus)
                runs[key].append(run)
                total = sum(run["us_per_request"].values())
                say(f"floor {key} round {r + 1}/{rounds}", f"{run['rps']:>8,.0f} req/s  {total:6.1f} µs CPU/request")
        for key, label, server, path in LAYERS:
            result["layers"][key] = {"label": label, "server": server, "path": path, **median_of(runs[key])}
        if with_profile:
            for key in PROFILED:
                try:
                    raw = out_dir / f"profile-floor-{key}.txt"
                    prof = profile_under(urls[key], core.pid, PROFILE_S, raw, load_cpus)
                except (RuntimeError, OSError) as exc:  # a missing py-spy costs the profile, not the run
                    result["profile_error"] = str(exc)
                    break
                result["profiles"][key] = prof
                say(f"floor profile {key}", f"{prof['samples_main_thread']} main-thread samples")
    finally:
        for svc, _ in procs.values():
            svc.stop()
    return result


def run(suite: Any) -> None:
    """The scenario inside bench/run.py (`suite` is benchlib.suite.Suite)."""
    seconds, rounds = (2, 1) if suite.quick else (4, 3)
    suite.results["floor"] = measure(
        suite.work, suite.out, suite.layout.sut, suite.layout.load, seconds, rounds, not suite.quick, suite.progress
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--out", type=Path, help="folder for results.json, the profiles and logs (a temp dir)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    out = args.out or work
    out.mkdir(parents=True, exist_ok=True)
    cpus = sorted(os.sched_getaffinity(0))
    sut, load = (str(cpus[0]), str(cpus[1])) if len(cpus) >= 2 else (None, None)
    try:
        res = measure(work / "w", out, sut, load, args.seconds, args.rounds, not args.no_profile)
    finally:
        stop_all()
    (out / "floor.json").write_text(json.dumps(res, indent=1, default=str))
    lines: list[str] = []
    render_floor({"floor": res}, lines.append)
    print("\n".join(lines))
    if args.out is None:
        shutil.rmtree(work / "w", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
