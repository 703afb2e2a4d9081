"""The streams scenario: STREAM_CLIENTS WebSocket clients on one group, writes from a TypeScript and
a Python API step (closed loop, then open loop), driven by benchlib/streamload.py."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from benchlib import resources
from benchlib.procs import pinned
from benchlib.suite_base import BENCH_DIR, SuiteBase

STREAM_CLIENTS = 50
STREAM_WRITERS = 4  # the "few concurrent writers" of the closed loop
STREAM_OPEN_FRACTIONS = (0.25, 0.5, 0.75)  # open-loop rates, of the slower language's closed-loop k4 rate


class StreamsScenario(SuiteBase):
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
