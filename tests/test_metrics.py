"""GET /metrics: Prometheus' text format from prometheus-client, one registry per core.

A real core serving tests/fixtures/ot_chain (TypeScript, Python and Ruby steps): the text parses with
prometheus-client's own parser, and every family moves when the core does what it counts (runs by
step and status, latency histograms, retries, dead letters, queue depth, runs in flight, runner
restarts). /metrics answers only on the admin surface (docs/security.md).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import pytest
from prometheus_client import REGISTRY as GLOBAL_REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from motia_core.dispatch import InvokeRequest, compose
from motia_core.metrics import SCRAPE_BUDGET, CoreMetrics, Subscription
from motia_core.runners.transport import Failure, FailureKind, Outcome, Trigger
from tests.conftest import ROOT, CoreProcess, copy_fixture
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(120)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("ot_chain", tmp_path_factory.mktemp("metrics"))
    proc = CoreProcess(project, env={"MOTIA_RETRY_BASE_DELAY": "0.05"})
    proc.wait_ready(60)
    yield proc
    proc.stop()


async def scrape_text(core: CoreProcess) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{core.url}/metrics") as resp:
            assert resp.status == 200, await resp.text()
            assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            return await resp.text()


async def scrape(core: CoreProcess) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(await scrape_text(core)):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def get(core: CoreProcess, path: str) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.request("POST" if path == "/chain" else "GET", core.url + path, json={"n": 1}) as resp:
            await resp.read()
            return resp.status


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_the_text_parses_and_has_every_family(core: CoreProcess) -> None:
    assert await get(core, "/ping") == 200
    families = {f.name: f for f in text_string_to_metric_families(await scrape_text(core))}
    expected = {
        "motia_step_runs": "counter",
        "motia_http_requests": "counter",
        "motia_step_duration_seconds": "histogram",
        "motia_step_runs_in_flight": "gauge",
        "motia_event_retries": "counter",
        "motia_event_requeued": "counter",
        "motia_dead_letters": "counter",
        "motia_queue_depth": "gauge",
        "motia_queue_in_flight": "gauge",
        "motia_queue_scheduled": "gauge",
        "motia_queue_stats_ok": "gauge",
        "motia_dead_letters_held": "gauge",
        "motia_runner_restarts": "counter",
        "motia_runner_in_flight": "gauge",
        "motia_runner_up": "gauge",
        "motia_emits_dropped": "counter",  # the hand-written counters of lenient.py and the recorder
        "motia_trace_spans_not_recorded": "counter",
    }
    assert {name: families[name].type for name in expected if name in families} == expected
    # no `_created` series: half the lines for nothing a dashboard reads
    assert not any(s.name.endswith("_created") for f in families.values() for s in f.samples)
    # every subscription has a depth, and each language runner is up
    depths = {s.labels["step"]: s.value for s in families["motia_queue_depth"].samples}
    assert set(depths) == {"ChainPython", "ChainRuby", "Flaky", "SlowWork"}
    up = {s.labels["language"]: s.value for s in families["motia_runner_up"].samples}
    assert up == {"node": 1.0, "python": 1.0, "ruby": 1.0}


async def test_runs_count_by_step_and_status_with_a_latency_histogram(core: CoreProcess) -> None:
    before = await scrape(core)
    for _ in range(3):
        assert await get(core, "/ping") == 200
    assert await get(core, "/ping?fail=1") == 500
    after = await scrape(core)
    ok = {"step": "Ping", "trigger": "api", "status": "ok"}
    failed = {**ok, "status": "handler_error"}
    assert value(after, "motia_step_runs_total", **ok) - value(before, "motia_step_runs_total", **ok) == 3
    assert value(after, "motia_step_runs_total", **failed) - value(before, "motia_step_runs_total", **failed) == 1
    series = {"step": "Ping", "trigger": "api"}
    count = value(after, "motia_step_duration_seconds_count", **series)
    assert count - value(before, "motia_step_duration_seconds_count", **series) == 4
    assert value(after, "motia_step_duration_seconds_sum", **series) > 0
    buckets = sorted(
        (float(dict(labels)["le"]), v)
        for (name, labels), v in after.items()
        if name == "motia_step_duration_seconds_bucket" and dict(labels)["step"] == "Ping"
    )
    assert [b for b, _ in buckets][:3] == [0.001, 0.0025, 0.005] and buckets[-1] == (float("inf"), count)
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:], strict=False))  # cumulative
    assert value(after, "motia_step_runs_in_flight", step="Ping") == 0
    # and the HTTP side of the same requests, by status code
    http_200 = {"step": "Ping", "method": "GET", "code": "200"}
    http_500 = {**http_200, "code": "500"}
    assert (
        value(after, "motia_http_requests_total", **http_200) - value(before, "motia_http_requests_total", **http_200)
        == 3
    )
    assert (
        value(after, "motia_http_requests_total", **http_500) - value(before, "motia_http_requests_total", **http_500)
        == 1
    )


async def test_a_request_refused_before_any_runner_is_counted_by_its_status(core: CoreProcess) -> None:
    before = await scrape(core)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{core.url}/chain", json={"n": "not a number"}) as resp:
            assert resp.status == 400  # bodySchema: the runner never sees it
        async with http.get(f"{core.url}/no/such/route") as resp:
            assert resp.status == 404
    after = await scrape(core)
    refused = {"step": "StartChain", "method": "POST", "code": "400"}
    assert (
        value(after, "motia_http_requests_total", **refused) - value(before, "motia_http_requests_total", **refused)
        == 1
    )
    runs = {"step": "StartChain", "trigger": "api", "status": "ok"}
    assert value(after, "motia_step_runs_total", **runs) == value(before, "motia_step_runs_total", **runs)
    assert not [k for k in after if k[0] == "motia_http_requests_total" and ("code", "404") in k[1]]  # not a step


async def test_a_chain_counts_a_run_per_language(core: CoreProcess) -> None:
    before = await scrape(core)
    assert await get(core, "/chain") == 200
    runs = [("StartChain", "api"), ("ChainPython", "event"), ("ChainRuby", "event")]

    async def all_counted() -> bool:
        now = await scrape(core)
        return all(
            value(now, "motia_step_runs_total", step=s, trigger=t, status="ok")
            - value(before, "motia_step_runs_total", step=s, trigger=t, status="ok")
            == 1
            for s, t in runs
        )

    await until(all_counted)


async def test_retries_and_dead_letters_follow_the_queues_decisions(core: CoreProcess) -> None:
    labels = {"step": "Flaky", "topic": "flaky.work"}
    before = await scrape(core)
    assert await get(core, "/ping?flaky=1") == 200

    async def buried() -> bool:
        now = await scrape(core)
        return (
            value(now, "motia_dead_letters_total", **labels) - value(before, "motia_dead_letters_total", **labels) == 1
        )

    await until(buried)
    after = await scrape(core)
    # maxRetries 1: the first attempt, one retry, then the dead letter
    assert (
        value(after, "motia_event_retries_total", **labels) - value(before, "motia_event_retries_total", **labels) == 1
    )
    failed = {"step": "Flaky", "trigger": "event", "status": "handler_error"}
    assert value(after, "motia_step_runs_total", **failed) - value(before, "motia_step_runs_total", **failed) == 2
    assert (
        value(after, "motia_dead_letters_held") - value(before, "motia_dead_letters_held") == 1
    )  # read from the queue


async def test_queue_depth_and_in_flight_are_read_at_scrape_time(core: CoreProcess) -> None:
    labels = {"step": "SlowWork", "topic": "slow.work"}
    assert await get(core, "/ping?slow=3") == 200  # three 1.5 s events, one at a time

    async def busy() -> bool:
        now = await scrape(core)
        return value(now, "motia_step_runs_in_flight", step="SlowWork") == 1

    await until(busy)
    now = await scrape(core)
    assert value(now, "motia_queue_depth", **labels) >= 2  # the one running and those waiting
    assert value(now, "motia_queue_in_flight", **labels) == 1  # concurrency 1
    assert value(now, "motia_queue_stats_ok") == 1
    assert value(now, "motia_runner_in_flight", language="python") >= 1

    async def drained() -> bool:
        now = await scrape(core)
        return (
            value(now, "motia_queue_depth", **labels) == 0
            and value(now, "motia_step_runs_in_flight", step="SlowWork") == 0
        )

    await until(drained, timeout=60)
    done = await scrape(core)
    assert value(done, "motia_step_runs_total", step="SlowWork", trigger="event", status="ok") >= 3


@pytest.mark.chaos
async def test_a_runner_restart_is_counted(core: CoreProcess) -> None:
    before = await scrape(core)
    os.kill(core.runner_pids()["ruby"], signal.SIGKILL)

    async def restarted() -> bool:
        now = await scrape(core)
        restarts = value(now, "motia_runner_restarts_total", language="ruby")
        return (
            restarts == value(before, "motia_runner_restarts_total", language="ruby") + 1
            and value(now, "motia_runner_up", language="ruby") == 1
        )

    await until(restarted, timeout=60)


async def test_metrics_is_behind_the_admin_guard(core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{core.url}/metrics", headers={"Host": "evil.example"}) as resp:
            assert resp.status == 403
        async with http.get(f"{core.url}/metrics", headers={"Origin": "https://evil.example"}) as resp:
            assert resp.status == 403
        async with http.get(f"{core.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}) as resp:
            assert resp.status == 403


async def test_each_core_has_its_own_registry() -> None:
    """Two cores in one process count apart, and prometheus-client's global registry stays empty of them."""

    async def ok(_: InvokeRequest) -> Outcome:
        return Outcome(b"{}")

    async def fails(_: InvokeRequest) -> Outcome:
        return Outcome(failure=Failure(FailureKind.TIMEOUT, "Timeout", "too slow", ""))

    first, second = CoreMetrics(), CoreMetrics()
    step = cast(Any, SimpleNamespace(name="S"))
    await compose([first.layer()], ok)(InvokeRequest(step, Trigger.CRON, b"", "T-1"))
    await compose([second.layer()], fails)(InvokeRequest(step, Trigger.CRON, b"", "T-2"))
    texts = [first.render().decode(), second.render().decode()]
    assert 'motia_step_runs_total{status="ok",step="S",trigger="cron"} 1.0' in texts[0]  # labels sorted
    assert 'status="timeout"' in texts[1] and 'status="timeout"' not in texts[0]
    assert 'status="ok"' not in texts[1]
    assert GLOBAL_REGISTRY.get_sample_value("motia_step_runs_total", {"step": "S"}) is None


