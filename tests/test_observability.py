"""The Workbench's data (docs/observability.md), against a real core and real TypeScript, Python and
Ruby runners (tests/fixtures/ob_chain): kept logs with filters and paging, the live socket, span
events in order with their parents, queue stats, cron, runners, state edits, and the admin guard."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import CoreProcess, copy_fixture

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def ob_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("ob_chain", tmp_path_factory.mktemp("ob"))
    core = CoreProcess(project, env={"MOTIA_RETRY_BASE_DELAY": "0.05"})
    core.wait_ready()
    yield core
    core.stop()


async def call(core: CoreProcess, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s:
        headers = {**JSON, **kw.pop("headers", {})} if body is not None or method != "GET" else kw.pop("headers", {})
        async with s.request(method, core.url + path, json=body, headers=headers, **kw) as resp:
            return resp.status, await resp.json(content_type=None)


async def until(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} not met in {timeout}s"
        await asyncio.sleep(0.1)


async def run_chain(core: CoreProcess, who: str, slow: float = 0) -> tuple[str, dict[str, Any]]:
    """POST /ob/start and wait for the TS -> Python -> Ruby chain's trace to complete."""
    status, body = await call(core, "POST", "/ob/start", {"who": who, "slow": slow})
    assert status == 200, body
    trace_id = body["traceId"]

    async def done() -> dict[str, Any] | None:
        status, doc = await call(core, "GET", f"/__motia/traces/{trace_id}")
        if status == 200 and len(doc["spans"]) == 3 and doc["status"] == "completed":
            return dict(doc)
        return None

    return trace_id, await until(done, what=f"trace {trace_id} completed")


@pytest.mark.timeout(90)
async def test_span_events_in_order_with_parents_across_languages(ob_core: CoreProcess) -> None:
    trace_id, trace = await run_chain(ob_core, "ada")
    ts, py, rb = sorted(trace["spans"], key=lambda s: s["startTime"])
    assert [s["language"] for s in (ts, py, rb)] == ["typescript", "python", "ruby"]
    assert ts["parentId"] is None and py["parentId"] == ts["id"] and rb["parentId"] == py["id"]

    def shape(span: dict[str, Any]) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for e in span["events"]:
            assert isinstance(e["time"], int) and span["startTime"] - 5 <= e["time"]
            detail = {k: v for k, v in e.items() if k not in ("type", "time")}
            out.append((e["type"], *sorted(detail.items())))
        return out

    assert shape(ts) == [
        ("log", ("level", "info"), ("message", "ts says hello")),
        ("state", ("group", "ob"), ("key", trace_id), ("op", "set")),
        ("stream", ("group", "room"), ("id", trace_id), ("op", "set"), ("stream", "board")),
        ("emit", ("topic", "ob.started")),
    ]
    assert shape(py) == [
        ("log", ("level", "info"), ("message", "python relays")),
        ("state", ("group", "ob"), ("key", trace_id), ("op", "get")),
        ("stream", ("group", "room"), ("id", trace_id), ("op", "get"), ("stream", "board")),
        ("emit", ("topic", "ob.relayed")),
    ]
    assert shape(rb) == [
        ("log", ("level", "warn"), ("message", "ruby finishes")),
        ("state", ("group", "ob"), ("key", trace_id), ("op", "delete")),
    ]
    assert trace["steps"] == {"done": 3, "running": 0, "failed": 0, "retried": 0}
    assert trace["endTime"] >= trace["startTime"] and trace["durationMs"] == trace["endTime"] - trace["startTime"]


