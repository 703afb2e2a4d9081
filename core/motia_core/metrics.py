"""What GET /metrics serves, in Prometheus' text format (version 0.0.4), through prometheus-client.

Each core has its own `CoreMetrics` and `CollectorRegistry` (never prometheus-client's global one: a
test process starts many cores, and two cores must not add up each other's runs). Three sources:

- `CoreMetrics.layer`, a dispatch layer around every step run (dispatch.compose): runs by step,
  trigger and status, a latency histogram per step and trigger, runs in flight;
- `MeteredQueue`, around the queue the EventBus consumes: the fate of every delivery (retries
  scheduled, dead letters) as the bus decided it, so the retry policy lives in one place (events.py);
- collectors that read the queue depth per subscription and the runners' restarts and load at
  scrape time, within `SCRAPE_BUDGET` seconds, so nothing on the request path keeps them up to date.

The small hand-written `Metrics` registry below predates prometheus-client here: the emits Motia drops
(lenient.py) and the span changes a shared trace storage missed (tracing_recorder.py) are counted in
its process-wide `REGISTRY`, which every core's registry re-exports under the same names.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Gauge, Histogram, disable_created_metrics
from prometheus_client import Counter as PromCounter
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from motia_core.dispatch import Invoke, InvokeRequest, Layer
    from motia_core.queue.base import Consumer, DeadLetter, Delivery, EventQueue, QueuedEvent, QueueStats
    from motia_core.runners.transport import Outcome

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SCRAPE_BUDGET = 0.5  # seconds the queue-depth collector may spend per scrape; the rest is skipped
# seconds: from a cached answer (~1 ms) to the default API timeout and a slow event handler
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# `_created` series double every counter for nothing a dashboard reads
disable_created_metrics()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass
class Counter:
    name: str
    help: str
    labels: tuple[str, ...]
    values: dict[tuple[str, ...], float] = field(default_factory=dict)

    def inc(self, *label_values: str, amount: float = 1.0) -> None:
        if len(label_values) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {label_values}")
        self.values[label_values] = self.values.get(label_values, 0.0) + amount

    def value(self, *label_values: str) -> float:
        return self.values.get(label_values, 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        for key, value in sorted(self.values.items()):
            labels = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(self.labels, key, strict=True))
            lines.append(f"{self.name}{{{labels}}} {value:g}" if labels else f"{self.name} {value:g}")
        return lines


class Metrics:
    """A registry: counters by name, rendered in registration order."""

    def __init__(self) -> None:
        self._counters: dict[str, Counter] = {}

    def counter(self, name: str, help: str, labels: tuple[str, ...] = ()) -> Counter:
        found = self._counters.get(name)
        if found is None:
            found = self._counters[name] = Counter(name, help, labels)
        elif found.labels != labels:
            raise ValueError(f"counter {name} exists with labels {found.labels}")
        return found

    def counters(self) -> list[Counter]:
        return list(self._counters.values())

    def render(self) -> str:
        return "".join(line + "\n" for counter in self._counters.values() for line in counter.render())


REGISTRY = Metrics()

EMITS_DROPPED = REGISTRY.counter(
    "motia_emits_dropped_total",
    "Emits dropped as Motia 0.x drops them (positional arguments, no object, no topic, a topic the step "
    "does not declare); each was logged as a warning with the step, file and line",
    ("step", "reason"),
)


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


@dataclass
class _Series:
    """The children of one (step, trigger): looked up once, not per run."""

    step: str
    trigger: str
    duration: Any
    in_flight: Any
    runs: dict[str, Any] = field(default_factory=dict)


class CoreMetrics:
    def __init__(self, legacy: Metrics = REGISTRY) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self.step_runs = PromCounter(
            "motia_step_runs",
            "Step runs by step, trigger (api, event, cron) and status: ok, or why it failed (handler_error, "
            "timeout, bad_result, ...; unavailable: no runner took it; cancelled: the caller went away)",
            ("step", "trigger", "status"),
            registry=r,
        )
        self.step_duration = Histogram(
            "motia_step_duration_seconds",
            "Time from handing a run to its runner to its outcome, by step and trigger",
            ("step", "trigger"),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "motia_step_runs_in_flight", "Step runs started and not finished, by step", ("step",), registry=r
        )
        self.retries = PromCounter(
            "motia_event_retries",
            "Failed event deliveries scheduled for another attempt (each counted against maxRetries)",
            ("step", "topic"),
            registry=r,
        )
        self.requeued = PromCounter(
            "motia_event_requeued",
            "Event deliveries put back without using an attempt (runner lost or absent, core stopping)",
            ("step", "topic"),
            registry=r,
        )
        self.dead_letters = PromCounter(
            "motia_dead_letters",
            "Events given up on and kept as dead letters (retries exhausted or not retryable)",
            ("step", "topic"),
            registry=r,
        )
        self._series: dict[tuple[str, str], _Series] = {}
        self._by_subscription: dict[str, Subscription] = {}
        r.register(_LegacyCollector(legacy))

    def watch(
        self,
        queue: EventQueue,
        subscriptions: Sequence[Subscription],
        runners: Callable[[], Iterable[RunnerSample]],
    ) -> None:
        """Read the queue's depth and the runners' state at every scrape (they are read, not pushed)."""
        self._by_subscription = {s.key: s for s in subscriptions}
        self.registry.register(_QueueCollector(queue, list(subscriptions)))
        self.registry.register(_RunnerCollector(runners))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # -- the dispatch layer: every step run -------------------------------------------------------

    def layer(self) -> Layer:
        from motia_core.errors import RunnerError  # late: errors is light, but dispatch imports us

        series_of = self._series_of

        def wrap(inner: Invoke) -> Invoke:
            async def invoke(req: InvokeRequest) -> Outcome:
                series = series_of(req.step.name, req.trigger.name.lower())
                series.in_flight.inc()
                started = time.perf_counter()
                status = "cancelled"  # unless the run ends otherwise: the awaiting task was cancelled
                try:
                    outcome = await inner(req)
                    failure = outcome.failure
                    status = "ok" if failure is None else failure.kind.name.lower()
                    return outcome
                except RunnerError:
                    status = "unavailable"
                    raise
                finally:
                    series.in_flight.dec()
                    series.duration.observe(time.perf_counter() - started)
                    runs = series.runs.get(status)
                    if runs is None:
                        runs = series.runs[status] = self.step_runs.labels(series.step, series.trigger, status)
                    runs.inc()

            return invoke

        return wrap

    def _series_of(self, step: str, trigger: str) -> _Series:
        series = self._series.get((step, trigger))
        if series is None:
            series = self._series[(step, trigger)] = _Series(
                step, trigger, self.step_duration.labels(step, trigger), self.in_flight.labels(step)
            )
        return series

    # -- the queue's fates --------------------------------------------------------------------------

    def count_fate(self, subscription: str, fate: str, counted: bool) -> None:
        sub = self._by_subscription.get(subscription)
        labels = (sub.step, sub.topic) if sub is not None else (subscription, "")
        if fate == "retry":
            (self.retries if counted else self.requeued).labels(*labels).inc()
        elif fate == "dead_letter":
            self.dead_letters.labels(*labels).inc()


class MeteredQueue:
    """The queue as the EventBus sees it: every consumer's Delivery is counted on its way back to the
    queue. Everything else goes straight through."""

    def __init__(self, queue: EventQueue, metrics: CoreMetrics) -> None:
        self.inner = queue
        self._metrics = metrics

    def subscribe(
        self,
        subscription: str,
        consumer: Consumer,
        concurrency: int,
        fifo: bool = False,
        visibility_timeout: float = 900.0,
    ) -> None:
        count = self._metrics.count_fate

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


class _LegacyCollector(Collector):
    def __init__(self, legacy: Metrics) -> None:
        self._legacy = legacy

    def collect(self) -> Iterator[Metric]:
        for counter in self._legacy.counters():
            family = CounterMetricFamily(counter.name, counter.help, labels=list(counter.labels))
            for key, value in sorted(counter.values.items()):
                family.add_metric(list(key), value)
            yield family


class _QueueCollector(Collector):
    def __init__(self, queue: EventQueue, subscriptions: list[Subscription]) -> None:
        self._queue = queue
        self._subscriptions = subscriptions

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "motia_queue_depth",
            "Events of a subscription not yet acked or dead-lettered (waiting, in flight or scheduled to retry)",
            labels=["step", "topic"],
        )
        skipped = 0
        deadline = time.monotonic() + SCRAPE_BUDGET
        for sub in self._subscriptions:
            if time.monotonic() > deadline:  # a huge SQLite queue: the scrape answers anyway
                skipped += 1
                continue
            depth.add_metric([sub.step, sub.topic], float(self._queue.depth(sub.key)))
        yield depth
        yield GaugeMetricFamily(
            "motia_queue_depth_skipped",
            f"Subscriptions whose depth this scrape left out to stay within {SCRAPE_BUDGET:g}s",
            value=float(skipped),
        )


class _RunnerCollector(Collector):
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
