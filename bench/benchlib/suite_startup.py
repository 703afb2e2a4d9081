"""Cold start (`serve` to the first 200 OK, idle RSS, where the time goes) and the RSS floors of the
imports."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchlib.procs import Service
from benchlib.suite_base import REPO, SuiteBase

# `serve --log-level debug` lines the phases are read from (core/motia_core/app.py, runners/supervisor.py)
_STAMP = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) ")
_READY = re.compile(r"\[runner:(\w+)\] \w+ runner ready")
_LOADED = re.compile(r"\[core\] loaded \d+ steps .* in (\d+) ms")
_LISTENING = re.compile(r"\[core\] motia-core listening on ")
# core/motia_core/coldstart.py: the runners are spawned before the core's heavy imports, which run
# while they start
_SPAWNING = re.compile(r"\[core\] runners spawning: ")
_IMPORTED = re.compile(r"\[core\] core imports done in ")
PHASES = (
    ("start", "interpreter, light imports, project config, runner registry, discovery (→ `runners spawning`)"),
    ("overlap", "runners start and load their step files while the core imports the rest (→ both done)"),
    ("registry", "storage opened, routes, subscriptions and cron built from the manifests (→ `loaded N steps`)"),
    ("http", "queue, cron, HTTP server (→ `listening on`)"),
    ("first", "first request (→ 200 OK on /ping, polled every 5 ms)"),
)
# inside `overlap`, side by side (not added to the start's total)
DETAIL = (
    ("runners", "of which the runners: spawn, handshake, step files loaded (→ the last runner's `ready`)"),
    ("imports", "of which the core's imports of HTTP, queue, state, tracing (→ `core imports done`)"),
)
COMPILE_DIRS = ("core/motia_core", "runners/python/motia_runner", "sdk-python/motia")


def cold_phases(log: Path, spawned_wall: float, first_ok_s: float) -> dict[str, float] | None:
    """Milliseconds per phase (PHASES, adding up to the start) and DETAIL of one cold start, from its
    debug log (None when a line is missing)."""
    day = datetime.fromtimestamp(spawned_wall).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    ready: list[float] = []
    loaded = listening = spawning = imported = None
    load_ms = 0.0
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        m = _STAMP.match(line)
        if not m:
            continue
        h, mi, sec, milli = (int(x) for x in m.groups())
        t = day + h * 3600 + mi * 60 + sec + milli / 1000 - spawned_wall
        if t < -0.01:  # an earlier start logged to the same (appended) file
            continue
        if _READY.search(line):
            ready.append(t)
        elif _SPAWNING.search(line) and spawning is None:
            spawning = t
        elif _IMPORTED.search(line) and imported is None:
            imported = t
        elif (lm := _LOADED.search(line)) is not None and loaded is None:
            loaded, load_ms = t, float(lm.group(1))
        elif _LISTENING.search(line) and listening is None:
            listening = t
    if not ready or loaded is None or listening is None:
        return None
    # a core from before coldstart.py: no early spawn; its load() measured from discovery on
    began = spawning if spawning is not None else loaded - load_ms / 1000
    both = max(max(ready), imported if imported is not None else 0.0)
    marks = [0.0, began, both, loaded, listening, first_ok_s]
    out = {name: max(0.0, (b - a) * 1000) for (name, _), a, b in zip(PHASES, marks[:-1], marks[1:], strict=True)}
    out["runners"] = max(0.0, (max(ready) - began) * 1000)
    out["imports"] = max(0.0, (imported - began) * 1000) if imported is not None else 0.0
    return out


def compile_bytecode() -> str | None:
    """Compile the checkout's Python packages as pip compiles an installed package's: a checkout run
    with PYTHONDONTWRITEBYTECODE=1 (as this bench's environment may be) would otherwise compile ~60
    modules from source at every start (~0.2 s of CPU), which no installed motia-core does. None when
    it worked, else why not."""
    argv = [sys.executable, "-m", "compileall", "-q", *(str(REPO / d) for d in COMPILE_DIRS)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    return None if r.returncode == 0 else (r.stdout + r.stderr).strip()[-300:]


class StartupScenarios(SuiteBase):
    # -- cold start --------------------------------------------------------------------------------

    def cold_start(self, reps: int = 5) -> None:
        problem = compile_bytecode()
        if problem is not None:
            self.fail("cold start: compiling the checkout's bytecode", problem)
        launched: list[tuple[Service, float]] = []

        # One start first, not counted: it finds the files the core, Python and Node read (the .pyc just
        # compiled above, node_modules, the Node runner's V8 compile cache in ~/.cache, written by the
        # first start after an install) where every later start finds them, in the page cache and the
        # caches; the 5 counted starts then measure the same state (bench/README.md, "Rows that flip").
        def launch_warmup(i: int) -> tuple[Service, int]:
            project = self.copy_project("cold", self.work / "cold-warmup")
            return self.motia_core(project, "motia-core-cold-warmup", self.layout.both, log_level="debug")

        warmup, _ = self.cold_starts("motia-core warm-up", 1, launch_warmup, timeout=60, idle_of_last=False)

        def launch(i: int) -> tuple[Service, int]:
            project = self.copy_project("cold", self.work / f"cold-{i}")
            svc, port = self.motia_core(project, f"motia-core-cold-{i}", self.layout.both, log_level="debug")
            # Service.start() runs right after launch(): its perf_counter start maps to this wall clock
            launched.append((svc, time.time() - time.perf_counter()))
            return svc, port

        runs, idle = self.cold_starts("motia-core", reps, launch, timeout=60)
        phases: list[dict[str, float]] = []
        # cold_starts keeps the times of the starts that answered: pair them only when all did
        for (svc, wall_offset), first_ok in zip(launched, runs if len(runs) == len(launched) else [], strict=False):
            found = cold_phases(svc.log_path, svc.started_at + wall_offset, first_ok)
            if found is not None:
                phases.append(found)
        self.results["cold_start"] = {
            "motia_core": {"runs_s": runs, "idle": idle, "phases_ms": phases, "warmup_s": warmup}
        }
        if phases:
            self.progress(
                "cold start phases (median)",
                ", ".join(
                    f"{n} {sorted(p.get(n, 0.0) for p in phases)[len(phases) // 2]:,.0f} ms" for n, _ in PHASES + DETAIL
                ),
            )

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
