"""Classic Motia (npm `motia`, `motia start`) on the same step files: cold start and idle RSS, API,
chains and payloads, a fresh server per scenario."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from benchlib.procs import Service, free_port, pinned, run_bounded
from benchlib.suite_base import BENCH_DIR, CLASSIC_VERSION, PAYLOADS, PROJECTS, SuiteBase

CLASSIC_DIR = BENCH_DIR / ".motia-classic"
WORKBENCH_OFFSET = 21678  # classic Motia opens its Workbench on port + 21678
# The API runs: each connection goes round at least this many times (at c16 classic Motia answers
# its 16 requests together, ~2.7 s a round on 2026-12-07: 5 rounds take ~14 s, where a 4 s wrk
# window held one round and measured the window, not the server; bench/README.md)
CLASSIC_ROUNDS = 5
CLASSIC_MAX_S = 40.0  # no new request after this, however slow the server (the round in flight still ends)


class ClassicScenario(SuiteBase):
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
        def launch(i: int) -> tuple[Service, int]:
            svc, port, project = self.classic_server("cold", f"cold-{i}", cpus=self.layout.both)
            projects.append(project)
            return svc, port

        runs, idle = self.cold_starts("classic Motia", reps, launch, timeout=90)
        if idle is not None:
            classic["idle"] = idle
        classic["cold_start_runs_s"] = runs

    def _classic_api(self, classic: dict[str, Any], port: int, *, lang: str, c: int) -> None:
        url = f"http://127.0.0.1:{port}/noop/{lang}"
        for _ in range(2):  # first calls compile the TS step and warm the page cache
            self.http_ok(url)
        run = self.closed_load(url, c, self.d.classic, CLASSIC_ROUNDS)
        classic["api"].setdefault(lang, {})[str(c)] = run
        if not run["requests"]:
            self.fail(
                f"classic Motia api {lang} c{c}", f"no answer within {CLASSIC_MAX_S:.0f} s ({run['errors']} errors)"
            )
            return
        self.progress(
            f"classic Motia api {lang} c{c}",
            f"{run['rps']:>9,.1f} req/s  p50 {run['latency_us']['p50'] / 1000:.1f} ms  "
            f"p99 {run['latency_us']['p99'] / 1000:.1f} ms  ({run['requests']} requests in {run['duration_s']:.1f} s; "
            f"Little's law {run['rps_little']:.1f} req/s)" + (f"  errors {run['errors']}" if run["errors"] else ""),
        )

    def closed_load(self, url: str, c: int, seconds: float, per_connection: int) -> dict[str, Any]:
        """closedload.py on the load generators' CPU: every connection sends at least `per_connection`
        requests and goes on for at least `seconds`; the rate counts whole requests only."""
        argv = pinned(
            self.layout.load,
            [
                sys.executable,
                str(BENCH_DIR / "benchlib/closedload.py"),
                "--url",
                url,
                "--connections",
                str(c),
                "--min-seconds",
                str(seconds),
                "--per-connection",
                str(per_connection),
                "--max-seconds",
                str(CLASSIC_MAX_S),
            ],
        )
        proc = run_bounded(argv, timeout=CLASSIC_MAX_S + 60, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            raise RuntimeError(f"closedload.py failed: {proc.stderr.strip()[-500:]}")
        result: dict[str, Any] = json.loads(proc.stdout)
        return result

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
        # At k16 one chain takes longer than a fixed window (9+ s on 2026-12-07: the first wave of 16
        # completed after the 8 s window, so nothing was measured): go on past 8 s until k chains
        # started after the warm-up, one whole steady-state wave, have completed (at most 60 s). On a
        # busy machine even that may see none finish within the timeout: the report then falls back
        # to the rate of reports received in the window (chainload.py's per_s_reports).
        run = self.chain_load(port, "/chain", k, 8, 1.0, timeout=60, min_samples=k, max_seconds=60)
        classic["chain"][str(k)] = run
        self.progress(f"classic Motia chain k{k}", self._chain_line(run, hops=3))
