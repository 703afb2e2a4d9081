"""What OTLP export costs the core, in CPU per request (docs/observability.md#opentelemetry).

Serves tests/fixtures/mr_app (a Python `GET /ping` step) twice: without an OTLP endpoint, then
exporting to the OTLP test receiver of tests/test_otel.py (aiohttp in this process, decoding every
request). Each run: a warm-up, then `wrk -t1 -c16 -d{seconds}s`; the core's own CPU (utime + stime
of its process, the runners excluded) over the run divided by the requests wrk counted, and with
export on, the spans the receiver took against the requests served (a span the SDK's queue dropped
is missing there). Alternates off/on `rounds` times.

    .venv/bin/python -m bench.otel_cost [rounds] [seconds]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import CoreProcess, copy_fixture
from tests.test_otel import OtlpReceiver

CLOCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK  # utime, stime


def wrk(url: str, seconds: int) -> int:
    out = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", url], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"(\d+) requests in", out)
    if found is None:
        raise RuntimeError(f"wrk said: {out}")
    return int(found.group(1))


def one_run(project: Path, env: dict[str, str], seconds: int) -> tuple[float, int]:
    """(core CPU in us per request of the measured run, requests served in all)."""
    core = CoreProcess(project, ["--log-level", "info"], env=env)
    try:
        core.wait_ready(60)
        warm = wrk(core.url + "/ping", 2)  # the runner's imports, the first spans, the SDK's lazy parts
        before = cpu_seconds(core.proc.pid)
        served = wrk(core.url + "/ping", seconds)
        used = cpu_seconds(core.proc.pid) - before
    finally:
        core.stop()
    return used / served * 1e6, warm + served


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    receiver = OtlpReceiver()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(rounds):
            off_project = copy_fixture("mr_app", Path(tmp) / f"off{n}")
            on_project = copy_fixture("mr_app", Path(tmp) / f"on{n}")
            off, _ = one_run(off_project, {}, seconds)
            spans_before = len(receiver.spans)
            on, served = one_run(on_project, {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}, seconds)
            time.sleep(1)  # the last batch reaches the receiver (the core flushed it at stop)
            spans = len(receiver.spans) - spans_before
            print(
                f"round {n + 1}: export off {off:.0f} us/request, on {on:.0f} us/request "
                f"({on / off:.2f}x); spans received {spans} of {served} requests served",
                flush=True,
            )
    receiver.close()
    print(f"load average at start: {load:.1f} (2 cores)")


if __name__ == "__main__":
    main()
