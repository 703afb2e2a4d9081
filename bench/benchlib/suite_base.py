"""What every scenario shares: paths, the CPU layout, the durations, and `SuiteBase` (results,
progress lines, project copies, starting motia-core and the bare server, running wrk and the chain
driver). The scenarios themselves are in suite_*.py; `suite.Suite` puts them together."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from benchlib.loadgen import wrk
from benchlib.memory_idle import settled_snapshot
from benchlib.procs import Service, free_port, pinned, run_bounded

BENCH_DIR = Path(__file__).resolve().parents[1]
REPO = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
CLASSIC_VERSION = "0.17.6-beta.187"
PROJECTS = BENCH_DIR / "projects"

LANGS = {"ts": "TypeScript", "js": "JavaScript", "py": "Python", "rb": "Ruby"}
PAYLOADS = {"1 KB": 1_000, "100 KB": 100_000, "1 MB": 1_000_000}


@dataclass(frozen=True)
class Layout:
    name: str
    sut: str | None  # CPUs of the servers under test
    load: str | None  # CPUs of the load generators
    both: str | None  # every CPU (cold start, the "shared" comparison)

    @staticmethod
    def make(name: str) -> Layout:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2 or name == "none":
            return Layout("none", None, None, None)
        first, second = str(cpus[0]), str(cpus[1])
        return Layout(name, first, second, f"{first},{second}")

    def describe(self) -> str:
        if self.sut is None:
            return "no pinning (fewer than 2 CPUs or --layout none)"
        return (
            f"servers under test (motia-core and its runners, bare aiohttp, classic Motia with its Redis and "
            f"per-call children) pinned to CPU {self.sut} with `taskset -c {self.sut}` (children inherit it); "
            f"load generators (`taskset -c {self.load} wrk -t1`, the chain and streams drivers) on CPU {self.load}"
        )


@dataclass
class Durations:
    warm_first: float  # per target, once, at c16 (Node's JIT settles after a few thousand calls)
    warm: float  # before the first measured run at each concurrency
    api: float
    rounds: int  # interleaved rounds at c1 and c16 (c64: one)
    open_loop: float
    payload: float
    chain: float
    chain_warm: float
    classic: float
    streams: float  # per measured streams phase (each after a 0.5 s warm-up)
    redis_rounds: int  # interleaved rounds of the redis scenario (SQLite-1, Redis-1, Redis-2, BullMQ)
    record_rounds: int  # interleaved rounds of the recording pair (on, off per endpoint; suite_record.py)
    record: float  # seconds of both sides' runs in one round of the recording pair (one run of half each)


FULL = Durations(
    warm_first=2,
    warm=1,
    api=3,
    rounds=3,
    open_loop=4,
    payload=2,
    chain=3,
    chain_warm=1,
    classic=4,
    streams=3,
    redis_rounds=2,
    record_rounds=10,
    record=2,
)
QUICK = Durations(
    warm_first=1,
    warm=1,
    api=3,
    rounds=1,
    open_loop=0,
    payload=0,
    chain=3,
    chain_warm=1,
    classic=0,
    streams=2,
    redis_rounds=1,
    record_rounds=4,
    record=2,
)


class SuiteBase:
    def __init__(self, out: Path, layout: Layout, quick: bool, classic: bool) -> None:
        self.out = out
        self.logs = out / "logs"
        self.work = out / "work"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.work.mkdir(parents=True, exist_ok=True)
        self.layout = layout
        self.quick = quick
        self.d = QUICK if quick else FULL
        self.want_classic = classic and not quick
        self.t_start = time.perf_counter()
        self.ruby = (REPO / "runners/ruby/bin/motia-ruby-runner").is_file() and shutil.which("ruby") is not None
        # Go steps: the go runner package in .venv (make install) and the go toolchain (runners/go/README.md)
        self.go = (REPO / ".venv/.go-runner-installed").is_file() and shutil.which("go") is not None
        self.sink_port = free_port()  # UDP port the chain steps report to (BENCH_SINK_PORT)
        self.next_id = 1
        self.results: dict[str, Any] = {
            "meta": self.meta(),
            "api": {},
            "notes": [],
            "failures": [],
        }

    # -- helpers -----------------------------------------------------------------------------------

    def progress(self, scenario: str, text: str) -> None:
        elapsed = time.perf_counter() - self.t_start
        print(f"[{int(elapsed // 60):02d}:{int(elapsed % 60):02d}] {scenario:<34} {text}", flush=True)

    def fail(self, scenario: str, why: str) -> None:
        self.results["failures"].append({"scenario": scenario, "why": why})
        self.progress(scenario, f"FAILED: {why[:300]}")

    def cold_starts(
        self,
        label: str,
        reps: int,
        launch: Callable[[int], tuple[Service, int]],
        timeout: float,
        idle_of_last: bool = True,
    ) -> tuple[list[float], dict[str, Any] | None]:
        """Start `reps` fresh servers (`launch(i)` -> not yet started service and its port), each timed
        from spawn to its first 200 OK on /ping; the last one's idle memory too (unless not wanted)."""
        runs: list[float] = []
        idle: dict[str, Any] | None = None
        for i in range(reps):
            svc, port = launch(i)
            svc.start()
            try:
                t = svc.wait_http(f"http://127.0.0.1:{port}/ping", timeout=timeout)
                runs.append(t)
                self.progress(f"cold start {label} #{i + 1}", f"first 200 OK after {t * 1000:,.0f} ms")
                if i == reps - 1 and idle_of_last:
                    idle = self.idle_snapshot(svc.pid, label)
            except RuntimeError as exc:
                self.fail(f"{label} cold start #{i + 1}", str(exc))
            finally:
                svc.stop()
        return runs, idle

    def idle_snapshot(self, pid: int, label: str) -> dict[str, Any]:
        """Memory of a server's process tree once its RSS settled after the first 200 OK (at most 30 s:
        memory_idle.settle; V8 gives back what the start used only at a later GC)."""
        idle: dict[str, Any] = settled_snapshot(pid)
        self.progress(
            f"idle RSS {label} (10 steps)",
            f"{idle['rss_mb']:.0f} MB RSS ("
            + ", ".join(f"{p['role']} {p['rss_mb']:.0f}" for p in idle["processes"])
            + f") after {idle['settle']['waited_s']:.0f} s",
        )
        return idle

    def ids(self, n: int = 10_000_000) -> int:
        first = self.next_id
        self.next_id += n
        return first

    def meta(self) -> dict[str, Any]:
        def version(argv: list[str]) -> str:
            try:
                out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
                return (out.stdout or out.stderr).strip().splitlines()[0]
            except (OSError, IndexError, subprocess.SubprocessError):
                return "n/a"

        cpu = "unknown"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        rev = version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(REPO),
                "status",
                "--porcelain",
                "--",
                "core",
                "runners",
                "sdk-node",
                "sdk-python",
                "proto",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return {
            "date": datetime.now().astimezone().isoformat(timespec="seconds"),
            "host": platform.node(),
            "cpu": cpu,
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "node": version(["node", "--version"]),
            "ruby": version(["ruby", "--version"]) if shutil.which("ruby") else "n/a",
            "wrk": version(["wrk", "--version"]).split(" [")[0],
            "motia_core_rev": rev + (" (with uncommitted changes)" if dirty else ""),
            "classic_version": CLASSIC_VERSION,
            "loadavg_start": os.getloadavg(),
            "mode": "quick" if self.quick else "full",
            "layout": self.layout.describe(),
            "queue": self.queue_kind(),
        }

    @staticmethod
    def queue_kind() -> dict[str, Any]:
        """Which event queue `serve` wires (read from the core's source, so the bench follows the code)."""
        name = "unknown"
        try:
            text = (REPO / "core/motia_core/app.py").read_text()
            m = re.search(r"self\.queue\s*=\s*(\w+)\(", text)
            if m:
                name = m.group(1)
            else:  # built by the backend factory: the default backend's queue (backends.py)
                text = (REPO / "core/motia_core/backends.py").read_text()
                d = re.search(r'DEFAULT_BACKEND\s*=\s*"(\w+)"', text)
                fn = d and re.search(rf"^def {d.group(1)}\(.*?(?=^def |\Z)", text, re.S | re.M)
                q = fn and re.search(r"queue\s*=\s*(\w+)\(", fn.group(0))
                name = q.group(1) if q else name
        except OSError:
            pass
        durable = name not in ("MemoryQueue", "unknown")
        kind = (
            "durable SQLite queue (.motia/queue.db)"
            if "Sqlite" in name
            else ("in-memory queue (not durable)" if name == "MemoryQueue" else name)
        )
        return {"class": name, "durable": durable, "description": kind}

    def copy_project(self, name: str, dest: Path, ruby: bool = False, go: bool = False) -> Path:
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(PROJECTS / name, dest)
        if ruby and (PROJECTS / f"{name}-ruby").is_dir():
            shutil.copytree(PROJECTS / f"{name}-ruby", dest, dirs_exist_ok=True)
        if go and (PROJECTS / f"{name}-go").is_dir():
            shutil.copytree(PROJECTS / f"{name}-go", dest, dirs_exist_ok=True)
        return dest

    def motia_core(
        self, project: Path, name: str, cpus: str | None, extra: tuple[str, ...] = (), log_level: str = "warn"
    ) -> tuple[Service, int]:
        port = free_port()
        svc = Service(
            name,
            [
                str(VENV_BIN / "motia-core"),
                "serve",
                "--dir",
                str(project),
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--log-level",
                log_level,
                *extra,
            ],
            log=self.logs / f"{name}.log",
            env={"BENCH_SINK_PORT": str(self.sink_port)},
            cpus=cpus,
        )
        return svc, port

    def bare(self) -> tuple[Service, int]:
        port = free_port()
        svc = Service(
            "bare-aiohttp",
            [sys.executable, str(BENCH_DIR / "benchlib/bare_server.py"), "--port", str(port)],
            log=self.logs / "bare-aiohttp.log",
            cpus=self.layout.sut,
        )
        return svc, port

    def http_ok(self, url: str, body: bytes | None = None) -> str | None:
        """None if `url` answers 2xx, else why not."""
        req = urllib.request.Request(
            url, data=body, method="POST" if body is not None else "GET", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"

    def load(self, url: str, c: int, seconds: float, **kw: Any) -> dict[str, Any]:
        run: dict[str, Any] = wrk(url, connections=c, duration=seconds, cpus=self.layout.load, **kw)
        return run

    def chain_load(
        self,
        port: int | list[int],
        path: str,
        k: int,
        seconds: float,
        warm: float,
        expect: int = 1,
        ruby: bool = False,
        timeout: float = 10.0,
        driver_cpus: str | None = None,
        min_samples: int = 0,
        max_seconds: float = 0.0,
    ) -> dict[str, Any]:
        """One chainload.py run (pinned to `driver_cpus`, by default the load generators' CPU); `port`
        may list several instances of one system, which share the K users round robin. `min_samples`:
        past `seconds`, go on until that many chains started after the warm-up (at most `max_seconds`)."""
        argv = pinned(
            driver_cpus or self.layout.load,
            [
                sys.executable,
                str(BENCH_DIR / "benchlib/chainload.py"),
                "--port",
                *[str(p) for p in (port if isinstance(port, list) else [port])],
                "--path",
                path,
                "--sink-port",
                str(self.sink_port),
                "--concurrency",
                str(k),
                "--duration",
                str(seconds),
                "--warmup",
                str(warm),
                "--expect",
                str(expect),
                "--timeout",
                str(timeout),
                "--first-id",
                str(self.ids()),
                *(["--ruby"] if ruby else []),
                *(["--min-samples", str(min_samples), "--max-duration", str(max_seconds)] if min_samples else []),
            ],
        )
        bound = max(seconds, max_seconds) + warm + timeout + 30
        proc = run_bounded(argv, timeout=bound, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            raise RuntimeError(f"chain driver failed: {proc.stderr.strip()[-500:]}")
        result: dict[str, Any] = json.loads(proc.stdout)
        return result

    @staticmethod
    def _chain_line(run: dict[str, Any], hops: int, unit: str = "chains") -> str:
        lat = run["latency_us"]
        if not lat:
            return f"no {unit} completed (lost {run['lost']}, API errors {run['api_errors']})"
        return (
            f"{run['per_s']:>8,.0f} {unit}/s ({run['per_s'] * hops:,.0f} deliveries/s)  "
            f"e2e p50 {lat['p50'] / 1000:.2f} ms  p99 {lat['p99'] / 1000:.2f} ms  lost {run['lost']}"
        )
