"""Where OTLP export spends the core's CPU, per span, in process (docs/observability.md#opentelemetry).

Runs motia_core.otel's dispatch layer around a no-op invoke `spans` times (a Python API step's
attributes), with an exporter that encodes each batch as OTLPSpanExporter does and sends nothing:
* loop thread: what a run pays on the event loop (SDK span creation, end, the processor's queue);
* encoding: the export thread's protobuf encoding (opentelemetry's encoder), per span;
* direct: the same spans built straight into opentelemetry-proto messages from plain tuples (what a
  hand-written encoder that skips the SDK's span objects would pay), for comparison.
The batch size comes from OTEL_BSP_MAX_EXPORT_BATCH_SIZE as in the core (the queue is made large
enough that nothing is dropped).

    .venv/bin/python -m bench.otel_span_cost [spans]
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # never reached: export() is replaced
os.environ.setdefault("OTEL_BSP_MAX_QUEUE_SIZE", "1000000")

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from motia_core.dispatch import InvokeRequest
from motia_core.otel import OtelExport
from motia_core.runners.transport import Outcome, Trigger

STEP: Any = types.SimpleNamespace(name="Ping", language="python", flows=["f"], path="/ping", method="GET")


class EncodeOnly(OTLPSpanExporter):
    def __init__(self) -> None:
        super().__init__()
        self.encoded = 0
        self.cpu = 0.0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        started = time.thread_time()
        encode_spans(spans).SerializePartialToString()
        self.cpu += time.thread_time() - started
        self.encoded += len(spans)
        return SpanExportResult.SUCCESS


async def sdk(n: int) -> tuple[float, float]:
    exporter = EncodeOnly()
    otel = OtelExport(Path("/tmp/otel-span-cost"), exporter)
    outcome = Outcome(b"{}", None, "", None)

    async def inner(_: InvokeRequest) -> Outcome:
        return outcome

    invoke = otel.layer()(inner)
    requests = [InvokeRequest(STEP, Trigger.API, b"", f"ABCDE-{i}") for i in range(n)]
    started = time.thread_time()
    for request in requests:
        await invoke(request)
    loop = time.thread_time() - started
    await asyncio.to_thread(otel.close, 60.0)
    assert exporter.encoded == n, f"{exporter.encoded} of {n} spans encoded"
    return loop / n * 1e6, exporter.cpu / n * 1e6


def _kv(key: str, value: str | int | list[str]) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(array_value=ArrayValue(values=[AnyValue(string_value=v) for v in value])))


def direct(n: int, batch: int) -> float:
    now = time.time_ns()
    records: list[tuple[bytes, bytes, int, dict[str, str | int | list[str]]]] = [
        (
            (i + 1).to_bytes(16, "big"),
            (i + 1).to_bytes(8, "big"),
            now,
            {
                "motia.trace_id": f"ABCDE-{i}",
                "motia.span_id": f"inv-{i}",
                "motia.step": "Ping",
                "motia.language": "python",
                "motia.attempt": 1,
                "motia.flows": ["f"],
                "http.route": "/ping",
                "http.request.method": "GET",
            },
        )
        for i in range(n)
    ]
    started = time.thread_time()
    for first in range(0, n, batch):
        spans = [
            Span(
                trace_id=trace_id,
                span_id=span_id,
                name="Ping",
                kind=Span.SPAN_KIND_SERVER,
                start_time_unix_nano=at,
                end_time_unix_nano=at + 1000,
                attributes=[_kv(k, v) for k, v in attributes.items()],
                status=Status(),
            )
            for trace_id, span_id, at, attributes in records[first : first + batch]
        ]
        resource = Resource(attributes=[_kv("service.name", "otel-span-cost")])
        scope = ScopeSpans(scope=InstrumentationScope(name="motia-core"), spans=spans)
        ExportTraceServiceRequest(
            resource_spans=[ResourceSpans(resource=resource, scope_spans=[scope])]
        ).SerializeToString()
    return (time.thread_time() - started) / n * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    batch = int(os.environ.get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512"))
    loop, encoding = asyncio.run(sdk(n))
    print(
        f"{n} spans, batches of {batch}: loop thread {loop:.1f} us/span, encoding {encoding:.1f} us/span, "
        f"direct protobuf {direct(n, batch):.1f} us/span (load average {os.getloadavg()[0]:.1f}, 2 cores)"
    )


if __name__ == "__main__":
    main()
