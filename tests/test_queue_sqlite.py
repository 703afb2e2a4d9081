"""The durable queue: stored before enqueue returns, at-least-once, redelivered after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from motia_core.queue.base import AttemptFailure, Delivery, Fate, QueuedEvent
from motia_core.queue.sqlite import SqliteQueue


async def _until(predicate: object, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def _event(n: int, group: str = "") -> QueuedEvent:
    return QueuedEvent(topic="t", data_json=b'{"n":%d}' % n, trace_id=f"T{n}", message_group_id=group)


async def test_delivers_and_deletes_on_ack(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "q.db")
    seen: list[tuple[bytes, int]] = []

    async def consume(event: QueuedEvent) -> Delivery:
        seen.append((event.data_json, event.attempts))
        return Delivery(Fate.ACK)

    queue.subscribe("t::a", consume, concurrency=4)
    await queue.start()
    for n in range(20):
        await queue.enqueue("t::a", _event(n))
    await _until(lambda: len(seen) == 20)
    assert sorted(seen) == sorted((b'{"n":%d}' % n, 1) for n in range(20))
    await _until(lambda: queue.depth("t::a") == 0)
    await queue.close()


async def test_retry_after_delay_then_dead_letter_with_the_failure_chain(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "q.db")
    attempts: list[int] = []

    async def consume(event: QueuedEvent) -> Delivery:
        attempts.append(event.attempts)
        failure = AttemptFailure(event.attempts, 0.0, "Boom", f"try {event.attempts}")
        fate = Fate.RETRY if event.attempts < 3 else Fate.DEAD_LETTER
        return Delivery(fate, 0.05, failure)

    queue.subscribe("t::a", consume, concurrency=1)
    await queue.start()
    await queue.enqueue("t::a", _event(1))
    await _until(lambda: queue.depth("t::a") == 0 and len(attempts) == 3)
    assert attempts == [1, 2, 3]
    [letter] = await queue.dead_letters()
    assert letter.data_json == b'{"n":1}' and letter.attempts == 3
    assert [f["message"] for f in letter.failures] == ["try 1", "try 2", "try 3"]
    assert await queue.replay(letter.id)
    await _until(lambda: len(attempts) == 4)
    assert attempts[-1] == 1  # a replay starts over
    await queue.close()


async def test_a_consumer_that_raises_does_not_strand_the_event(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "q.db")
    calls: list[int] = []

    async def buggy(event: QueuedEvent) -> Delivery:
        calls.append(event.attempts)
        if len(calls) == 1:
            raise KeyError("bug")
        return Delivery(Fate.ACK)

    queue.subscribe("t::a", buggy, concurrency=1)
    await queue.start()
    await queue.enqueue("t::a", _event(1))
    await _until(lambda: len(calls) == 2, timeout=5)
    assert calls == [1, 2]
    await queue.close()


async def test_unacked_events_survive_a_restart(tmp_path: Path) -> None:
    first = SqliteQueue(tmp_path / "q.db")
    started = asyncio.Event()

    async def hang(event: QueuedEvent) -> Delivery:
        started.set()
        await asyncio.sleep(3600)
        return Delivery(Fate.ACK)

    first.subscribe("t::a", hang, concurrency=1)
    await first.start()
    await first.enqueue("t::a", _event(1))
    await first.enqueue("t::a", _event(2))  # never leased
    await asyncio.wait_for(started.wait(), 3)
    await first.close()  # the "crash": one event leased and unacked, one still queued

    second = SqliteQueue(tmp_path / "q.db")
    seen: list[tuple[bytes, int]] = []

    async def consume(event: QueuedEvent) -> Delivery:
        seen.append((event.data_json, event.attempts))
        return Delivery(Fate.ACK)

    second.subscribe("t::a", consume, concurrency=2)
    await second.start()
    await _until(lambda: len(seen) == 2)
    assert sorted(seen) == [(b'{"n":1}', 2), (b'{"n":2}', 1)]  # the leased one is a redelivery
    await second.close()


async def test_expired_lease_is_redelivered(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "q.db")
    attempts: list[int] = []

    async def slow_then_ok(event: QueuedEvent) -> Delivery:
        attempts.append(event.attempts)
        if event.attempts == 1:
            await asyncio.sleep(0.6)  # outlives its 0.2 s lease
        return Delivery(Fate.ACK)

    queue.subscribe("t::a", slow_then_ok, concurrency=2, visibility_timeout=0.2)
    await queue.start()
    await queue.enqueue("t::a", _event(1))
    await _until(lambda: len(attempts) == 2)
    assert attempts == [1, 2]
    await queue.close()


async def test_fifo_orders_within_a_group(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "q.db")
    order: list[tuple[str, int]] = []
    in_group: dict[str, int] = {}

    async def consume(event: QueuedEvent) -> Delivery:
        group = event.message_group_id
        in_group[group] = in_group.get(group, 0) + 1
        assert in_group[group] == 1, "two events of one group in flight"
        await asyncio.sleep(0.01)
        order.append((group, int(event.data_json[5:-1])))
        in_group[group] -= 1
        return Delivery(Fate.ACK)

    queue.subscribe("t::a", consume, concurrency=4, fifo=True)
    for n in range(6):
        await queue.enqueue("t::a", _event(n, group="ab"[n % 2]))
    await queue.start()
    await _until(lambda: len(order) == 6)
    assert [n for g, n in order if g == "a"] == [0, 2, 4]
    assert [n for g, n in order if g == "b"] == [1, 3, 5]
    await queue.close()
