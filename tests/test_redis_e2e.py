"""Two `motia-core serve --redis URL` instances on one redis-server act as one system: state written
through one is read through the other, and events posted to both are each handled exactly once
(tests/fixtures/redis_cluster: TypeScript and Python steps)."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tests.conftest import CoreProcess
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(180)

FIXTURE = "redis_cluster"


def _pair(start_core: Callable[..., CoreProcess], redis_server: RedisServer) -> tuple[CoreProcess, CoreProcess]:
    # the same project folder for both: with --redis nothing is kept under .motia/
    env = {"MOTIA_RETRY_BASE_DELAY": "0.05"}
    a = start_core(FIXTURE, "--redis", redis_server.url, env=env)
    b = start_core(FIXTURE, "--redis", redis_server.url, env=env)
    return a, b


async def test_state_written_on_one_instance_is_read_on_the_other(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer
) -> None:
    a, b = _pair(start_core, redis_server)
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{a.url}/kv/first", json={"x": 1, "s": "é"}) as resp:  # TypeScript step on A
            assert resp.status == 200, await resp.text()
        async with http.get(f"{b.url}/kv/first") as resp:  # Python step on B
            assert resp.status == 200, await resp.text()
            assert (await resp.json()) == {"value": {"x": 1, "s": "é"}}
        async with http.put(f"{b.url}/kv/second", json=[2]) as resp:
            assert resp.status == 200
        async with http.put(f"{a.url}/kv/first", json={"x": 3}) as resp:  # a re-set keeps its place
            assert resp.status == 200
        for core in (a, b):
            async with http.get(f"{core.url}/kv") as resp:
                assert (await resp.json()) == {"values": [{"x": 3}, [2]]}
        async with http.get(f"{b.url}/kv/missing") as resp:
            assert resp.status == 404
    assert not (a.project / ".motia" / "state.db").exists()  # nothing went to the embedded store


async def test_events_posted_to_both_instances_are_each_handled_exactly_once(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer
) -> None:
    a, b = _pair(start_core, redis_server)
    total = 120
    async with aiohttp.ClientSession() as http:
        for n in range(total):
            core = a if n % 2 == 0 else b
            async with http.post(f"{core.url}/emit", json={"topic": "work.item", "data": {"n": n}}) as resp:
                assert resp.status == 200, await resp.text()

    def handled() -> list[dict[str, Any]]:
        return [d for core in (a, b) for d in core.find_logs(lambda d: d.get("msg") == "handled")]

    for _ in range(600):  # up to a minute
        if len(handled()) >= 2 * total:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # a duplicate would show up now
    counts = collections.Counter((d["n"], d["by"]) for d in handled())
    expected = {(n, by) for n in range(total) for by in ("python", "typescript")}
    assert set(counts) == expected, f"missing {sorted(expected - set(counts))[:10]}"
    assert [k for k, c in counts.items() if c != 1] == [], "an event was handled more than once"


@pytest.mark.chaos
async def test_a_redis_outage_refuses_state_writes_clearly_and_the_core_reconnects(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer
) -> None:
    core = start_core(FIXTURE, "--redis", redis_server.url)
    async with aiohttp.ClientSession() as http:

        async def post(path: str, doc: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            async with http.post(core.url + path, json=doc) as resp:
                return resp.status, await resp.json()

        assert await post("/guarded/state", {"key": "a"}) == (200, {"stored": True})
        redis_server.kill()
        status, body = await post("/guarded/state", {"key": "b"})  # within the retries' backoff, not a hang
        assert (status, body["error"]) == (200, "UNAVAILABLE"), body
        assert f"Redis at {redis_server.url} failed a state call" in body["message"]
        status, body = await post("/emit", {"topic": "work.item", "data": {"n": 1}})
        assert status == 503, body  # never accepted into a queue that is not there
        redis_server.start()  # same port and appendonly file
        for _ in range(100):  # the pool reconnects on its own
            status, body = await post("/guarded/state", {"key": "c"})
            if body.get("stored"):
                break
            await asyncio.sleep(0.1)
        assert body == {"stored": True}
        async with http.get(f"{core.url}/kv/missing") as resp:
            assert resp.status == 404
