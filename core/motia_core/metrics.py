"""What GET /metrics serves, in Prometheus' text format (version 0.0.4), through prometheus-client.

Each core has its own `CoreMetrics` and `CollectorRegistry` (never prometheus-client's global one: a
test process starts many cores, and two cores must not add up each other's runs). Three sources:

- `CoreMetrics.layer`, a dispatch layer around every step run (dispatch.compose): runs by step,
  trigger and status, a latency histogram per step and trigger, runs in flight;
- `MeteredQueue`, around the queue the EventBus consumes: the fate of every delivery (retries
  scheduled, dead letters) as the bus decided it, so the retry policy lives in one place (events.py);
- collectors (both in metrics_sources.py) that read the queue (`EventQueue.stats`: depth, in flight and scheduled per
  subscription, dead letters held; every instance's on a shared backend) and the runners' restarts
  and load at scrape time, so nothing on the request path keeps them up to date. The queue gets
  `SCRAPE_BUDGET` seconds: a scrape never hangs on a slow storage, it reports
  `motia_queue_stats_ok 0` instead.

The small hand-written `Metrics` registry below predates prometheus-client here: the emits Motia drops
(lenient.py) and the span changes a shared trace storage missed (tracing_recorder.py) are counted in
its process-wide `REGISTRY`, which every scrape appends as it always rendered it (prometheus-client
would sort its labels, and scrapers' queries and tests read `{step=..,reason=..}` as it was).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Gauge, Histogram, disable_created_metrics
from prometheus_client import Counter as PromCounter
from prometheus_client.exposition import generate_latest

from motia_core.errors import RunnerError
from motia_core.metrics_sources import (
    SCRAPE_BUDGET,
    MeteredQueue,
    QueueCollector,
    RunnerCollector,
    RunnerSample,
    Subscription,
)

if TYPE_CHECKING:
    from motia_core.dispatch import Invoke, InvokeRequest, Layer
    from motia_core.queue.base import EventQueue
    from motia_core.runners.transport import Outcome

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# seconds: from a cached answer (~1 ms) to the default API timeout and a slow event handler
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_RUNNER_ERRORS = {  # a run the core could not complete with a runner: the status it is counted under
    "RunnerUnavailable": "unavailable",
    "AdmissionTimeout": "admission_timeout",
    "RunnerLost": "runner_lost",
}
# `_created` series double every counter for nothing a dashboard reads
disable_created_metrics()  # type: ignore[no-untyped-call]


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
            "Step runs by step, trigger (api, event, cron) and status: ok, or why it failed (the runner's "
            "handler_error, timeout, bad_result, ...; the core's unavailable, admission_timeout, runner_lost; "
            "cancelled: the caller went away)",
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
        self.http_requests = PromCounter(
            "motia_http_requests",
            "Requests to API steps by step, method and HTTP status code (those refused before any runner "
            "ran, e.g. 400 for a body that fails bodySchema or 413, included)",
            ("step", "method", "code"),
            registry=r,
        )
        self._series: dict[tuple[str, str], _Series] = {}
        self._api_routes: dict[tuple[str, str], str] = {}  # (route method, route path) -> step name
        self._http: dict[tuple[str, str, int], Any] = {}
        self._by_subscription: dict[str, Subscription] = {}
        self._legacy = legacy
        self._queue: QueueCollector | None = None

    def watch(
        self,
        queue: EventQueue,
        subscriptions: Sequence[Subscription],
        runners: Callable[[], Iterable[RunnerSample]],
        api_routes: dict[tuple[str, str], str] | None = None,
    ) -> None:
        """Read the queue's depth and the runners' state at every scrape (they are read, not pushed).
        `api_routes`: (method, aiohttp route path) -> the API step serving it, for count_response."""
        self._api_routes = dict(api_routes or {})
        self._by_subscription = {s.key: s for s in subscriptions}
        self._queue = QueueCollector(queue, list(subscriptions))
        self.registry.register(self._queue)
        self.registry.register(RunnerCollector(runners))

    async def refresh(self) -> None:
        """Read what the collectors cannot read synchronously (the queue's stats); before render."""
        if self._queue is not None:
            await self._queue.refresh()

    def render(self) -> bytes:
        return generate_latest(self.registry) + self._legacy.render().encode()

    # -- the dispatch layer: every step run -------------------------------------------------------

    def layer(self) -> Layer:
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
                except RunnerError as exc:
                    status = _RUNNER_ERRORS.get(type(exc).__name__, "runner_error")
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

    def count_response(self, route_method: str, route_path: str, status: int) -> None:
        """One response of the HTTP server; counted when its route is an API step's."""
        key = (route_path, route_method, status)
        child = self._http.get(key)
        if child is None:
            step = self._api_routes.get((route_method, route_path))
            if step is None:
                return  # not an API step's route (admin, streams, the 404 fallback)
            child = self._http[key] = self.http_requests.labels(step, route_method, str(status))
        child.inc()

    # -- the queue's fates --------------------------------------------------------------------------

    def metered(self, queue: EventQueue) -> MeteredQueue:
        """`queue` as the EventBus should see it: each delivery's fate counted here."""
        return MeteredQueue(queue, self.count_fate)

    def count_fate(self, subscription: str, fate: str, counted: bool) -> None:
        sub = self._by_subscription.get(subscription)
        labels = (sub.step, sub.topic) if sub is not None else (subscription, "")
        if fate == "retry":
            (self.retries if counted else self.requeued).labels(*labels).inc()
        elif fate == "dead_letter":
            self.dead_letters.labels(*labels).inc()


__all__ = ["SCRAPE_BUDGET", "CoreMetrics", "Counter", "Metrics", "RunnerSample", "Subscription"]
