"""In-process queue: fast, not durable (a restart loses queued events). The durable SQLite queue
replaces it as the default in a later change; this one stays for tests and ephemeral use."""

from __future__ import annotations

import asyncio
import contextlib

from motia_core.queue.base import Consumer, Fate, QueuedEvent


class MemoryQueue:
    def __init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[QueuedEvent]] = {}
        self._consumers: dict[str, tuple[Consumer, int]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._started = False

    def subscribe(
        self,
        subscription: str,
        consumer: Consumer,
        concurrency: int,
        fifo: bool = False,
        visibility_timeout: float = 900.0,
    ) -> None:
        # In memory: FIFO is served by concurrency 1; nothing outlives the process, so no leases.
        self._queues.setdefault(subscription, asyncio.Queue())
        self._consumers[subscription] = (consumer, max(1, concurrency))
        if self._started:
            self._spawn(subscription)

    async def enqueue(self, subscription: str, event: QueuedEvent, delay: float = 0.0) -> None:
        queue = self._queues.setdefault(subscription, asyncio.Queue())
        if delay > 0:
            loop = asyncio.get_running_loop()
            handle = loop.call_later(delay, self._deliver_later, queue, event)
            self._timers.add(handle)
        else:
            queue.put_nowait(event)

    def _deliver_later(self, queue: asyncio.Queue[QueuedEvent], event: QueuedEvent) -> None:
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
            event.attempts += 1
            delivery = await consumer(event)
            if delivery.fate is Fate.RETRY:
                await self.enqueue(subscription, event, delivery.delay)

    def depth(self, subscription: str) -> int:
        q = self._queues.get(subscription)
        return q.qsize() if q else 0

    async def close(self) -> None:
        for t in self._timers:
            t.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
