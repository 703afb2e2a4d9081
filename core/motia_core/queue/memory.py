"""In-process queue: fast, not durable (a restart loses queued events and dead letters). The
durable SQLite queue is the default; this one serves tests and throwaway use."""

from __future__ import annotations

import asyncio
import contextlib
import time

from motia_core.queue.base import Consumer, DeadLetter, Fate, QueuedEvent, QueueStats, SubscriptionStats


class MemoryQueue:
    def __init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[QueuedEvent]] = {}
        self._consumers: dict[str, tuple[Consumer, int]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._started = False
        self._dead: dict[str, DeadLetter] = {}
        self._failures: dict[str, list[dict[str, object]]] = {}
        self._in_flight: dict[str, int] = {}  # subscription -> events handed to its consumer now
        self._scheduled: dict[str, int] = {}  # subscription -> events waiting for a delay or a retry
        self._leasing = asyncio.Event()  # cleared by pause(): the core is stopping
        self._leasing.set()

    def pause(self) -> None:
        """Deliver nothing more (the core is stopping); deliveries in flight finish."""
        self._leasing.clear()

    def subscribe(
        self,
        subscription: str,
        consumer: Consumer,
        concurrency: int,
        fifo: bool = False,
        visibility_timeout: float = 900.0,
    ) -> None:
        # In memory: FIFO is served by concurrency 1 (one event of any group at a time, in order);
        # nothing outlives the process, so no leases.
        self._queues.setdefault(subscription, asyncio.Queue())
        self._consumers[subscription] = (consumer, 1 if fifo else max(1, concurrency))
        if self._started:
            self._spawn(subscription)

    async def enqueue(self, subscription: str, event: QueuedEvent, delay: float = 0.0) -> None:
        queue = self._queues.setdefault(subscription, asyncio.Queue())
        if delay > 0:
            loop = asyncio.get_running_loop()
            handle = loop.call_later(delay, self._deliver_later, queue, event, subscription)
            self._timers.add(handle)
            self._scheduled[subscription] = self._scheduled.get(subscription, 0) + 1
        else:
            queue.put_nowait(event)

    async def enqueue_many(self, items: list[tuple[str, QueuedEvent, float]]) -> None:
        for subscription, event, delay in items:  # no await in between: nothing can interleave
            await self.enqueue(subscription, event, delay)

    def _deliver_later(self, queue: asyncio.Queue[QueuedEvent], event: QueuedEvent, subscription: str) -> None:
        self._scheduled[subscription] -= 1
        self._timers = {t for t in self._timers if not t.cancelled() and t.when() > asyncio.get_running_loop().time()}
        queue.put_nowait(event)

    async def start(self) -> None:
        self._started = True
        for subscription in self._consumers:
            self._spawn(subscription)

    def _spawn(self, subscription: str) -> None:
        consumer, concurrency = self._consumers[subscription]
        queue = self._queues[subscription]
        for _ in range(concurrency):
            self._tasks.append(asyncio.create_task(self._work(subscription, queue, consumer)))

    async def _work(self, subscription: str, queue: asyncio.Queue[QueuedEvent], consumer: Consumer) -> None:
        while True:
            event = await queue.get()
            await self._leasing.wait()  # after get: a worker idle in get() when pause() came holds on
            event.attempts += 1
            self._in_flight[subscription] = self._in_flight.get(subscription, 0) + 1
            try:
                delivery = await consumer(event)
            finally:
                self._in_flight[subscription] -= 1
            chain = self._failures.setdefault(event.id, [])
            if delivery.failure is not None:
                chain.append(delivery.failure.as_json())
            if delivery.fate is Fate.RETRY:
                if not delivery.counted:  # the event never reached a handler: give the attempt back
                    event.attempts -= 1
                await self.enqueue(subscription, event, delivery.delay)
                continue
            self._failures.pop(event.id, None)
            if delivery.fate is Fate.DEAD_LETTER:
                self._dead[event.id] = DeadLetter(
                    event.id,
                    subscription,
                    event.topic,
                    event.data_json,
                    event.trace_id,
                    event.message_group_id,
                    event.attempts,
                    chain,
                    event.enqueued_at,
                    time.time(),
                )

    async def dead_letters(self, subscription: str | None = None) -> list[DeadLetter]:
        return [d for d in self._dead.values() if subscription in (None, d.subscription)]

    async def dead_letter(self, letter_id: str) -> DeadLetter | None:
        return self._dead.get(letter_id)

    async def replay(self, letter_id: str) -> bool:
        letter = self._dead.pop(letter_id, None)
        if letter is None:
            return False
        event = QueuedEvent(letter.topic, letter.data_json, letter.trace_id, letter.message_group_id, id=letter.id)
        await self.enqueue(letter.subscription, event)
        return True

    async def purge(self, letter_id: str | None = None) -> int:
        if letter_id is None:
            count = len(self._dead)
            self._dead.clear()
            return count
        return 1 if self._dead.pop(letter_id, None) is not None else 0

    def depth(self, subscription: str) -> int:
        q = self._queues.get(subscription)
        return q.qsize() if q else 0

    async def stats(self) -> QueueStats:
        subs: dict[str, SubscriptionStats] = {}
        for name in self._consumers:
            in_flight, scheduled = self._in_flight.get(name, 0), self._scheduled.get(name, 0)
            subs[name] = SubscriptionStats(self.depth(name) + in_flight + scheduled, in_flight, scheduled)
        return QueueStats(subs, len(self._dead))

    async def close(self) -> None:
        for t in self._timers:
            t.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
