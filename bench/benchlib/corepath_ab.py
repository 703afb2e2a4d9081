"""A/B two trees of the core on its per-request path, interleaved A B B A (docs/performance.md,
"Core per request, session 6").

    python bench/benchlib/corepath_ab.py inproc 'TREE_A|TREE_B' BLOCKS [--calls N]
    python bench/benchlib/corepath_ab.py floor  'TREE_A|TREE_B' BLOCKS [--seconds S] [--paths P,P]

A tree is a folder holding core/motia_core (and, for `floor`, bench/benchlib/floor_server.py,
runners/ and sdk-python/: a copy of the checkout, or symlinks to one).

`inproc`: one process per run, pinned to CPU 0, importing that tree's core, times in-process the
pieces of an API call: the trace cycle (new_trace_id, begin, start_span, finish), RunnerInvoke on
an in-process session (runners/fake.py), app.py's dispatch chain (metrics, failure log, span,
RunnerInvoke) and http/api.py's handler, answered at once or through that chain, on an aiohttp
mocked GET; the handler answered at once with its response's prepare + write_eof on a
StreamWriter whose transport drops the bytes; and the app's router resolving an API path to the
catch-all (http/router.py where the tree has it). CPU time per call (time.process_time over --calls
calls, best of 5). No sockets, so a change of a few µs shows even on a busy machine.

`floor`: bench/benchlib/floor_server.py of each tree pinned to CPU 0, `wrk -t1 -c16` on CPU 1 for
--seconds per path; core CPU per request from /proc/<pid>/stat (utime + stime over the requests wrk
counted).

Both print each run, then per figure the medians and the B - A difference of each A B B A block.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from api_ab import _cpu, _get, _port  # the same /proc CPU read, port and probe as the API A/B

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python")

# the in-process timings, run as `python -c` in a process that imports the tree's core
INPROC = r"""
import asyncio, io, sys, time
from pathlib import Path
import uvloop
from aiohttp import web
from aiohttp.http_writer import StreamWriter
from aiohttp.test_utils import make_mocked_request
from motia_core.dispatch import InvokeRequest, RunnerInvoke, compose, failure_log_layer, tracing_layer
from motia_core.http.admin_live import LiveFeed
from motia_core.http.api import api_handler
from motia_core.logs import Logger
from motia_core.metrics import CoreMetrics
from motia_core.project import RunnerName, StepFile
from motia_core.runners.fake import FakeSession
from motia_core.runners.http_body import BodyKind, HttpResult
from motia_core.runners.transport import Outcome, Trigger
from motia_core.steps import Step, StepType
from motia_core.tracing import SpanStatus, TraceStore, new_invocation_id, new_trace_id

N = int(sys.argv[1])
ENC = HttpResult(status=200, headers_json=b"", body=b'{"ok":true}', body_kind=int(BodyKind.JSON))

async def main():
    logger = Logger("json", stream=io.StringIO())
    traces = TraceStore()
    traces.listener = LiveFeed(traces, None, logger, None)  # the live socket listens, as in serve
    file = StepFile(Path("/p/steps/noop.step.ts"), "steps/noop.step.ts", "typescript", RunnerName("node"))
    step = Step(file, StepType.API, "NoopTs", {}, flows=("bench",), path="/noop/ts", method="GET")
    fake = FakeSession({step.id: lambda p, c: ENC}, None, language="typescript", slots=1024, keep_invocations=False)

    class Sessions:
        async def session_for(self, runtime, timeout):
            return fake

    runner = RunnerInvoke(Sessions(), 10.0, 10.0, 30.0)
    chain = compose([CoreMetrics().layer(), failure_log_layer(logger), tracing_layer(traces)], runner)

    async def answered(_req):
        return Outcome(http=ENC)

    h_answered = api_handler(step, None, answered, traces, logger)
    h_chain = api_handler(step, None, chain, traces, logger)
    req = make_mocked_request("GET", "/noop/ts", headers={"Host": "127.0.0.1", "User-Agent": "wrk", "Accept": "*/*"})

    async def trace_cycle():
        tid = new_trace_id()
        traces.begin(tid, "NoopTs")
        traces.start_span(tid, new_invocation_id(), "NoopTs", "api", "typescript", 1, None).finish(SpanStatus.COMPLETED)

    class Dropped:  # a transport that takes the response's bytes and drops them
        def write(self, data): pass
        def is_closing(self): return False

    class Proto:
        transport = Dropped()
        _paused = False

    proto = Proto()
    loop = asyncio.get_running_loop()

    async def respond():  # the handler, then aiohttp's prepare + write_eof of its response
        req._payload_writer = StreamWriter(proto, loop)  # a fresh writer per response, as per request
        resp = await h_answered(req)
        await resp.prepare(req)
        await resp.write_eof()

    try:  # the app's router: http/router.py's CatchAllRouter where the tree has it (fifth pass)
        from motia_core.http.router import CatchAllRouter
        router = CatchAllRouter()
    except ImportError:
        router = web.UrlDispatcher()
    for path in ("/__motia", "/__motia/steps", "/__motia/traces", "/__motia/traces/{t}", "/metrics"):
        router.add_get(path, answered)  # the shapes app.py registers before the catch-all
    router.add_post("/emit", answered)
    if hasattr(router, "add_catch_all"):
        router.add_catch_all(answered)
    else:
        router.add_route("*", "/{tail:.*}", answered)
    router.freeze()

    cases = [
        ("router resolve", lambda: router.resolve(req)),
        ("trace cycle", trace_cycle),
        ("RunnerInvoke", lambda: runner(InvokeRequest(step, Trigger.API, b"{}", "T-1"))),
        ("dispatch chain", lambda: chain(InvokeRequest(step, Trigger.API, b"{}", "T-1"))),
        ("api_handler answered", lambda: h_answered(req)),
        ("api_handler + chain", lambda: h_chain(req)),
        ("api_handler + response written", respond),
    ]
    for name, fn in cases:
        for _ in range(2000):
            await fn()
        best = float("inf")
        for _ in range(5):
            t = time.process_time()
            for _ in range(N):
                await fn()
            best = min(best, (time.process_time() - t) / N * 1e6)
        print(f"{name}={best:.3f}")