async def test_a_queue_that_does_not_answer_does_not_hang_the_scrape() -> None:
    """The queue gets SCRAPE_BUDGET seconds; past it the scrape answers with motia_queue_stats_ok 0."""

    class StuckQueue:
        async def stats(self) -> None:
            await asyncio.sleep(60)

    metrics = CoreMetrics()
    metrics.watch(cast(Any, StuckQueue()), [Subscription("t::s", "t", "S")], list)
    started = time.monotonic()
    await metrics.refresh()
    assert time.monotonic() - started < SCRAPE_BUDGET + 2
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    assert families["motia_queue_stats_ok"].samples[0].value == 0
    assert "motia_queue_depth" not in families


async def test_on_redis_the_queue_series_are_read_from_redis(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer
) -> None:
    """Two cores on one Redis: the events one queued show in the other's scrape (EventQueue.stats reads Redis)."""
    env = {"MOTIA_RETRY_BASE_DELAY": "0.05"}
    a = start_core("ot_chain", "--redis", redis_server.url, env=env)
    b = start_core("ot_chain", "--redis", redis_server.url, env=env)
    labels = {"step": "SlowWork", "topic": "slow.work"}
    assert await get(a, "/ping?slow=4") == 200

    async def seen_by_b() -> bool:
        now = await scrape(b)
        return value(now, "motia_queue_stats_ok") == 1 and value(now, "motia_queue_depth", **labels) >= 2

    await until(seen_by_b)


def test_prometheus_client_is_imported_at_the_first_scrape_only() -> None:
    """Its package pulls in http.server and wsgiref: a core nobody scrapes does not pay for them."""
    code = (
        "import sys\n"
        "from motia_core import app\n"
        "from motia_core.metrics import CoreMetrics\n"
        "metrics = CoreMetrics()\n"
        "assert not [m for m in sys.modules if m.startswith('prometheus_client')]\n"
        "assert b'# TYPE motia_step_runs_total counter' in metrics.render()\n"
        "assert 'prometheus_client' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
