"""The Prometheus text of one core's metrics (metrics.py), made by prometheus-client.

Imported at the first scrape only. Each core gets its own CollectorRegistry holding one collector
that turns the core's plain counts into metric families when scraped; the library's global registry
is never used."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from motia_core.metrics import LATENCY_BUCKETS, CoreMetrics
from motia_core.metrics_sources import SCRAPE_BUDGET

STEP_TOPIC = ["step", "topic"]


def render(metrics: CoreMetrics) -> bytes:
    if metrics.registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_CoreCollector(metrics))
        metrics.registry = registry
    return generate_latest(metrics.registry)


class _CoreCollector(Collector):
    def __init__(self, metrics: CoreMetrics) -> None:
        self._m = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self._runs()
        yield from self._fates()
        yield from self._queue()
        yield from self._runners()

    def _runs(self) -> Iterator[Metric]:
        m = self._m
        http = CounterMetricFamily(
            "motia_http_requests",
            "Requests to API steps by step, method and HTTP status code (those refused before any runner "
            "ran, e.g. 400 for a body that fails bodySchema or 413, included)",
            labels=["step", "method", "code"],
        )
        for key, n in sorted(m.http.items()):
            http.add_metric(list(key), n)
        runs = CounterMetricFamily(
            "motia_step_runs",
            "Step runs by step, trigger (api, event, cron) and status: ok, or why it failed (the runner's "
            "handler_error, timeout, bad_result, ...; the core's unavailable, admission_timeout, runner_lost; "
            "cancelled: the caller went away)",
            labels=["step", "trigger", "status"],
        )
        duration = HistogramMetricFamily(
            "motia_step_duration_seconds",
            "Time from handing a run to its runner to its outcome, by step and trigger",
            labels=["step", "trigger"],
        )
        bounds = [*(f"{b:g}" for b in LATENCY_BUCKETS), "+Inf"]
        for (step, trigger), series in sorted(m.series.items()):
            for status, n in sorted(series.runs.items()):
                runs.add_metric([step, trigger, status], n)
            cumulative, buckets = 0, []
            for bound, n in zip(bounds, series.buckets, strict=True):
                cumulative += n
                buckets.append((bound, float(cumulative)))
            duration.add_metric([step, trigger], buckets, series.total)
        in_flight = GaugeMetricFamily(
            "motia_step_runs_in_flight", "Step runs started and not finished, by step", labels=["step"]
        )
        for step, n in sorted(m.in_flight.items()):
            in_flight.add_metric([step], n)
        yield http
        yield runs
        yield duration
        yield in_flight

    def _fates(self) -> Iterator[Metric]:
        helps = {
            "retry": (
                "motia_event_retries",
                "Failed event deliveries scheduled for another attempt (each counted against maxRetries)",
            ),
            "requeued": (
                "motia_event_requeued",
                "Event deliveries put back without using an attempt (runner lost or absent, core stopping)",
            ),
            "dead_letter": (
                "motia_dead_letters",
                "Events given up on and kept as dead letters (retries exhausted or not retryable)",
            ),
        }
        for fate, (name, text) in helps.items():
            family = CounterMetricFamily(name, text, labels=STEP_TOPIC)
            for labels, n in sorted(self._m.fates[fate].items()):
                family.add_metric(list(labels), n)
            yield family

    def _queue(self) -> Iterator[Metric]:
        stats = self._m.queue_stats
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
                labels=STEP_TOPIC,
            ),
            "in_flight": GaugeMetricFamily(
                "motia_queue_in_flight", "Events of a subscription leased to a handler now", labels=STEP_TOPIC
            ),
            "scheduled": GaugeMetricFamily(
                "motia_queue_scheduled",
                "Events of a subscription waiting for a delay or a retry's backoff",
                labels=STEP_TOPIC,
            ),
        }
        for key, found in sorted(stats.subscriptions.items()):
            sub = self._m.subscription(key)
            for attr, family in families.items():
                family.add_metric([sub.step, sub.topic], float(getattr(found, attr)))
        yield from families.values()
        yield GaugeMetricFamily(
            "motia_dead_letters_held",
            "Dead letters kept now (replayed and purged ones leave)",
            value=stats.dead_letters,
        )

    def _runners(self) -> Iterator[Metric]:
        restarts = CounterMetricFamily(
            "motia_runner_restarts", "Times a language runner was replaced after it exited", labels=["language"]
        )
        in_flight = GaugeMetricFamily(
            "motia_runner_in_flight", "Invocations a language runner holds now", labels=["language"]
        )
        up = GaugeMetricFamily("motia_runner_up", "1 when the language runner is ready", labels=["language"])
        for sample in self._m.runners():
            restarts.add_metric([sample.language], float(sample.restarts))
            in_flight.add_metric([sample.language], float(sample.in_flight))
            up.add_metric([sample.language], 1.0 if sample.state == "ready" else 0.0)
        yield restarts
        yield in_flight
        yield up
