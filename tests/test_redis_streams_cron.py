"""Streams and cron across instances, in process: several StreamHubs (or CronSchedulers) on one real
redis-server, each with its own bus (or lock) and client, sharing R1's RedisStreamStore as separate
instances would. Only the WebSocket and runner layers are left out (tests/test_streams.py covers them)."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as redis
from croniter import croniter

from motia_core.cron import CronScheduler
from motia_core.cron_lock import RedisCronLock
from motia_core.dispatch import InvokeRequest
from motia_core.logs import Level, Logger
from motia_core.project import RunnerName, StepFile
from motia_core.runners.transport import Outcome
from motia_core.steps import Step, StepType
from motia_core.streams.hub import StreamHub
from motia_core.streams.redis_bus import RedisStreamBus
from motia_core.streams.store_redis import RedisStreamStore
from motia_core.tracing import TraceStore
from tests.redis_server import RedisServer

PREFIX = "t"


class Recorder:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self.messages: list[dict[str, Any]] = []

    def offer(self, message: bytes) -> bool:
        self.messages.append(orjson.loads(message))
        return True

    def kinds(self) -> list[str]:
        return [m["event"]["type"] for m in self.messages]


class Instance:
    """One core's stream side: its own Redis client, bus and hub, the store shared through Redis."""

    def __init__(self, url: str, log: io.StringIO) -> None:
        self.client = redis.Redis.from_url(url)
        self.logger = Logger("json", Level.DEBUG, log)
        self.bus = RedisStreamBus(self.client, PREFIX, self.logger)
        self.hub = StreamHub(RedisStreamStore(self.client, PREFIX, self.logger), self.bus, self.logger)
        self.bus.start()

    async def close(self) -> None:
        await self.bus.close()
        await self.client.aclose()


@pytest.fixture
async def instances(redis_server: RedisServer) -> AsyncIterator[list[Instance]]:
    log = io.StringIO()
    made = [Instance(redis_server.url, log) for _ in range(2)]
    yield made
    for inst in made:
        try:
            await asyncio.wait_for(inst.close(), 10)
        except TimeoutError:
            for t in asyncio.all_tasks():
                t.print_stack(limit=8)
            raise