uvloop.run(main())
"""


def _env(tree: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(f"{tree}/{p}" for p in ("core", "runners/python", "sdk-python"))}
    node = Path(tree) / "runners/node/dist/runner.cjs"
    if node.exists():
        env["MOTIA_NODE_RUNNER"] = str(node)
    return env


def run_inproc(tree: str, calls: int) -> dict[str, float]:
    argv = ["taskset", "-c", "0", PYTHON, "-c", INPROC, str(calls)]
    out = subprocess.run(argv, env=_env(tree), capture_output=True, text=True, timeout=600, check=True).stdout
    return {k: float(v) for k, v in re.findall(r"^(.+)=([\d.]+)$", out, re.M)}


def _wrk(url: str, seconds: int) -> int:
    argv = ["taskset", "-c", "1", "wrk", "-t1", "-c16", f"-d{seconds}s", url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    found = re.search(r"(\d+) requests in", out)
    if found is None:
        raise SystemExit(f"wrk printed no request count:\n{out}")
    return int(found.group(1))


def run_floor(tree: str, seconds: int, paths: list[str], project: Path, log: Path) -> dict[str, float]:
    port = _port()
    env = {**_env(tree), "BENCH_SINK_PORT": str(_port())}
    server = f"{tree}/bench/benchlib/floor_server.py"
    argv = ["taskset", "-c", "0", PYTHON, server, "serve", "--dir", str(project), "--port", str(port)]
    argv += ["--host", "127.0.0.1", "--log-level", "warn"]
    with log.open("w") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    result: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 180
        while not all(_get(base + p) for p in paths):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"floor_server did not answer on {paths}; see {log}")
            time.sleep(0.2)
        for path in paths:  # warm-up (Node's JIT), not counted
            _wrk(base + path, 1)
        for path in paths:
            before = _cpu(proc.pid)
            n = _wrk(base + path, seconds)
            result[path] = (_cpu(proc.pid) - before) / max(n, 1) * 1e6
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    return result


def report(a: str, b: str, runs: list[tuple[str, dict[str, float]]]) -> None:
    for key in runs[0][1]:
        side_a = [r[key] for s, r in runs if s == a]
        side_b = [r[key] for s, r in runs if s == b]
        blocks = []
        for i in range(0, len(runs) - 3, 4):
            block = runs[i : i + 4]
            blocks.append(
                statistics.mean(r[key] for s, r in block if s == b)
                - statistics.mean(r[key] for s, r in block if s == a)
            )
        print(
            f"{key:24} A median {statistics.median(side_a):8.2f} best {min(side_a):8.2f}  "
            f"B median {statistics.median(side_b):8.2f} best {min(side_b):8.2f}  µs  "
            f"B - A per block: {', '.join(f'{d:+.2f}' for d in blocks)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("inproc", "floor"))
    parser.add_argument("trees", help="'TREE_A|TREE_B'")
    parser.add_argument("blocks", type=int, help="A B B A blocks")
    parser.add_argument("--calls", type=int, default=10_000, help="inproc: calls per timing (10,000)")
    parser.add_argument("--seconds", type=int, default=4, help="floor: wrk seconds per path (4)")
    parser.add_argument("--paths", default="/floor/api,/floor/dispatch", help="floor: comma-separated paths")
    args = parser.parse_args()
    specs = args.trees.split("|")
    if len(specs) != 2:
        raise SystemExit("give exactly two trees: 'TREE_A|TREE_B'")
    a, b = specs
    runs: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="corepath-ab-") as tmp:
        project = Path(tmp) / "bench"
        if args.mode == "floor":
            shutil.copytree(REPO / "bench/projects/bench", project)
        for spec in [a, b, b, a] * args.blocks:
            if args.mode == "inproc":
                result = run_inproc(spec, args.calls)
            else:
                result = run_floor(spec, args.seconds, args.paths.split(","), project, Path(tmp) / "serve.log")
            runs.append((spec, result))
            print(spec, {k: round(v, 2) for k, v in result.items()}, flush=True)
    print(f"load average at the end: {os.getloadavg()}")
    report(a, b, runs)


if __name__ == "__main__":
    sys.exit(main())
