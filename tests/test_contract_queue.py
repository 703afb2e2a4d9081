"""One contract for every EventQueue: memory, SQLite and Redis pass the same tests.

Where the memory queue lacks something by design (it is not durable and has no leases: nothing
outlives the process), the parametrization says so as a capability, and the test checks the
documented behaviour instead (a restart starts empty, a slow handler is not redelivered).
Then Redis-only tests: several instances on one Redis, and Redis restarted under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from motia_core.errors import StorageUnavailable
from motia_core.logs import Logger
from motia_core.queue.base import AttemptFailure, Delivery, EventQueue, Fate, QueuedEvent
from motia_core.queue.memory import MemoryQueue
from motia_core.queue.redis import RedisQueue
from motia_core.queue.sqlite import SqliteQueue
from tests.redis_server import RedisServer

SUB = "t::a"


@dataclass
class Backend:
    name: str
    make: Callable[[], EventQueue]  # a new queue over the same storage (a "restart")
    durable: bool  # queued and leased events survive close + reopen
    leases: bool  # an event not settled within the visibility timeout is delivered again


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    clients: list[aioredis.Redis] = []
    if request.param == "memory":
        yield Backend("memory", MemoryQueue, durable=False, leases=False)
    elif request.param == "sqlite":
        yield Backend("sqlite", lambda: SqliteQueue(tmp_path / "q.db"), durable=True, leases=True)
    else:
        server: RedisServer = request.getfixturevalue("redis_server")

        def make() -> EventQueue:
            clients.append(aioredis.Redis.from_url(server.url))
            return RedisQueue(clients[-1], "contract", Logger())

        yield Backend("redis", make, durable=True, leases=True)
    for client in clients:
        await client.aclose()


async def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def _event(n: int, group: str = "") -> QueuedEvent:
    return QueuedEvent(topic="t", data_json=b'{"n":%d}' % n, trace_id=f"T{n}", message_group_id=group)


def _n(event: QueuedEvent) -> int:
    return int(event.data_json[5:-1])


def _fail(event: QueuedEvent, fate: Fate, delay: float = 0.05) -> Delivery:
    return Delivery(fate, delay, AttemptFailure(event.attempts, 1.5, "Boom", f"try {event.attempts}", kind="handler"))


async def test_ack_delivers_each_event_once_and_forgets_it(backend: Backend) -> None:
    queue = backend.make()
    seen: list[tuple[int, int]] = []

    async def consume(event: QueuedEvent) -> Delivery:
        seen.append((_n(event), event.attempts))
        return Delivery(Fate.ACK)

    queue.subscribe(SUB, consume, concurrency=4)
    await queue.start()
    for n in range(20):
        await queue.enqueue(SUB, _event(n))
    await _until(lambda: len(seen) == 20)
    await _until(lambda: queue.depth(SUB) == 0)
    await asyncio.sleep(0.3)  # nothing comes twice
    assert sorted(seen) == [(n, 1) for n in range(20)]
    await queue.close()


async def test_retry_with_delay_then_dead_letter_with_the_failure_chain_then_replay(backend: Backend) -> None:
    queue = backend.make()
    attempts: list[int] = []

    async def consume(event: QueuedEvent) -> Delivery:
        attempts.append(event.attempts)
        return _fail(event, Fate.RETRY if event.attempts < 3 else Fate.DEAD_LETTER)

    queue.subscribe(SUB, consume, concurrency=1)
    await queue.start()
    event = _event(1, group="g")
    await queue.enqueue(SUB, event)
    await _until(lambda: len(attempts) == 3)
    await _until(lambda: queue.depth(SUB) == 0)
    assert attempts == [1, 2, 3]
    [letter] = await _letters(queue)
    assert (letter.id, letter.subscription, letter.topic) == (event.id, SUB, "t")
    assert (letter.data_json, letter.trace_id, letter.message_group_id, letter.attempts) == (b'{"n":1}', "T1", "g", 3)
    assert [f["message"] for f in letter.failures] == ["try 1", "try 2", "try 3"]
    assert letter.failures[0] == {
        "attempt": 1,
        "time": 1.5,
        "errorType": "Boom",
        "message": "try 1",
        "stack": "",
        "runner": "",
        "kind": "handler",
    }
    assert letter.died_at >= letter.enqueued_at
    assert await queue.dead_letter(letter.id) == letter
    assert await queue.replay(letter.id)
    assert await queue.dead_letter(letter.id) is None
    assert not await queue.replay(letter.id)  # gone from the dead letters
    await _until(lambda: len(attempts) == 4)
    assert attempts[-1] == 1  # a replay starts over
    await queue.close()


async def _letters(queue: EventQueue, count: int = 1) -> list[object]:
    for _ in range(500):
        letters = await queue.dead_letters()
        if len(letters) >= count:
            return letters  # type: ignore[return-value]
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {count} dead letter(s)")


async def test_purge_one_and_all(backend: Backend) -> None:
    queue = backend.make()

    async def bury(event: QueuedEvent) -> Delivery:
        return _fail(event, Fate.DEAD_LETTER)

    queue.subscribe(SUB, bury, concurrency=2)
    queue.subscribe("t::b", bury, concurrency=2)
    await queue.start()
    for n in range(3):
        await queue.enqueue(SUB, _event(n))
    await queue.enqueue("t::b", _event(9))
    letters = await _letters(queue, 4)
    assert len(await queue.dead_letters("t::b")) == 1 and len(await queue.dead_letters(SUB)) == 3
    assert await queue.purge(letters[0].id) == 1  # type: ignore[attr-defined]
    assert await queue.purge(letters[0].id) == 0  # type: ignore[attr-defined]
    assert await queue.dead_letter(letters[0].id) is None  # type: ignore[attr-defined]
    assert await queue.purge() == 3
    assert await queue.dead_letters() == []
    await queue.close()


async def test_fifo_groups_in_order_one_in_flight(backend: Backend) -> None:
    queue = backend.make()
    order: list[tuple[str, int]] = []
    in_group: dict[str, int] = {}
    overlaps: list[str] = []

    async def consume(event: QueuedEvent) -> Delivery:
        group = event.message_group_id
        in_group[group] = in_group.get(group, 0) + 1
        if in_group[group] > 1:
            overlaps.append(group)
        await asyncio.sleep(0.01)
        order.append((group, _n(event)))
        in_group[group] -= 1
        return Delivery(Fate.ACK)

    queue.subscribe(SUB, consume, concurrency=4, fifo=True)
    for n in range(12):
        await queue.enqueue(SUB, _event(n, group="abc"[n % 3]))
    await queue.start()
    await _until(lambda: len(order) == 12)
    assert not overlaps, "two events of one group were in flight at once"
    for i, group in enumerate("abc"):
        assert [n for g, n in order if g == group] == list(range(i, 12, 3))
    await queue.close()


async def test_visibility_timeout_redelivers_a_lease_that_ran_out(backend: Backend) -> None:
    queue = backend.make()
    attempts: list[int] = []

    async def slow_first(event: QueuedEvent) -> Delivery:
        attempts.append(event.attempts)
        if event.attempts == 1:
            await asyncio.sleep(1.5)  # outlives its 0.3 s lease
        return Delivery(Fate.ACK)

    queue.subscribe(SUB, slow_first, concurrency=2, visibility_timeout=0.3)
    await queue.start()
    await queue.enqueue(SUB, _event(1))
    if backend.leases:
        await _until(lambda: len(attempts) == 2)
        assert attempts == [1, 2]
    else:  # memory: no leases, the slow handler is the only delivery
        await asyncio.sleep(2.0)
        assert attempts == [1]
    await _until(lambda: queue.depth(SUB) == 0)
    await queue.close()


async def test_depth_counts_queued_delayed_and_leased_events(backend: Backend) -> None:
    queue = backend.make()
    release = asyncio.Event()

    async def hold(event: QueuedEvent) -> Delivery:
        await release.wait()
        return Delivery(Fate.ACK)

    queue.subscribe(SUB, hold, concurrency=2)
    for n in range(5):
        await queue.enqueue(SUB, _event(n))
    assert queue.depth(SUB) == 5
    assert queue.depth("t::other") == 0
    await queue.start()
    await asyncio.sleep(0.3)
    # SQLite and Redis count the two leased events until they are acked; memory only what waits
    assert queue.depth(SUB) == (5 if backend.leases else 3)
    release.set()
    await _until(lambda: queue.depth(SUB) == 0)
    await queue.close()


async def test_stats_count_depth_in_flight_scheduled_and_dead_letters(backend: Backend) -> None:
    """GET /__motia/queue's numbers (docs/observability.md#queue): depth is every event not yet acked
    or buried, of which in flight are with a handler and scheduled wait for a delay."""
    queue = backend.make()
    release = asyncio.Event()
    parents: list[str] = []

    async def hold(event: QueuedEvent) -> Delivery:
        parents.append(event.parent_id)
        if _n(event) == 9:
            return _fail(event, Fate.DEAD_LETTER)
        await release.wait()
        return Delivery(Fate.ACK)

    queue.subscribe(SUB, hold, concurrency=2)
    queue.subscribe("t::idle", hold, concurrency=1)
    for n in range(4):
        await queue.enqueue(SUB, QueuedEvent("t", b'{"n":%d}' % n, f"T{n}", parent_id=f"span{n}"))
    await queue.enqueue(SUB, _event(7), delay=30.0)
    stats = await queue.stats()
    assert stats.subscriptions[SUB].depth == 5 and stats.subscriptions[SUB].scheduled == 1
    assert stats.subscriptions[SUB].in_flight == 0
    assert stats.subscriptions["t::idle"].depth == 0 and stats.dead_letters == 0
    await queue.start()
    await _until(lambda: len(parents) == 2)
    await asyncio.sleep(0.3)  # Redis: the lease is in the consumer group's pending list by now
    stats = await queue.stats()
    assert (stats.subscriptions[SUB].depth, stats.subscriptions[SUB].in_flight) == (5, 2)
    assert stats.subscriptions[SUB].scheduled == 1
    assert sorted(parents) == ["span0", "span1"]  # the emitting span travels with the event
    await queue.enqueue("t::idle", _event(9))
    await _until(lambda: len(parents) == 3)
    release.set()
    deadline = asyncio.get_running_loop().time() + 5
    while (stats := await queue.stats()).dead_letters != 1 or stats.subscriptions[SUB].depth != 1:
        assert asyncio.get_running_loop().time() < deadline, stats  # only the delayed one is left
        await asyncio.sleep(0.05)
    assert (stats.subscriptions[SUB].in_flight, stats.subscriptions[SUB].scheduled) == (0, 1)
    await queue.close()


async def test_delayed_enqueue_is_not_delivered_before_its_delay(backend: Backend) -> None:
    queue = backend.make()
    seen: list[int] = []

    async def consume(event: QueuedEvent) -> Delivery:
        seen.append(_n(event))
        return Delivery(Fate.ACK)

    queue.subscribe(SUB, consume, concurrency=2)
    await queue.start()
    await queue.enqueue(SUB, _event(1), delay=1.0)
    await queue.enqueue(SUB, _event(2))
    await _until(lambda: seen == [2])
    await asyncio.sleep(0.3)
    assert seen == [2]
    await _until(lambda: seen == [2, 1])
    await queue.close()


async def test_enqueue_many_stores_every_copy(backend: Backend) -> None:
    queue = backend.make()
    seen: list[tuple[str, str]] = []

    def consumer(sub: str) -> Callable[[QueuedEvent], object]:
        async def consume(event: QueuedEvent) -> Delivery:
            seen.append((sub, event.id))
            return Delivery(Fate.ACK)

        return consume

    subs = ["t::a", "t::b", "t::c"]
    for sub in subs:
        queue.subscribe(sub, consumer(sub), concurrency=2)  # type: ignore[arg-type]
    copies = [(sub, _event(1), 0.0) for sub in subs]
    await queue.enqueue_many(copies)
    assert [queue.depth(s) for s in subs] == [1, 1, 1]  # all visible before anything consumes
    await queue.start()
    await _until(lambda: len(seen) == 3)
    assert sorted(seen) == sorted((sub, e.id) for sub, e, _ in copies)
    await queue.close()


async def test_an_uncounted_delivery_gives_its_attempt_back(backend: Backend) -> None:
    queue = backend.make()
    attempts: list[int] = []

    async def consume(event: QueuedEvent) -> Delivery:
        attempts.append(event.attempts)
        if len(attempts) <= 2:
            return Delivery(Fate.RETRY, 0.01, counted=False)  # never reached a handler
        if len(attempts) == 3:
            return _fail(event, Fate.RETRY, 0.01)
        return Delivery(Fate.ACK)

    queue.subscribe(SUB, consume, concurrency=1)
    await queue.start()
    await queue.enqueue(SUB, _event(1))
    await _until(lambda: len(attempts) == 4)
    assert attempts == [1, 1, 1, 2]
    await queue.close()


async def test_pause_starts_no_new_delivery(backend: Backend) -> None:
    queue = backend.make()
    seen: list[int] = []

    async def consume(event: QueuedEvent) -> Delivery:
        seen.append(_n(event))
        return Delivery(Fate.ACK)

    queue.subscribe(SUB, consume, concurrency=4)
    await queue.start()
    await queue.enqueue(SUB, _event(1))
    await _until(lambda: seen == [1])
    await asyncio.sleep(0.3)  # every worker idle, waiting for events
    queue.pause()
    for n in range(2, 6):
        await queue.enqueue(SUB, _event(n))
    await asyncio.sleep(1.0)
    assert seen == [1]
    await queue.close()
    if backend.durable:  # what was enqueued during the pause is there for the next start
        again = backend.make()
        again.subscribe(SUB, consume, concurrency=4)
        await again.start()
        await _until(lambda: sorted(seen) == [1, 2, 3, 4, 5])
        await again.close()


async def test_unacked_events_survive_close_and_reopen(backend: Backend) -> None:
    first = backend.make()
    started = asyncio.Event()

    async def hang(event: QueuedEvent) -> Delivery:
        started.set()
        await asyncio.sleep(3600)
        return Delivery(Fate.ACK)

    first.subscribe(SUB, hang, concurrency=1, visibility_timeout=0.5)
    await first.start()
    await first.enqueue(SUB, _event(1))
    await asyncio.wait_for(started.wait(), 5)
    await first.enqueue(SUB, _event(2))  # never leased
    await first.close()  # the "crash": one event leased and unacked, one still queued

    second = backend.make()
    seen: list[tuple[int, int]] = []

    async def consume(event: QueuedEvent) -> Delivery:
        seen.append((_n(event), event.attempts))
        return Delivery(Fate.ACK)

    second.subscribe(SUB, consume, concurrency=2, visibility_timeout=0.5)
    await second.start()
    if backend.durable:
        await _until(lambda: len(seen) == 2)
        assert sorted(seen) == [(1, 2), (2, 1)]  # the leased one is a redelivery
    else:  # memory: a restart starts empty
        await asyncio.sleep(1.0)
        assert seen == [] and second.depth(SUB) == 0
    await second.close()


# -- Redis: several instances, Redis restarts ---------------------------------------------------------


@contextlib.asynccontextmanager
async def _instances(url: str, count: int) -> AsyncIterator[list[RedisQueue]]:
    clients = [aioredis.Redis.from_url(url) for _ in range(count)]
    queues = [RedisQueue(c, "multi", Logger()) for c in clients]
    try:
        yield queues
    finally:
        for q in queues:
            await q.close()
        for c in clients:
            await c.aclose()


@pytest.mark.timeout(60)
async def test_redis_two_instances_deliver_each_event_exactly_once(redis_server: RedisServer) -> None:
    async with _instances(redis_server.url, 2) as (a, b):
        seen: dict[str, list[str]] = {}

        def consumer(name: str) -> Callable[[QueuedEvent], object]:
            async def consume(event: QueuedEvent) -> Delivery:
                seen.setdefault(event.id, []).append(name)
                await asyncio.sleep(0.005)
                return Delivery(Fate.ACK)

            return consume

        a.subscribe(SUB, consumer("a"), concurrency=4)  # type: ignore[arg-type]
        b.subscribe(SUB, consumer("b"), concurrency=4)  # type: ignore[arg-type]
        await a.start()
        await b.start()
        events = [_event(n) for n in range(300)]
        for i in range(0, 300, 10):  # emitted through both instances
            await (a if i % 20 else b).enqueue_many([(SUB, e, 0.0) for e in events[i : i + 10]])
        await _until(lambda: len(seen) == 300, timeout=30)
        await asyncio.sleep(0.5)
        assert sorted(seen) == sorted(e.id for e in events)
        assert all(len(who) == 1 for who in seen.values()), "an event was delivered twice"
        by = [who[0] for who in seen.values()]
        assert by.count("a") > 0 and by.count("b") > 0, "one instance did all the work"


@pytest.mark.chaos
@pytest.mark.timeout(60)
async def test_redis_instance_gone_mid_lease_its_events_go_to_another(redis_server: RedisServer) -> None:
    async with _instances(redis_server.url, 2) as (a, b):
        held: list[str] = []
        seen_b: list[tuple[str, int]] = []

        async def hang(event: QueuedEvent) -> Delivery:
            held.append(event.id)
            await asyncio.sleep(3600)
            return Delivery(Fate.ACK)

        async def consume(event: QueuedEvent) -> Delivery:
            seen_b.append((event.id, event.attempts))
            return Delivery(Fate.ACK)

        a.subscribe(SUB, hang, concurrency=3, visibility_timeout=1.0)
        await a.start()
        await a.enqueue_many([(SUB, _event(n), 0.0) for n in range(5)])
        await _until(lambda: len(held) == 3)
        await a.close()  # cancelled mid-lease, nothing acked: as if the instance died
        b.subscribe(SUB, consume, concurrency=4, visibility_timeout=1.0)
        await b.start()
        await _until(lambda: len(seen_b) == 5, timeout=10)
        assert {i for i, n in seen_b if n == 2} == set(held)  # the leased three are redeliveries
        assert sorted(n for _, n in seen_b) == [1, 1, 2, 2, 2]
        await _until(lambda: b.depth(SUB) == 0)


@pytest.mark.chaos
@pytest.mark.timeout(90)
async def test_redis_restart_mid_load_loses_no_acknowledged_enqueue(redis_server: RedisServer) -> None:
    async with _instances(redis_server.url, 1) as (queue,):
        seen: set[str] = set()

        async def consume(event: QueuedEvent) -> Delivery:
            seen.add(event.id)
            return Delivery(Fate.ACK)

        queue.subscribe(SUB, consume, concurrency=8)
        await queue.start()
        stored: list[str] = []
        refused = 0
        for n in range(400):
            if n == 150:
                redis_server.kill()  # SIGKILL: only what appendfsync always wrote survives
            if n == 250:
                redis_server.start()
            event = _event(n)
            try:
                await queue.enqueue(SUB, event)
            except StorageUnavailable as exc:
                assert "Redis cannot be reached" in str(exc)
                refused += 1
                continue
            stored.append(event.id)
            await asyncio.sleep(0.002)
        assert refused >= 50  # every enqueue while Redis was down was refused, none hung
        await _until(lambda: set(stored) <= seen, timeout=30)  # the pump reconnected; nothing lost


_DOOMED = """
import asyncio, sys
import redis.asyncio as aioredis
from motia_core.logs import Logger
from motia_core.queue import redis as rq
from motia_core.queue.base import Delivery, Fate, QueuedEvent

