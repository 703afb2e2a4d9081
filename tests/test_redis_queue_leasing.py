"""How the Redis queue leases (docs/adapters.md#redis-queue): a pump waits in a blocking read instead
of polling, a delay scheduled while it waits wakes it through a marker entry, concurrent emits and
fates share one script call, and an idle instance costs Redis a few commands a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from motia_core.logs import Logger
from motia_core.queue import redis as rq
from motia_core.queue.base import Delivery, Fate, QueuedEvent
from motia_core.queue.redis import RedisQueue
from tests.redis_server import RedisServer


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    c = aioredis.Redis.from_url(redis_server.url)
    yield c
    await c.aclose()


def _event(n: int) -> QueuedEvent:
    return QueuedEvent(topic="t", data_json=b'{"n":%d}' % n, trace_id=f"T{n}")


async def _until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def _commands(client: aioredis.Redis) -> int:
    info = await client.info("stats")
    return int(info["total_commands_processed"])


@pytest.mark.timeout(60)
async def test_a_delay_scheduled_while_the_pump_blocks_wakes_it(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no timer wakes the pump for 4 s (below the client's 5 s socket timeout): only the marker entry
    # can make these deliveries prompt
    monkeypatch.setattr(rq, "_BLOCK_MS", 4_000)
    monkeypatch.setattr(rq, "_CLAIM_EVERY", 30.0)
    queue = RedisQueue(client, "wake", Logger())
    seen: list[tuple[int, float]] = []

    async def consume(event: QueuedEvent) -> Delivery:
        seen.append((event.attempts, time.monotonic()))
        if event.attempts == 1:  # the retry's backoff is a delay too: FATES schedules it
            return Delivery(Fate.RETRY, delay=0.3)
        return Delivery(Fate.ACK)

    queue.subscribe("t::a", consume, concurrency=2, visibility_timeout=600)
    await queue.start()
    try:
        await asyncio.sleep(1.0)  # the pump has looked once and now blocks (its next look is 4 s away)
        start = time.monotonic()
        await queue.enqueue("t::a", _event(1), delay=0.3)
        await _until(lambda: len(seen) >= 2, timeout=10)
        assert [a for a, _ in seen] == [1, 2], seen
        assert 0.25 <= seen[0][1] - start < 2.5  # not before its delay, and not 4 s late
        assert seen[1][1] - seen[0][1] < 2.5
        depth = await client.get("{wake}:q:n:t::a")
        for _ in range(100):  # the ack lands just after the handler returned
            if int(depth or 0) == 0:
                break
            await asyncio.sleep(0.05)
            depth = await client.get("{wake}:q:n:t::a")
        assert int(depth or 0) == 0
        # the markers were consumed and deleted: only real events ever stay in the stream
        assert await client.xlen("{wake}:q:s:t::a") == 0
    finally:
        await queue.close()


@pytest.mark.timeout(60)
async def test_an_idle_instance_costs_redis_a_few_commands_a_second(client: aioredis.Redis) -> None:
    queue = RedisQueue(client, "idle", Logger())

    async def consume(event: QueuedEvent) -> Delivery:
        return Delivery(Fate.ACK)

    for name in ("t::a", "t::b", "t::c"):
        queue.subscribe(name, consume, concurrency=4)
    await queue.start()
    try:
        await asyncio.sleep(1.5)  # past the first look of each pump
        before, t0 = await _commands(client), time.monotonic()
        await asyncio.sleep(4.0)
        rate = (await _commands(client) - before) / (time.monotonic() - t0)
        # per subscription and second: one blocking read and one LEASE script (a dozen commands as
        # Redis counts them, the script's own included); polling every 250 ms cost ~36
        assert rate < 3 * 20, f"{rate:.0f} Redis commands/s while idle with 3 subscriptions"
        # and an event enqueued meanwhile is delivered at once: the blocked read returns on XADD
        got = asyncio.get_running_loop().create_future()

        async def first(event: QueuedEvent) -> Delivery:
            if not got.done():
                got.set_result(time.monotonic())
            return Delivery(Fate.ACK)

        queue._subs["t::a"].consumer = first
        start = time.monotonic()
        await queue.enqueue("t::a", _event(1))
        assert await asyncio.wait_for(got, 10) - start < 5
    finally:
        await queue.close()


@pytest.mark.timeout(60)
async def test_concurrent_emits_and_fates_share_one_script_call(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = RedisQueue(client, "batch", Logger())
    calls: list[int] = []
    for batcher in (queue._enqueues, queue._fates):
        real = batcher._script

        async def counted(keys: list[str], args: list[object], _real: object = real) -> object:
            calls.append(len(args))
            return await _real(keys=keys, args=args)  # type: ignore[operator]

        monkeypatch.setattr(batcher, "_script", counted)
    acked: list[str] = []

    async def consume(event: QueuedEvent) -> Delivery:
        acked.append(event.id)
        return Delivery(Fate.ACK)

    queue.subscribe("t::a", consume, concurrency=64)
    queue.subscribe("t::b", consume, concurrency=64)
    await queue.start()
    try:
        await asyncio.sleep(0.5)  # the pumps registered their subscriptions (a first enqueue would)
        # 20 emits at once, each fanned out to two subscriptions: one ENQUEUE call, 40 events in it
        await asyncio.gather(
            *(queue.enqueue_many([("t::a", _event(n), 0.0), ("t::b", _event(n), 0.0)]) for n in range(20))
        )
        assert calls[0] == 1 + 40 * 10  # every copy in the first call (fates of fast deliveries may follow)
        assert queue.depth("t::a") >= 1
        await _until(lambda: len(acked) >= 40, timeout=15)
        assert len(acked) == 40
        await asyncio.sleep(0.5)
        fate_calls = len(calls) - 1
        assert 1 <= fate_calls < 40  # acks of deliveries ending in the same tick went together
        assert int(await client.get("{batch}:q:n:t::a") or 0) == 0
        assert int(await client.get("{batch}:q:n:t::b") or 0) == 0
    finally:
        await queue.close()
