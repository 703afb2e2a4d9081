"""The lean Redis connection of the hot paths (core/motia_core/redis_wire.py), on a real redis-server:
raw replies, redis-py's error classes, reconnecting after a restart (scripts loaded again), calls
that overlap or are cancelled keep the connection in step, AUTH and SELECT from the URL, and the
pool closes its wires with itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.exceptions as rex

from motia_core import redis_conn
from motia_core.redis_wire import Wire
from tests.redis_server import RedisServer


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[Any]:
    c = redis_conn.connect(redis_server.url)
    yield c
    await c.aclose()


async def test_replies_are_raw_and_error_replies_raise_redis_py_classes(client: Any) -> None:
    wire = Wire(client)
    assert await wire.call("SET", "k", b"v\x00") == b"OK"
    assert await wire.call("GET", "k") == b"v\x00"
    assert await wire.call("INCR", "n") == 1
    assert await wire.call("GET", "missing") is None
    await wire.call("XADD", "s", "*", "id", "e1")
    read = await wire.call("XREAD", "COUNT", 5, "STREAMS", "s", "0")
    assert read[0][0] == b"s" and read[0][1][0][1] == [b"id", b"e1"]  # fields stay a flat list
    with pytest.raises(rex.ResponseError, match="WRONGTYPE"):
        await wire.call("INCR", "s")
    with pytest.raises(rex.NoScriptError):
        await wire.call("EVALSHA", "0" * 40, 0)
    assert await wire.pipeline([("SET", "a", 1), ("GET", "a"), ("EXISTS", "a", "b")]) == [b"OK", b"1", 1]
    assert isinstance(wire.client_id, int) and wire.client_id == await wire.call("CLIENT", "ID")
    await wire.close()


async def test_overlapping_and_cancelled_calls_keep_the_connection_in_step(client: Any) -> None:
    wire = Wire(client)
    replies = await asyncio.gather(*(wire.call("ECHO", f"m{n}") for n in range(200)))
    assert replies == [f"m{n}".encode() for n in range(200)]
    # a call cancelled while Redis is still working on it: its reply is read and dropped
    slow = asyncio.ensure_future(wire.call("EVAL", "local t = redis.call('TIME') while true do "
                                                   "local u = redis.call('TIME') if (u[1] - t[1]) * 1e6 + "
                                                   "(u[2] - t[2]) > 200000 then return 'slow' end end", 0))  # fmt: skip
    await asyncio.sleep(0.05)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert await wire.call("ECHO", "after") == b"after"
    await wire.close()


async def test_a_restarted_redis_is_reconnected_and_scripts_are_loaded_again(
    client: Any, redis_server: RedisServer
) -> None:
    wire = Wire(client)
    script = client.register_script("return ARGV[1] .. KEYS[1]")
    assert await wire.script(script, ["k"], ["v"]) == b"vk"
    redis_server.restart()  # a new process: the script cache is empty, the old socket is dead
    assert await wire.script(script, ["k"], ["w"]) == b"wk"  # retried on a new connection, loaded again
    assert wire.client_id == await wire.call("CLIENT", "ID")  # the new connection's
    await wire.close()


async def test_an_unreachable_redis_is_a_connection_error_after_the_retries(
    client: Any, redis_server: RedisServer
) -> None:
    wire = Wire(client)
    await wire.call("PING")
    redis_server.stop()
    with pytest.raises(rex.ConnectionError):
        await wire.call("PING")
    with pytest.raises(rex.ConnectionError):
        await wire.call("PING", retry=False)
    await wire.close()


async def test_a_redis_that_stops_answering_is_a_timeout_error(client: Any, redis_server: RedisServer) -> None:
    import os
    import signal

    wire = Wire(client)
    await wire.call("PING")
    assert redis_server.proc is not None
    os.kill(redis_server.proc.pid, signal.SIGSTOP)
    try:
        with pytest.raises(rex.TimeoutError):
            await wire.call("PING", timeout=0.3, retry=False)
    finally:
        os.kill(redis_server.proc.pid, signal.SIGCONT)
    assert await wire.call("PING") == b"PONG"  # a fresh connection: the late PONG is not taken for this one
    await wire.close()


async def test_auth_and_db_come_from_the_url(tmp_path: Any) -> None:
    server = RedisServer(tmp_path / "auth")
    server.start()
    try:
        setup = redis_conn.connect(server.url)
        await setup.config_set("requirepass", "s3cret")
        await setup.aclose()
        url = f"redis://:s3cret@127.0.0.1:{server.port}/3"
        c = redis_conn.connect(url)
        wire = Wire(c)
        await wire.call("SET", "where", "db3")
        assert await c.get("where") == b"db3"  # the pooled client, also on db 3, sees it
        bad = redis_conn.connect(f"redis://:wrong@127.0.0.1:{server.port}/0")
        with pytest.raises(rex.AuthenticationError):
            await Wire(bad).call("PING")
        await bad.aclose()
        await c.aclose()  # closes the wire too: no socket left open (warnings are errors)
        assert wire._proto is None
    finally:
        server.stop()