rq._ALIVE_TTL = 2.0  # its liveness key expires 2 s after its last renewal

async def main() -> None:
    queue = rq.RedisQueue(aioredis.Redis.from_url(sys.argv[1]), "multi", Logger())
    held = []

    async def hang(event: QueuedEvent) -> Delivery:
        held.append(event.id)
        if len(held) == 3:
            print(" ".join(held), flush=True)
        await asyncio.sleep(3600)
        return Delivery(Fate.ACK)

    queue.subscribe("t::a", hang, concurrency=3, visibility_timeout=600)
    await queue.start()
    await queue.enqueue_many([("t::a", QueuedEvent("t", b'{"n":%d}' % n, "T"), 0.0) for n in range(5)])
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest.mark.chaos
@pytest.mark.timeout(60)
async def test_redis_sigkilled_instance_leases_go_to_another_before_the_visibility_timeout(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A process that dies holding leases stops renewing its liveness key: another instance takes
    its events as soon as the key expires, long before their 600 s visibility timeout."""
    script = tmp_path / "doomed.py"
    script.write_text(_DOOMED)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), redis_server.url, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        held = set((await asyncio.wait_for(proc.stdout.readline(), 20)).decode().split())
        assert len(held) == 3
    finally:
        proc.kill()  # SIGKILL: no close(), no ack, its liveness key simply stops being renewed
        await proc.wait()
    async with _instances(redis_server.url, 1) as (b,):
        seen: list[tuple[str, int]] = []

        async def consume(event: QueuedEvent) -> Delivery:
            seen.append((event.id, event.attempts))
            return Delivery(Fate.ACK)

        b.subscribe(SUB, consume, concurrency=4, visibility_timeout=600)
        started = asyncio.get_running_loop().time()
        await b.start()
        await _until(lambda: len(seen) == 5, timeout=20)
        assert asyncio.get_running_loop().time() - started < 20  # not 600 s
        assert {i for i, n in seen if n == 2} == held
        assert sorted(n for _, n in seen) == [1, 1, 2, 2, 2]
