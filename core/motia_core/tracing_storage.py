"""Where /__motia/traces reads traces from (docs/adapters.md#tracestorage-coremotia_coretracingpy):
the `TraceStorage` interface, the filter and page of a listing, what a `TraceRecorder` hands a shared
storage (`TraceChange`, `SpanChange`), the optional `SharedTraceChanges` a shared storage adds for
the live socket, and `MemoryTraceStorage`, the single-process storage that reads the live store
(tracing.py) directly. The Redis one is tracing_redis.py."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from motia_core.tracing import SpanStatus, TraceDoc, TraceStore


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """What GET /__motia/traces narrows a listing to; every field given must match."""

    status: SpanStatus | None = None  # the trace's status (trace_json)
    step: str | None = None  # the step of at least one of its spans (dropped ones included)
    name: str | None = None  # its name (the entry)
    since: int | None = None  # startTime (ms) at or after this
    until: int | None = None  # startTime (ms) at or before this

    @property
    def empty(self) -> bool:
        return self == _NO_FILTER

    def may_match(self, name: str, start_ms: int, steps: Iterable[str]) -> bool:
        """The tests that need no trace JSON (a storage runs them before it builds one)."""
        if self.name is not None and name != self.name:
            return False
        if (self.since is not None and start_ms < self.since) or (self.until is not None and start_ms > self.until):
            return False
        return self.step is None or self.step in steps

    def matches(self, doc: TraceDoc) -> bool:
        dropped = doc.get("droppedSpans") or {}
        steps = itertools.chain((s.get("step") for s in doc.get("spans", ())), dropped.get("steps", {}))
        if not self.may_match(str(doc.get("name")), int(doc.get("startTime", 0)), steps):
            return False
        return self.status is None or doc.get("status") == self.status.value


_NO_FILTER = TraceFilter()


@dataclass(slots=True)
class TracePage:
    traces: list[TraceDoc]
    next: str | None  # the `before` of the next page; None: nothing older passes the filter


class TraceStorage(Protocol):
    """Where /__motia/traces reads traces from, and where a TraceRecorder writes the live store's
    changes (docs/adapters.md#tracestorage). Both halves may be called from any instance."""

    async def record(self, changes: Sequence[TraceChange]) -> None:
        """Store one batch: each trace's name and start, and the latest version of each changed span.
        A span is keyed by its id: a new version replaces the old one (running -> completed is one
        span). Raise StorageUnavailable when the storage cannot take it: the batch is dropped."""
        ...

    async def list_traces(self, limit: int, before: str | None = None, where: TraceFilter | None = None) -> TracePage:
        """At most `limit` traces that pass `where`, newest first; `before` is the `next` of the
        previous page (an id the storage no longer holds gives an empty page). A storage that scans
        with a bound may answer fewer than `limit` with `next` set: the scan stopped there."""
        ...

    async def get_trace(self, trace_id: str) -> TraceDoc | None: ...

    async def close(self) -> None: ...


@runtime_checkable
class SharedTraceChanges(Protocol):
    """What a shared TraceStorage may add so the live socket of every instance shows every
    instance's trace changes (RedisTraceStorage; http/admin_live.py)."""

    async def watch(self, changed: Callable[[list[str], bool], None]) -> None:
        """Until cancelled, call `changed(trace_ids, own)` once each flush of any instance is stored
        (`own`: this instance's); survive the storage's outages by itself."""
        ...

    async def get_traces(self, trace_ids: list[str]) -> list[TraceDoc | None]: ...


@dataclass(slots=True)
class SpanChange:
    span_id: str
    start: float  # seconds: orders the trace's spans
    doc: bytes  # the span's JSON (Span.as_json) when the batch was taken
    known: bool  # a version of it was stored before: an update, never a new span


@dataclass(slots=True)
class TraceChange:
    trace_id: str
    name: str
    start: float  # seconds
    root: bool  # `name` is the trace's entry (Trace.root), which wins over a guess from elsewhere
    spans: list[SpanChange] = field(default_factory=list)


class MemoryTraceStorage:
    """The storage of a single-process backend: the live store itself, read directly (nothing is
    copied, so a span is visible the moment it starts)."""

    def __init__(self, live: TraceStore) -> None:
        self.live = live

    async def record(self, changes: Sequence[TraceChange]) -> None:
        """Nothing to do: the changes are already in the live store, which this storage reads."""

    async def list_traces(self, limit: int, before: str | None = None, where: TraceFilter | None = None) -> TracePage:
        if where is None or where.empty:
            found = [t.as_json() for t in self.live.recent(limit, before)]
        else:  # the whole store is in memory and bounded (capacity): a full scan, cheap tests first
            found = []
            for trace in self.live.recent(self.live.capacity, before):
                steps = itertools.chain((s.step for s in trace.spans), trace.dropped.by_step)
                if where.may_match(trace.entry, int(trace.start * 1000), steps):
                    doc = trace.as_json()
                    if where.matches(doc):
                        found.append(doc)
                        if len(found) == limit:
                            break
        return TracePage(found, found[-1]["id"] if len(found) == limit else None)

    async def get_trace(self, trace_id: str) -> TraceDoc | None:
        trace = self.live.get(trace_id)
        return trace.as_json() if trace is not None else None

    async def close(self) -> None:
        pass