@pytest.mark.timeout(90)
async def test_logs_of_every_language_kept_filtered_and_paged(ob_core: CoreProcess) -> None:
    trace_id, _ = await run_chain(ob_core, "grace")

    async def traced() -> list[dict[str, Any]]:
        status, doc = await call(ob_core, "GET", f"/__motia/logs?traceId={trace_id}&limit=1000")
        assert status == 200, doc
        messages = {d["message"] for d in doc["logs"]}
        return list(doc["logs"]) if {"ts says hello", "python relays", "ruby finishes"} <= messages else []

    logs = await until(traced, what="the chain's log lines in /__motia/logs")
    by_message = {d["message"]: d for d in logs}
    assert by_message["ts says hello"]["language"] == "typescript"
    assert by_message["ts says hello"]["step"] == "ObStart"
    assert by_message["python relays"]["fields"]["who"] == "grace"
    assert by_message["ruby finishes"]["level"] == "warn" and by_message["ruby finishes"]["step"] == "ObFinish"
    assert [d["id"] for d in logs] == sorted((d["id"] for d in logs), key=int, reverse=True)  # newest first

    status, warn = await call(ob_core, "GET", f"/__motia/logs?traceId={trace_id}&level=warn")
    assert status == 200 and {d["message"] for d in warn["logs"]} == {"ruby finishes"}
    status, step = await call(ob_core, "GET", "/__motia/logs?step=ObRelay&q=RELAYS&limit=1000")
    assert status == 200 and step["logs"] and all(d["step"] == "ObRelay" for d in step["logs"])
    status, core_lines = await call(ob_core, "GET", "/__motia/logs?q=listening%20on")
    assert status == 200 and core_lines["logs"][0]["source"] == "core"  # the core's own lines are kept too

    pages: list[str] = []
    before = ""
    for _ in range(50):
        status, page = await call(ob_core, "GET", f"/__motia/logs?limit=3{before}")
        assert status == 200 and len(page["logs"]) <= 3
        pages += [d["id"] for d in page["logs"]]
        if page["next"] is None or len(pages) >= 30:
            break
        before = f"&before={page['next']}"
    assert len(pages) == len(set(pages)) >= 6
    assert pages == sorted(pages, key=int, reverse=True)

    now = int(time.time() * 1000)
    status, future = await call(ob_core, "GET", f"/__motia/logs?since={now + 3_600_000}")
    assert status == 200 and future == {"logs": [], "next": None}
    for bad in ("limit=0", "limit=x", "level=loud", "since=-1", "until=soon", "before=abc", "q=" + "x" * 300):
        status, doc = await call(ob_core, "GET", f"/__motia/logs?{bad}")
        assert status == 400, (bad, doc)
        assert bad.split("=")[0] in doc["message"]


