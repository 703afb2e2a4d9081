"""OpenTelemetry export over OTLP/HTTP (core/motia_core/otel.py).

A test OTLP receiver (aiohttp on its own thread, decoding ExportTraceServiceRequest with
opentelemetry-proto) takes what a real core exports while real TypeScript, Python and Ruby runners
run tests/fixtures/ot_chain: one span per step run, a TS -> Python -> Ruby chain as one trace whose
parents follow the emits, and an incoming W3C traceparent joining the caller's trace.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from tests.conftest import ROOT, CoreProcess, copy_fixture, free_port

pytestmark = pytest.mark.timeout(120)


@dataclass(frozen=True)
class Received:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    status_code: int
    status_message: str
    attributes: dict[str, Any]
    service: str


def _value(v: AnyValue) -> Any:
    which = v.WhichOneof("value")
    if which == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, which) if which else None


class OtlpReceiver:
    """POST /v1/traces as an OpenTelemetry collector answers it (protobuf in, protobuf out)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.spans: list[Received] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the OTLP receiver did not start"

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/traces", self._export)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    async def _export(self, request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf", request.content_type
        body = ExportTraceServiceRequest.FromString(await request.read())
        got = []
        for rs in body.resource_spans:
            resource = {a.key: _value(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    got.append(
                        Received(
                            s.name,
                            s.trace_id.hex(),
                            s.span_id.hex(),
                            s.parent_span_id.hex(),
                            s.kind,
                            s.status.code,
                            s.status.message,
                            {a.key: _value(a.value) for a in s.attributes},
                            str(resource.get("service.name")),
                        )
                    )
        with self._lock:
            self.requests += 1
            self.spans.extend(got)
        reply = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=reply, content_type="application/x-protobuf")

    def of_trace(self, motia_trace_id: str) -> list[Received]:
        with self._lock:
            return [s for s in self.spans if s.attributes.get("motia.trace_id") == motia_trace_id]

    def wait_for(self, check: Callable[[], list[Received]], count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            found = check()
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, f"{len(found)} of {count} spans arrived: {found}"
            time.sleep(0.05)

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    r = OtlpReceiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def core(receiver: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("ot_chain", tmp_path_factory.mktemp("otel"))
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms between batches: the test need not wait 5 s
        "OTEL_SERVICE_NAME": "",  # unset: the project folder names the service
        "MOTIA_RETRY_BASE_DELAY": "0.05",
    }
    proc = CoreProcess(project, env=env)
    proc.wait_ready(60)
    yield proc
    proc.stop()


async def post_chain(core: CoreProcess, headers: dict[str, str] | None = None) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{core.url}/chain", json={"n": 1}, headers=headers or {}) as resp:
            assert resp.status == 200, await resp.text()
            return resp.headers["x-motia-trace-id"]


def by_step(spans: list[Received]) -> dict[str, Received]:
    return {s.attributes["motia.step"]: s for s in spans}


async def test_a_ts_python_ruby_chain_is_one_trace_parented_along_its_emits(
    core: CoreProcess, receiver: OtlpReceiver
) -> None:
    motia_trace = await post_chain(core)
    spans = by_step(receiver.wait_for(lambda: receiver.of_trace(motia_trace), 3))
    assert set(spans) == {"StartChain", "ChainPython", "ChainRuby"}
    head, middle, tail = spans["StartChain"], spans["ChainPython"], spans["ChainRuby"]
    assert len({head.trace_id, middle.trace_id, tail.trace_id}) == 1 and head.trace_id != "0" * 32
    assert head.parent_span_id == ""  # the API request began the trace
    assert middle.parent_span_id == head.span_id  # the emitting run is the parent of the event's run
    assert tail.parent_span_id == middle.span_id
    assert [s.attributes["motia.language"] for s in (head, middle, tail)] == ["typescript", "python", "ruby"]
    assert (head.kind, middle.kind, tail.kind) == (
        SpanProto.SPAN_KIND_SERVER,
        SpanProto.SPAN_KIND_CONSUMER,
        SpanProto.SPAN_KIND_CONSUMER,
    )
    assert middle.attributes["messaging.destination.name"] == "chain.python"
    assert head.attributes["http.route"] == "/chain" and head.attributes["motia.flows"] == ["chain"]
    assert {s.status_code for s in spans.values()} == {Status.STATUS_CODE_UNSET}
    assert {s.service for s in spans.values()} == {"ot_chain"}  # OTEL_SERVICE_NAME unset: the folder


async def test_a_traceparent_joins_the_callers_trace(core: CoreProcess, receiver: OtlpReceiver) -> None:
    caller_trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    motia_trace = await post_chain(core, {"traceparent": f"00-{caller_trace}-{caller_span}-01"})
    spans = by_step(receiver.wait_for(lambda: receiver.of_trace(motia_trace), 3))
    assert {s.trace_id for s in spans.values()} == {caller_trace}  # the events it set off too
    assert spans["StartChain"].parent_span_id == caller_span
    assert spans["ChainPython"].parent_span_id == spans["StartChain"].span_id
    assert spans["ChainRuby"].parent_span_id == spans["ChainPython"].span_id
    assert spans["StartChain"].attributes["motia.trace_id"] == motia_trace  # ours stays an attribute


async def test_an_unsampled_caller_gets_no_spans_and_a_bad_header_starts_a_trace(
    core: CoreProcess, receiver: OtlpReceiver
) -> None:
    unsampled = await post_chain(core, {"traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"})
    malformed = await post_chain(core, {"traceparent": "00-not-a-trace-01"})
    spans = by_step(receiver.wait_for(lambda: receiver.of_trace(malformed), 3))
    assert spans["StartChain"].parent_span_id == ""  # ignored, as W3C says: a new trace
    assert spans["ChainRuby"].parent_span_id == spans["ChainPython"].span_id
    # the malformed request's chain arrived after the unsampled one's would have (same runners, later)
    await asyncio.sleep(0.5)
    assert receiver.of_trace(unsampled) == []


async def test_a_failed_run_is_an_error_span(core: CoreProcess, receiver: OtlpReceiver) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{core.url}/ping", params={"fail": "1"}) as resp:
            assert resp.status == 500
            motia_trace = resp.headers["x-motia-trace-id"]
    (span,) = receiver.wait_for(lambda: receiver.of_trace(motia_trace), 1)
    assert span.status_code == Status.STATUS_CODE_ERROR and "asked to fail" in span.status_message
    assert span.attributes["motia.failure.kind"] == "handler_error"
    assert span.attributes["exception.type"] == "RuntimeError"


async def test_retries_are_sibling_spans_under_the_emitter(core: CoreProcess, receiver: OtlpReceiver) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{core.url}/ping", params={"flaky": "1"}) as resp:
            assert resp.status == 200
            motia_trace = resp.headers["x-motia-trace-id"]
    spans = receiver.wait_for(lambda: receiver.of_trace(motia_trace), 3)  # Ping, then Flaky twice
    (ping,) = [s for s in spans if s.name == "Ping"]
    attempts = sorted((s for s in spans if s.name == "Flaky"), key=lambda s: s.attributes["motia.attempt"])
    assert [s.attributes["motia.attempt"] for s in attempts] == [1, 2]
    assert {s.parent_span_id for s in attempts} == {ping.span_id}
    assert all(s.status_code == Status.STATUS_CODE_ERROR for s in attempts)


async def test_a_ratio_sampler_keeps_or_drops_whole_chains(
    receiver: OtlpReceiver, start_core: Callable[..., CoreProcess]
) -> None:
    """The events' spans get the sampling decision their root got: never a chain cut in the middle."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.5",
    }
    core = start_core("ot_chain", env=env)
    traces = [await post_chain(core) for _ in range(16)]
    # the Ruby step writes state last: once every chain's state is there, every span was made
    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + 30
        while True:
            async with http.get(f"{core.url}/__motia/state/chain") as resp:
                held = {item["key"] for item in (await resp.json())["items"]}
            if set(traces) <= held:
                break
            assert time.monotonic() < deadline, f"{len(held)} of 16 chains finished"
            await asyncio.sleep(0.1)
    core.stop()  # flushes the exporter
    counts = [len(receiver.of_trace(t)) for t in traces]
    assert set(counts) == {0, 3}, counts  # whole chains only, and the ratio kept some and dropped some


def test_the_service_name_comes_from_otel_service_name(
    receiver: OtlpReceiver, start_core: Callable[..., CoreProcess]
) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    core = start_core("ot_chain", env={**env, "OTEL_SERVICE_NAME": "orders-api"})
    import urllib.request

    with urllib.request.urlopen(f"{core.url}/ping", timeout=10) as resp:
        motia_trace = resp.headers["x-motia-trace-id"]
    (span,) = receiver.wait_for(lambda: receiver.of_trace(motia_trace), 1)
    assert span.service == "orders-api"


@pytest.mark.chaos
def test_a_collector_that_hangs_does_not_hold_the_shutdown(start_core: Callable[..., CoreProcess]) -> None:
    """The export's last flush is bounded: the core warns and exits on time, the spans are dropped."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)  # accepts connections (the kernel does) and never answers
    try:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{hung.getsockname()[1]}",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "30",  # the exporter alone would wait 30 s
        }
        core = start_core("ot_chain", "--shutdown-timeout", "3", env=env)
        import urllib.request

        for _ in range(3):
            with urllib.request.urlopen(f"{core.url}/ping", timeout=10) as resp:
                assert resp.status == 200
        time.sleep(0.5)  # the first batch is stuck in the exporter now
        started = time.monotonic()
        assert core.stop() == 0
        assert time.monotonic() - started < 8, "the core waited for the collector"
        assert core.find_logs(lambda d: "did not take the last spans" in d.get("msg", ""))
    finally:
        hung.close()


def test_nothing_of_opentelemetry_is_imported_without_an_endpoint(tmp_path: Path) -> None:
    code = (
        "import sys, pathlib\n"
        "from motia_core import app\n"
        "assert app._otel_export(pathlib.Path('.')) is None\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('opentelemetry'))\n"
        "assert not loaded, loaded\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9"
    env["OTEL_SDK_DISABLED"] = "true"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
