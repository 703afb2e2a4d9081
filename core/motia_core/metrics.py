"""What GET /metrics serves, in Prometheus' text format (version 0.0.4), through prometheus-client.

Each core has its own `CoreMetrics` (never prometheus-client's global registry: a test process
starts many cores, and two cores must not add up each other's runs). Three sources:

- `CoreMetrics.layer`, a dispatch layer around every step run (dispatch.compose): runs by step,
  trigger and status, a latency histogram per step and trigger, runs in flight; and
  `count_response`, called for each response of an API step's route (http/metrics.py `counted`):
  API requests by status code;
- `MeteredQueue`, around the queue the EventBus consumes: the fate of every delivery (retries
  scheduled, dead letters) as the bus decided it, so the retry policy lives in one place (events.py);
- what is read at scrape time (metrics_sources.py): the queue's stats (`EventQueue.stats`: depth, in
  flight and scheduled per subscription, dead letters held; every instance's on a shared backend),
  within `SCRAPE_BUDGET` seconds (past it the scrape says `motia_queue_stats_ok 0`), and the
  runners' restarts and load.

On the request path a run only bumps plain ints and floats here (about a microsecond, no lock: the
core runs on one event loop). prometheus-client is imported at the first scrape
(metrics_render.py), which turns these numbers into its metric families: a core nobody scrapes never
pays its import (its package pulls in http.server and wsgiref).

The small hand-written `Metrics` registry below predates prometheus-client here: the emits Motia drops
(lenient.py) and the changes the recorders could not store (tracing_recorder.py, logs) are counted in
its process-wide `REGISTRY`, which every scrape appends as it always rendered it (prometheus-client
would sort its labels, and scrapers' queries and tests read `{step=..,reason=..}` as it was).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from motia_core.errors import RunnerError
from motia_core.metrics_sources import SCRAPE_BUDGET, MeteredQueue, RunnerSample, Subscription, read_stats
from motia_core.runners.transport import Trigger

if TYPE_CHECKING:
    from motia_core.dispatch import Invoke, InvokeRequest, Layer
    from motia_core.queue.base import EventQueue, QueueStats
    from motia_core.runners.transport import Outcome

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# seconds: from a cached answer (~1 ms) to the default API timeout and a slow event handler
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_RUNNER_ERRORS = {  # a run the core could not complete with a runner: the status it is counted under
    "RunnerUnavailable": "unavailable",
    "AdmissionTimeout": "admission_timeout",
    "RunnerLost": "runner_lost",
}


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


@dataclass(slots=True)
class RunSeries:
    """One (step, trigger): its runs by status and its latency histogram (per-bucket counts, not yet
    cumulative; the last one is +Inf)."""

    step: str
    trigger: str
    runs: dict[str, int] = field(default_factory=dict)
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0  # seconds, all runs
    count: int = 0

    def observe(self, seconds: float, status: str) -> None:
        self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1  # le is inclusive, as Prometheus says
        self.total += seconds
        self.count += 1
        self.runs[status] = self.runs.get(status, 0) + 1


class CoreMetrics:
    def __init__(self, legacy: Metrics = REGISTRY) -> None:
        self.legacy = legacy
        self.series: dict[tuple[str, str], RunSeries] = {}
        self.in_flight: dict[str, int] = {}  # step -> runs started and not finished
        # (step, topic) -> deliveries, by what the bus decided: "retry", "requeued", "dead_letter"
        self.fates: dict[str, dict[tuple[str, str], int]] = {"retry": {}, "requeued": {}, "dead_letter": {}}
        self.http: dict[tuple[str, str, str], int] = {}  # (step, method, status code) -> responses
        self._subscriptions: Callable[[], Iterable[Subscription]] = list
        self.runners: Callable[[], Iterable[RunnerSample]] = list
        self.queue_stats: QueueStats | None = None  # as of the last refresh (None: it failed)
        self.registry: Any = None  # prometheus-client's CollectorRegistry, made at the first scrape
        self._queue: EventQueue | None = None
        self._by_subscription: dict[str, Subscription] = {}

    def watch(
        self,
        queue: EventQueue,
        subscriptions: Callable[[], Iterable[Subscription]],
        runners: Callable[[], Iterable[RunnerSample]],
    ) -> None:
        """Read the queue's stats and the runners' state at every scrape (they are read, not pushed).
        `subscriptions` names the queue's subscriptions (step and topic); asked again whenever a key
        it did not name shows up, so steps added by a reload get their labels."""
        self._queue = queue
        self._subscriptions = subscriptions
        self.runners = runners

    def subscription(self, key: str) -> Subscription:
        """The step and topic of a queue subscription key."""
        found = self._by_subscription.get(key)
        if found is None:
            self._by_subscription = {s.key: s for s in self._subscriptions()}
            found = self._by_subscription.get(key)
            if found is None:  # not a subscription of the registry (any more): its key says the topic
                topic, _, step = key.partition("::")
                found = self._by_subscription[key] = Subscription(key, topic, step)
        return found

    async def refresh(self) -> None:
        """Read what cannot be read synchronously (the queue's stats, within SCRAPE_BUDGET); before render."""
        if self._queue is not None:
            self.queue_stats = await read_stats(self._queue, SCRAPE_BUDGET)

    def render(self) -> bytes:
        from motia_core.metrics_render import render  # prometheus-client: at the first scrape only

        return render(self) + self.legacy.render().encode()

    # -- the dispatch layer: every step run -------------------------------------------------------

    def layer(self) -> Layer:
        series_of = self._series_of
        in_flight = self.in_flight
        labels = {t: t.name.lower() for t in Trigger}  # once: an enum's .name is a slow property

        def wrap(inner: Invoke) -> Invoke:
            async def invoke(req: InvokeRequest) -> Outcome:
                name = req.step.name
                series = series_of(name, labels[req.trigger])
                in_flight[name] = in_flight.get(name, 0) + 1
                started = time.perf_counter()
                status = "cancelled"  # unless the run ends otherwise: the awaiting task was cancelled
                try:
                    outcome = await inner(req)
                    failure = outcome.failure
                    status = "ok" if failure is None else failure.kind.name.lower()
                    return outcome
                except RunnerError as exc:
                    status = _RUNNER_ERRORS.get(type(exc).__name__, "runner_error")
                    raise
                finally:
                    in_flight[name] -= 1
                    series.observe(time.perf_counter() - started, status)

            return invoke

        return wrap

    def _series_of(self, step: str, trigger: str) -> RunSeries:
        series = self.series.get((step, trigger))
        if series is None:
            series = self.series[(step, trigger)] = RunSeries(step, trigger)
        return series

    def count_response(self, step: str, method: str, status: int) -> None:
        """One response of an API step (http/metrics.py `counted` wraps every API step's route)."""
        key = (step, method, str(status))
        self.http[key] = self.http.get(key, 0) + 1

    # -- the queue's fates ----------------------------------------------------------------------------

    def metered(self, queue: EventQueue) -> MeteredQueue:
        """`queue` as the EventBus should see it: each delivery's fate counted here."""
        return MeteredQueue(queue, self.count_fate)

    def count_fate(self, subscription: str, fate: str, counted: bool) -> None:
        if fate == "retry" and not counted:
            fate = "requeued"
        counts = self.fates.get(fate)
        if counts is None:
            return  # ack
        sub = self.subscription(subscription)
        labels = (sub.step, sub.topic)
        counts[labels] = counts.get(labels, 0) + 1


__all__ = ["SCRAPE_BUDGET", "CoreMetrics", "Counter", "Metrics", "RunnerSample", "Subscription"]
