"""OpenTelemetry: every step run exported as a span over OTLP/HTTP (docs/observability.md).

Imported only when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and
OTEL_SDK_DISABLED is not `true`: the SDK and its exporter cost tens of ms at start, which a core that
exports nothing does not pay (app.py's `_otel_export` decides; this is the only module that imports
opentelemetry).

One span per step run, made by a dispatch layer: the export itself is the SDK's BatchSpanProcessor,
which queues finished spans and sends them from its own thread, so a run never waits for the
collector. Ids are derived, not remembered:

- a span's id is a hash of its invocation id, which is also the core's own span id (tracing.py), so
  the span of an event's run names its parent from the queued event's `parent_id` (the emitting
  invocation) without any lookup, in any language, on any instance sharing the queue;
- a trace's id is a hash of the Motia trace id, unless the API request that began it carried a W3C
  `traceparent`: the run then joins the caller's trace, and the events it sets off follow it for as
  long as this process remembers the pairing (`JOINED_TRACES` traces). The Motia trace id is always
  the `motia.trace_id` attribute.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from motia_core.dispatch import Invoke, InvokeRequest, Layer
from motia_core.errors import RunnerError
from motia_core.runners.transport import Outcome, Trigger

JOINED_TRACES = 10_000  # Motia trace id -> the caller's OTel trace id, newest kept
SCOPE = "motia-core"
_KINDS = {Trigger.API: SpanKind.SERVER, Trigger.EVENT: SpanKind.CONSUMER}
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def span_id_of(invocation_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(invocation_id.encode(), digest_size=8).digest(), "big") or 1


def trace_id_of(motia_trace_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(motia_trace_id.encode(), digest_size=16).digest(), "big") or 1


class _PlannedIds(IdGenerator):
    """Hands the SDK the ids the layer chose for the span it is about to start (start_span is
    synchronous, and the core runs on one thread)."""

    def __init__(self) -> None:
        self.span_id = 1
        self.trace_id = 1

    def generate_span_id(self) -> int:
        return self.span_id

    def generate_trace_id(self) -> int:
        return self.trace_id


class OtelExport:
    def __init__(self, project_dir: Path, exporter: OTLPSpanExporter | None = None) -> None:
        self.service_name = os.environ.get("OTEL_SERVICE_NAME", "").strip() or project_dir.name
        self._ids = _PlannedIds()
        # OTEL_RESOURCE_ATTRIBUTES and OTEL_TRACES_SAMPLER are read by the SDK as usual
        # shutdown_on_exit False: the SDK's atexit hook would wait for a hung collector; close() is bounded
        self._provider = TracerProvider(
            resource=Resource.create({"service.name": self.service_name}),
            id_generator=self._ids,
            shutdown_on_exit=False,
        )
        # endpoint, headers, timeout and compression come from the OTEL_EXPORTER_OTLP_* variables
        self._provider.add_span_processor(BatchSpanProcessor(exporter or OTLPSpanExporter()))
        self._tracer = self._provider.get_tracer(SCOPE)
        self._joined: OrderedDict[str, SpanContext] = OrderedDict()  # Motia trace id -> the caller's span
        self._propagator = TraceContextTextMapPropagator()

    def layer(self) -> Layer:
        def wrap(inner: Invoke) -> Invoke:
            async def invoke(req: InvokeRequest) -> Outcome:
                span = self._start(req)
                try:
                    outcome = await inner(req)
                except RunnerError as exc:
                    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                    span.end()
                    raise
                except BaseException:
                    span.set_status(Status(StatusCode.ERROR, "invocation abandoned"))
                    span.end()
                    raise
                failure = outcome.failure
                if failure is not None:
                    span.set_attribute("motia.failure.kind", failure.kind.name.lower())
                    if failure.error_type:
                        span.set_attribute("exception.type", failure.error_type)
                    span.set_status(Status(StatusCode.ERROR, failure.message))
                span.end()
                return outcome

            return invoke

        return wrap

    def _start(self, req: InvokeRequest) -> trace.Span:
        step = req.step
        self._ids.span_id = span_id_of(req.invocation_id)
        self._ids.trace_id = trace_id_of(req.trace_id)  # used only when there is no parent
        parent = self._parent(req)
        attributes: dict[str, str | int | list[str]] = {
            "motia.trace_id": req.trace_id,
            "motia.span_id": req.invocation_id,
            "motia.step": step.name,
            "motia.language": step.language,
            "motia.attempt": req.attempt,
        }  # few: the SDK spends several us per attribute per span encoding it; the span kind tells the type
        if req.topic:
            attributes["messaging.destination.name"] = req.topic
        if step.flows:
            attributes["motia.flows"] = list(step.flows)
        if step.path:
            attributes["http.route"] = step.path
            attributes["http.request.method"] = step.method
        return self._tracer.start_span(
            step.name, context=parent, kind=_KINDS.get(req.trigger, SpanKind.INTERNAL), attributes=attributes
        )

    def _parent(self, req: InvokeRequest) -> Context:
        if req.traceparent:
            ctx = self._propagator.extract({"traceparent": req.traceparent})
            caller = trace.get_current_span(ctx).get_span_context()
            if caller.is_valid:
                self._remember(req.trace_id, caller)
                return ctx
        joined = self._joined.get(req.trace_id)
        if req.parent_id:  # an event's run: the emitting run's span, in the trace that run belongs to
            # a joined trace keeps the caller's trace id and sampling decision (an unsampled caller
            # gets no spans from the events its request set off either); our own trace gets the
            # decision its root got, which a sampler makes from the trace id alone
            if joined is not None:
                trace_id, flags = joined.trace_id, joined.trace_flags
            else:
                trace_id = trace_id_of(req.trace_id)
                flags = self._root_flags(trace_id)
            emitter = SpanContext(trace_id, span_id_of(req.parent_id), is_remote=True, trace_flags=flags)
            return trace.set_span_in_context(NonRecordingSpan(emitter), Context())
        if joined is not None:  # a later run of a joined trace with no emitter known: under the caller
            return trace.set_span_in_context(NonRecordingSpan(joined), Context())
        return Context()  # a root span: never whatever context happens to be current

    def _root_flags(self, trace_id: int) -> TraceFlags:
        decision = self._provider.sampler.should_sample(Context(), trace_id, "root")
        return _SAMPLED if decision.decision is Decision.RECORD_AND_SAMPLE else TraceFlags(TraceFlags.DEFAULT)

    def _remember(self, motia_trace_id: str, caller: SpanContext) -> None:
        self._joined[motia_trace_id] = caller
        self._joined.move_to_end(motia_trace_id)
        while len(self._joined) > JOINED_TRACES:
            self._joined.popitem(last=False)

    def close(self, timeout: float) -> bool:
        """Send what is queued within `timeout` seconds, then stop the export; False when the collector
        did not take everything in time (the rest is dropped with the process). The SDK's force_flush
        ignores its timeout (it waits for the export under way, which a hung collector holds for
        OTEL_EXPORTER_OTLP_TIMEOUT and its retries), so it runs on a daemon thread of its own that
        this only waits for: a collector that hangs cannot hold the core's exit. Blocking: call it
        in a thread."""
        flushed = threading.Event()

        def flush() -> None:
            self._provider.force_flush()
            flushed.set()

        threading.Thread(target=flush, name="otel-final-flush", daemon=True).start()
        if not flushed.wait(timeout):
            return False
        self._provider.shutdown()  # quick now: nothing is left to send, the export thread is idle
        return True
