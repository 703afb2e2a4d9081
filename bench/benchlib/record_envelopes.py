"""What each runner sends the core per request of a logging step: envelopes by kind and gRPC stream
messages each way, counted inside a serving core (its GrpcSession wrapped by counters) while wrk loads
the bench project's `/log/ts` and `/log/py` at c16. A recorded line costing the core more for one
language than the other would have to show here first (more envelopes, or fewer lines per message).

    python bench/benchlib/record_envelopes.py [--seconds 3] [--paths /log/ts,/log/py]

Prints one JSON object: per path, requests and per-request counts (in_call, in_result, frames_in,
frames_out, msgs_out). docs/observability.md#cost-of-recording quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent.parent
ROOT = BENCH_DIR.parent


def _serve_counted(argv: list[str], count_file: str) -> int:
    """Run `motia-core <argv>` in this process with its runner sessions counted; SIGUSR1 writes the
    counts to `count_file`."""
    from motia_core.runners import grpc_session, liveness

    counts: Counter[str] = Counter()
    heard, write, dispatch = (
        liveness.Liveness.heard,
        grpc_session.GrpcSession._write_frame,
        grpc_session.GrpcSession._dispatch,
    )

    def counted_heard(self: Any) -> None:  # called once per stream message read from a runner
        counts["frames_in"] += 1
        heard(self)

    async def counted_write(self: Any, frame: Any) -> None:
        counts["frames_out"] += 1
        counts["msgs_out"] += len(frame.messages)
        await write(self, frame)

    def counted_dispatch(self: Any, msg: Any) -> None:
        counts["in_" + (msg.WhichOneof("kind") or "none")] += 1
        dispatch(self, msg)

    liveness.Liveness.heard = counted_heard  # type: ignore[method-assign]
    grpc_session.GrpcSession._write_frame = counted_write  # type: ignore[method-assign]
    grpc_session.GrpcSession._dispatch = counted_dispatch  # type: ignore[method-assign]

    def dump(*_: object) -> None:
        Path(count_file).write_text(json.dumps(counts))

    signal.signal(signal.SIGUSR1, dump)
    from motia_core.cli import main

    return main(argv)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _counts(pid: int, count_file: Path) -> Counter[str]:
    count_file.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    for _ in range(100):
        if count_file.exists() and count_file.stat().st_size:
            return Counter(json.loads(count_file.read_text()))
        time.sleep(0.05)
    raise RuntimeError("the counted core did not write its counts")


def measure(seconds: float, paths: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="record-envelopes-") as tmp:
        project = Path(tmp) / "bench"
        shutil.copytree(BENCH_DIR / "projects" / "bench", project)
        count_file = Path(tmp) / "counts.json"
        port = _free_port()
        argv = ["serve", "--dir", str(project), "--port", str(port), "--host", "127.0.0.1", "--log-level", "info"]
        with open(Path(tmp) / "core.log", "w") as log:
            core = subprocess.Popen(
                [sys.executable, __file__, "--serve-counted", str(count_file), *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "BENCH_SINK_PORT": "1"},
            )
            try:
                return _measure(core, port, count_file, seconds, paths)
            finally:
                core.terminate()
                core.wait(15)


def _measure(
    core: subprocess.Popen[bytes], port: int, count_file: Path, seconds: float, paths: list[str]
) -> dict[str, Any]:
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{paths[0]}", timeout=2).read()
            break
        except OSError:
            time.sleep(0.2)
    out: dict[str, Any] = {"c": 16, "seconds": seconds}
    for path in paths:
        _wrk(port, path, 2.0)  # warm-up (Node's JIT)
        before = _counts(core.pid, count_file)
        requests = _wrk(port, path, seconds)
        after = _counts(core.pid, count_file)
        out[path] = {"requests": requests} | {
            k: round((after[k] - before[k]) / requests, 3) for k in sorted(after) if requests
        }
    return out


def _wrk(port: int, path: str, seconds: float) -> int:
    cmd = ["wrk", "-t1", "-c16", f"-d{seconds:g}s", f"http://127.0.0.1:{port}{path}"]
    text = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    if "Non-2xx" in text:
        raise RuntimeError(f"{path} answered errors under load:\n{text}")
    found = re.search(r"(\d+) requests in", text)
    if found is None:
        raise RuntimeError(f"wrk printed no request count:\n{text}")
    return int(found.group(1))


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve-counted":
        sys.exit(_serve_counted(sys.argv[3:], sys.argv[2]))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--paths", default="/log/ts,/log/py")
    args = p.parse_args()
    print(json.dumps(measure(args.seconds, args.paths.split(","))))


if __name__ == "__main__":
    main()
