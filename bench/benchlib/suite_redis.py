"""The redis scenario (issue 9 item 9): the 3-hop event chain API → TS → Python → JS on motia-core
with SQLite (1 instance), on Redis with 1 instance and with 2 instances sharing one redis-server
(the driver posts to both), and the anchor: the same 3-hop chain of no-op jobs in BullMQ
(bench/bullmq/chain.mjs), the engine classic Motia used, on the same redis-server.

One redis-server serves the whole scenario. The systems take turns, in rounds: each is started,
warmed up, measured and stopped, so nothing else of the scenario runs beside the measured system (an
idle Redis-backed instance is not quite free: it blocks on its streams and renews a liveness key) and
the rounds interleave the systems seconds apart. Each system has its own project copy; the two
Redis-2 instances share a key prefix, Redis-1 and BullMQ have prefixes of their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from benchlib import profile, resources
from benchlib.procs import Service, free_port
from benchlib.redis_server import RedisServer
from benchlib.suite_base import BENCH_DIR, SuiteBase

BULLMQ_DIR = BENCH_DIR / "bullmq"
REDIS_K = 16  # chains in flight, the headline concurrency of the SQLite chain scenario
# redis-2-k32: the same two instances with 16 chains in flight each, to tell a latency-bound k16 from
# a CPU-bound one (the target compares k16 with k16)
SYSTEMS = ("sqlite-1", "redis-1", "redis-2", "redis-2-k32", "bullmq")


@dataclass(frozen=True)
class RedisLayout:
    """Which CPUs each party of the scenario runs on (None: not pinned)."""

    instance1: str | None  # SQLite-1, Redis-1, BullMQ and the first Redis-2 instance
    instance2: str | None  # the second Redis-2 instance
    shared: str | None  # redis-server and the chain driver
    own_cpus: bool  # every instance, redis-server and the driver have CPUs nobody else uses

    @staticmethod
    def make(pin: bool) -> RedisLayout:
        cpus = [str(c) for c in sorted(os.sched_getaffinity(0))]
        if not pin or len(cpus) < 2:
            return RedisLayout(None, None, None, False)
        if len(cpus) >= 4:
            return RedisLayout(cpus[0], cpus[1], ",".join(cpus[2:]), True)
        return RedisLayout(cpus[0], cpus[1], cpus[1], False)

    def describe(self) -> str:
        if self.instance1 is None:
            return "nothing pinned (fewer than 2 CPUs or --layout none)"
        text = (
            f"each single-instance system (SQLite-1, Redis-1, BullMQ's node process) and Redis-2's first instance "
            f"on CPU {self.instance1}, each with its runners; Redis-2's second instance on CPU {self.instance2}; "
            f"redis-server, the chain driver and the bench process itself (its samplers, py-spy) on CPU {self.shared}"
        )
        if not self.own_cpus:
            text += (
                f". With {len(os.sched_getaffinity(0))} CPUs the second instance shares its CPU with redis-server "
                "and the driver, so Redis-2 gets less than two whole CPUs for its instances: the 2-instance "
                "target assumes one CPU per instance plus CPU for Redis and the load (4+ CPUs)"
            )
        return text


@dataclass
class System:
    """One system under test: its processes (one per instance) and the entry port of each."""

    name: str
    services: list[Service]
    ports: list[int]
    ready_path: str
    k: int = REDIS_K
    runs: list[dict[str, Any]] = field(default_factory=list)


class RedisScenario(SuiteBase):
    # -- redis: the 3-hop chain on SQLite / Redis x1 / Redis x2 / BullMQ -----------------------------

    def bullmq_status(self) -> str | None:
        """None when bench/bullmq's packages are installed, else why not."""
        if not (BULLMQ_DIR / "node_modules/bullmq/package.json").is_file():
            return "bench/bullmq is not installed (make bench runs `npm ci` there: make bench-bullmq)"
        return None

    def redis_chains(self) -> None:
        lay = RedisLayout.make(self.layout.sut is not None)
        out: dict[str, Any] = {"k": REDIS_K, "rounds": self.d.redis_rounds, "layout": lay.describe()}
        out["own_cpus"] = lay.own_cpus
        out["runs"] = {name: [] for name in SYSTEMS}
        out["idle"] = {}
        self.results["redis"] = out
        self.progress("redis layout", lay.describe()[:200])
        redis = RedisServer(self.work / "redis-data", self.logs / "redis-server.log", cpus=lay.shared).start()
        out["redis_server"] = {"port": redis.port, "version": redis.info("server").get("redis_version", "?")}
        out["redis_server"]["persistence"] = "appendonly yes, appendfsync everysec, no RDB snapshots"
        units = self._redis_units(redis, lay)
        # the bench itself (its samplers poll every 0.25 s, py-spy is its child) keeps off CPU 0 too
        home = _pin_self(lay.shared)
        try:
            for r in range(self.d.redis_rounds):
                for unit in units:
                    self._redis_unit(unit, redis, lay, r)
        finally:
            for unit in units:
                for svc in unit[0].services:
                    svc.stop()
            redis.stop()
            _pin_self(",".join(str(c) for c in home) if home else None)

    def _redis_units(self, redis: RedisServer, lay: RedisLayout) -> list[list[System]]:
        """The systems, grouped by the processes they share (redis-2 and redis-2-k32: the same two
        instances); each group is started, measured and stopped in turn, once per round."""

        def core(tag: str, cpus: str | None, extra: tuple[str, ...] = ()) -> tuple[Service, int]:
            project = self.copy_project("bench", self.work / f"redis-scenario-{tag}")
            return self.motia_core(project, f"motia-core-{tag}", cpus, extra)

        def on_redis(prefix: str) -> tuple[str, ...]:
            return ("--redis", redis.url, "--redis-prefix", prefix)

        units: list[list[System]] = []
        svc, port = core("sqlite-1", lay.instance1)
        units.append([System("sqlite-1", [svc], [port], "/noop/ts")])
        svc, port = core("redis-1", lay.instance1, on_redis("bench-r1"))
        units.append([System("redis-1", [svc], [port], "/noop/ts")])
        a, pa = core("redis-2a", lay.instance1, on_redis("bench-r2"))
        b, pb = core("redis-2b", lay.instance2, on_redis("bench-r2"))
        units.append(
            [
                System("redis-2", [a, b], [pa, pb], "/noop/ts"),
                System("redis-2-k32", [a, b], [pa, pb], "/noop/ts", k=2 * REDIS_K),
            ]
        )
        why = self.bullmq_status()
        if why:
            self.fail("redis: BullMQ anchor", why)
            self.results["redis"]["bullmq_status"] = f"not run: {why}"
            return units
        pkg = json.loads((BULLMQ_DIR / "node_modules/bullmq/package.json").read_text())
        self.results["redis"]["bullmq_version"] = pkg.get("version", "?")
        port = free_port()
        bull = Service(
            "bullmq-chain",
            [
                "node",
                str(BULLMQ_DIR / "chain.mjs"),
                "--redis", redis.url,
                "--port", str(port),
                "--sink-port", str(self.sink_port),
                "--prefix", "bench-bullmq",
                "--concurrency", str(REDIS_K),
            ],
            log=self.logs / "bullmq-chain.log",
            cwd=BULLMQ_DIR,
            cpus=lay.instance1,
        )  # fmt: skip
        units.append([System("bullmq", [bull], [port], "/ping")])
        return units

    def _redis_unit(self, unit: list[System], redis: RedisServer, lay: RedisLayout, r: int) -> None:
        """Start one group's processes, let them settle, measure each of its systems, stop them: nothing
        else of the scenario runs meanwhile (an idle Redis-backed instance polls, so none is kept up)."""
        head = unit[0]
        for svc in head.services:
            svc.start()
        try:
            for svc, port in zip(head.services, head.ports, strict=True):
                t = svc.wait_http(f"http://127.0.0.1:{port}{head.ready_path}", timeout=90)
                if r == 0:
                    self.progress(f"start {svc.name}", f"ready in {t * 1000:,.0f} ms")
            if r == 0:
                self.results["redis"]["idle"][head.name] = self._idle(head, redis)
            # Node's JIT and the Python runner's caches settle first (a fresh start every round)
            self.chain_load(head.ports, "/chain", REDIS_K, self.d.warm_first, 0.5, driver_cpus=lay.shared)
            for sys_ in unit:
                self._redis_run(sys_, redis, lay, r)
            if head.name in ("sqlite-1", "redis-1") and r == self.d.redis_rounds - 1:
                self.results["redis"].setdefault("profile", {})[head.name] = self._redis_profile(head, lay)
        except RuntimeError as exc:  # one system that fails must not cost the others
            self.fail(f"redis: {head.name} round {r + 1}", str(exc))
        finally:
            for svc in head.services:
                svc.stop()

    def _idle(self, sys_: System, redis: RedisServer, seconds: float = 1.5) -> dict[str, float]:
        """CPU (% of one core) a just-started system burns with nothing to do, and the Redis commands/s it
        issues meanwhile (a Redis-backed instance blocks on its streams and renews its liveness key)."""
        samplers = [resources.Sampler(svc.pid) for svc in sys_.services]
        before = _commands(redis)
        t0 = time.perf_counter()
        with contextlib.ExitStack() as stack:
            for smp in samplers:
                stack.enter_context(smp)
            time.sleep(seconds)
        rate = (_commands(redis) - before - 1) / (time.perf_counter() - t0)  # - 1: our own INFO
        cpu = sum(r["cpu_pct"] for smp in samplers for r in smp.result()["by_role"].values())
        self.progress(f"idle {sys_.name}", f"CPU {cpu:.1f} % of one core, Redis {rate:,.0f} commands/s")
        return {"cpu_pct": cpu, "redis_commands_per_s": rate}

    def _redis_run(self, sys_: System, redis: RedisServer, lay: RedisLayout, r: int) -> None:
        samplers = [resources.Sampler(svc.pid) for svc in sys_.services]
        redis_sampler = resources.Sampler(redis.pid)
        before = _commands(redis)
        try:
            with contextlib.ExitStack() as stack:
                for smp in [*samplers, redis_sampler]:
                    stack.enter_context(smp)
                run = self.chain_load(
                    sys_.ports, "/chain", sys_.k, self.d.chain, self.d.chain_warm, driver_cpus=lay.shared
                )
        except RuntimeError as exc:
            self.fail(f"redis chain {sys_.name} round {r + 1}", str(exc))
            return
        run["instances"] = [smp.result() for smp in samplers]
        run["redis_server"] = redis_sampler.result()
        # every command of the run (its warm-up second included; those run inside Lua scripts count, as
        # Redis counts them) over every chain reported in it: only this system talks to Redis meanwhile
        run["redis_commands"] = _commands(redis) - before - 1
        run["redis_commands_per_chain"] = run["redis_commands"] / run["reports"] if run["reports"] else None
        sys_.runs.append(run)
        self.results["redis"]["runs"][sys_.name].append(run)
        rounds = self.d.redis_rounds
        self.progress(
            f"chain {sys_.name} k{sys_.k}" + (f" round {r + 1}/{rounds}" if rounds > 1 else ""),
            self._chain_line(run, hops=3)
            + (f"  api errors {run['api_errors']}" if run["api_errors"] else "")
            + f"  other load on CPU 0 {run['instances'][0].get('foreign_pct_on_server_cpus') or 0:.0f} %",
        )

    def _redis_profile(self, sys_: System, lay: RedisLayout, seconds: float = 5.0) -> dict[str, Any]:
        """py-spy on a single instance's core under the same chain load: where the core's time goes on
        Redis, next to SQLite (raw stacks in profile-core-<system>-chain.txt)."""
        core = sys_.services[0]
        box: dict[str, Any] = {}

        def load() -> None:
            try:
                box["run"] = self.chain_load(sys_.ports, "/chain", REDIS_K, seconds + 2, 0.5, driver_cpus=lay.shared)
            except RuntimeError as exc:
                box["error"] = str(exc)

        thread = threading.Thread(target=load, daemon=True)
        thread.start()
        try:
            time.sleep(1.0)
            with resources.Sampler(core.pid) as sampler:
                prof = profile.record(core.pid, seconds, self.out / f"profile-core-{sys_.name}-chain.txt")
            prof["cpu_during"] = sampler.result()
            raw = self.out / f"profile-core-{sys_.name}-chain.txt"
            prof["inclusive_groups"] = inclusive_groups(raw)
            prof["redis_callers"] = redis_callers(raw)
        except (RuntimeError, OSError) as exc:  # a missing py-spy costs the profile, not the scenario
            self.fail(f"redis: profile of the {sys_.name} core", str(exc))
            return {}
        finally:
            thread.join(seconds + 60)
        if "error" in box:
            prof["load_error"] = box["error"]
        self.progress(
            f"profile {sys_.name} core (chain k{REDIS_K})",
            f"{prof['samples_main_thread']} samples; top: "
            + ", ".join(f"{b['bucket'].split(' (')[0]} {b['pct']:.0f} %" for b in prof["buckets"][:3]),
        )
        return prof


