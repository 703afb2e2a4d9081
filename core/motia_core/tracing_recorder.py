"""Copies the live trace store's changes to a shared TraceStorage, off the request path.

Dispatch writes spans into the live TraceStore synchronously; this recorder is its listener. A change
only puts the span (or a begun trace) into a pending map, keyed by id, so a span that starts and
finishes between two flushes is sent once, finished. One task flushes the pending changes every
`interval` seconds, or sooner when `batch` spans are pending, as one `TraceStorage.record` call (one
Redis pipeline). A flush that fails (Redis down, too slow) drops its batch: the spans stay in the live
store, the drop is counted and logged as a warning at most once per `LOG_EVERY` seconds (the flush
loop and the drop count are batching.py's, shared with the LogRecorder). Nothing here ever makes a
request wait or fail.
"""

from __future__ import annotations

import asyncio

import orjson

from motia_core.batching import LOG_EVERY, DropCount, FlushLoop
from motia_core.logs import Logger
from motia_core.metrics import REGISTRY
from motia_core.tracing import Span, Trace, TraceStore
from motia_core.tracing_storage import SpanChange, TraceChange, TraceStorage

FLUSH_INTERVAL = 0.1  # seconds between flushes
FLUSH_SPANS = 256  # pending spans that trigger a flush before the interval ends
FLUSH_TIMEOUT = 5.0  # seconds one flush may take before its batch is dropped
MAX_PENDING = 20_000  # changed spans held while a flush is slow; past it new changes are dropped

SPANS_NOT_RECORDED = REGISTRY.counter(
    "motia_trace_spans_not_recorded_total",
    "Span changes the shared trace storage did not get (it failed or was too slow): /__motia/traces misses them",
)


class TraceRecorder:
    def __init__(
        self,
        live: TraceStore,
        storage: TraceStorage,
        logger: Logger,
        interval: float = FLUSH_INTERVAL,
        batch: int = FLUSH_SPANS,
    ) -> None:
        self.live = live
        self.storage = storage
        self.batch = batch
        self.flushes = 0  # batches recorded
        self._spans: dict[str, Span] = {}
        self._begun: dict[str, Trace] = {}
        self._loop = FlushLoop(self.flush, "trace-recorder", interval)
        self._drops = DropCount(logger, SPANS_NOT_RECORDED, _not_recorded, LOG_EVERY)
        live.listener = self

    @property
    def interval(self) -> float:
        return self._loop.interval

    @property
    def dropped(self) -> int:
        """Span changes not recorded (a failed flush, or too many pending), in all."""
        return self._drops.total

    # -- the live store's listener: called on the request path, so it only takes note -------------

    def trace_begun(self, trace: Trace) -> None:
        if len(self._begun) < MAX_PENDING:  # past it, the trace's spans still carry its name and start
            self._begun[trace.trace_id] = trace

    def span_changed(self, span: Span) -> None:
        if len(self._spans) >= MAX_PENDING and span.span_id not in self._spans:
            self._drops.drop(1, f"more than {MAX_PENDING} span changes waiting for the storage")
            return
        self._spans[span.span_id] = span
        if len(self._spans) >= self.batch:
            self._loop.wake()

    # -- the flusher ------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop.start()

    async def flush(self) -> None:
        """Send what is pending as one batch (nothing when nothing changed)."""
        if not self._spans and not self._begun:
            return
        spans, self._spans = self._spans, {}
        begun, self._begun = self._begun, {}
        changes = self._changes(spans, begun)
        try:
            await asyncio.wait_for(self.storage.record(changes), FLUSH_TIMEOUT)
        except asyncio.CancelledError:
            self._drops.drop(len(spans), "the core stopped while they were being recorded")
            raise
        except Exception as exc:  # whatever the storage raised, the request path never sees it
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._drops.drop(len(spans), f"the trace storage failed ({reason})")
            return
        self.flushes += 1
        for span in spans.values():
            span.recorded = True

    async def close(self, timeout: float = 2.0) -> None:
        """Let the flush under way end, send what is still pending, and stop; all within `timeout`
        seconds (what is not sent by then is dropped and counted)."""
        if not await self._loop.stop(timeout, self.flush):
            self._drops.drop(len(self._spans), f"the last flush took longer than {timeout:g}s at shutdown")
        self._drops.warn(force=True)
        self.live.listener = None

    # -- internals --------------------------------------------------------------------------------

    def _changes(self, spans: dict[str, Span], begun: dict[str, Trace]) -> list[TraceChange]:
        by_trace: dict[str, TraceChange] = {}
        for t in begun.values():
            by_trace[t.trace_id] = TraceChange(t.trace_id, t.entry, t.start, t.root)
        for span in spans.values():
            change = by_trace.get(span.trace_id)
            if change is None:
                trace = self.live.get(span.trace_id)
                change = by_trace[span.trace_id] = (
                    TraceChange(trace.trace_id, trace.entry, trace.start, trace.root)
                    if trace is not None
                    else TraceChange(span.trace_id, span.step, span.start, False)  # evicted here already
                )
            change.spans.append(SpanChange(span.span_id, span.start, orjson.dumps(span.as_json()), span.recorded))
        return list(by_trace.values())


def _not_recorded(count: int, why: str, total: int) -> str:
    return (
        f"{count} trace span change(s) were not recorded in the shared trace storage: {why}; "
        f"/__motia/traces misses them ({total} in all)"
    )
