"""A Redis-backed core stops promptly: with Redis there it unblocks its pumps' blocking reads instead
of waiting them out, and with Redis gone its last calls are bounded together instead of each spending
its retries (core/motia_core/queue/redis.py close()). Operators restart cores; a stop that waits seconds
for nothing is a defect. tests/fixtures/sd_subs: ten Python event steps, ten queue subscriptions.

The bounds are liveness bounds, generous for a loaded 2-core machine, not performance figures. Measured
on this fixture (one core's SIGTERM to exit, two cores on one Redis, loaded machine): with Redis there
about 0.5 s, before 1.2-1.9 s (each pump's one-second read waited out); with Redis gone about 3.3 s,
before 15 s (each subscription's last call spent its retries, one after the other)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.conftest import CoreProcess
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(120)

FIXTURE = "sd_subs"
SUBSCRIPTIONS = 10


def _stop_seconds(core: CoreProcess) -> float:
    started = time.monotonic()
    core.proc.send_signal(signal.SIGTERM)
    try:
        core.proc.wait(30)
    except subprocess.TimeoutExpired:
        core.proc.kill()
        raise AssertionError("the core did not stop within 30 s of SIGTERM:\n" + core.output()) from None
    return time.monotonic() - started


async def _queue_streams(client: aioredis.Redis) -> list[bytes]:
    return [key async for key in client.scan_iter(match="*:q:s:*", _type="stream")]


async def _streams_made(client: aioredis.Redis) -> list[bytes]:
    """The subscriptions' streams, once every pump has made its own (they start after "listening")."""
    deadline = time.monotonic() + 30
    streams = await _queue_streams(client)
    while len(streams) < SUBSCRIPTIONS and time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # Redis is polled: nothing to wait on
        streams = await _queue_streams(client)
    return streams


async def test_a_redis_backed_core_stops_within_seconds_and_leaves_no_consumer_behind(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer
) -> None:
    core = start_core(FIXTURE, "--redis", redis_server.url)
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        streams = await _streams_made(client)
        assert len(streams) == SUBSCRIPTIONS, streams
        # each pump is in its blocking read (one second long) when the SIGTERM comes, idle as it is
        seconds = _stop_seconds(core)
        assert core.proc.returncode == 0, core.output()
        assert seconds < 5.0, f"the core took {seconds:.1f}s to stop with nothing in flight:\n{core.output()}"
        for stream in streams:  # the consumer and the liveness key went in the close's concurrent calls
            for group in await client.xinfo_groups(stream):
                assert await client.xinfo_consumers(stream, group["name"]) == [], stream
        assert [key async for key in client.scan_iter(match="*:q:alive:*")] == []
        # the blocking reads were ended by CLIENT UNBLOCK, not waited out
        stats = await client.info("commandstats")
        assert stats.get("cmdstat_client|unblock", {}).get("calls", 0) >= 1, stats
    finally:
        await client.aclose()


async def test_a_core_whose_redis_is_gone_still_stops_within_seconds(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer
) -> None:
    core = start_core(FIXTURE, "--redis", redis_server.url)
    redis_server.kill()  # gone for good: every call of the core's close fails after its retries
    seconds = _stop_seconds(core)
    assert seconds < 9.0, f"the core took {seconds:.1f}s to stop with Redis gone:\n{core.output()}"


def test_stopping_a_redis_server_stops_the_cores_started_on_it_first(
    start_core: Callable[..., CoreProcess], tmp_path: Path
) -> None:
    """The harness (tests/redis_server.py depends_on): whatever order a test's fixtures tear down in,
    a core never outlives its Redis and spends its shutdown retrying it."""
    server = RedisServer(tmp_path / "own-redis")
    server.start()
    try:
        core = start_core(FIXTURE, "--redis", server.url)
    finally:
        server.stop()
    assert core.proc.poll() is not None, "the core still runs after its Redis was stopped"
    assert server.proc is not None and server.proc.poll() is not None
    assert not core.find_logs(lambda d: "cannot be reached" in d.get("msg", "")), core.output()