@pytest.mark.timeout(90)
async def test_live_socket_sends_log_lines_and_trace_updates(ob_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(ob_core.url.replace("http", "ws") + "/__motia/live") as ws:
        await ws.send_json({"type": "filter", "logs": {"step": "ObFinish"}})
        await asyncio.sleep(0.2)
        status, body = await call(ob_core, "POST", "/ob/start", {"who": "live"})
        assert status == 200
        trace_id = body["traceId"]
        logs: list[dict[str, Any]] = []
        traces: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = await ws.receive_json(timeout=30)
            if msg["type"] == "log":
                logs.append(msg["log"])
            elif msg["type"] == "trace" and msg["trace"]["id"] == trace_id:
                traces.append(msg["trace"])
            if traces and traces[-1]["status"] == "completed" and traces[-1]["steps"]["done"] == 3 and logs:
                break
        assert traces, "no trace update received"
        assert "spans" not in traces[-1] and traces[-1]["name"] == "ObStart"
        assert traces[-1]["durationMs"] >= 0
        assert logs and all(d["step"] == "ObFinish" for d in logs)  # the filter holds
        assert any(d["message"] == "ruby finishes" and d["traceId"] == trace_id for d in logs)
        assert all("id" in d for d in logs)


@pytest.mark.timeout(90)
async def test_queue_stats_move_while_a_handler_holds_its_subscription(ob_core: CoreProcess) -> None:
    status, idle = await call(ob_core, "GET", "/__motia/queue")
    assert status == 200
    rows = {r["step"]: r for r in idle["subscriptions"]}
    assert rows["ObRelay"]["topic"] == "ob.started" and rows["ObFinish"]["topic"] == "ob.relayed"
    assert isinstance(idle["deadLetters"], int)
    for n in range(3):  # concurrency 1 and a 1.5 s handler: the second and third wait
        status, _ = await call(ob_core, "POST", "/ob/start", {"who": f"q{n}", "slow": 1.5})
        assert status == 200

    async def busy() -> dict[str, Any] | None:
        _, doc = await call(ob_core, "GET", "/__motia/queue")
        row = next(r for r in doc["subscriptions"] if r["step"] == "ObRelay")
        return dict(row) if row["depth"] >= 2 and row["inFlight"] == 1 else None

    assert await until(busy, what="ObRelay busy")

    async def drained() -> bool:
        _, doc = await call(ob_core, "GET", "/__motia/queue")
        return all(r["depth"] == 0 for r in doc["subscriptions"])

    async with aiohttp.ClientSession() as s, s.ws_connect(ob_core.url.replace("http", "ws") + "/__motia/live") as ws:
        # the live socket says the queue moved (polled once a second) while the held events drain
        while (await ws.receive_json(timeout=30))["type"] != "queue":
            pass
    assert await until(drained, timeout=30, what="the queue drained")


@pytest.mark.timeout(90)
async def test_cron_lists_next_runs_and_trigger_runs_it_now(ob_core: CoreProcess) -> None:
    status, doc = await call(ob_core, "GET", "/__motia/cron")
    assert status == 200
    [job] = doc["jobs"]
    assert (job["step"], job["cron"]) == ("ObNightly", "0 3 * * *")
    runs = job["nextRuns"]
    assert len(runs) == 3 and runs == sorted(runs) and runs[0] > time.time() * 1000
    assert all(time.gmtime(r / 1000).tm_min == 0 for r in runs)
    status, started = await call(ob_core, "POST", "/__motia/cron/ObNightly/trigger")
    assert status == 200, started
    trace_id = started["traceId"]

    async def ran() -> dict[str, Any] | None:
        _, doc = await call(ob_core, "GET", "/__motia/cron")
        last = doc["jobs"][0]["last"]
        return dict(last) if last and last["traceId"] == trace_id and last["status"] == "completed" else None

    assert await until(ran, what="the triggered run completed")
    status, value = await call(ob_core, "GET", "/__motia/state/ob-cron")
    assert status == 200 and value["items"] == [{"key": "last", "value": trace_id}]
    status, missing = await call(ob_core, "POST", "/__motia/cron/Nope/trigger")
    assert status == 404 and "ObNightly" in missing["message"]


async def test_runners_report_language_pid_uptime(ob_core: CoreProcess) -> None:
    status, doc = await call(ob_core, "GET", "/__motia/runners")
    assert status == 200
    by_runtime = {r["runtime"]: r for r in doc["runners"]}
    assert set(by_runtime) == {"node", "python", "ruby"}
    for r in by_runtime.values():
        assert r["state"] == "ready" and r["pid"] > 0 and r["restarts"] == 0 and r["inFlight"] >= 0
        assert r["startedAt"] <= time.time() * 1000 and r["uptimeMs"] >= 0 and r["language"]


async def test_state_group_put_and_delete(ob_core: CoreProcess) -> None:
    status, put = await call(ob_core, "PUT", "/__motia/state/ob-edit/k1", {"v": [1, 2]})
    assert status == 200 and put == {"key": "k1", "value": {"v": [1, 2]}}
    await call(ob_core, "PUT", "/__motia/state/ob-edit/k2", "text")
    status, group = await call(ob_core, "GET", "/__motia/state/ob-edit")
    assert status == 200 and sorted(group["items"], key=lambda i: i["key"]) == [
        {"key": "k1", "value": {"v": [1, 2]}},
        {"key": "k2", "value": "text"},
    ]
    status, gone = await call(ob_core, "DELETE", "/__motia/state/ob-edit/k1")
    assert status == 200 and gone == {"deleted": True}
    status, again = await call(ob_core, "DELETE", "/__motia/state/ob-edit/k1")
    assert status == 200 and again == {"deleted": False}
    status, group = await call(ob_core, "GET", "/__motia/state/ob-edit")
    assert group["items"] == [{"key": "k2", "value": "text"}]
    async with aiohttp.ClientSession() as s:  # a change must be JSON (the guard), and JSON that parses
        async with s.put(ob_core.url + "/__motia/state/ob-edit/k3", data="x=1") as resp:
            assert resp.status == 415
        async with s.put(ob_core.url + "/__motia/state/ob-edit/k3", data="{nope", headers=JSON) as resp:
            assert resp.status == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/__motia/logs"),
        ("GET", "/__motia/queue"),
        ("GET", "/__motia/cron"),
        ("POST", "/__motia/cron/ObNightly/trigger"),
        ("GET", "/__motia/state/ob"),
        ("PUT", "/__motia/state/ob/k"),
        ("DELETE", "/__motia/state/ob/k"),
        ("GET", "/__motia/live"),
    ],
)
async def test_every_new_route_is_behind_the_admin_guard(ob_core: CoreProcess, method: str, path: str) -> None:
    """A foreign Host (DNS rebinding) is refused like on every admin route."""
    status, doc = await call(
        ob_core, method, path, {} if method in ("PUT", "POST") else None, headers={"Host": "evil.example"}
    )
    assert status == 403, doc
    assert "this machine only" in doc["message"]


