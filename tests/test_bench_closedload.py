"""bench/benchlib/closedload.py, the closed-loop driver behind classic Motia's API figure, against a
real aiohttp server that answers the way classic Motia does at c16: requests are held and released
together in rounds (classic Motia spawns a process per call, so 16 concurrent calls finish together).
A fixed window would count the rounds that fit in it; the driver must count whole rounds only, over
the time they took."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
DRIVER = REPO / "bench/benchlib/closedload.py"
ROUND_S = 0.3


class RoundServer:
    """Answers requests in rounds: a round opens with the first request that finds none waiting and
    answers every request that arrived in it ROUND_S later, all at once."""

    def __init__(self) -> None:
        self.port = 0
        self.rounds = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._waiting: list[asyncio.Future[None]] = []
        app = web.Application()
        app.router.add_get("/noop", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _handle(self, _: web.Request) -> web.Response:
        fut: asyncio.Future[None] = self._loop.create_future()
        if not self._waiting:  # a round opens with its first request and ends ROUND_S later
            self.rounds += 1
            self._loop.call_later(ROUND_S, self._release)
        self._waiting.append(fut)
        await fut
        return web.json_response({"ok": True})

    def _release(self) -> None:
        batch, self._waiting = self._waiting, []
        for f in batch:
            if not f.done():
                f.set_result(None)

    def __enter__(self) -> RoundServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def server16() -> Iterator[RoundServer]:
    with RoundServer() as srv:
        yield srv


def _drive(port: int, c: int, min_seconds: float, per_connection: int) -> dict[str, object]:
    argv = [sys.executable, str(DRIVER), "--url", f"http://127.0.0.1:{port}/noop", "--connections", str(c)]
    argv += ["--min-seconds", str(min_seconds), "--per-connection", str(per_connection), "--max-seconds", "30"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=50, check=False)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_counts_whole_rounds_over_the_time_they_took(server16: RoundServer) -> None:
    run = _drive(server16.port, 16, 0.0, 5)
    # every connection went round exactly 5 times: 80 answers, none cut off by a window edge
    assert run["requests"] == 80 and run["errors"] == 0 and run["rounds"] == 5
    assert server16.rounds == 5
    duration = run["duration_s"]
    assert isinstance(duration, float) and duration >= 5 * ROUND_S
    rps = run["rps"]
    assert isinstance(rps, float)
    # the rate is the completed requests over their time, never above the server's 16 per round
    assert rps == pytest.approx(80 / duration, rel=0.01)
    assert rps <= 16 / ROUND_S
    # Little's law gives the same closed loop's throughput within the rounds' jitter
    little = run["rps_little"]
    assert isinstance(little, float) and little == pytest.approx(rps, rel=0.35)
    lat = run["latency_us"]
    assert isinstance(lat, dict) and lat["p50"] >= ROUND_S * 1e6


def test_min_seconds_keeps_connections_going(server16: RoundServer) -> None:
    # one request each would be one round; the minimum time makes them go round again
    run = _drive(server16.port, 16, 4 * ROUND_S, 1)
    requests, duration = run["requests"], run["duration_s"]
    assert isinstance(requests, int) and isinstance(duration, float)
    # connections that see the minimum time pass at different moments may stop a round apart
    assert requests >= 2 * 16 and run["errors"] == 0
    # the last round was sent before the minimum time ran out, so it ends after it
    assert duration >= 4 * ROUND_S


def test_floor_rows_record_the_other_load_on_the_servers_cpu() -> None:
    """suite_floor._other_load: busy time of the server's pinned CPU minus its own processes' CPU, so
    floor rows carry the same *other load* as the API matrix's (none when the server is unpinned)."""
    sys.path.insert(0, str(REPO / "bench"))
    from benchlib.suite_floor import _other_load

    pinned = subprocess.Popen(["sleep", "30"])
    os.sched_setaffinity(pinned.pid, {0})  # as Service(cpus="0") pins a server
    try:
        busy0 = {"0": (100.0, 0.0), "1": (50.0, 0.0)}
        busy1 = {"0": (101.5, 0.0), "1": (52.0, 0.0)}  # CPU 0 busy 1.5 s of a 2 s run, CPU 1 2 s
        # the server's processes used 0.5 s of CPU 0: the other 1.0 s was other load, 50 % of one CPU
        assert _other_load(pinned.pid, busy0, busy1, 2.0, 0.5) == pytest.approx(50.0)
        assert _other_load(pinned.pid, busy0, busy1, 2.0, 2.0) == 0.0  # never negative
    finally:
        pinned.kill()
        pinned.wait()
    unpinned = subprocess.Popen(["sleep", "30"])
    try:
        # on every CPU, the load generator's time cannot be told from other load
        assert _other_load(unpinned.pid, {"0": (0.0, 0.0)}, {"0": (1.0, 0.0)}, 1.0, 0.1) is None
    finally:
        unpinned.kill()
        unpinned.wait()
