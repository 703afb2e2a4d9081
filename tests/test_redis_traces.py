"""Traces on Redis: one chain that crosses instances is one trace on every instance, and recording
never makes a request wait or fail (tests/fixtures/tr_chain: a Python API step on /chain emits
`chain.step`, a Python event step handles it and logs its pid; /ping touches no storage)."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from motia_core.logs import Level, Logger
from motia_core.redis_conn import connect
from motia_core.tracing import SpanStatus, TraceStore
from motia_core.tracing_recorder import FLUSH_TIMEOUT, TraceRecorder
from motia_core.tracing_redis import RedisTraceStorage
from tests.conftest import CoreProcess
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(180)

FIXTURE = "tr_chain"


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[Any]:
    client = connect(redis_server.url)
    yield client
    await client.aclose()


def recorder_on(client: Any, url: str, **options: Any) -> tuple[TraceStore, TraceRecorder, io.StringIO]:
    log = io.StringIO()
    live = TraceStore()
    storage = RedisTraceStorage(client, "tr", url)
    return live, TraceRecorder(live, storage, Logger("json", Level.DEBUG, log), **options), log


async def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} not seen within {timeout:g}s")


# -- across instances ------------------------------------------------------------------------------


async def test_a_chain_that_crosses_instances_is_one_trace_on_both(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer
) -> None:
    a = start_core(FIXTURE, "--redis", redis_server.url)
    b = start_core(FIXTURE, "--redis", redis_server.url)
    calls = 20
    async with aiohttp.ClientSession() as http:
        trace_ids = []
        for n in range(calls):  # every API call on A; both instances consume the events
            async with http.post(f"{a.url}/chain", json={"n": n}) as resp:
                assert resp.status == 200, await resp.text()
                trace_ids.append(resp.headers["x-motia-trace-id"])

        def handled_by() -> dict[str, str]:
            seen = {d["traceId"]: name for name, core in (("A", a), ("B", b)) for d in core.find_logs(_handled)}
            return seen if len(seen) == calls else {}

        where = await wait_for(handled_by, 60, f"{calls} handled events")
        crossed = [t for t in trace_ids if where[t] == "B"]
        assert crossed, f"no event of the {calls} was handled on B: {where}"

        async def trace_on(core: CoreProcess, trace_id: str) -> dict[str, Any]:
            async with http.get(f"{core.url}/__motia/traces/{trace_id}") as resp:
                return await resp.json() if resp.status == 200 else {}

        stayed = [t for t in trace_ids if where[t] == "A"]  # handled where its API call ran
        for trace_id in [crossed[0], *stayed[:1]]:
            for core in (b, a):  # B never saw the API call of a trace it handled, A never saw B's span
                doc: dict[str, Any] = {}
                for _ in range(100):
                    doc = await trace_on(core, trace_id)
                    if doc and doc["status"] == "completed" and len(doc["spans"]) == 2:
                        break
                    await asyncio.sleep(0.1)
                assert doc.get("name") == "StartChain", doc
                assert doc["status"] == "completed", doc
                steps = [(s["step"], s["type"], s["status"]) for s in doc["spans"]]
                assert steps == [("StartChain", "api", "completed"), ("HandleChain", "event", "completed")], doc
                assert doc["spans"][1]["topic"] == "chain.step"

        # the listing on either instance has every trace, newest first, paged with `next`
        for core in (a, b):
            listed: list[str] = []
            url = f"{core.url}/__motia/traces?limit=7"
            while True:
                async with http.get(url) as resp:
                    assert resp.status == 200
                    page = await resp.json()
                listed += [t["id"] for t in page["traces"]]
                if page["next"] is None:
                    break
                url = f"{core.url}/__motia/traces?limit=7&before={page['next']}"
            assert listed == list(reversed(trace_ids)), core.url


def _handled(d: dict[str, Any]) -> bool:
    return d.get("msg") == "handled" and "traceId" in d


async def _collect(ws: aiohttp.ClientWebSocketResponse, into: dict[str, list[dict[str, Any]]]) -> None:
    """Every trace summary the live socket sends, by trace id, in order."""
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.TEXT:
            doc = msg.json()
            if doc.get("type") == "trace":
                into.setdefault(doc["trace"]["id"], []).append(doc["trace"])


async def test_the_live_socket_of_each_instance_shows_the_traces_that_ran_on_the_other(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer
) -> None:
    a = start_core(FIXTURE, "--redis", redis_server.url)
    b = start_core(FIXTURE, "--redis", redis_server.url)
    seen: dict[str, dict[str, list[dict[str, Any]]]] = {"A": {}, "B": {}}
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(a.url.replace("http", "ws") + "/__motia/live") as ws_a,
        http.ws_connect(b.url.replace("http", "ws") + "/__motia/live") as ws_b,
    ):
        readers = [asyncio.create_task(_collect(ws, seen[n])) for n, ws in (("A", ws_a), ("B", ws_b))]
        try:
            await asyncio.sleep(0.5)  # both watches subscribed
            async with http.get(f"{a.url}/ping") as resp:  # runs on A only
                ping = resp.headers["x-motia-trace-id"]

            def last_on(name: str, trace_id: str) -> dict[str, Any]:
                got = seen[name].get(trace_id)
                return got[-1] if got else {}

            def ping_done_on_b() -> bool:
                return last_on("B", ping).get("status") == "completed"

            await wait_for(ping_done_on_b, 20, "A's /ping trace on B's live socket")
            assert last_on("B", ping)["name"] == "Ping" and last_on("B", ping)["steps"]["done"] == 1
            statuses = [t["status"] for t in seen["A"][ping]]
            assert statuses[-1] == "completed" and len(statuses) == len(set(statuses)), statuses  # no echo

            # chains begun on A; an event handled on B makes a trace both instances' spans share
            trace_ids = []
            for n in range(20):
                async with http.post(f"{a.url}/chain", json={"n": n}) as resp:
                    trace_ids.append(resp.headers["x-motia-trace-id"])

            def crossed() -> list[str]:
                on_b = {d["traceId"] for d in b.find_logs(_handled)}
                return [t for t in trace_ids if t in on_b]

            chain = (await wait_for(crossed, 60, "an event handled on B"))[0]

            def whole_on_both() -> bool:
                return all(
                    last_on(n, chain).get("status") == "completed" and last_on(n, chain)["steps"]["done"] == 2
                    for n in ("A", "B")
                )

            await wait_for(whole_on_both, 20, f"trace {chain} with both spans on both live sockets: {seen}")
            for n in ("A", "B"):
                assert last_on(n, chain)["name"] == "StartChain", seen[n][chain]
        finally:
            for task in readers:
                task.cancel()


@pytest.mark.chaos
async def test_requests_are_served_while_redis_is_down_and_the_trace_listing_says_why(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer
) -> None:
    core = start_core(FIXTURE, "--redis", redis_server.url)
    async with aiohttp.ClientSession() as http:
        redis_server.kill()
        for _ in range(5):
            started = time.monotonic()
            async with http.get(f"{core.url}/ping") as resp:  # its span cannot be recorded: it is served anyway
                assert (resp.status, await resp.json()) == (200, {"pong": True})
            assert time.monotonic() - started < 5.0
        async with http.get(f"{core.url}/__motia/traces") as resp:
            assert resp.status == 503
            body = await resp.json()
        assert body["error"] == "Service unavailable"
        assert f"Redis at {redis_server.url} failed a traces call" in body["message"]
        warning = core.wait_for_log(lambda d: "were not recorded in the shared trace storage" in d.get("msg", ""))
        assert warning["level"] == "warn" and warning["dropped"] >= 1
        async with http.get(f"{core.url}/metrics") as resp:
            metrics = await resp.text()
        counted = [line.split()[1] for line in metrics.splitlines() if line.startswith("motia_trace_spans_not_")]
        assert counted and float(counted[0]) >= 1, metrics
        redis_server.start()  # same port and appendonly file: spans are recorded again
        async with http.get(f"{core.url}/ping") as resp:
            trace_id = resp.headers["x-motia-trace-id"]
        for _ in range(100):
            async with http.get(f"{core.url}/__motia/traces/{trace_id}") as resp:
                if resp.status == 200 and (await resp.json())["status"] == "completed":
                    break
            await asyncio.sleep(0.1)
        assert resp.status == 200


# -- the recorder and the Redis layout -----------------------------------------------------------


@pytest.mark.chaos
async def test_a_redis_outage_drops_the_batch_with_a_counted_warning(
    redis_server: RedisServer, redis_client: Any
) -> None:
    live, recorder, log = recorder_on(redis_client, redis_server.url)
    live.begin("T", "Api")
    first = live.start_span("T", "s1", "Api", "api", "python", 1, None)
    redis_server.kill()
    await recorder.flush()  # never raises
    assert recorder.dropped == 1 and recorder.flushes == 0
    second = live.start_span("T", "s2", "Api", "api", "python", 1, None)
    await recorder.flush()
    assert recorder.dropped == 2
    warnings = [line for line in log.getvalue().splitlines() if "not recorded" in line]
    assert len(warnings) == 1, warnings  # one warning a minute, however many batches fail
    assert '"dropped":1' in warnings[0] and "failed a traces call" in warnings[0]
    redis_server.start()
    first.finish(SpanStatus.COMPLETED)  # its first version was lost: this one is recorded as new
    second.finish(SpanStatus.COMPLETED)
    await recorder.flush()
    doc = await recorder.storage.get_trace("T")
    assert doc is not None and [(s["id"], s["status"]) for s in doc["spans"]] == [
        ("s1", "completed"),
        ("s2", "completed"),
    ]
    await recorder.close()


@pytest.mark.chaos
async def test_a_redis_that_stops_answering_never_holds_a_flush_or_the_shutdown_past_its_timeout(
    redis_server: RedisServer, redis_client: Any
) -> None:
    live, recorder, _ = recorder_on(redis_client, redis_server.url)
    assert redis_server.proc is not None
    live.begin("T", "Api")
    live.start_span("T", "s1", "Api", "api", "python", 1, None)
    os.kill(redis_server.proc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        await recorder.flush()
        assert time.monotonic() - started < FLUSH_TIMEOUT + 3.0
        assert recorder.dropped == 1
        live.start_span("T", "s2", "Api", "api", "python", 1, None)
        started = time.monotonic()
        await recorder.close(1.0)  # the shutdown flush is bounded too
        assert time.monotonic() - started < 3.0
        assert recorder.dropped == 2
    finally:
        os.kill(redis_server.proc.pid, signal.SIGCONT)


async def test_close_flushes_what_is_pending(redis_server: RedisServer, redis_client: Any) -> None:
    live, recorder, _ = recorder_on(redis_client, redis_server.url, interval=60.0)
    recorder.start()
    live.begin("T", "Api")
    live.start_span("T", "s1", "Api", "api", "python", 1, None).finish(SpanStatus.COMPLETED)
    await asyncio.sleep(0.2)
    assert await recorder.storage.get_trace("T") is None  # the interval has not come
    await recorder.close()
    doc = await recorder.storage.get_trace("T")
    assert doc is not None and doc["status"] == "completed"
    assert live.listener is None


async def test_enough_pending_spans_flush_before_the_interval(redis_server: RedisServer, redis_client: Any) -> None:
    live, recorder, _ = recorder_on(redis_client, redis_server.url, interval=60.0, batch=10)
    recorder.start()
    live.begin("T", "Api")
    for n in range(10):
        live.start_span("T", f"s{n}", "Api", "api", "python", 1, None)
    for _ in range(50):
        if recorder.flushes:
            break
        await asyncio.sleep(0.1)
    doc = await recorder.storage.get_trace("T")
    assert doc is not None and len(doc["spans"]) == 10
    await recorder.close()


async def test_a_trace_keys_share_a_hash_tag_and_expire(redis_server: RedisServer, redis_client: Any) -> None:
    storage = RedisTraceStorage(redis_client, "tr", redis_server.url, ttl=600)
    live = TraceStore()
    recorder = TraceRecorder(live, storage, Logger("json", Level.DEBUG, io.StringIO()))
    live.begin("AB{C}-1", "Api")
    live.start_span("AB{C}-1", "s1", "Api", "api", "python", 1, None)
    await recorder.flush()
    keys = sorted(k.decode() for k in await redis_client.keys("*"))
    assert keys == ["{tr:trace:AB{C}-1}:h", "{tr:trace:AB{C}-1}:o", "{tr:traces}:ids"]
    for key in keys[:2]:
        assert 0 < await redis_client.ttl(key) <= 600, key
    assert await redis_client.ttl("{tr:traces}:ids") == -1  # bounded by its capacity, not by time
    await redis_client.delete(*keys[:2])  # as if the TTL ran out: the listing forgets it
    assert (await storage.list_traces(10)).traces == []
    assert await redis_client.zcard("{tr:traces}:ids") == 0
    await recorder.close()


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_the_listing_pages_with_next_on_either_backend_and_refuses_a_bad_cursor(
    start_core: Callable[..., CoreProcess], request: pytest.FixtureRequest, backend: str
) -> None:
    args = ["--redis", request.getfixturevalue("redis_server").url] if backend == "redis" else []
    core = start_core(FIXTURE, *args)
    async with aiohttp.ClientSession() as http:
        made = []
        for _ in range(5):
            async with http.get(f"{core.url}/ping") as resp:
                made.append(resp.headers["x-motia-trace-id"])

        async def listing(query: str) -> dict[str, Any]:
            async with http.get(f"{core.url}/__motia/traces?{query}") as resp:
                assert resp.status == 200, await resp.text()
                return dict(await resp.json())

        newest = list(reversed(made))
        for _ in range(100):
            first = await listing("limit=2")
            if [t["id"] for t in first["traces"]] == newest[:2]:
                break
            await asyncio.sleep(0.1)
        assert ([t["id"] for t in first["traces"]], first["next"]) == (newest[:2], newest[1])
        assert first["traces"][0]["spans"][0]["step"] == "Ping"
        second = await listing(f"limit=2&before={first['next']}")
        assert ([t["id"] for t in second["traces"]], second["next"]) == (newest[2:4], newest[3])
        last = await listing(f"limit=2&before={second['next']}")
        assert ([t["id"] for t in last["traces"]], last["next"]) == (newest[4:], None)
        assert (await listing("limit=2&before=NOPE-1"))["traces"] == []
        async with http.get(f"{core.url}/__motia/traces?before=" + "x" * 2000) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"] == "Invalid parameter"


async def test_a_listing_skips_traces_whose_keys_expired_and_still_fills_the_page(
    redis_server: RedisServer, redis_client: Any
) -> None:
    live, recorder, _ = recorder_on(redis_client, redis_server.url)
    for n in range(7):
        live.begin(f"T{n}", "Api")
    await recorder.flush()
    storage = recorder.storage
    assert isinstance(storage, RedisTraceStorage)
    for gone in ("T5", "T3", "T4"):  # as if their TTL ran out
        await redis_client.delete(*storage._keys(gone))
    assert [t["id"] for t in (await storage.list_traces(3)).traces] == ["T6", "T2", "T1"]
    assert [t["id"] for t in (await storage.list_traces(3, before="T1")).traces] == ["T0"]
    assert await redis_client.zcard("{tr:traces}:ids") == 4  # the expired ones left the index
    await recorder.close()


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_the_listing_filters_by_status_step_name_and_time_and_refuses_bad_filters(
    start_core: Callable[..., CoreProcess], request: pytest.FixtureRequest, backend: str
) -> None:
    args = ["--redis", request.getfixturevalue("redis_server").url] if backend == "redis" else []
    core = start_core(FIXTURE, *args)
    async with aiohttp.ClientSession() as http:
        pings, chains = [], []
        for n in range(3):
            async with http.get(f"{core.url}/ping") as resp:
                pings.append(resp.headers["x-motia-trace-id"])
            async with http.post(f"{core.url}/chain", json={"n": n}) as resp:
                chains.append(resp.headers["x-motia-trace-id"])

        async def listing(query: str) -> dict[str, Any]:
            async with http.get(f"{core.url}/__motia/traces?{query}") as resp:
                assert resp.status == 200, await resp.text()
                return dict(await resp.json())

        async def ids(query: str) -> list[str]:
            return [t["id"] for t in (await listing(query))["traces"]]

        everything = [t for pair in zip(pings, chains, strict=True) for t in pair][::-1]
        for _ in range(100):  # every trace recorded and done
            page = await listing("status=completed")
            if [t["id"] for t in page["traces"]] == everything:
                break
            await asyncio.sleep(0.1)
        assert [t["id"] for t in page["traces"]] == everything
        assert await ids("name=Ping") == pings[::-1]
        assert await ids("step=HandleChain") == chains[::-1]
        assert await ids("step=HandleChain&name=Ping") == []
        assert await ids("status=failed") == [] and await ids("status=running") == []
        first = await listing("name=StartChain&limit=2")
        assert ([t["id"] for t in first["traces"]], first["next"]) == (chains[:0:-1], chains[1])
        assert await ids(f"name=StartChain&limit=2&before={first['next']}") == chains[:1]
        start = {t["id"]: t["startTime"] for t in page["traces"]}
        window = f"since={start[pings[1]]}&until={start[chains[1]]}"
        assert set(await ids(window)) >= {pings[1], chains[1]}  # inclusive at both ends
        assert all(start[pings[1]] <= start[t] <= start[chains[1]] for t in await ids(window))
        for query, name in [
            ("status=done", "status"),
            ("since=yesterday", "since"),
            ("until=-1", "until"),
            ("since=2000&until=1000", "until"),
            ("step=" + "x" * 2000, "step"),
        ]:
            async with http.get(f"{core.url}/__motia/traces?{query}") as resp:
                assert resp.status == 400, query
                body = await resp.json()
            assert body["error"] == "Invalid parameter" and body["message"].startswith(f"{name}: expected"), body
