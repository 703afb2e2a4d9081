"""The trace storage contract: what /__motia/traces reads behaves the same on every implementation,
memory (the live store itself, the sqlite backend's) and Redis (filled by a TraceRecorder).

Each test drives live stores the way dispatch does (begin, start_span, Span.finish), calls `flush()`
(the recorder's batch; nothing to do for memory) and reads through the TraceStorage.
`instance()` is one more core on the same storage: for memory the same process (one instance is
all a single-process backend has), for Redis a new live store with its own recorder.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from motia_core.logs import Level, Logger
from motia_core.tracing import MAX_SPANS, SPAN_HEAD, Span, SpanStatus, TraceStore
from motia_core.tracing_recorder import TraceRecorder
from motia_core.tracing_storage import MemoryTraceStorage, TraceFilter, TracePage, TraceStorage

pytestmark = pytest.mark.timeout(60)


@dataclass
class Traces:
    storage: TraceStorage
    instances: list[TraceStore]
    recorders: list[TraceRecorder] = field(default_factory=list)
    make_instance: Callable[[], TraceStore] | None = None

    @property
    def live(self) -> TraceStore:
        return self.instances[0]

    def instance(self) -> TraceStore:
        if self.make_instance is None:
            return self.live
        self.instances.append(store := self.make_instance())
        return store

    async def flush(self) -> None:
        for recorder in self.recorders:
            await recorder.flush()

    async def ids(self, limit: int = 100, before: str | None = None) -> list[str]:
        return [t["id"] for t in (await self.storage.list_traces(limit, before)).traces]

    async def get(self, trace_id: str) -> dict[str, Any]:
        doc = await self.storage.get_trace(trace_id)
        assert doc is not None, f"trace {trace_id} not found"
        return doc


Open = Callable[..., Awaitable[Traces]]


@pytest.fixture(params=["memory", "redis"])
async def open_traces(request: pytest.FixtureRequest) -> AsyncIterator[Open]:
    """`await open_traces(capacity=N)`: a storage and its first instance."""
    clients: list[Any] = []
    opened: list[Traces] = []

    async def make(capacity: int = 2000, scan_budget: int = 1000) -> Traces:
        if request.param == "memory":
            live = TraceStore(capacity=capacity)
            traces = Traces(MemoryTraceStorage(live), [live])
        else:
            from motia_core.redis_conn import connect
            from motia_core.tracing_redis import RedisTraceStorage

            server = request.getfixturevalue("redis_server")
            clients.append(client := connect(server.url))
            storage = RedisTraceStorage(client, "contract", server.url, capacity=capacity, scan_budget=scan_budget)
            traces = Traces(storage, [])

            def new_instance() -> TraceStore:
                live = TraceStore()
                traces.recorders.append(TraceRecorder(live, storage, Logger("json", Level.DEBUG, io.StringIO())))
                return live

            traces.make_instance = new_instance
            traces.instances.append(new_instance())
        opened.append(traces)
        return traces

    yield make
    for traces in opened:
        for recorder in traces.recorders:
            await recorder.close()
        await traces.storage.close()
    for client in clients:
        await client.aclose()


def span(store: TraceStore, trace_id: str, span_id: str, step: str = "Step", topic: str | None = None) -> Span:
    return store.start_span(trace_id, span_id, step, "event", "python", 1, topic)


async def test_a_begun_trace_is_listed_with_its_entry_name_even_without_spans(open_traces: Open) -> None:
    t = await open_traces()
    t.live.begin("T1", "emit")
    await t.flush()
    doc = await t.get("T1")
    assert (doc["id"], doc["name"], doc["status"], doc["spans"]) == ("T1", "emit", "completed", [])
    assert isinstance(doc["startTime"], int) and doc["startTime"] > 1_600_000_000_000
    assert await t.ids() == ["T1"]


async def test_an_unknown_trace_is_none(open_traces: Open) -> None:
    t = await open_traces()
    assert await t.storage.get_trace("nope") is None
    assert await t.storage.list_traces(10) == TracePage([], None)


async def test_traces_are_listed_newest_first_up_to_the_limit(open_traces: Open) -> None:
    t = await open_traces()
    for n in range(5):
        t.live.begin(f"T{n}", "Api")
        span(t.live, f"T{n}", f"s{n}")
    await t.flush()
    assert await t.ids() == ["T4", "T3", "T2", "T1", "T0"]
    assert await t.ids(limit=2) == ["T4", "T3"]


async def test_paging_with_before_visits_every_trace_once_in_order(open_traces: Open) -> None:
    t = await open_traces()
    for n in range(25):
        t.live.begin(f"T{n:02}", "Api")
    await t.flush()
    pages: list[list[str]] = []
    before: str | None = None
    while True:
        page = await t.ids(limit=10, before=before)
        if not page:
            break
        pages.append(page)
        before = page[-1]
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [i for p in pages for i in p] == [f"T{n:02}" for n in reversed(range(25))]


async def test_before_a_trace_that_is_not_held_is_an_empty_page(open_traces: Open) -> None:
    t = await open_traces()
    t.live.begin("T1", "Api")
    await t.flush()
    assert await t.ids(before="gone") == []
    assert await t.ids(before="T1") == []


async def test_a_span_that_runs_then_completes_is_one_span(open_traces: Open) -> None:
    t = await open_traces()
    t.live.begin("T", "Api")
    s = span(t.live, "T", "s1", topic="user.created")
    await t.flush()
    running = await t.get("T")
    assert running["status"] == "running"
    assert [(x["id"], x["status"], x["endTime"]) for x in running["spans"]] == [("s1", "running", None)]
    s.finish(SpanStatus.COMPLETED)
    await t.flush()
    done = await t.get("T")
    assert done["status"] == "completed"
    assert [(x["id"], x["status"]) for x in done["spans"]] == [("s1", "completed")]
    assert done["spans"][0]["endTime"] >= done["spans"][0]["startTime"]
    assert done["spans"][0]["topic"] == "user.created"


async def test_a_span_started_and_finished_between_two_flushes_is_one_finished_span(open_traces: Open) -> None:
    t = await open_traces()
    t.live.begin("T", "Api")
    span(t.live, "T", "s1").finish(SpanStatus.COMPLETED)
    await t.flush()
    assert [(x["id"], x["status"]) for x in (await t.get("T"))["spans"]] == [("s1", "completed")]


async def test_every_span_field_is_kept(open_traces: Open) -> None:
    t = await open_traces()
    t.live.begin("T", "Api")
    s = t.live.start_span("T", "s1", "Charge", "api", "typescript", 3, None)
    s.events.append({"type": "emit_dropped", "topic": "x", "message": "not declared"})
    s.finish(SpanStatus.FAILED, {"type": "TypeError", "message": "boom", "kind": "handler"})
    await t.flush()
    got = (await t.get("T"))["spans"][0]
    assert got == s.as_json()
    assert got["events"] == [{"type": "emit_dropped", "topic": "x", "message": "not declared"}]


async def test_an_event_added_after_the_end_reaches_the_storage_through_changed(open_traces: Open) -> None:
    t = await open_traces()
    t.live.begin("T", "Api")
    s = span(t.live, "T", "s1")
    s.finish(SpanStatus.COMPLETED)
    await t.flush()
    s.events.append({"type": "late"})
    s.changed()
    await t.flush()
    assert (await t.get("T"))["spans"][0]["events"] == [{"type": "late"}]


async def test_status_is_running_while_any_span_runs_then_failed_if_any_failed(open_traces: Open) -> None:
    t = await open_traces()
    t.live.begin("T", "Api")
    a, b = span(t.live, "T", "a"), span(t.live, "T", "b")
    a.finish(SpanStatus.FAILED, {"type": "Error", "message": "x"})
    await t.flush()
    assert (await t.get("T"))["status"] == "running"
    b.finish(SpanStatus.COMPLETED)
    await t.flush()
    assert (await t.get("T"))["status"] == "failed"


async def test_a_failed_attempt_made_good_by_its_retry_does_not_fail_the_trace(open_traces: Open) -> None:
    t = await open_traces()
    t.live.begin("T", "Api")
    api = t.live.start_span("T", "api", "Api", "api", "typescript", 1, None)
    api.finish(SpanStatus.COMPLETED)
    first = t.live.start_span("T", "e1", "Flaky", "event", "ruby", 1, "work", parent_id="api")
    first.finish(SpanStatus.FAILED, {"type": "Error", "message": "first attempt"})
    other = t.live.start_span("T", "o1", "Other", "event", "python", 1, "work", parent_id="api")
    other.finish(SpanStatus.FAILED, {"type": "Error", "message": "never retried"})
    await t.flush()
    doc = await t.get("T")
    assert doc["status"] == "failed" and doc["steps"]["failed"] == 2
    retry = t.live.start_span("T", "e2", "Flaky", "event", "ruby", 2, "work", parent_id="api")
    retry.finish(SpanStatus.COMPLETED)
    await t.flush()
    doc = await t.get("T")
    assert doc["status"] == "failed", "Other's failure was never made good"
    assert doc["steps"] == {"done": 2, "running": 0, "failed": 1, "retried": 1}
    again = t.live.start_span("T", "o2", "Other", "event", "python", 2, "work", parent_id="api")
    again.finish(SpanStatus.COMPLETED)
    await t.flush()
    doc = await t.get("T")
    assert doc["status"] == "completed"
    assert doc["steps"] == {"done": 3, "running": 0, "failed": 0, "retried": 2}
    assert [s["status"] for s in doc["spans"]] == ["completed", "failed", "failed", "completed", "completed"]


async def test_spans_from_two_instances_make_one_trace_named_by_its_entry(open_traces: Open) -> None:
    t = await open_traces()
    a, b = t.live, t.instance()
    a.begin("T", "CreateUser")  # the API call, on A
    api = span(a, "T", "api")
    event = span(b, "T", "evt", step="SendEmail", topic="user.created")  # its event, handled on B
    event.finish(SpanStatus.COMPLETED)
    if t.recorders:
        await t.recorders[-1].flush()  # B's batch lands first
    await t.flush()
    api.finish(SpanStatus.COMPLETED)
    await t.flush()
    doc = await t.get("T")
    assert doc["name"] == "CreateUser"
    assert doc["status"] == "completed"
    assert [(x["id"], x["step"]) for x in doc["spans"]] == [("api", "Step"), ("evt", "SendEmail")]
    assert doc["startTime"] == int(a.get("T").start * 1000)  # type: ignore[union-attr]
    assert await t.ids() == ["T"]


async def test_the_oldest_traces_go_past_the_capacity(open_traces: Open) -> None:
    t = await open_traces(capacity=10)
    for n in range(15):
        t.live.begin(f"T{n:02}", "Api")
        span(t.live, f"T{n:02}", f"s{n}")
        await t.flush()
    assert await t.ids() == [f"T{n:02}" for n in reversed(range(5, 15))]
    assert await t.storage.get_trace("T04") is None
    assert await t.storage.get_trace("T05") is not None


async def test_a_trace_keeps_its_first_and_newest_spans_and_summarizes_the_rest(open_traces: Open) -> None:
    t = await open_traces()
    t.live.begin("T", "Cron")
    total = 1200
    spans = []
    for n in range(total):
        spans.append(span(t.live, "T", f"s{n:04}", step="Fan" if n else "Cron"))
        spans[-1].finish(SpanStatus.FAILED if n == 150 else SpanStatus.COMPLETED)
        if n % 300 == 299:
            await t.flush()
    doc = await t.get("T")
    ids = [s["id"] for s in doc["spans"]]
    assert len(ids) == MAX_SPANS
    assert ids[:SPAN_HEAD] == [f"s{n:04}" for n in range(SPAN_HEAD)]
    assert ids[SPAN_HEAD:] == [f"s{n:04}" for n in range(total - (MAX_SPANS - SPAN_HEAD), total)]
    dropped = doc["droppedSpans"]
    assert (dropped["count"], dropped["failed"], dropped["steps"]) == (total - MAX_SPANS, 1, {"Fan": total - MAX_SPANS})
    assert doc["status"] == "failed"  # s0150 failed, then was dropped: the trace still failed


async def test_the_update_of_a_dropped_span_does_not_bring_it_back(open_traces: Open) -> None:
    t = await open_traces()
    t.live.begin("T", "Cron")
    spans = [span(t.live, "T", f"s{n:04}") for n in range(MAX_SPANS + 50)]
    await t.flush()
    for s in spans:
        s.finish(SpanStatus.COMPLETED)
    await t.flush()
    doc = await t.get("T")
    ids = {s["id"] for s in doc["spans"]}
    assert len(ids) == MAX_SPANS and "s0100" not in ids and "s0149" not in ids
    assert doc["droppedSpans"]["count"] == 50
    assert doc["status"] == "completed"


# -- filters (GET /__motia/traces?status=&step=&name=&since=&until=) ------------------------------

BASE = 1_700_000_000  # seconds: whole seconds, so startTime is exactly BASE * 1000 + n * 1000


def begun_at(store: TraceStore, trace_id: str, name: str, n: int) -> None:
    store.begin(trace_id, name).start = BASE + n


async def test_a_listing_filters_by_status_step_name_and_start_time(open_traces: Open) -> None:
    t = await open_traces()
    live = t.live
    for n, name in enumerate(["Api", "Api", "Cron", "emit", "Api"]):
        begun_at(live, f"T{n}", name, n)
    span(live, "T0", "a0", step="Api").finish(SpanStatus.COMPLETED)
    span(live, "T1", "a1", step="Api").finish(SpanStatus.COMPLETED)
    span(live, "T1", "w1", step="Worker").finish(SpanStatus.FAILED, {"type": "Error", "message": "x"})
    span(live, "T2", "c2", step="Cron")  # still running
    span(live, "T3", "w3", step="Worker").finish(SpanStatus.COMPLETED)
    span(live, "T4", "a4", step="Api").finish(SpanStatus.COMPLETED)
    span(live, "T4", "w4", step="Worker").finish(SpanStatus.COMPLETED)
    await t.flush()

    async def ids(where: TraceFilter, limit: int = 100) -> list[str]:
        return [d["id"] for d in (await t.storage.list_traces(limit, None, where)).traces]

    assert await ids(TraceFilter(status=SpanStatus.FAILED)) == ["T1"]
    assert await ids(TraceFilter(status=SpanStatus.RUNNING)) == ["T2"]
    assert await ids(TraceFilter(status=SpanStatus.COMPLETED)) == ["T4", "T3", "T0"]
    assert await ids(TraceFilter(step="Worker")) == ["T4", "T3", "T1"]
    assert await ids(TraceFilter(name="Api")) == ["T4", "T1", "T0"]
    assert await ids(TraceFilter(step="Nobody")) == []
    ms = BASE * 1000
    assert await ids(TraceFilter(since=ms + 1000, until=ms + 3000)) == ["T3", "T2", "T1"]  # inclusive
    assert await ids(TraceFilter(since=ms + 3000)) == ["T4", "T3"]
    assert await ids(TraceFilter(until=ms)) == ["T0"]
    assert await ids(TraceFilter(name="Api", step="Worker", status=SpanStatus.COMPLETED)) == ["T4"]
    assert await ids(TraceFilter()) == ["T4", "T3", "T2", "T1", "T0"]  # an empty filter is no filter
    first = await t.storage.list_traces(2, None, TraceFilter(name="Api"))
    assert ([d["id"] for d in first.traces], first.next) == (["T4", "T1"], "T1")
    rest = await t.storage.list_traces(2, first.next, TraceFilter(name="Api"))
    assert ([d["id"] for d in rest.traces], rest.next) == (["T0"], None)


async def test_a_span_dropped_to_bound_the_trace_still_counts_for_the_step_filter(open_traces: Open) -> None:
    t = await open_traces()
    t.live.begin("T", "Cron")
    for n in range(MAX_SPANS + 10):  # the first past the head is the rare step, then dropped
        span(t.live, "T", f"s{n:04}", step="Rare" if n == SPAN_HEAD else "Fan").finish(SpanStatus.COMPLETED)
        if n == SPAN_HEAD:
            await t.flush()
    await t.flush()
    doc = await t.get("T")
    assert "Rare" not in {s["step"] for s in doc["spans"]} and doc["droppedSpans"]["steps"]["Rare"] == 1
    assert [d["id"] for d in (await t.storage.list_traces(10, None, TraceFilter(step="Rare"))).traces] == ["T"]


async def test_a_filtered_listing_visits_every_match_once_even_when_a_page_comes_back_short(
    open_traces: Open,
) -> None:
    t = await open_traces(scan_budget=10)  # Redis reads at most 10 traces per filtered request
    rare = {"T05", "T17", "T18", "T29"}
    for n in range(30):
        begun_at(t.live, f"T{n:02}", "Api", n)
        span(t.live, f"T{n:02}", f"s{n}", step="Rare" if f"T{n:02}" in rare else "Common")
    await t.flush()
    pages: list[tuple[list[str], str | None]] = []
    before: str | None = None
    while True:
        page = await t.storage.list_traces(3, before, TraceFilter(step="Rare"))
        pages.append(([d["id"] for d in page.traces], page.next))
        assert len(page.traces) <= 3
        if page.next is None:
            break
        before = page.next
        assert len(pages) < 20, pages
    assert [i for p, _ in pages for i in p] == ["T29", "T18", "T17", "T05"], pages
    if t.make_instance is not None:  # Redis: the budget made short pages that say where to go on
        assert any(len(p) < 3 and nxt is not None for p, nxt in pages), pages
