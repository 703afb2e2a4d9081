"""What recording costs (issue 10): two motia-core servers on the same step files, one recording
(the default: log lines into .motia/logs.db, span events) and one `serve --no-record`, measured
with wrk at c16 in many short rounds, both sides loaded at the same time. Targets: a TS
and a Python API step that logs one info line per request (`/log/<lang>`) and the no-op steps.

Both servers run `--log-level info`, so the step's line passes the level check and is rendered to
the server's log file in both (stdout logging is not recording): the only difference between them is
`--no-record`. Metrics (always on) and traces (kept by both) cost the same on each side; OTel is off
(no OTEL_EXPORTER_OTLP_ENDPOINT in the bench's environment).

After the rounds, each server is sampled with py-spy under the TS logging step's load, and the
samples are split by where recording's time goes (report_record.py renders it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchlib import profile, resources
from benchlib.procs import Service, pinned, run_bounded
from benchlib.suite_base import BENCH_DIR, SuiteBase

# endpoint key -> path; the logging steps first (they are what the target is about)
RECORD_ENDPOINTS = {"ts_log": "/log/ts", "py_log": "/log/py", "ts": "/noop/ts", "py": "/noop/py"}
RECORD_C = 16
RUNS_PER_ROUND = 1  # runs of each side per round (the order alternates between rounds)
# "together": both sides loaded at once, sharing the servers' CPU; "alternate": one after the other, the
# order flipped every round. Under other load (~80 % of the servers' CPU) "together" gave per-round on/off
# ratios 3x tighter and run-to-run medians 3x closer (bench/README.md); MOTIA_BENCH_RECORD_MODE overrides
RECORD_MODE = "together"
PREFILLED = 100_000  # lines in the recording side's store before it starts: its default retention bound

# where a main-thread sample spent its time, judged by any frame of its stack (inclusive, first match
# in this order wins, so each sample counts once)
RECORD_FRAMES = (
    ("log store: LogRecorder buffer and batch writes (logstore.py)", ("motia_core/logstore.py",)),
    ("span events (tracing.py add_event)", ("add_event (motia_core/tracing.py",)),
    ("trace recorder (tracing_recorder.py)", ("motia_core/tracing_recorder.py",)),
    (
        "live feed (http/admin_live.py; both sides: traces, and log lines when recording)",
        ("motia_core/http/admin_live.py",),
    ),
    ("rendering the line for stdout (logs.py; both sides)", ("motia_core/logs.py",)),
    ("a runner's log call otherwise (calls.py log; both sides)", ("log (motia_core/calls.py",)),
)


class RecordScenario(SuiteBase):
    def record_pair(self) -> None:
        """Recording on vs `--no-record`: start both, warm up, interleaved rounds, then profile."""
        from benchlib.record_cost import prefill  # imports the core: only when this scenario runs

        d = self.d
        servers: dict[str, tuple[Service, int]] = {}
        for side, extra in (("on", ()), ("off", ("--no-record",))):
            project = self.copy_project("bench", self.work / f"record-{side}")
            if side == "on":  # the store a core that has served for a while writes into (record_cost.py)
                prefill(project / ".motia" / "logs.db", PREFILLED)
            servers[side] = self.motia_core(
                project, f"motia-core-record-{side}", self.layout.sut, extra=extra, log_level="info"
            )
        for svc, _ in servers.values():
            svc.start()
        try:
            self._record_pair(servers, d.record_rounds)
        finally:
            for svc, _ in servers.values():
                svc.stop()
        if "record" in self.results:
            self._line_cost()

    def _line_cost(self) -> None:
        """record_cost.py on the servers' CPU with nothing of ours beside it: CPU per recorded line."""
        argv = pinned(self.layout.sut, [sys.executable, str(BENCH_DIR / "benchlib/record_cost.py")])
        proc = run_bounded(argv, timeout=120, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            self.fail("record: CPU per line", proc.stderr.strip()[-500:])
            return
        cost = self.results["record"]["line_cost"] = json.loads(proc.stdout)
        self.progress(
            "record: CPU per recorded line",
            f"{cost['recording_us']:.1f} µs (the SQLite store's append alone {cost['store_append_us']:.1f} µs); "
            f"stdout rendering {cost['stdout_only_us']:.1f} µs on both sides",
        )

    def _record_pair(self, servers: dict[str, tuple[Service, int]], rounds: int) -> None:
        d = self.d
        for side, (svc, port) in servers.items():
            try:
                svc.wait_http(f"http://127.0.0.1:{port}/noop/ts", timeout=60)
            except RuntimeError as exc:
                self.fail(f"record: start recording {side}", str(exc))
                return
        endpoints: dict[str, str] = {}
        for key, path in RECORD_ENDPOINTS.items():
            why = next((w for _, p in servers.values() if (w := self.http_ok(f"http://127.0.0.1:{p}{path}"))), None)
            if why:
                self.fail(f"record {key}", f"{path} does not answer: {why}")
                continue
            endpoints[key] = path
        if not endpoints:
            return
        # Many short rounds, one run a side each: a burst of other load on this shared machine spoils one
        # or two rounds, not the median over them (5 ABBA rounds of 2 s a side swung 6-12 points between
        # runs). Same time as those 5 ABBA rounds. The report judges the median of the rounds' throughput
        # ratios and of their at-equal-CPU ratios (report_record.judge).
        # together (RECORD_MODE): both sides loaded at the same time on the servers' CPU, each by its own
        # wrk, for d.record seconds a round: whatever else the machine does hits both alike, and the
        # kernel shares the CPU between the two servers' sessions (autogroup); alternate: d.record / 2 s
        # a side, one after the other, the side that opens alternating
        mode = os.environ.get("MOTIA_BENCH_RECORD_MODE", RECORD_MODE)
        seconds = max(1.0, d.record if mode == "together" else d.record / 2)
        out: dict[str, Any] = {
            "c": RECORD_C,
            "prefilled": PREFILLED,
            "rounds": rounds,
            "seconds": seconds,
            "runs_per_round": RUNS_PER_ROUND,
            "mode": mode,
            "runs": {},
        }
        self.results["record"] = out
        for path in endpoints.values():
            for _, port in servers.values():
                self.load(f"http://127.0.0.1:{port}{path}", RECORD_C, d.warm_first)
        self.progress("record: warm-up", f"{len(endpoints)} endpoints x on/off: {d.warm_first:g} s each at c16")
        for r in range(rounds):
            order = ("on", "off") if r % 2 == 0 else ("off", "on")
            for key, path in endpoints.items():
                runs = (
                    self._together(servers, path, seconds, order)
                    if mode == "together"
                    else {side: self._one(servers, side, path, seconds) for side in order}
                )
                line = []
                for side, run in runs.items():
                    out["runs"].setdefault(key, {}).setdefault(side, []).append(run)
                    line.append(f"{side} {run['rps']:,.0f}" + (f" ({run['errors']} errors)" if run["errors"] else ""))
                by = out["runs"][key]
                ratio = pooled_rps(by["on"][-RUNS_PER_ROUND:]) / max(pooled_rps(by["off"][-RUNS_PER_ROUND:]), 1.0)
                self.progress(
                    f"record {key} c16 round {r + 1}/{rounds}", "req/s " + ", ".join(line) + f"  on/off {ratio:.3f}"
                )
        out["checks"] = {side: self._recorded(port) for side, (_, port) in servers.items()}
        self.progress(
            "record: what each side kept",
            "; ".join(
                f"{side}: {c.get('step_lines_kept', '?')} LogTs lines in /__motia/logs, "
                f"{c.get('not_recorded', '?')} not recorded"
                for side, c in out["checks"].items()
            ),
        )
        on, off = out["checks"]["on"], out["checks"]["off"]
        # the ratio means something only if one side kept every line and the other none
        out["valid"] = (
            on.get("step_lines_kept", 0) > 0 and on.get("not_recorded") == 0 and off.get("step_lines_kept") == 0
        )
        if not out["valid"]:
            self.fail(
                "record",
                "the recording pair is not on vs off: the recording server must keep the step's lines and drop "
                f"none, the --no-record server keep none ({out['checks']})",
            )
        if "ts_log" in endpoints:
            out["profile"] = {}
            for side, (svc, port) in servers.items():
                try:
                    out["profile"][side] = self._profile_under(svc, f"http://127.0.0.1:{port}/log/ts", side)
                except (RuntimeError, OSError) as exc:  # a missing py-spy costs the profile, not the run
                    self.fail(f"record: profile {side}", str(exc))

    def _one(self, servers: dict[str, tuple[Service, int]], side: str, path: str, seconds: float) -> dict[str, Any]:
        """One wrk run on one side, with the CPU of that server's tree."""
        svc, port = servers[side]
        with resources.Sampler(svc.pid) as sampler:
            run = self.load(f"http://127.0.0.1:{port}{path}", RECORD_C, seconds)
        run["resources"] = sampler.result()
        return run

    def _together(
        self, servers: dict[str, tuple[Service, int]], path: str, seconds: float, order: tuple[str, ...]
    ) -> dict[str, dict[str, Any]]:
        """One run of each side at the same time (a wrk each, started in `order`)."""
        with ThreadPoolExecutor(max_workers=len(order)) as pool:
            futures = {side: pool.submit(self._one, servers, side, path, seconds) for side in order}
            return {side: f.result() for side, f in futures.items()}

    def _recorded(self, port: int) -> dict[str, Any]:
        """Proof of what a side kept: LogTs lines /__motia/logs returns (a page of at most 1000) and the
        lines the recorder dropped (a full buffer or a failed batch would make recording look cheap)."""
        base = f"http://127.0.0.1:{port}"
        check: dict[str, Any] = {}
        try:
            with urllib.request.urlopen(f"{base}/__motia/logs?step=LogTs&limit=1000", timeout=15) as resp:
                check["step_lines_kept"] = len(json.loads(resp.read())["logs"])
            with urllib.request.urlopen(f"{base}/metrics", timeout=15) as resp:
                text = resp.read().decode()
            m = re.search(r"^motia_log_lines_not_recorded_total(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M)
            check["not_recorded"] = int(float(m.group(1))) if m else 0
        except (OSError, ValueError, KeyError) as exc:
            check["error"] = f"{type(exc).__name__}: {exc}"
        return check

    def _profile_under(self, svc: Service, url: str, side: str) -> dict[str, Any]:
        """py-spy on one server while wrk loads `url` at c16 (samples every thread; the report splits
        the main thread's by RECORD_FRAMES and lists the other threads)."""
        path = self.out / f"profile-record-{side}-ts-log-c16.txt"
        proc = subprocess.Popen(
            pinned(self.layout.load, ["wrk", "-t1", f"-c{RECORD_C}", "-d9s", url]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            time.sleep(1.0)
            prof = profile.record(svc.pid, 5, path)
        finally:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        split = recording_split(path)
        self.progress(
            f"record: profile {side} under ts_log c16",
            f"{split['main_samples']} busy main-thread samples ({split['main_idle_samples']} idle); recording code "
            f"{split['recording_pct']:.1f} %; other threads "
            + (", ".join(f"{t['thread']} {t['pct_of_main']:.0f} %" for t in split["threads"][:3]) or "none"),
        )
        return {
            "split": split,
            "buckets": prof["buckets"][:6],
            "inclusive": prof["inclusive"][:10],
            "file": path.name,
        }


def pooled_rps(runs: list[dict[str, Any]]) -> float:
    """Requests per second over several runs together: every request, every second loaded."""
    seconds = sum(r["duration_s"] for r in runs)
    return sum(r["requests"] for r in runs) / seconds if seconds else 0.0


# py-spy samples every thread whether it runs or waits: a stack through one of these is a wait (the
# event loop polling, a worker waiting for work, a writer sleeping), not time spent
IDLE_FRAMES = frozenset(
    {
        "epoll_wait",
        "epoll_pwait",
        "clock_nanosleep",
        "time_sleep",
        "_queue_SimpleQueue_get",
        "lock_PyThread_acquire_lock",
        "select",
        "poll",
    }
)


def recording_split(path: Path) -> dict[str, Any]:
    """A py-spy raw profile split into where recording's time goes: the main thread's busy samples
    (idle waits left out) by RECORD_FRAMES (inclusive), and the other threads' busy samples as a
    share of the main thread's."""
    main = idle = 0
    groups: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    for stack, n in profile._parse(path):
        if not stack:
            continue
        if any(f.split(" (", 1)[0] in IDLE_FRAMES for f in stack[1:]):
            idle += n if stack[0].endswith(": MainThread") else 0
            continue
        name = stack[0].split(": ", 1)[-1]
        if name != "MainThread":
            threads[name] += n
            continue
        main += n
        joined = ";".join(stack)
        for label, needles in RECORD_FRAMES:
            if any(x in joined for x in needles):
                groups[label] += n
                break
    recording = sum(n for label, n in groups.items() if "both sides" not in label)
    return {
        "main_samples": main,
        "main_idle_samples": idle,
        "recording_pct": 100.0 * recording / main if main else 0.0,
        "groups": [{"where": k, "samples": n, "pct": 100.0 * n / main} for k, n in groups.most_common()]
        if main
        else [],
        "threads": [{"thread": k, "samples": n, "pct_of_main": 100.0 * n / main} for k, n in threads.most_common(6)]
        if main
        else [],
    }
