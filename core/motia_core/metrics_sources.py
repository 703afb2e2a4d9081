"""What /metrics reads from outside the dispatch layer (metrics.py): the queue consumer's decisions,
the queue's stats and the runners' state, each at the moment it happens or at scrape time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

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


# -- collectors: read at scrape time --------------------------------------------------------------


class QueueCollector(Collector):
    def __init__(self, queue: EventQueue, subscriptions: list[Subscription]) -> None:
        self._queue = queue
        self._subscriptions = subscriptions
        self._stats: QueueStats | None = None

    async def refresh(self) -> None:
        try:
            self._stats = await asyncio.wait_for(self._queue.stats(), SCRAPE_BUDGET)
        except Exception:  # a slow or unreachable storage: the scrape answers, saying so
            self._stats = None

    def collect(self) -> Iterator[Metric]:
        stats = self._stats
        yield GaugeMetricFamily(
            "motia_queue_stats_ok",
            f"1 when this scrape read the queue (0: it failed or took over {SCRAPE_BUDGET:g}s: no queue series)",
            value=0.0 if stats is None else 1.0,
        )
        if stats is None:
            return
        families = {
            "depth": GaugeMetricFamily(
                "motia_queue_depth",
                "Events of a subscription not yet acked or dead-lettered (waiting, in flight or scheduled)",
                labels=["step", "topic"],
            ),
            "in_flight": GaugeMetricFamily(
                "motia_queue_in_flight", "Events of a subscription leased to a handler now", labels=["step", "topic"]
            ),
            "scheduled": GaugeMetricFamily(
                "motia_queue_scheduled",
                "Events of a subscription waiting for a delay or a retry's backoff",
                labels=["step", "topic"],
            ),
        }
        for sub in self._subscriptions:
            found = stats.subscriptions.get(sub.key)
            if found is None:
                continue
            for attr, family in families.items():
                family.add_metric([sub.step, sub.topic], float(getattr(found, attr)))
        yield from families.values()
        yield GaugeMetricFamily(
            "motia_dead_letters_held",
            "Dead letters kept now (replayed and purged ones leave)",
            value=stats.dead_letters,
        )


class RunnerCollector(Collector):
    def __init__(self, runners: Callable[[], Iterable[RunnerSample]]) -> None:
        self._runners = runners

    def collect(self) -> Iterator[Metric]:
        restarts = CounterMetricFamily(
            "motia_runner_restarts", "Times a language runner was replaced after it exited", labels=["language"]
        )
        in_flight = GaugeMetricFamily(
            "motia_runner_in_flight", "Invocations a language runner holds now", labels=["language"]
        )
        up = GaugeMetricFamily("motia_runner_up", "1 when the language runner is ready", labels=["language"])
        for sample in self._runners():
            restarts.add_metric([sample.language], float(sample.restarts))
            in_flight.add_metric([sample.language], float(sample.in_flight))
            up.add_metric([sample.language], 1.0 if sample.state == "ready" else 0.0)
        yield restarts
        yield in_flight
        yield up