# what a stack passes through, whatever its innermost frame: redis-py's socket I/O ends in asyncio
# frames, so the innermost-frame buckets of profile.py file it under the event loop
INCLUSIVE_GROUPS = (  # needles match py-spy's frame text, "func (package/module.py:line)"
    ("redis-py client (commands, scripts, pipelines, pool)", " (redis/"),
    ("SQLite (motia_core/sqlite.py)", " (motia_core/sqlite.py"),
    ("gRPC writes to the runners (runners/frames.py)", " (motia_core/runners/frames.py"),
    ("traces (motia_core/tracing*.py)", " (motia_core/tracing"),
    ("HTTP (aiohttp)", " (aiohttp/"),
)


def inclusive_groups(raw: Path) -> dict[str, float]:
    """Share (%) of the main thread's samples whose stack has a frame of each group."""
    stacks = [(st[1:], n) for st, n in profile._parse(raw) if st and "MainThread" in st[0]]
    total = sum(n for _, n in stacks)
    if not total:
        return {}
    return {
        name: 100.0 * sum(n for frames, n in stacks if any(needle in f for f in frames)) / total
        for name, needle in INCLUSIVE_GROUPS
    }


def redis_callers(raw: Path, top: int = 6) -> dict[str, float]:
    """Share (%) of the main thread's samples spent in redis-py, by the motia_core function that called
    it (the innermost motia_core frame outside redis-py): which of the core's Redis calls cost most."""
    stacks = [(st[1:], n) for st, n in profile._parse(raw) if st and "MainThread" in st[0]]
    total = sum(n for _, n in stacks)
    callers: Counter[str] = Counter()
    for frames, n in stacks:
        first = next((i for i, f in enumerate(frames) if " (redis/" in f), None)
        if first is None:
            continue
        caller = next((frames[j] for j in range(first - 1, -1, -1) if " (motia_core/" in frames[j]), "?")
        callers[caller.split(":")[0].rstrip(")") + ")"] += n
    return {c: 100.0 * n / total for c, n in callers.most_common(top)} if total else {}


def _pin_self(cpus: str | None) -> set[int]:
    """Move every thread of this process to `cpus` (None: leave it); returns the previous CPUs."""
    before = os.sched_getaffinity(0)
    if cpus:
        target = {int(c) for c in cpus.split(",")}
        for t in psutil.Process().threads():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(t.id, target)
    return before


def _commands(redis: RedisServer) -> int:
    return int(redis.info("stats").get("total_commands_processed", 0))