async def until(predicate: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def test_a_subscriber_on_one_instance_sees_writes_made_on_another_once_in_order(
    instances: list[Instance],
) -> None:
    a, b = instances
    on_a, on_b = Recorder(), Recorder()
    await a.hub.join(on_a, "todo", "inbox", "")
    await b.hub.join(on_b, "todo", "inbox", "")
    await b.hub.set("todo", "inbox", "1", b'{"text":"x"}')
    await b.hub.set("todo", "inbox", "1", b'{"text":"y"}')
    await b.hub.send("todo", "inbox", "", "ping", b'{"n":1}')
    await a.hub.set("todo", "inbox", "2", b'{"text":"z"}')
    await b.hub.delete("todo", "inbox", "1")
    expected = ["sync", "create", "update", "event", "create", "delete"]
    await until(lambda: len(on_a.messages) >= 6 and len(on_b.messages) >= 6)
    await asyncio.sleep(0.3)  # an echo or a duplicate would arrive by now
    for rec in (on_a, on_b):
        assert rec.kinds() == expected
        assert [m["event"].get("data") for m in rec.messages[1:3]] == [
            {"text": "x", "id": "1"},
            {"text": "y", "id": "1"},
        ]
        assert rec.messages[3]["event"]["event"] == {"type": "ping", "data": {"n": 1}}
        stamps = [m["timestamp"] for m in rec.messages]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    # an item subscriber on A gets the item's changes from B, after its sync
    item = Recorder()
    await a.hub.join(item, "todo", "inbox", "2")
    await b.hub.set("todo", "inbox", "2", b'{"text":"w"}')
    await until(lambda: len(item.messages) >= 2)
    assert item.kinds() == ["sync", "update"]
    assert item.messages[0]["event"]["data"] == {"text": "z", "id": "2"}


class SlowReader:
    """Hands the events read from Redis to the hub late (in order): this instance's own changes then
    come before earlier remote ones, and joins read a sync ahead of what the instance delivered."""

    def __init__(self, inst: Instance) -> None:
        self.hub = inst.hub
        self.queue: asyncio.Queue[tuple[str, str, int, str, bytes]] = asyncio.Queue()
        self.task = asyncio.create_task(self._run())
        inst.bus.bind(lambda *event: self.queue.put_nowait(event), inst.hub.resync)
        self.early = 0
        self.waiting_joins = 0

    async def _run(self) -> None:
        while True:
            event = await self.queue.get()
            await asyncio.sleep(random.uniform(0, 0.01))
            key = event[:2]
            self.early += len(self.hub._early.get(key, ()))  # proof the path is taken
            self.waiting_joins += sum(map(len, self.hub._joiners.get(key, {}).values()))
            self.hub._ordered(*event)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("slow", [False, True], ids=["prompt-reader", "slow-reader"])
async def test_joins_racing_writes_on_both_instances_get_a_sync_then_only_newer_events(
    instances: list[Instance], slow: bool
) -> None:
    """Each item has one writer that alternates instances and counts n = 1, 2, ...; subscribers join
    on either instance at random moments. Every subscriber must see, per item, n strictly rising from
    its sync on: no event older than (or equal to) the sync, none twice, none missing at the end."""
    items, writes = 5, 40
    subscribers: list[Recorder] = []
    readers = [SlowReader(inst) for inst in instances] if slow else []

    async def writer(k: int) -> None:
        for n in range(1, writes + 1):
            hub = instances[n % 2].hub
            await hub.set("s", "g", f"k{k}", orjson.dumps({"n": n}))
            await asyncio.sleep(random.uniform(0, 0.004))

    async def joiner(i: int) -> None:
        await asyncio.sleep(random.uniform(0, 0.25))
        rec = Recorder(f"sub{i}")
        subscribers.append(rec)
        await instances[i % 2].hub.join(rec, "s", "g", "")

    await asyncio.gather(*(writer(k) for k in range(items)), *(joiner(i) for i in range(12)))
    final = {orjson.loads(v)["id"]: orjson.loads(v)["n"] for v in await instances[0].hub.store.get_group("s", "g")}
    assert final == {f"k{k}": writes for k in range(items)}

    def state(rec: Recorder) -> dict[str, int]:
        seen: dict[str, int] = {}
        assert rec.messages[0]["event"]["type"] == "sync", rec.name
        for it in rec.messages[0]["event"]["data"]:
            seen[it["id"]] = it["n"]
        for m in rec.messages[1:]:
            ev = m["event"]
            assert ev["type"] in ("create", "update"), (rec.name, ev)
            old = seen.get(m["id"], 0)
            assert ev["data"]["n"] > old, f"{rec.name}: {m['id']} went from n={old} to n={ev['data']['n']}"
            seen[m["id"]] = ev["data"]["n"]
        return seen

    await until(lambda: all(len(r.messages) > 0 and state(r) == final for r in subscribers), timeout=20)
    await asyncio.sleep(0.3)
    for rec in subscribers:
        assert state(rec) == final
    if slow:  # the reordering and the waiting joins did happen
        assert sum(r.early for r in readers) > 0 and sum(r.waiting_joins for r in readers) > 0
        for r in readers:
            r.task.cancel()


async def test_concurrent_writers_of_one_item_on_two_instances_agree_with_the_store(
    instances: list[Instance],
) -> None:
    """No order between the writers: both instances' subscribers must see the same sequence, and
    its last value is the stored one (the group lock keeps store order and event order one)."""
    a, b = instances
    on_a, on_b = Recorder(), Recorder()
    await a.hub.join(on_a, "s", "g", "x")
    await b.hub.join(on_b, "s", "g", "")

    async def write(inst: Instance, tag: str) -> None:
        for n in range(30):
            await inst.hub.set("s", "g", "x", orjson.dumps({"w": tag, "n": n}))

    await asyncio.gather(write(a, "a"), write(b, "b"))
    await until(lambda: len(on_a.messages) == 61 and len(on_b.messages) == 61)
    await asyncio.sleep(0.3)
    values = [[m["event"]["data"] for m in rec.messages[1:]] for rec in (on_a, on_b)]
    assert values[0] == values[1]
    assert orjson.loads((await a.hub.store.get("s", "g", "x")) or b"null") == values[0][-1]
    assert a.bus.read >= 60 and b.bus.read >= 60  # own events read back too, and dropped


@pytest.mark.chaos
@pytest.mark.timeout(90)
async def test_a_redis_restart_re_syncs_the_subscribers(redis_server: RedisServer, instances: list[Instance]) -> None:
    a, b = instances
    rec = Recorder()
    await a.hub.join(rec, "s", "g", "")
    await b.hub.set("s", "g", "1", b'{"v":1}')
    await until(lambda: rec.kinds() == ["sync", "create"])
    await asyncio.to_thread(redis_server.restart)  # appendfsync always: the item and the log survive
    await until(lambda: a.hub.resyncs >= 1, timeout=30)
    await until(lambda: rec.kinds()[-1] == "sync")
    assert rec.messages[-1]["event"]["data"] == [{"v": 1, "id": "1"}]
    await b.hub.set("s", "g", "1", b'{"v":2}')
    await until(lambda: rec.kinds()[-1] == "update")
    assert rec.messages[-1]["event"]["data"] == {"v": 2, "id": "1"}


async def test_a_log_trimmed_past_a_reader_re_syncs_instead_of_skipping(redis_server: RedisServer) -> None:
    """A reader further behind than the log keeps (max_len) must not silently skip events."""
    log = io.StringIO()
    a, b = Instance(redis_server.url, log), Instance(redis_server.url, log)
    try:
        b.bus._max_len = 1  # a tiny log, so the reader's position is trimmed away
        rec = Recorder()
        await a.hub.join(rec, "s", "g", "")
        a.bus.unwatch("s", "g")  # the reader stops reading (as if stalled) while B writes
        for n in range(200):
            await b.hub.set("s", "g", "1", orjson.dumps({"n": n}))
        a.bus.watch("s", "g", 0)  # resume from the sync's position: long trimmed
        await until(lambda: a.hub.resyncs >= 1)
        await until(lambda: rec.kinds()[-1] == "sync")
        assert rec.messages[-1]["event"]["data"] == [{"n": 199, "id": "1"}]
    finally:
        await a.close()
        await b.close()


# -- cron -------------------------------------------------------------------------------------------


def cron_step(schedule: str = "* * * * * *") -> Step:
    file = StepFile(Path("/p/steps/tick.step.ts"), "steps/tick.step.ts", "typescript", RunnerName("node"))
    return Step(file=file, type=StepType.CRON, name="Tick", config={}, cron=schedule)


class RecordingLock(RedisCronLock):
    def __init__(self, client: redis.Redis, results: dict[int, list[int | None]], ttl_ms: int = 60_000) -> None:
        super().__init__(client, PREFIX, ttl_ms)
        self.results = results

    async def acquire(self, step_id: str, tick: int) -> int | None:
        token = await super().acquire(step_id, tick)
        self.results.setdefault(tick, []).append(token)
        return token


async def run_schedulers(url: str, seconds: float, before: Any = None) -> tuple[dict[int, list[int | None]], list[int]]:
    results: dict[int, list[int | None]] = {}
    runs: list[int] = []
    clients = [redis.Redis.from_url(url) for _ in range(3)]
    log = io.StringIO()

    async def invoke(request: InvokeRequest) -> Outcome:
        runs.append(1)
        return Outcome()

    step = cron_step()
    schedulers = [
        CronScheduler([step], invoke, TraceStore(), Logger("json", Level.DEBUG, log), lock=RecordingLock(c, results))
        for c in clients
    ]
    try:
        if before is not None:
            await before(clients[0], step)
        for s in schedulers:
            s.start()
        await asyncio.sleep(seconds)
    finally:
        for s in schedulers:
            await s.stop()
        for c in clients:
            await c.aclose()
    assert "fencing token" in log.getvalue()
    return results, runs


@pytest.mark.timeout(60)
async def test_three_schedulers_run_each_one_second_tick_exactly_once(redis_server: RedisServer) -> None:
    results, runs = await run_schedulers(redis_server.url, 5.5)
    complete = {t: r for t, r in results.items() if len(r) == 3}  # ticks all three reached
    assert len(complete) >= 4, results
    for tick, tokens in complete.items():
        assert sum(t is not None for t in tokens) == 1, (tick, tokens)
    won = [t for tokens in results.values() for t in tokens if t is not None]
    assert len(won) == len(results) == len(runs)  # one run per tick, whoever reached it
    assert sorted(won) == list(range(1, len(won) + 1))  # fencing tokens: one per run, rising


@pytest.mark.chaos
@pytest.mark.timeout(60)
async def test_a_holder_that_dies_with_a_tick_does_not_block_the_next(redis_server: RedisServer) -> None:
    died: list[int] = []

    async def dead_holder(client: redis.Redis, step: Step) -> None:
        # another instance claimed the next tick and died before running it: nobody releases it
        lock = RedisCronLock(client, PREFIX)
        schedule = croniter(step.cron, datetime.now().astimezone(), second_at_beginning=True)
        schedule.get_next(float)  # leave the very next tick alone: the schedulers may start late
        tick = round(schedule.get_next(float) * 1000)
        assert await lock.acquire(step.id, tick) == 1
        died.append(tick)

    results, runs = await run_schedulers(redis_server.url, 4.5, before=dead_holder)
    assert results[died[0]] == [None, None, None]  # the dead one's tick: skipped everywhere
    later = [t for t in results if t > died[0] and len(results[t]) == 3]
    assert later, results
    for tick in later:  # the next ticks run, once each
        assert sum(t is not None for t in results[tick]) == 1, (tick, results[tick])


async def test_a_tick_key_expires_and_tokens_keep_rising(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        lock = RedisCronLock(client, PREFIX, ttl_ms=200)
        assert await lock.acquire("steps/a.step.ts", 1000) == 1
        assert await lock.acquire("steps/a.step.ts", 1000) is None
        assert await lock.acquire("steps/b.step.ts", 1000) == 1  # per step
        assert await lock.acquire("steps/a.step.ts", 2000) == 2
        await until(lambda: True)
        await asyncio.sleep(0.4)
        assert await client.exists(lock.keys("steps/a.step.ts", 1000)[0]) == 0  # gone: Redis keeps no tick forever
    finally:
        await client.aclose()


# -- end to end: two `motia-core serve --redis` and Motia's own stream client ---------------------------


@pytest.mark.timeout(180)
async def test_motia_client_on_one_core_sees_writes_made_through_another(
    start_core: Any, redis_server: RedisServer
) -> None:
    from tests.stream_client.harness import NodeClient, WsClient
    from tests.test_streams import op

    a = start_core("streams", "--redis", redis_server.url)
    b = start_core("streams", "--redis", redis_server.url)  # same folder: one prefix, one system
    await op(b.url, "ts", stream="todo", op="set", groupId="two", id="old", data={"text": "before"})
    client = await NodeClient.start(a.url, [{"name": "g", "kind": "group", "stream": "todo", "groupId": "two"}])
    plain = await WsClient.connect(a.url)
    try:
        before = [{"text": "before", "id": "old"}]
        await client.state_of("g", lambda s: s == before)  # the sync comes from the shared store
        await plain.join_synced("todo", "two")
        await op(b.url, "py", stream="todo", op="set", groupId="two", id="n", data={"text": "from b"})
        await op(a.url, "ts", stream="todo", op="set", groupId="two", id="n", data={"text": "from a"})
        await op(b.url, "ts", stream="todo", op="delete", groupId="two", id="old")
        final = [{"text": "from a", "id": "n"}]
        assert await client.state_of("g", lambda s: s == final) == final
        events = await plain.wait_for(lambda m: m["event"]["type"] != "sync", count=3)
        assert [(m["event"]["type"], m["event"]["data"]) for m in events] == [
            ("create", {"text": "from b", "id": "n"}),
            ("update", {"text": "from a", "id": "n"}),
            ("delete", {"text": "before", "id": "old"}),
        ]
        await asyncio.sleep(0.5)
        assert len(plain.messages) == 4  # the sync and three events: nothing twice
    finally:
        await client.close()
        await plain.close()


@pytest.mark.timeout(180)
async def test_a_one_second_cron_runs_once_per_tick_with_three_cores(
    start_core: Any, redis_server: RedisServer
) -> None:
    import time

    import aiohttp

    cores = [start_core("r3_cron", "--redis", redis_server.url) for _ in range(3)]
    started = time.time()  # all three serve from here on
    await asyncio.sleep(10)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{cores[1].url}/ticks") as resp:
            assert resp.status == 200
            runs = sorted(t["at"] for t in (await resp.json())["ticks"])
    elapsed = time.time() - started
    gaps = [b - a for a, b in zip(runs, runs[1:], strict=False)]
    assert min(gaps) > 0.3, gaps  # one run per tick: a tick run by two cores would be ms apart
    with_three = [t for t in runs if t >= started]
    assert 7 <= len(with_three) <= elapsed + 1, (len(with_three), elapsed)  # not 3 per tick
