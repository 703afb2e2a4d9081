"""The transport limit: raw gRPC bidi ping-pong per runner language (benchlib/grpc_pingpong.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import Any

from benchlib.procs import pinned, run_bounded
from benchlib.suite_base import BENCH_DIR, SuiteBase


class TransportScenario(SuiteBase):
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
