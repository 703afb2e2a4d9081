"""Session 6's cuts on the core's per-request path (docs/performance.md#core-per-request-session-6):
each keeps the behaviour of the code it replaced."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from pathlib import Path
from typing import Any

import pytest

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.calls import CoreCalls
from motia_core.dispatch import InvokeRequest, RunnerInvoke, compose, tracing_layer
from motia_core.errors import AdmissionTimeout
from motia_core.logs import Logger
from motia_core.project import RunnerName, StepFile
from motia_core.runners.deadlines import Deadlines
from motia_core.runners.fake import FakeContext, FakeSession
from motia_core.runners.grpc_session import GrpcSession
from motia_core.runners.http_body import HTTP_BODY_CAPABILITY, BodyEncoding, HttpRequestBody
from motia_core.runners.transport import FailureKind, Invocation, InvocationScope, RunnerInfo, Trigger
from motia_core.runners.wire import fill_start
from motia_core.state.sqlite import SqliteStateStore
from motia_core.steps import Step, StepType
from motia_core.tracing import MAX_SPANS, SPAN_HEAD, Span, SpanStatus, Trace, TraceStore


def _step(step_type: StepType = StepType.API, handler_timeout: float | None = None) -> Step:
    file = StepFile(Path("/p/steps/a.step.py"), "steps/a.step.py", "python", RunnerName("python"))
    return Step(file, step_type, "A", {}, flows=("f1",), emits=("t1",), handler_timeout=handler_timeout)


# -- tracing.py: written-out constructors and the shared empty tail --------------------------------


def test_span_and_trace_defaults_are_fresh_per_object() -> None:
    before = time.time()
    a, b = Span("s1", "T", "A", "api", "python", 1), Span("s2", "T", "A", "api", "python", 1)
    assert a.events == [] and a.events is not b.events  # lenient.py and add_event append in place
    assert a.start >= before and a.end is None and a.status is SpanStatus.RUNNING
    assert a.listener is None and not a.recorded and a.events_dropped == 0
    assert Span("s3", "T", "A", "api", "python", 1, start=12.5).start == 12.5
    t1, t2 = Trace("T1", "A"), Trace("T2", "A", start=3.0, root=False)
    assert t1.head == [] and t1.head is not t2.head and t1.root and t1.start >= before
    assert (t2.start, t2.root) == (3.0, False)
    assert t1.as_json()["spans"] == [] and t1.dropped.count == 0


def test_traces_past_the_head_get_their_own_tail_and_drop_the_oldest() -> None:
    store = TraceStore()
    for trace_id in ("T1", "T2"):
        store.begin(trace_id, "A")
        for i in range(MAX_SPANS + 3):  # 3 past what one trace keeps
            store.start_span(trace_id, f"{trace_id}-{i}", "A", "event", "python", 1, None)
    t1, t2 = store.get("T1"), store.get("T2")
    assert t1 is not None and t2 is not None
    assert t1.tail is not t2.tail  # each its own deque, never the shared empty one
    assert len(t1.head) == SPAN_HEAD and len(t1.tail) == MAX_SPANS - SPAN_HEAD
    assert t1.dropped.count == 3 and t1.dropped.by_step == {"A": 3}
    # the dropped spans (the oldest of the tail) are forgotten by id; the rest are still found
    assert [store.span(f"T1-{i}") for i in range(SPAN_HEAD, SPAN_HEAD + 3)] == [None] * 3
    assert store.span(f"T1-{SPAN_HEAD + 3}") is not None and store.span("T1-0") is not None
    short = store.begin("T3", "A")
    store.start_span("T3", "T3-0", "A", "api", "python", 1, None)
    assert len(short.tail) == 0 and [s.span_id for s in short.spans] == ["T3-0"]


def test_a_full_store_evicts_one_trace_per_new_one_and_tells_the_listener() -> None:
    class Listener:
        def __init__(self) -> None:
            self.begun: list[str] = []
            self.changed: list[tuple[str, SpanStatus]] = []

        def trace_begun(self, trace: Trace) -> None:
            self.begun.append(trace.trace_id)

        def span_changed(self, span: Span) -> None:
            self.changed.append((span.span_id, span.status))

    store = TraceStore(capacity=3)
    listener = store.listener = Listener()
    for i in range(5):
        store.begin(f"T{i}", "A")
        store.start_span(f"T{i}", f"s{i}", "A", "api", "python", 1, None).finish(SpanStatus.COMPLETED)
    assert [t.trace_id for t in store.recent()] == ["T4", "T3", "T2"]
    assert store.span("s1") is None and store.span("s2") is not None
    assert listener.begun == [f"T{i}" for i in range(5)]
    assert listener.changed[:2] == [("s0", SpanStatus.RUNNING), ("s0", SpanStatus.COMPLETED)]
    assert len(listener.changed) == 10


# -- dispatch.py: RunnerInvoke reads the step's fields, the timeout inline --------------------------


class _Sessions:
    def __init__(self, session: FakeSession) -> None:
        self.session = session
        self.asked: list[str] = []

    async def session_for(self, runtime: RunnerName, timeout: float) -> FakeSession:
        self.asked.append(runtime)
        return self.session


@pytest.mark.parametrize(
    ("handler_timeout", "api_timeout", "trigger", "expected"),
    [
        (None, None, Trigger.API, None),
        (None, 30.0, Trigger.API, 30.0),
        (None, 0.0, Trigger.API, None),  # --api-timeout 0: none
        (None, 30.0, Trigger.EVENT, None),  # the core's default is for API calls only
        (5.0, 30.0, Trigger.API, 5.0),  # the step's own wins
        (5.0, None, Trigger.EVENT, 5.0),
    ],
)
async def test_runner_invoke_builds_the_invocation_and_timeout_as_before(
    tmp_path: Path, handler_timeout: float | None, api_timeout: float | None, trigger: Trigger, expected: float | None
) -> None:
    state = SqliteStateStore(tmp_path / "s.db")
    try:
        calls = CoreCalls(state, Logger("json", stream=io.StringIO()))
        seen: list[FakeContext] = []

        def handler(_payload: bytes, ctx: FakeContext) -> bytes:
            seen.append(ctx)
            return b'{"status":200}'

        session = FakeSession({"steps/a.step.py": handler}, calls)
        sessions = _Sessions(session)
        invoke = RunnerInvoke(sessions, api_timeout=api_timeout)
        step = _step(handler_timeout=handler_timeout)
        assert invoke.timeout_for(step, trigger) == expected
        body = HttpRequestBody(b"{}", "application/json", BodyEncoding.JSON)
        req = InvokeRequest(step, trigger, b"{}", "TR-1", topic="t0", attempt=2, http_body=body)
        before = time.time()
        outcome = await invoke(req)
        assert outcome.failure is None and outcome.payload == b'{"status":200}'
        assert sessions.asked == ["python"]
        inv, scope = session.invocations[0], seen[0].scope
        assert (inv.invocation_id, inv.step_id, inv.trigger, inv.payload, inv.trace_id) == (
            req.invocation_id,
            "steps/a.step.py",
            trigger,
            b"{}",
            "TR-1",
        )
        assert (inv.flows, inv.attempt, inv.topic, inv.http_body, inv.fencing_token) == (("f1",), 2, "t0", body, 1)
        if expected is None:
            assert inv.deadline_ms == 0
        else:
            assert before + expected <= inv.deadline_ms / 1000 + 0.001 <= time.time() + expected + 1
        assert (scope.invocation_id, scope.trace_id, scope.step_name, scope.language) == (
            req.invocation_id,
            "TR-1",
            "A",
            "python",
        )
        assert (scope.flows, scope.emits) == (("f1",), ("t1",))
    finally:
        await state.close()


async def test_the_tracing_layer_records_the_step_type_as_plain_text(tmp_path: Path) -> None:
    state = SqliteStateStore(tmp_path / "s.db")
    try:
        calls = CoreCalls(state, Logger("json", stream=io.StringIO()))
        session = FakeSession({"steps/a.step.py": lambda _p, _c: b"{}"}, calls)
        traces = TraceStore()
        invoke = compose([tracing_layer(traces)], RunnerInvoke(_Sessions(session)))
        for step_type in (StepType.API, StepType.EVENT, StepType.CRON):
            req = InvokeRequest(_step(step_type), Trigger.EVENT, b"{}", "TR-2")
            await invoke(req)
            span = traces.span(req.invocation_id)
            assert span is not None and span.status is SpanStatus.COMPLETED
            assert type(span.step_type) is str and span.step_type == step_type.value
            assert span.language == "python" and span.as_json()["type"] == step_type.value
    finally:
        await state.close()


# -- wire.py: enum members assigned to the protobuf as ints -----------------------------------------


@pytest.mark.parametrize("trigger", list(Trigger))
def test_fill_start_writes_the_trigger_and_body_encoding_the_runner_decodes(trigger: Trigger) -> None:
    for encoding in BodyEncoding:
        body = HttpRequestBody(b"a=1", "application/x-www-form-urlencoded", encoding)
        inv = Invocation("i1", "s", trigger, b"{}", "T", ("f",), 7, http_body=body)
        msg = pb.CoreMessage()
        fill_start(msg.start, inv, frozenset({HTTP_BODY_CAPABILITY}))
        decoded = pb.CoreMessage.FromString(msg.SerializeToString()).start
        assert decoded.trigger == int(trigger) and type(decoded.trigger) is int
        assert decoded.http_body.encoding == int(encoding) and decoded.http_body.raw == b"a=1"
        assert (decoded.fencing_token, list(decoded.flows)) == (7, ["f"])


# -- runners/deadlines.py: one timer per timeout, exact deadlines -----------------------------------


async def test_deadlines_expire_each_invocation_at_its_own_deadline_unless_discarded() -> None:
    loop = asyncio.get_running_loop()
    expired: dict[str, float] = {}
    futs = {k: loop.create_future() for k in ("a", "b", "c", "late")}
    names = {id(f): k for k, f in futs.items()}

    def expire(fut: asyncio.Future[Any]) -> None:
        expired[names[id(fut)]] = loop.time()

    deadlines = Deadlines(loop, expire)
    t0 = loop.time()
    deadlines.add("a", 0.3, futs["a"])
    await asyncio.sleep(0.1)
    deadlines.add("b", 0.3, futs["b"])  # same timeout, started 0.1 s later
    deadlines.add("late", 5.0, futs["late"])
    deadlines.add("c", 0.05, futs["c"])  # a shorter timeout added last expires first
    deadlines.discard("a", 0.3)  # ended in time: never expired, and b keeps its own deadline
    assert deadlines.pending() == 3
    await asyncio.sleep(0.5)
    assert set(expired) == {"b", "c"}
    assert expired["c"] - t0 >= 0.15 - 0.002 and expired["c"] < expired["b"]
    assert expired["b"] - t0 >= 0.4 - 0.002  # b's deadline, not a's (0.3)
    assert deadlines.pending() == 1
    deadlines.close()  # the session ended: nothing fires afterwards
    assert deadlines.pending() == 0
    deadlines.discard("late", 5.0)  # an invocation ending after close is harmless


async def test_deadlines_keep_working_after_the_group_empties() -> None:
    loop = asyncio.get_running_loop()
    expired: list[asyncio.Future[Any]] = []
    deadlines = Deadlines(loop, expired.append)
    first, second = loop.create_future(), loop.create_future()
    deadlines.add("1", 0.05, first)
    deadlines.discard("1", 0.05)
    await asyncio.sleep(0.1)  # the group's timer fired on an empty group and stopped
    deadlines.add("2", 0.05, second)
    await asyncio.sleep(0.15)
    assert expired == [second]


# -- grpc_session.py: credit taken inline, deadlines, on a session over a fake stream ---------------


class _Stream:
    """The gRPC context below GrpcSession: frames written are kept, frames to read are fed."""

    def __init__(self) -> None:
        self.written: list[pb.CoreMessage] = []
        self.wrote = asyncio.Event()
        self.incoming: asyncio.Queue[pb.RunnerFrame] = asyncio.Queue()

    async def write(self, frame: pb.CoreFrame) -> None:
        self.written.extend(frame.messages)
        self.wrote.set()

    async def read(self) -> pb.RunnerFrame:
        return await self.incoming.get()

    async def started(self, count: int) -> list[str]:
        while len([m for m in self.written if m.WhichOneof("kind") == "start"]) < count:
            self.wrote.clear()
            await asyncio.wait_for(self.wrote.wait(), 5)
        return [m.start.invocation_id for m in self.written if m.WhichOneof("kind") == "start"]

    def complete(self, iid: str, token: int) -> None:
        frame = pb.RunnerFrame()
        result = frame.messages.add().result
        result.invocation_id, result.fencing_token = iid, token
        result.completed.payload_json = b'{"ok":true}'
        self.incoming.put_nowait(frame)


async def test_a_session_admits_by_bytes_and_times_out_handlers_with_one_timer(tmp_path: Path) -> None:
    state = SqliteStateStore(tmp_path / "s.db")
    stream = _Stream()
    logger = Logger("json", stream=io.StringIO())
    info = RunnerInfo("python", "3.11", "0", "r-1", 1, 8, 1)
    session = GrpcSession(stream, info, CoreCalls(state, logger), logger, "s-1")
    reader = asyncio.create_task(session.run([]))
    session._credit.limit = 100  # MOTIA_RUNNER_INFLIGHT_BYTES, for this session only

    def call(iid: str, size: int, token: int) -> tuple[Invocation, InvocationScope]:
        inv = Invocation(iid, "s", Trigger.API, b"x" * size, "T", (), token)
        return inv, InvocationScope(iid, "T", "S", "python", (), ())

    try:
        first = asyncio.create_task(session.invoke(*call("i1", 80, 1), admission_timeout=5, timeout=30))
        assert await stream.started(1) == ["i1"]  # the fast path: credit taken without waiting
        with pytest.raises(AdmissionTimeout, match="already holds"):  # 80 + 80 > 100: waits, then gives up
            await session.invoke(*call("i2", 80, 2), admission_timeout=0.1, timeout=30)
        third = asyncio.create_task(session.invoke(*call("i3", 80, 3), admission_timeout=5, timeout=30))
        await asyncio.sleep(0.05)
        assert session.in_flight == 1  # i3 waits for i1's bytes; i2 gave its slot back
        stream.complete("i1", 1)
        assert (await first).payload == b'{"ok":true}'
        assert await stream.started(2) == ["i1", "i3"]
        stream.complete("i3", 3)
        assert (await third).payload == b'{"ok":true}'
        # a handler past its timeout: TIMEOUT outcome and a Cancel to the runner, from the shared timer
        started = time.monotonic()
        late = await session.invoke(*call("i4", 10, 4), admission_timeout=5, timeout=0.2)
        assert late.failure is not None and late.failure.kind is FailureKind.TIMEOUT
        assert 0.19 <= time.monotonic() - started < 5
        await asyncio.sleep(0.05)  # the writer task sends the Cancel in its next frame
        cancels = [m.cancel.invocation_id for m in stream.written if m.WhichOneof("kind") == "cancel"]
        assert cancels == ["i4"]
        assert session._deadlines.pending() == 0  # nothing left behind by i1, i3, i4
    finally:
        session.abort("test over")
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await state.close()