async def test_the_live_upgrade_is_refused_to_a_foreign_origin(ob_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await s.ws_connect(ob_core.url.replace("http", "ws") + "/__motia/live", origin="https://evil.example")
    assert refused.value.status == 403


@pytest.mark.timeout(120)
async def test_no_record_keeps_no_log_lines_and_no_span_events(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("ob_chain", "--no-record")
    trace_id, trace = await run_chain(core, "quiet")
    assert all("events" not in s for s in trace["spans"])
    assert {s["parentId"] for s in trace["spans"]} - {None}  # parents are not recording: they stay
    status, doc = await call(core, "GET", "/__motia/logs?limit=1000")
    assert status == 200 and doc == {"logs": [], "next": None}
    assert core.find_logs(lambda d: d.get("msg") == "ruby finishes" and d.get("traceId") == trace_id)  # stdout still


@pytest.mark.timeout(120)
async def test_on_redis_logs_and_span_events_are_kept_in_redis(
    start_core: Callable[..., CoreProcess], redis_server: Any
) -> None:
    core = start_core("ob_chain", "--redis", redis_server.url, "--redis-prefix", "obtest")
    trace_id, trace = await run_chain(core, "redis")
    ts = next(s for s in trace["spans"] if s["language"] == "typescript")
    assert [e["type"] for e in ts["events"]] == ["log", "state", "stream", "emit"]  # read back from Redis
    py = next(s for s in trace["spans"] if s["language"] == "python")
    assert py["parentId"] == ts["id"]  # the parent travelled in the Redis queue's event hash

    async def kept() -> list[dict[str, Any]]:
        _, doc = await call(core, "GET", f"/__motia/logs?traceId={trace_id}")
        return list(doc["logs"]) if len(doc["logs"]) >= 3 else []

    logs = await until(kept, what="the chain's lines in the Redis log stream")
    assert all("-" in d["id"] for d in logs)  # stream entry ids: the cursor
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_server.url)
    try:
        assert await client.xlen("{obtest:logs}:s") >= 3
    finally:
        await client.aclose()
    status, queue = await call(core, "GET", "/__motia/queue")
    assert status == 200 and {r["step"] for r in queue["subscriptions"]} == {"ObRelay", "ObFinish"}


@pytest.mark.timeout(120)
async def test_a_live_socket_is_closed_going_away_when_the_core_stops(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("ob_chain")
    async with aiohttp.ClientSession() as s, s.ws_connect(core.url.replace("http", "ws") + "/__motia/live") as ws:
        await asyncio.sleep(0.2)
        stopping = asyncio.get_running_loop().run_in_executor(None, core.stop)
        msg = await ws.receive(timeout=30)
        while msg.type is aiohttp.WSMsgType.TEXT:  # messages sent before the goodbye
            msg = await ws.receive(timeout=30)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
        assert ws.close_code == 1001
        assert await stopping == 0


def test_span_events_are_bounded_and_the_span_index_forgets_what_the_store_evicts() -> None:
    from motia_core.tracing import MAX_SPAN_EVENTS, TraceStore

    store = TraceStore(capacity=2)
    span = store.start_span("T1", "s1", "Step", "event", "python", 1, "t", parent_id="p0")
    for n in range(MAX_SPAN_EVENTS + 25):
        span.add_event({"type": "state", "op": "get", "group": "g", "key": str(n), "time": n})
    doc = span.as_json()
    assert len(doc["events"]) == MAX_SPAN_EVENTS and doc["droppedEvents"] == 25
    assert doc["events"][-1]["key"] == str(MAX_SPAN_EVENTS - 1) and doc["parentId"] == "p0"
    assert store.span("s1") is span
    store.start_span("T2", "s2", "Step", "event", "python", 1, "t")
    store.start_span("T3", "s3", "Step", "event", "python", 1, "t")  # evicts T1 (capacity 2)
    assert store.span("s1") is None and store.span("s3") is not None
