"""What an idle core costs Redis (docs/adapters.md#redis-queue): a pump with nothing leased and
nothing delayed sends one blocking read (and the READ behind it) per wait and no LEASE; a lease taken
while it waits still puts it back on the reclaim cadence, so a dead instance's events are taken over
as soon as its liveness key is gone."""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from motia_core.logs import Logger
from motia_core.queue.base import Delivery, Fate, QueuedEvent
from motia_core.queue.redis import RedisQueue
from tests.conftest import CoreProcess
from tests.redis_server import RedisServer

# commands a second (INFO commandstats, script-inner commands included) an idle core with 3
# subscriptions may send at most. Measured ~3 (idle, 30 s; docs/adapters.md); before, one LEASE per
# subscription and second made it ~40: a bound, not a timing.
IDLE_BOUND = 15.0


def _calls(client: redis.Redis) -> dict[str, int]:
    stats: dict[str, Any] = client.info("commandstats")
    return {
        name: int(v["calls"]) if isinstance(v, dict) else int(re.findall(r"calls=(\d+)", v)[0])
        for name, v in stats.items()
    }


def _go(core: CoreProcess, query: str) -> Any:
    with urllib.request.urlopen(f"{core.url}/go?{query}", timeout=30) as reply:
        return json.loads(reply.read())


def _ran(core: CoreProcess, n: int) -> list[str]:
    ran: list[str] = _go(core, f"check={n}")["ran"]
    return ran


def _until_all_ran(core: CoreProcess, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (ran := _ran(core, n)) != ["a", "b", "c"]:
        assert time.monotonic() < deadline, f"events {n} ran on {ran} only after {timeout:g}s"
        time.sleep(0.1)


@pytest.mark.timeout(120)
def test_an_idle_core_sends_redis_only_its_blocking_reads(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer
) -> None:
    core = start_core("rd8_idle", "--redis", redis_server.url)
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert _go(core, "n=1") == {"sent": "1"}
        _until_all_ran(core, 1, timeout=30)
        time.sleep(3.0)  # the acks' reclaim scans are over: nothing is leased any more
        before, t0 = _calls(client), time.monotonic()
        time.sleep(12.0)
        after, seconds = _calls(client), time.monotonic() - t0
        delta = {name: after[name] - before.get(name, 0) for name in after}
        delta["cmdstat_info"] = delta.get("cmdstat_info", 0) - 1  # our own INFO
        rate = sum(delta.values()) / seconds
        busy = {name: n for name, n in sorted(delta.items(), key=lambda kv: -kv[1]) if n}
        assert rate < IDLE_BOUND, f"{rate:.1f} Redis commands/s while idle: {busy}"
        # no reclaim scans (LEASE's XAUTOCLAIM) and no delay promotion while nothing is leased or due
        assert delta.get("cmdstat_xautoclaim", 0) == 0, busy
        assert delta.get("cmdstat_zrangebyscore", 0) == 0, busy
        # and the long waits do not delay work: an emit ends them at once
        assert _go(core, "n=2") == {"sent": "2"}
        _until_all_ran(core, 2, timeout=8)
    finally:
        client.close()


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    c = aioredis.Redis.from_url(redis_server.url)
    yield c
    await c.aclose()


@pytest.mark.timeout(60)
async def test_an_idle_pump_that_sees_a_lease_taken_reclaims_it_when_its_holder_dies(
    client: aioredis.Redis, redis_server: RedisServer
) -> None:
    # a "ghost" consumer (an instance that leases and dies: it has no liveness key) waits in a blocking
    # XREADGROUP before the pump does, so Redis serves it the next entry first
    stream = "{ghost}:q:s:t::a"
    await client.xgroup_create(stream, "motia", id="0", mkstream=True)
    ghost = aioredis.Redis.from_url(redis_server.url)
    ghost_read = asyncio.ensure_future(ghost.xreadgroup("motia", "ghost", {stream: ">"}, count=1, block=20_000))
    await asyncio.sleep(0.3)
    queue = RedisQueue(client, "ghost", Logger())
    got: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def consume(event: QueuedEvent) -> Delivery:
        if not got.done():
            got.set_result(time.monotonic())
        return Delivery(Fate.ACK)

    queue.subscribe("t::a", consume, concurrency=2, visibility_timeout=600)
    await queue.start()
    try:
        await asyncio.sleep(2.0)  # the pump looked, saw nothing leased, and now waits (no scan for 60 s)
        start = time.monotonic()
        await queue.enqueue("t::a", QueuedEvent(topic="t", data_json=b"{}", trace_id="T1"))
        assert (await asyncio.wait_for(ghost_read, 10))[0][1], "the ghost did not lease the event"
        pending = await client.xpending(stream, "motia")
        assert pending["consumers"] == [{"name": b"ghost", "pending": 1}], pending
        # the READ behind the pump's ended wait saw the lease: its next reclaim scan takes it over
        assert await asyncio.wait_for(got, 15) - start < 8
    finally:
        await queue.close()
        await ghost.aclose()
