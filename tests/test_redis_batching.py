"""Cheaper Redis calls under load (docs/adapters.md#redis-queue, issue 15): the queue's batch scripts
keep one call in flight and send what arrived meanwhile as the next call, and the core's client packs
commands in one hiredis call, byte for byte what redis-py's own packer sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.exceptions import DataError

from motia_core import redis_conn
from motia_core.logs import Logger
from motia_core.queue.base import QueuedEvent
from motia_core.queue.redis import RedisQueue
from tests.redis_server import RedisServer


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    c = redis_conn.connect(redis_server.url)
    yield c
    await c.aclose()


def _event(n: int) -> QueuedEvent:
    return QueuedEvent(topic="t", data_json=b'{"n":%d}' % n, trace_id=f"T{n}")


@pytest.mark.timeout(60)
async def test_enqueues_arriving_during_a_call_go_out_together_as_the_next_call(client: aioredis.Redis) -> None:
    queue = RedisQueue(client, "inflight", Logger())
    batcher = queue._enqueues
    real = batcher._script
    sizes: list[int] = []
    first_sent = asyncio.Event()
    release = asyncio.Event()

    async def held(keys: list[str], args: list[object]) -> object:
        sizes.append((len(args) - 1) // 10)  # events in this call (10 arguments each after the prefix)
        if len(sizes) == 1:  # the first call stays in flight until the test lets it go
            first_sent.set()
            await release.wait()
        return await real(keys=keys, args=args)  # type: ignore[arg-type]

    batcher._script = held  # type: ignore[assignment]
    try:
        first = asyncio.ensure_future(queue.enqueue_many([("t::a", _event(0), 0.0)]))
        await first_sent.wait()
        later = []
        for n in range(1, 11):  # ten emits in ten different loop ticks while the first call is out
            later.append(asyncio.ensure_future(queue.enqueue_many([("t::a", _event(n), 0.0)])))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        assert sizes == [1]  # nothing else was sent while the first call was in flight
        release.set()
        await asyncio.gather(first, *later)
        assert sizes == [1, 10]
        assert int(await client.get("{inflight}:q:n:t::a") or 0) == 11  # every one stored
    finally:
        await queue.close()


@pytest.mark.timeout(60)
async def test_a_failed_batch_fails_each_caller_and_the_next_call_goes_out(client: aioredis.Redis) -> None:
    queue = RedisQueue(client, "failing", Logger())
    batcher = queue._enqueues
    real = batcher._script
    calls = 0

    async def flaky(keys: list[str], args: list[object]) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("Redis went away")
        return await real(keys=keys, args=args)  # type: ignore[arg-type]

    batcher._script = flaky  # type: ignore[assignment]
    try:
        results = await asyncio.gather(
            *(queue.enqueue_many([("t::a", _event(n), 0.0)]) for n in range(3)), return_exceptions=True
        )
        assert [type(r).__name__ for r in results] == ["StorageUnavailable"] * 3
        await queue.enqueue_many([("t::a", _event(9), 0.0)])  # the batcher is not stuck
        assert int(await client.get("{failing}:q:n:t::a") or 0) == 1
    finally:
        await queue.close()


_ARGS: list[tuple[Any, ...]] = [
    ("SET", "k", "v"),
    ("SET", "ké", "é ü 漢字"),
    ("EVALSHA", "a" * 40, 1, "{p}:q:fifo", "{p}:q:", b'{"a":1}', 0, -7, 2**63 - 1),
    ("ZADD", "z", 0.1 + 0.2, "m", 1700000000.123456, "n", 1e20, "o", 5e-324, "p"),
    ("CLIENT UNBLOCK", 42),
    (b"CLIENT UNBLOCK", 42),
    ("SET", "k", b"x" * 100_000),  # past redis-py's buffer cutoff
    ("SET", "k", bytearray(b"ba"), memoryview(b"mv")),
]


def _packed_connection() -> Any:
    """A connection of the core's pool (its class, not connected)."""
    cls: Any = redis_conn.connect("redis://127.0.0.1:1/0").connection_pool.connection_class
    return cls(host="127.0.0.1", port=1)


@pytest.mark.parametrize("args", _ARGS)
def test_commands_are_packed_byte_for_byte_as_redis_py_packs_them(args: tuple[Any, ...]) -> None:
    packed = _packed_connection()
    assert type(packed).__name__.startswith("Packed")
    plain = Connection(host="127.0.0.1", port=1)
    assert b"".join(packed.pack_command(*args)) == b"".join(plain.pack_command(*args))
    assert b"".join(packed.pack_commands([args, args])) == b"".join(plain.pack_commands([args, args]))


@pytest.mark.parametrize("bad", [True, None, object()])
def test_an_argument_redis_py_refuses_is_still_a_data_error(bad: object) -> None:
    packed = _packed_connection()
    with pytest.raises(DataError):
        packed.pack_command("SET", "k", bad)


@pytest.mark.timeout(60)
async def test_the_packed_client_round_trips_through_redis(client: aioredis.Redis) -> None:
    await client.set("k", "é ü 漢字")
    assert (await client.get("k")) == "é ü 漢字".encode()
    await client.zadd("z", {"m": 0.1 + 0.2})
    assert await client.zscore("z", "m") == 0.1 + 0.2
    assert await client.client_unblock(999_999) in (0, False)  # sent as 'CLIENT' 'UNBLOCK' '999999'
