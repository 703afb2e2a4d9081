"""What /metrics reads from outside the dispatch layer (metrics.py): the queue consumer's decisions as
they happen, the queue's stats and the runners' state at scrape time. No prometheus-client here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from motia_core.queue.base import Consumer, DeadLetter, Delivery, EventQueue, QueuedEvent, QueueStats

SCRAPE_BUDGET = 1.0  # seconds a scrape waits for the queue's stats

CountFate = Callable[[str, str, bool], None]  # (subscription, fate, counted)


@dataclass(frozen=True)
class Subscription:
    """One queue subscription as /metrics labels it."""

    key: str  # the queue's name for it (events.subscription_key)
    topic: str
    step: str


@dataclass(frozen=True)
class RunnerSample:
    language: str
    state: str
    restarts: int
    in_flight: int


class MeteredQueue:
    """The queue as the EventBus sees it: every consumer's Delivery is counted on its way back to the
    queue. Everything else goes straight through."""

    def __init__(self, queue: EventQueue, count: CountFate) -> None:
        self.inner = queue
        self._count = count

    def subscribe(
        self,
        subscription: str,
        consumer: Consumer,
        concurrency: int,
        fifo: bool = False,
        visibility_timeout: float = 900.0,
    ) -> None:
        count = self._count

        async def consume(event: QueuedEvent) -> Delivery:
            delivery = await consumer(event)
            count(subscription, delivery.fate.value, delivery.counted)
            return delivery

        self.inner.subscribe(subscription, consume, concurrency, fifo=fifo, visibility_timeout=visibility_timeout)

    async def enqueue(self, subscription: str, event: QueuedEvent, delay: float = 0.0) -> None:
        await self.inner.enqueue(subscription, event, delay)

    async def enqueue_many(self, items: list[tuple[str, QueuedEvent, float]]) -> None:
        await self.inner.enqueue_many(items)

    async def start(self) -> None:
        await self.inner.start()

    def pause(self) -> None:
        self.inner.pause()

    async def close(self) -> None:
        await self.inner.close()

    def depth(self, subscription: str) -> int:
        return self.inner.depth(subscription)

    async def stats(self) -> QueueStats:
        return await self.inner.stats()

    async def dead_letters(self, subscription: str | None = None) -> list[DeadLetter]:
        return await self.inner.dead_letters(subscription)

    async def dead_letter(self, letter_id: str) -> DeadLetter | None:
        return await self.inner.dead_letter(letter_id)

    async def replay(self, letter_id: str) -> bool:
        return await self.inner.replay(letter_id)

    async def purge(self, letter_id: str | None = None) -> int:
        return await self.inner.purge(letter_id)


async def read_stats(queue: EventQueue, budget: float) -> QueueStats | None:
    """The queue's stats, or None when it failed or took longer than `budget` seconds (a slow or
    unreachable storage: the scrape answers anyway, saying so)."""
    try:
        return await asyncio.wait_for(queue.stats(), budget)
    except Exception:
        return None
