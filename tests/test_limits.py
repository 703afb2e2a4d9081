"""Bounded inputs, clear errors (issue 12 item 2): --max-body, frame budget core -> runner, values
too large or too deep for a runner, big forms off the event loop, span caps, header timeouts."""

from __future__ import annotations

import asyncio
import io
import json
import random
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.calls import CoreCalls
from motia_core.errors import CallFailed
from motia_core.limits import (
    FRAME_BUDGET_BYTES,
    MAX_JSON_DEPTH,
    MAX_MESSAGE_BYTES,
    MAX_PAYLOAD_BYTES,
    check_value,
    json_depth_exceeds,
)
from motia_core.logs import Logger
from motia_core.runners.grpc_session import GrpcSession
from motia_core.runners.transport import FailureKind, Invocation, InvocationScope, RunnerInfo, Trigger
from motia_core.tracing import MAX_SPANS, SPAN_HEAD, TraceStore
from tests.conftest import CoreProcess

MiB = 1024 * 1024
Start = Callable[..., CoreProcess]


def http(
    core: CoreProcess, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
) -> tuple[int, Any]:
    req = urllib.request.Request(core.url + path, data=body, method=method, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def raw_exchange(core: CoreProcess, head: bytes, body_chunks: list[bytes] | None = None) -> bytes:
    """Send a request head (and chunks) on a raw socket; return whatever the server answers."""
    with socket.create_connection(("127.0.0.1", core.port), timeout=10) as sock:
        sock.sendall(head)
        for chunk in body_chunks or []:
            try:
                sock.sendall(chunk)
            except OSError:  # the server answered and closed while we were still sending
                break
        out = b""
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            out += data
            if b"\r\n\r\n" in out and b"}" in out.split(b"\r\n\r\n", 1)[1]:
                break
        return out


def spans_of(core: CoreProcess, step: str) -> list[dict[str, Any]]:
    _, doc = http(core, "GET", "/__motia/traces?limit=1000")
    return [s for t in doc["traces"] for s in t["spans"] if s["step"] == step]


# -- 1. --max-body ---------------------------------------------------------------------------------


def test_max_body_refused_before_any_runner(start_core: Start) -> None:
    core = start_core("limits_app", "--max-body", "2MiB")
    limit = 2 * MiB
    # a declared Content-Length over the limit: 413 without the body being read (none is sent)
    for path in ("/py/size", "/emit"):
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {limit + 1}\r\n\r\n"
        ).encode()
        answer = raw_exchange(core, head)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        doc = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert doc["error"] == "Payload too large"
        assert str(limit) in doc["message"] and "--max-body" in doc["message"]
    # a chunked body is counted while it is read
    head = (
        b"POST /ts/size HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * (256 * 1024)
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    answer = raw_exchange(core, head, [framed] * 12)  # 3 MiB, never terminated: refused mid-body
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert "--max-body" in json.loads(answer.split(b"\r\n\r\n", 1)[1])["message"]
    # exactly the limit passes
    status, doc = http(core, "POST", "/py/size", b"y" * limit, "text/plain")
    assert status == 200 and doc["raw"] == limit
    # the runners never saw the refused ones: one PySize span (the one that passed), no TsSize span
    assert len(spans_of(core, "PySize")) == 1
    assert spans_of(core, "TsSize") == []


# -- 2. frames core -> runner stay under the budget --------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", ["/py/size", "/ts/size"])
def test_64_concurrent_1mib_posts_all_answer(start_core: Start, path: str) -> None:
    core = start_core("limits_app", "--max-body", "2MiB")
    pids = core.runner_pids()

    async def run() -> list[tuple[int, Any]]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:

            async def post(n: int) -> tuple[int, Any]:
                body = bytes([97 + n % 26]) * MiB
                async with session.post(core.url + path, data=body, headers={"Content-Type": "text/plain"}) as r:
                    return r.status, await r.json()

            return await asyncio.gather(*(post(n) for n in range(64)))

    results = asyncio.run(run())
    assert [status for status, _ in results] == [200] * 64, results[:3]
    assert all(doc["raw"] == MiB for _, doc in results)
    assert core.runner_pids() == pids  # no stream died, no runner was replaced
    assert not core.find_logs(lambda d: "write failed" in d.get("msg", "") or "went away" in d.get("msg", ""))


class RecordingContext:
    """A grpc.aio stream context below the transport interface: records the frames written."""

    def __init__(self) -> None:
        self.frames: list[pb.CoreFrame] = []
        self.sizes: list[int] = []
        self.messages = 0
        self._written = asyncio.Event()

    async def write(self, frame: pb.CoreFrame) -> None:
        self.frames.append(frame)
        self.sizes.append(frame.ByteSize())
        self.messages += len(frame.messages)
        self._written.set()
        await asyncio.sleep(0)

    async def until(self, messages: int) -> None:
        while self.messages < messages:
            self._written.clear()
            await self._written.wait()

    async def read(self) -> Any:
        await asyncio.Event().wait()


def _session(ctx: RecordingContext) -> GrpcSession:
    info = RunnerInfo(
        language="python", runtime_version="t", sdk_version="t", instance_id="i", pid=1, slots=256, protocol_version=1
    )
    logger = Logger("json", stream=io.StringIO())
    return GrpcSession(ctx, info, CoreCalls(None, logger), logger, "s")  # type: ignore[arg-type]


@pytest.mark.timeout(60)
async def test_writer_splits_a_backlog_below_the_frame_budget() -> None:
    ctx = RecordingContext()
    session = _session(ctx)
    session._credit.limit = 1 << 40  # lift the byte credit (runners/credit.py): a backlog on purpose
    payload = b"p" * (3 * MiB)
    count = 70  # 210 MiB queued in one tick: more than three gRPC messages' worth
    scope = InvocationScope("x", "T", "A", "python")
    tasks = [
        asyncio.create_task(
            session.invoke(Invocation(f"i{n}", "steps/a_step.py", Trigger.API, payload, "T", (), n + 1), scope, 5, None)
        )
        for n in range(count)
    ]
    await asyncio.wait_for(ctx.until(count), 30)
    ids = [m.start.invocation_id for f in ctx.frames for m in f.messages]
    assert ids == [f"i{n}" for n in range(count)]  # all sent, in order
    assert len(ctx.frames) >= 4
    assert max(ctx.sizes) <= FRAME_BUDGET_BYTES < MAX_MESSAGE_BYTES
    # small messages still coalesce into one frame
    before = len(ctx.frames)
    for n in range(50):
        session._message().ping.nonce = n + 1
    await asyncio.sleep(0.05)
    assert len(ctx.frames) == before + 1
    # a lone message too large for any frame fails its own invocation, not the stream
    big = Invocation("huge", "steps/a_step.py", Trigger.API, b"h" * MAX_MESSAGE_BYTES, "T", (), 999)
    outcome = await asyncio.wait_for(session.invoke(big, scope, 5, None), 10)
    assert outcome.failure is not None and outcome.failure.kind is FailureKind.BAD_PAYLOAD
    assert "does not fit in one runner message" in outcome.failure.message
    assert not session.closed.done()
    session.abort("test over")
    await asyncio.gather(*tasks, return_exceptions=True)


# -- 3. values too large for one message; results too large --------------------------------------------


def test_check_value_names_size_and_limit() -> None:
    with pytest.raises(CallFailed) as err:
        check_value(b'"' + b"x" * MAX_PAYLOAD_BYTES + b'"', "event data for topic 'big'")
    assert err.value.code == "CODE_INVALID_ARGUMENT"
    message = str(err.value)
    assert f"is {MAX_PAYLOAD_BYTES + 2} bytes" in message and f"the limit is {MAX_PAYLOAD_BYTES}" in message
    check_value(b"x" * 10, "small")  # no error


@pytest.mark.timeout(180)
def test_big_values_and_forms(start_core: Start) -> None:
    core = start_core("limits_app", "--max-body", "100MiB")
    pids = core.runner_pids()
    # POST /emit: event data too large for one runner message
    data = b'{"topic":"sink","data":"' + b"d" * (MAX_PAYLOAD_BYTES + 1) + b'"}'
    status, doc = http(core, "POST", "/emit", data)
    assert status == 400, doc
    assert "event data for topic 'sink' is" in doc["message"] and f"the limit is {MAX_PAYLOAD_BYTES}" in doc["message"]
    # a handler's result too large for one message: the runner fails the invocation (BAD_RESULT), lives on
    status, _ = http(core, "GET", "/py/big-result?mib=65")
    assert status == 500
    [span] = spans_of(core, "PyBigResult")
    assert span["error"]["kind"] == "bad_result" and "bytes" in span["error"]["message"], span
    assert http(core, "GET", "/ping") == (200, {"ok": True})
    assert core.runner_pids() == pids

    # -- 4. a 60 MB form is parsed off the event loop: other requests keep being answered
    form = b"&".join(b"field%d=%s" % (n, b"v" * 90) for n in range(600_000))
    assert len(form) > 60_000_000
    big: dict[str, Any] = {}

    def send_big() -> None:
        big["answer"] = http(core, "POST", "/py/size", form, "application/x-www-form-urlencoded")
        big["done"] = time.monotonic()

    sender = threading.Thread(target=send_big)
    sender.start()
    pings: list[tuple[float, float]] = []  # (answered at, latency)
    while sender.is_alive():
        t0 = time.monotonic()
        assert http(core, "GET", "/ping") == (200, {"ok": True})
        pings.append((time.monotonic(), time.monotonic() - t0))
        time.sleep(0.05)
    sender.join()
    status, doc = big["answer"]
    # body and rawBody together are over one runner message: refused with the sizes, as a JSON 413
    assert status == 413 and "the request is" in doc["message"], doc
    during = [lat for at, lat in pings if at < big["done"]]
    assert len(during) >= 3, pings
    assert max(during) < 2.0, during


# -- 5. one JSON nesting limit ---------------------------------------------------------------------


def test_json_depth_scan() -> None:
    assert not json_depth_exceeds(deep(MAX_JSON_DEPTH))
    assert json_depth_exceeds(deep(MAX_JSON_DEPTH + 1))
    flat = b"[" + b",".join([b"[]"] * 5000) + b"]"
    assert not json_depth_exceeds(flat)  # many brackets, depth 2
    in_strings = b'["' + b"[" * 500 + b'", "\\"' + b"{" * 500 + b'"]'
    assert not json_depth_exceeds(in_strings)  # brackets inside strings (and after an escaped quote) do not count
    assert json_depth_exceeds(b'{"a":"\\\\",' + b'"b":' + deep(150) + b"}")  # an escaped backslash ends the string


def test_json_depth_scan_agrees_with_a_parser() -> None:
    """Random documents with brackets, quotes and backslashes inside strings: the byte scan agrees
    with the depth of the parsed value at every limit."""
    rng = random.Random(12)
    pieces = ["a", "[", "]", "{", "}", '"', "\\", "x[y", '\\"[', "\\\\"]

    def value(level: int) -> Any:
        r = rng.random()
        if level > 6 or r < 0.3:
            return rng.choice([1, None, "".join(rng.choices(pieces, k=rng.randint(0, 3)))])
        if r < 0.65:
            return [value(level + 1) for _ in range(rng.randint(0, 2))]
        return {rng.choice(pieces): value(level + 1) for _ in range(rng.randint(0, 2))}

    def depth(v: Any) -> int:
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    for n in range(2000):
        doc = value(0)
        for _ in range(rng.randint(0, 110) if n % 2 else 0):
            doc = [doc] if rng.random() < 0.5 else {'k["': doc, "z": [[1]]}
        text = json.dumps(doc).encode()
        for limit in (0, 1, 3, 5, MAX_JSON_DEPTH):
            assert json_depth_exceeds(text, limit) == (depth(doc) > limit), (limit, text[:200])


@pytest.mark.timeout(90)
def test_json_nesting_limit_everywhere(start_core: Start) -> None:
    core = start_core("limits_app")
    for path in ("/py/echo-body", "/ts/size"):
        for depth in (MAX_JSON_DEPTH + 1, 100_000):
            status, doc = http(core, "POST", path, deep(depth))
            assert status == 400, (path, depth, doc)
            assert f"deeper than {MAX_JSON_DEPTH}" in doc["message"]
    status, doc = http(core, "POST", "/py/echo-body", deep(MAX_JSON_DEPTH))
    assert status == 200
    status, doc = http(core, "POST", "/emit", b'{"topic":"sink","data":' + deep(MAX_JSON_DEPTH + 1) + b"}")
    assert status == 400 and f"deeper than {MAX_JSON_DEPTH}" in doc["message"], doc
    for path in ("/py/nest", "/ts/nest"):
        for op in ("emit", "state", "stream"):
            status, doc = http(core, "POST", path, json.dumps({"op": op, "depth": MAX_JSON_DEPTH}).encode())
            assert status == 400 and f"nests deeper than {MAX_JSON_DEPTH}" in doc["error"], (path, op, doc)
            status, doc = http(core, "POST", path, json.dumps({"op": op, "depth": MAX_JSON_DEPTH - 1}).encode())
            assert status == 200, (path, op, doc)


@pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby is not installed (apt-get install ruby ruby-grpc)")
@pytest.mark.timeout(60)
def test_json_nesting_limit_in_ruby(start_core: Start) -> None:
    core = start_core("limits_ruby")
    # Ruby's JSON refuses more than 100 levels by default; the request wraps the body one level deeper
    status, doc = http(core, "POST", "/rb/nest", deep(MAX_JSON_DEPTH))
    assert status == 200 and doc == {"received": True}, doc
    status, doc = http(core, "POST", "/rb/nest", deep(MAX_JSON_DEPTH + 1))
    assert status == 400 and f"deeper than {MAX_JSON_DEPTH}" in doc["message"]
    for op in ("emit", "state"):
        status, doc = http(core, "POST", "/rb/nest", json.dumps({"op": op, "depth": MAX_JSON_DEPTH}).encode())
        assert status == 400 and f"nests deeper than {MAX_JSON_DEPTH}" in doc["error"], (op, doc)
        status, doc = http(core, "POST", "/rb/nest", json.dumps({"op": op, "depth": MAX_JSON_DEPTH - 1}).encode())
        assert status == 200, (op, doc)


def test_multipart_becomes_fields(start_core: Start) -> None:
    core = start_core("limits_app")
    body = (
        b'--B\r\nContent-Disposition: form-data; name="title"\r\n\r\nhello\r\n'
        b'--B\r\nContent-Disposition: form-data; name="doc"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n'
        b"text file\r\n"
        b'--B\r\nContent-Disposition: form-data; name="bin"; filename="b.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\xff\x00\r\n--B--\r\n"
    )
    status, doc = http(core, "POST", "/py/echo-body", body, "multipart/form-data; boundary=B")
    assert status == 200
    assert doc["body"] == {
        "title": "hello",
        "doc": {"filename": "a.txt", "contentType": "text/plain", "size": 9, "text": "text file"},
        "bin": {"filename": "b.bin", "contentType": "application/octet-stream", "size": 2, "base64": "/wA="},
    }


# -- 6. spans per trace ----------------------------------------------------------------------------


def test_spans_per_trace_capped_and_summarized() -> None:
    store = TraceStore(capacity=10, max_spans=2000)
    store.begin("T", "Cron")
    for n in range(10_000):
        store.start_span("T", f"s{n}", "Fan" if n else "Cron", "event", "python", 1, None)
    trace = store.get("T")
    assert trace is not None
    doc = trace.as_json()
    assert len(doc["spans"]) == MAX_SPANS
    assert doc["spans"][0]["id"] == "s0" and doc["spans"][-1]["id"] == "s9999"  # first ones and newest kept
    assert doc["spans"][SPAN_HEAD]["id"] == f"s{10_000 - (MAX_SPANS - SPAN_HEAD)}"
    assert doc["droppedSpans"]["count"] == 10_000 - MAX_SPANS
    assert doc["droppedSpans"]["steps"] == {"Fan": 10_000 - MAX_SPANS}
    # the store as a whole is bounded by spans too: older traces go first
    for t in range(8):
        store.begin(f"U{t}", "x")
        for n in range(400):
            store.start_span(f"U{t}", f"u{n}", "x", "event", "python", 1, None)
    assert store.get("T") is None and store.get("U7") is not None


# -- 7. header and keep-alive timeouts --------------------------------------------------------------


@pytest.mark.timeout(60)
def test_slow_header_connection_is_closed(start_core: Start) -> None:
    core = start_core("limits_app", env={"MOTIA_HEADER_TIMEOUT": "2"})
    with socket.create_connection(("127.0.0.1", core.port), timeout=15) as slow:
        opened = time.monotonic()
        head = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
        closed_after = None
        for byte in head:
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - opened
                break
            # meanwhile other clients are served
            t0 = time.monotonic()
            assert http(core, "GET", "/ping") == (200, {"ok": True})
            assert time.monotonic() - t0 < 2.0
            slow.settimeout(0.5)
            try:
                data = slow.recv(4096)
            except TimeoutError:
                continue
            assert data.startswith(b"HTTP/1.1 408") or data == b"", data
            closed_after = time.monotonic() - opened
            break
        assert closed_after is not None and closed_after < 8.0, closed_after
