"""The scenarios. Each one starts what it needs, measures, stops it, and writes into `results`.

Layout (`--layout split`, the default): every server under test (motia-core with its runners, the
bare aiohttp server, classic Motia with Redis and its per-call children) runs on CPU 0, and every
load generator (wrk, the chain and streams drivers) on CPU 1, so the load generator never takes CPU from the
server and each server gets the same budget: one core.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import psutil
from benchlib import profile, resources
from benchlib.loadgen import wrk
from benchlib.procs import Service, free_port, pinned, run_bounded

BENCH_DIR = Path(__file__).resolve().parents[1]
REPO = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
CLASSIC_DIR = BENCH_DIR / ".motia-classic"
CLASSIC_VERSION = "0.17.6-beta.187"
WORKBENCH_OFFSET = 21678  # classic Motia opens its Workbench on port + 21678
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


FULL = Durations(
    warm_first=2, warm=1, api=3, rounds=3, open_loop=4, payload=2, chain=3, chain_warm=1, classic=4, streams=3
)
QUICK = Durations(
    warm_first=1, warm=1, api=3, rounds=1, open_loop=0, payload=0, chain=3, chain_warm=1, classic=0, streams=2
)
STREAM_CLIENTS = 50
STREAM_WRITERS = 4  # the "few concurrent writers" of the closed loop
STREAM_OPEN_FRACTIONS = (0.25, 0.5, 0.75)  # open-loop rates, of the slower language's closed-loop k4 rate


class Suite:
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
        try:
            text = (REPO / "core/motia_core/app.py").read_text()
            m = re.search(r"self\.queue\s*=\s*(\w+)\(", text)
            name = m.group(1) if m else "unknown"
        except OSError:
            name = "unknown"
        durable = name not in ("MemoryQueue", "unknown")
        kind = (
            "durable SQLite queue (.motia/queue.db)"
            if "Sqlite" in name
            else ("in-memory queue (not durable)" if name == "MemoryQueue" else name)
        )
        return {"class": name, "durable": durable, "description": kind}

    def copy_project(self, name: str, dest: Path, ruby: bool = False) -> Path:
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(PROJECTS / name, dest)
        if ruby and (PROJECTS / f"{name}-ruby").is_dir():
            shutil.copytree(PROJECTS / f"{name}-ruby", dest, dirs_exist_ok=True)
        return dest

    def motia_core(self, project: Path, name: str, cpus: str | None) -> tuple[Service, int]:
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
                "warn",
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
        port: int,
        path: str,
        k: int,
        seconds: float,
        warm: float,
        expect: int = 1,
        ruby: bool = False,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        argv = pinned(
            self.layout.load,
            [
                sys.executable,
                str(BENCH_DIR / "benchlib/chainload.py"),
                "--port",
                str(port),
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
            ],
        )
        proc = run_bounded(argv, timeout=seconds + warm + timeout + 30, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            raise RuntimeError(f"chain driver failed: {proc.stderr.strip()[-500:]}")
        result: dict[str, Any] = json.loads(proc.stdout)
        return result

    # -- motia-core and bare aiohttp: API, open loop, payloads, chains, profile --------------------

    def run_main(self) -> None:
        """Everything that runs against one long-lived motia-core server and the bare server."""
        project = self.copy_project("bench", self.work / "bench-project", ruby=self.ruby)
        core, core_port = self.motia_core(project, "motia-core", self.layout.sut)
        bare, bare_port = self.bare()
        core.start()
        bare.start()
        try:
            t = core.wait_http(f"http://127.0.0.1:{core_port}/noop/ts", timeout=60)
            bare.wait_http(f"http://127.0.0.1:{bare_port}/noop/bare", timeout=30)
            self.progress(
                "start motia-core + bare aiohttp",
                f"motia-core ready in {t * 1000:,.0f} ms ({len(list(project.rglob('*step*')))} step files)",
            )
        except RuntimeError as exc:
            self.fail("start motia-core", str(exc))
            core.stop()
            bare.stop()
            return
        self.results["resources_idle_bench_project"] = resources.snapshot(core.pid)
        langs = ["ts", "py"] if self.quick else ["ts", "js", "py"] + (["rb"] if self.ruby else [])
        targets: dict[str, tuple[str, Service]] = {"bare": (f"http://127.0.0.1:{bare_port}/noop/bare", bare)}
        for lang in langs:
            url = f"http://127.0.0.1:{core_port}/noop/{lang}"
            why = self.http_ok(url)
            if why:
                self.fail(f"api {lang}", f"{url} does not answer: {why}; server log: {core.tail()}")
                continue
            targets[lang] = (url, core)
        try:
            self.api_matrix(targets)
            if not self.quick:
                self.shared_layout(targets)
                self.open_loop(targets)
                self.payloads(core_port, bare_port, [lang for lang in ("ts", "py", "rb") if lang in targets])
            self.chains(core_port, core)
            if not self.quick:
                self.profile_core(targets, core)
            self.results["resources_after_load"] = resources.snapshot(core.pid)
        finally:
            core.stop()
            bare.stop()

    def api_matrix(self, targets: dict[str, tuple[str, Service]]) -> None:
        d = self.d
        api: dict[str, dict[str, list[dict[str, Any]]]] = self.results["api"]
        for name, (url, _) in targets.items():
            api[name] = {}
            self.load(url, 16, d.warm_first)
        self.progress("warm-up", f"{', '.join(targets)}: {d.warm_first:g} s each at c16 (not counted)")
        concurrencies = [16] if self.quick else [1, 16, 64]
        for c in concurrencies:
            rounds = d.rounds if c in (1, 16) else 1
            for r in range(rounds):
                for name, (url, svc) in targets.items():
                    if r == 0:
                        self.load(url, c, d.warm)
                    with resources.Sampler(svc.pid) as sampler:
                        run = self.load(url, c, d.api)
                    run["resources"] = sampler.result()
                    api[name].setdefault(str(c), []).append(run)
                    lat = run["latency_us"]
                    self.progress(
                        f"api {name} c{c}" + (f" round {r + 1}/{rounds}" if rounds > 1 else ""),
                        f"{run['rps']:>9,.0f} req/s  p50 {lat['p50'] / 1000:.2f} ms  p99 {lat['p99'] / 1000:.2f} ms"
                        + (f"  errors {run['errors']}" if run["errors"] else ""),
                    )

    def shared_layout(self, targets: dict[str, tuple[str, Service]]) -> None:
        """c16 again with the servers allowed on both CPUs (wrk stays on its CPU): what the core and
        its runners gain from running in parallel."""
        if self.layout.both is None:
            return
        both = [int(c) for c in self.layout.both.split(",")]
        sut = [int(c) for c in (self.layout.sut or "").split(",") if c]
        out: dict[str, Any] = {}

        def set_affinity(svc: Service, cpus: list[int]) -> None:
            for p in resources.tree(svc.pid):
                try:
                    for t in p.threads():
                        os.sched_setaffinity(t.id, cpus)
                except (psutil.Error, OSError):
                    pass

        for name in ("bare", "ts", "py"):
            if name not in targets:
                continue
            url, svc = targets[name]
            set_affinity(svc, both)
            try:
                self.load(url, 16, self.d.warm)
                run = self.load(url, 16, self.d.api)
            finally:
                set_affinity(svc, sut)
            out[name] = run
            self.progress(
                f"api {name} c16 shared CPUs",
                f"{run['rps']:>9,.0f} req/s  p50 {run['latency_us']['p50'] / 1000:.2f} ms",
            )
        self.results["api_shared_c16"] = out

    def open_loop(self, targets: dict[str, tuple[str, Service]]) -> None:
        api = self.results["api"]
        core_rps = [
            statistics.median(r["rps"] for r in api[n]["16"]) for n in targets if n != "bare" and "16" in api[n]
        ]
        if not core_rps:
            return
        rate = max(100, int(0.5 * min(core_rps) // 100 * 100))
        out: dict[str, Any] = {"rate": rate, "runs": {}}
        for name, (url, svc) in targets.items():
            for attempt in (1, 2):
                with resources.Sampler(svc.pid) as sampler:
                    run = self.load(url, 64, self.d.open_loop, rate=rate)
                run["resources"] = sampler.result()
                ok = run["rps"] >= 0.99 * rate
                self.progress(
                    f"open loop {name} @ {rate:,}/s" + (" (again)" if attempt > 1 else ""),
                    f"achieved {run['rps']:,.0f}/s ({100 * run['rps'] / rate:.1f} %) "
                    f"p99 {run['latency_us']['p99'] / 1000:.2f} ms  lag: connections "
                    f"{run['maxlag_ms']:.1f} ms, sends {run['sendlag_ms']:.1f} ms  {'ok' if ok else 'BELOW 99 %'}",
                )
                if attempt > 1:
                    run["first_attempt"] = out["runs"][name]
                out["runs"][name] = run
                if ok:
                    break  # a shortfall is re-run once; the report shows both attempts
        self.results["open_loop"] = out

    def payloads(self, core_port: int, bare_port: int, langs: list[str]) -> None:
        out: dict[str, dict[str, Any]] = {}
        for label, size in PAYLOADS.items():
            body = self.work / f"body-{size}.json"
            body.write_bytes(b'{"data":"' + b"x" * (size - 11) + b'"}')
            urls = {"bare": f"http://127.0.0.1:{bare_port}/echo/bare"}
            urls.update({lang: f"http://127.0.0.1:{core_port}/echo/{lang}" for lang in langs})
            for name, url in urls.items():
                try:
                    self.load(url, 16, 1, method="POST", body_file=body, timeout=20)
                    run = self.load(url, 16, self.d.payload, method="POST", body_file=body, timeout=20)
                except RuntimeError as exc:
                    self.fail(f"payload {label} {name}", str(exc))
                    continue
                run["body_bytes"] = size
                out.setdefault(name, {})[label] = run
                self.progress(
                    f"payload {label} {name} c16",
                    f"{run['rps']:>9,.0f} req/s  p50 {run['latency_us']['p50'] / 1000:.2f} ms  "
                    f"p99 {run['latency_us']['p99'] / 1000:.2f} ms"
                    + (f"  errors {run['errors']}" if run["errors"] else ""),
                )
        self.results["payload"] = out

    def chains(self, port: int, core: Service) -> None:
        d = self.d
        chain: dict[str, Any] = {}
        for k in [16] if self.quick else [1, 16, 64]:
            try:
                with resources.Sampler(core.pid) as sampler:
                    run = self.chain_load(port, "/chain", k, d.chain, d.chain_warm)
            except RuntimeError as exc:
                self.fail(f"chain k{k}", str(exc))
                continue
            run["resources"] = sampler.result()
            chain[str(k)] = run
            self.progress(f"chain API>TS>Py>JS k{k}", self._chain_line(run, hops=3))
        self.results["chain"] = chain
        if self.ruby and not self.quick:
            try:
                run = self.chain_load(port, "/chain", 16, d.chain, d.chain_warm, ruby=True)
                self.results["chain_ruby"] = {"16": run}
                self.progress("chain API>TS>Py>JS>Rb k16", self._chain_line(run, hops=4))
            except RuntimeError as exc:
                self.fail("chain with ruby", str(exc))
        if not self.quick:
            fan: dict[str, Any] = {}
            for k in (1, 16):
                try:
                    run = self.chain_load(port, "/fanout", k, d.chain, d.chain_warm, expect=10)
                except RuntimeError as exc:
                    self.fail(f"fanout k{k}", str(exc))
                    continue
                fan[str(k)] = run
                self.progress(f"fan-out 1>10 k{k}", self._chain_line(run, hops=10, unit="fan-outs"))
            self.results["fanout"] = fan

    @staticmethod
    def _chain_line(run: dict[str, Any], hops: int, unit: str = "chains") -> str:
        lat = run["latency_us"]
        if not lat:
            return f"no {unit} completed (lost {run['lost']}, API errors {run['api_errors']})"
        return (
            f"{run['per_s']:>8,.0f} {unit}/s ({run['per_s'] * hops:,.0f} deliveries/s)  "
            f"e2e p50 {lat['p50'] / 1000:.2f} ms  p99 {lat['p99'] / 1000:.2f} ms  lost {run['lost']}"
        )

    def profile_core(self, targets: dict[str, tuple[str, Service]], core: Service) -> None:
        """py-spy (wall-clock stacks) and perf (on-CPU time by shared object) on the core under the
        c16 load of the headline languages. Always run in a full run; the report shows it next to
        the targets."""
        out: dict[str, Any] = {}
        for name in ("ts", "py"):
            if name not in targets:
                continue
            url = targets[name][0]
            proc = subprocess.Popen(
                pinned(self.layout.load, ["wrk", "-t1", "-c16", "-d13s", url]),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                time.sleep(1.0)
                with resources.Sampler(core.pid) as sampler:
                    prof = profile.record(core.pid, 6, self.out / f"profile-core-{name}-c16.txt")
                prof["cpu_during"] = sampler.result()
                prof["perf_dso"] = profile.perf_dso(core.pid, 3, self.work / f"perf-{name}.data")
                out[name] = prof
                self.progress(
                    f"profile core under {name} c16",
                    f"{prof['samples_main_thread']} samples; top: "
                    + ", ".join(f"{b['bucket'].split(' (')[0]} {b['pct']:.0f} %" for b in prof["buckets"][:3]),
                )
            except RuntimeError as exc:
                self.fail(f"profile {name}", str(exc))
            finally:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
                    proc.wait()
        self.results["profile"] = out

    # -- streams: 50 WebSocket clients, writes from TS and Python API steps ------------------------

    def stream_phases(self) -> list[dict[str, Any]]:
        """Closed loop with 1 then STREAM_WRITERS writers, then open loop at increasing fixed rates (full
        run); the quick run measures the closed loop with STREAM_WRITERS writers only."""
        d = self.d.streams
        langs = ("ts", "py")

        def closed(lang: str, k: int, warm: float = 0.5) -> dict[str, Any]:
            path = f"/ticks/{lang}"
            return {
                "name": f"{lang} k{k}",
                "lang": lang,
                "path": path,
                "mode": "closed",
                "writers": k,
                "duration": d,
                "warmup": warm,
            }

        if self.quick:
            return [closed(lang, STREAM_WRITERS) for lang in langs]
        phases = [closed(lang, 1, warm=1.0) for lang in langs]
        phases += [closed(lang, STREAM_WRITERS) for lang in langs]
        for frac in STREAM_OPEN_FRACTIONS:
            for lang in langs:
                phases.append(
                    {
                        "name": f"{lang} open {round(frac * 100)}%",
                        "lang": lang,
                        "path": f"/ticks/{lang}",
                        "mode": "open",
                        "rate_of": [f"{x} k{STREAM_WRITERS}" for x in langs],
                        "fraction": frac,
                        "round_to": 10,
                        "duration": d,
                        "warmup": 0.5,
                    }
                )
        return phases

    def streams(self) -> None:
        """STREAM_CLIENTS plain aiohttp WebSocket clients (benchlib/streamload.py, on the load CPU) join
        one group of a stream; a TypeScript and a Python API step write to it with ctx.streams.set."""
        project = self.copy_project("streams", self.work / "streams-project")
        core, port = self.motia_core(project, "motia-core-streams", self.layout.sut)
        core.start()
        out: dict[str, Any] = {"clients": STREAM_CLIENTS, "writers": STREAM_WRITERS}
        self.results["streams"] = out
        try:
            t = core.wait_http(f"http://127.0.0.1:{port}/__motia/streams/list", timeout=60)
            for lang in ("ts", "py"):
                body = json.dumps({"groupId": "check", "id": "x", "seq": 0, "sentAt": 0}).encode()
                why = self.http_ok(f"http://127.0.0.1:{port}/ticks/{lang}", body)
                if why:
                    raise RuntimeError(f"POST /ticks/{lang} does not answer: {why}; server log: {core.tail()}")
            time.sleep(0.3)
            out["core_idle"] = resources.snapshot(core.pid)
            self.progress("start motia-core (streams project)", f"ready in {t * 1000:,.0f} ms")
            spec = {"phases": self.stream_phases()}
            result_path = self.work / "streamload.json"
            argv = pinned(
                self.layout.load,
                [
                    sys.executable,
                    str(BENCH_DIR / "benchlib/streamload.py"),
                    "--port",
                    str(port),
                    "--clients",
                    str(STREAM_CLIENTS),
                    "--core-pid",
                    str(core.pid),
                    "--spec",
                    json.dumps(spec),
                    "--out",
                    str(result_path),
                ],
            )
            bound = sum(p["duration"] + p["warmup"] + 6 for p in spec["phases"]) + 60
            stderr = self._run_with_progress(argv, bound, self._stream_progress)
            if not result_path.exists():
                raise RuntimeError(f"streams driver failed: {stderr[-500:]}; server log: {core.tail()}")
            res = json.loads(result_path.read_text())
            out.update(res)
            out["phases"] = {p["name"]: p for p in res["phases"]}
            if res.get("closed_clients"):
                self.fail("streams", f"clients closed during the run: {res['closed_clients'][:3]}")
            lost = sum(p["lost"] for p in res["phases"])
            self.progress(
                f"streams {STREAM_CLIENTS} clients, all phases",
                f"{res['received_total']:,} deliveries, lost {lost}, duplicates "
                f"{sum(p['duplicates'] for p in res['phases'])}, out of order {res['out_of_order']}",
            )
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            self.fail("streams", str(exc))
        finally:
            core.stop()

    def _stream_progress(self, line: str) -> None:
        try:
            p = json.loads(line)["progress"]
        except (ValueError, KeyError, TypeError):
            return
        lat = p.get("latency_us") or {}
        if not lat:
            self.progress(f"streams {p['name']} x{STREAM_CLIENTS}", f"no deliveries (lost {p['missing']})")
            return
        rate = f" @ {p['rate_target']:,.0f}/s" if p.get("rate_target") else ""
        self.progress(
            f"streams {p['name']}{rate} x{STREAM_CLIENTS}",
            f"{p['writes_per_s']:>6,.0f} writes/s -> {p['delivered_per_s']:>7,.0f} deliveries/s  "
            f"p50 {lat['p50'] / 1000:.2f} ms  p99 {lat['p99'] / 1000:.2f} ms  lost {p['missing']}  "
            f"(core {p.get('core_cpu_pct', 0):.0f} % CPU, driver {p.get('driver_cpu_pct', 0):.0f} %)",
        )

    @staticmethod
    def _run_with_progress(argv: list[str], timeout: float, on_line: Callable[[str], None]) -> str:
        """Run a bounded driver that reports progress on stderr, one line at a time; return its stderr."""
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
        )

        def kill() -> None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)

        killer = threading.Timer(timeout, kill)
        killer.start()
        lines: list[str] = []
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                lines.append(line)
                on_line(line)
            proc.wait()
        except BaseException:
            kill()
            proc.wait()
            raise
        finally:
            killer.cancel()
        if proc.returncode == -9:
            raise subprocess.TimeoutExpired(argv, timeout)
        return "".join(lines)

    # -- transport limit ---------------------------------------------------------------------------

    def grpc_pingpong(self) -> None:
        out: dict[str, Any] = {}
        for lang in ["node", "python"] + (["ruby"] if shutil.which("ruby") else []):
            argv = pinned(
                self.layout.sut, [sys.executable, str(BENCH_DIR / "benchlib/grpc_pingpong.py"), "--lang", lang]
            )
            try:
                proc = run_bounded(argv, timeout=90, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                if proc.returncode != 0:
                    raise RuntimeError(proc.stderr.strip()[-500:])
                res = json.loads(proc.stdout)
            except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
                self.fail(f"grpc ping-pong {lang}", str(exc))
                continue
            out[lang] = res
            rtt = res["rtt"]
            self.progress(
                f"grpc ping-pong {lang}",
                f"rtt p50 {rtt['latency_us']['p50']:.0f} µs p99 {rtt['latency_us']['p99']:.0f} µs; "
                f"{rtt['messages_per_s']:,.0f} round trips/s; "
                f"{res['window16']['messages_per_s']:,.0f} msg/s unbatched x16; "
                f"{res['batch16x4']['messages_per_s']:,.0f} pings/s batched",
            )
        self.results["grpc"] = out

    # -- cold start --------------------------------------------------------------------------------

    def cold_start(self, reps: int = 3) -> None:
        runs: list[float] = []
        idle: dict[str, Any] | None = None
        for i in range(reps):
            project = self.copy_project("cold", self.work / f"cold-{i}")
            svc, port = self.motia_core(project, f"motia-core-cold-{i}", self.layout.both)
            svc.start()
            try:
                t = svc.wait_http(f"http://127.0.0.1:{port}/ping", timeout=60)
                runs.append(t)
                self.progress(f"cold start motia-core #{i + 1}", f"first 200 OK after {t * 1000:,.0f} ms")
                if i == reps - 1:
                    time.sleep(2.0)
                    idle = resources.snapshot(svc.pid)
                    self.progress(
                        "idle RSS motia-core (10 steps)",
                        f"{idle['rss_mb']:.0f} MB RSS ("
                        + ", ".join(f"{p['role']} {p['rss_mb']:.0f}" for p in idle["processes"])
                        + ")",
                    )
            except RuntimeError as exc:
                self.fail(f"cold start #{i + 1}", str(exc))
            finally:
                svc.stop()
        self.results["cold_start"] = {"motia_core": {"runs_s": runs, "idle": idle}}

    def import_floors(self) -> None:
        """RSS of a fresh interpreter after importing what the core and the Node runner import: the
        floor under their idle RSS."""
        steps = [
            ("python (nothing imported)", "sys"),
            ("+ aiohttp, uvloop, orjson", "aiohttp,uvloop,orjson"),
            ("+ grpcio", "aiohttp,uvloop,orjson,grpc"),
            (
                "+ pydantic, jsonschema, fastjsonschema, croniter",
                "aiohttp,uvloop,orjson,grpc,pydantic,jsonschema,fastjsonschema,croniter",
            ),
            (
                "+ motia_core.app (the whole core)",
                "aiohttp,uvloop,orjson,grpc,pydantic,jsonschema,fastjsonschema,croniter,motia_core.app",
            ),
        ]
        code = (
            "import importlib, sys, psutil\nfor m in sys.argv[1].split(','): importlib.import_module(m)\n"
            "print(psutil.Process().memory_info().rss / 2**20)"
        )
        out: list[dict[str, Any]] = []
        try:
            for label, mods in steps:
                r = subprocess.run([sys.executable, "-c", code, mods], capture_output=True, text=True, timeout=60)
                out.append({"what": label, "rss_mb": float(r.stdout.strip())})
            node_mods = REPO / "runners/node/node_modules"
            js = (
                "const m = process.argv.slice(1); for (const x of m) require(x); "
                "console.log(process.memoryUsage().rss / 2**20)"
            )
            node_steps: list[tuple[str, list[str]]] = [
                ("node (nothing required)", []),
                ("+ @grpc/grpc-js, esbuild", [str(node_mods / "@grpc/grpc-js"), str(node_mods / "esbuild")]),
            ]
            for label, modules in node_steps:
                r = subprocess.run(["node", "-e", js, *modules], capture_output=True, text=True, timeout=60)
                out.append({"what": label, "rss_mb": float(r.stdout.strip())})
        except (ValueError, OSError, subprocess.TimeoutExpired) as exc:
            self.fail("import floors", str(exc))
        self.results["import_floors"] = out

    # -- classic Motia -----------------------------------------------------------------------------

    def classic_status(self) -> str | None:
        """None when classic Motia is installed, else why not."""
        status = CLASSIC_DIR / "status"
        if not (CLASSIC_DIR / "node_modules/.bin/motia").exists():
            if status.exists():
                return status.read_text().strip()
            return "not installed (run `make bench`, which installs it into bench/.motia-classic)"
        if not (CLASSIC_DIR / "python_modules/bin/python").exists():
            return "bench/.motia-classic/python_modules (the venv its Python steps need) is missing"
        if not shutil.which("redis-server"):
            return "redis-server is not installed (apt-get install redis-server)"
        return None

    def classic_server(self, template: str, tag: str, cpus: str | None = None) -> tuple[Service, int, Path]:
        stamp = self.out.name
        project = CLASSIC_DIR / "projects" / f"{stamp}-{tag}"
        self.copy_project(template, project)
        shutil.copy(PROJECTS / "motia.config.ts", project / "motia.config.ts")
        (project / "python_modules").symlink_to(CLASSIC_DIR / "python_modules")
        port = free_port(pair_offset=WORKBENCH_OFFSET)
        env = {
            "REDISMS_SYSTEM_BINARY": shutil.which("redis-server") or "/usr/bin/redis-server",
            "MOTIA_ANALYTICS_DISABLED": "true",
            "MOTIA_REDIS_PORT": str(free_port()),
            "BENCH_SINK_PORT": str(self.sink_port),
            "LOG_LEVEL": "warn",
        }
        svc = Service(
            f"classic-{tag}",
            [str(CLASSIC_DIR / "node_modules/.bin/motia"), "start", "--port", str(port)],
            log=self.logs / f"classic-{tag}.log",
            cwd=project,
            env=env,
            cpus=cpus or self.layout.sut,
        )
        return svc, port, project

    def run_classic(self) -> None:
        classic: dict[str, Any] = {"version": CLASSIC_VERSION, "api": {}, "chain": {}}
        self.results["classic"] = classic
        why = self.classic_status()
        if why:
            classic["status"] = f"not run: {why}"
            self.fail("classic Motia", why)
            return
        classic["status"] = "ok"
        projects: list[Path] = []
        try:
            self._classic_cold(classic, projects)
            for lang in ("ts", "py"):
                for c in (1, 16):
                    self._classic_fresh(
                        f"api-{lang}-c{c}", projects, partial(self._classic_api, classic, lang=lang, c=c)
                    )
            for k in (1, 16):
                self._classic_fresh(f"chain-k{k}", projects, partial(self._classic_chain, classic, k=k))
            self._classic_fresh("payload", projects, partial(self._classic_payload, classic))
        finally:
            for p in projects:
                shutil.rmtree(p, ignore_errors=True)

    def _classic_fresh(self, tag: str, projects: list[Path], body: Callable[[int], None]) -> None:
        """A fresh classic Motia server for one scenario (its throughput falls the longer it runs)."""
        svc, port, project = self.classic_server("bench", tag)
        projects.append(project)
        svc.start()
        try:
            svc.wait_http(f"http://127.0.0.1:{port}/noop/ts", timeout=90)
            body(port)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            self.fail(f"classic {tag}", str(exc))
        finally:
            svc.stop(grace=5.0)

    def _classic_cold(self, classic: dict[str, Any], projects: list[Path], reps: int = 2) -> None:
        runs: list[float] = []
        for i in range(reps):
            svc, port, project = self.classic_server("cold", f"cold-{i}", cpus=self.layout.both)
            projects.append(project)
            svc.start()
            try:
                t = svc.wait_http(f"http://127.0.0.1:{port}/ping", timeout=90)
                runs.append(t)
                self.progress(f"cold start classic Motia #{i + 1}", f"first 200 OK after {t * 1000:,.0f} ms")
                if i == reps - 1:
                    time.sleep(2.0)
                    idle = resources.snapshot(svc.pid)
                    classic["idle"] = idle
                    self.progress(
                        "idle RSS classic Motia (10 steps)",
                        f"{idle['rss_mb']:.0f} MB RSS ("
                        + ", ".join(f"{p['role']} {p['rss_mb']:.0f}" for p in idle["processes"])
                        + ")",
                    )
            except RuntimeError as exc:
                self.fail(f"classic cold start #{i + 1}", str(exc))
            finally:
                svc.stop(grace=5.0)
        classic["cold_start_runs_s"] = runs

    def _classic_api(self, classic: dict[str, Any], port: int, *, lang: str, c: int) -> None:
        url = f"http://127.0.0.1:{port}/noop/{lang}"
        for _ in range(2):  # first calls compile the TS step and warm the page cache
            self.http_ok(url)
        run = self.load(url, c, self.d.classic, timeout=20)
        classic["api"].setdefault(lang, {})[str(c)] = run
        self.progress(
            f"classic Motia api {lang} c{c}",
            f"{run['rps']:>9,.1f} req/s  p50 {run['latency_us']['p50'] / 1000:.1f} ms  "
            f"p99 {run['latency_us']['p99'] / 1000:.1f} ms  ({run['requests']} requests)"
            + (f"  errors {run['errors']}" if run["errors"] else ""),
        )

    def _classic_payload(self, classic: dict[str, Any], port: int) -> None:
        out: dict[str, Any] = {}
        log = self.logs / "classic-payload.log"
        for label, size in PAYLOADS.items():
            body = self.work / f"body-{size}.json"
            if not body.exists():
                body.write_bytes(b'{"data":"' + b"x" * (size - 11) + b'"}')
            for lang in ("ts", "py"):
                url = f"http://127.0.0.1:{port}/echo/{lang}"
                why = self.http_ok(url, body.read_bytes())
                if why:
                    text = log.read_text(errors="replace") if log.exists() else ""
                    m = re.search(r"(spawn E2BIG|E2BIG|Argument list too long)", text)
                    out.setdefault(lang, {})[label] = {"failed": why + (f" ({m.group(1)})" if m else "")}
                    self.progress(f"classic Motia payload {label} {lang}", f"fails: {out[lang][label]['failed']}")
                    continue
                run = self.load(url, 16, 3, method="POST", body_file=body, timeout=20)
                run["body_bytes"] = size
                out.setdefault(lang, {})[label] = run
                self.progress(
                    f"classic Motia payload {label} {lang}",
                    f"{run['rps']:>9,.1f} req/s  p50 {run['latency_us']['p50'] / 1000:.1f} ms"
                    + (f"  errors {run['errors']}" if run["errors"] else ""),
                )
        classic["payload"] = out

    def _classic_chain(self, classic: dict[str, Any], port: int, *, k: int) -> None:
        # 8 s: at k16 one cycle takes several seconds, and a second wave must start inside the window
        run = self.chain_load(port, "/chain", k, 8, 1.0, timeout=30)
        classic["chain"][str(k)] = run
        self.progress(f"classic Motia chain k{k}", self._chain_line(run, hops=3))
