"""Traces and spans.

A trace starts with an API request, a cron tick or a POST /emit; events inherit the emitter's trace
id, so one trace spans every step a request set off. Each step run is a span with start, end and
status. Traces are kept in memory (bounded, newest first) and served under /__motia/traces.

Bounded twice: a trace keeps its first ``SPAN_HEAD`` spans (the entry and its first fan-out) and its
newest ``MAX_SPANS - SPAN_HEAD``; the ones dropped in between are summarized (``droppedSpans``, per
step), so a cron that fans out 10k events costs 500 spans, not 10k. And the store as a whole holds at
most ``capacity`` traces and ``max_spans`` spans, evicting the oldest traces first.
"""

from __future__ import annotations

import enum
import itertools
import os
import random
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ123456789"
MAX_SPANS = 500  # spans one trace keeps
SPAN_HEAD = 100  # of which the first ones (the rest are the newest)


def new_trace_id() -> str:
    """Motia's format: five letters/digits, a dash, and the low digits of the time in ms.
    Not a secret, so a fast PRNG instead of the OS's (no syscall on the request path)."""
    return f"{''.join(random.choices(_ALPHABET, k=5))}-{str(int(time.time() * 1000))[6:]}"


_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)


def new_invocation_id() -> str:
    """Unique across core restarts (random per-process prefix) and cheap (a counter)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):x}"


class SpanStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass
class Span:
    span_id: str
    trace_id: str
    step: str
    step_type: str
    language: str
    attempt: int
    start: float = field(default_factory=time.time)
    end: float | None = None
    status: SpanStatus = SpanStatus.RUNNING
    error: dict[str, str] | None = None
    topic: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    def finish(self, status: SpanStatus, error: dict[str, str] | None = None) -> None:
        self.end = time.time()
        self.status = status
        self.error = error

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.span_id,
            "traceId": self.trace_id,
            "step": self.step,
            "type": self.step_type,
            "language": self.language,
            "attempt": self.attempt,
            "status": self.status.value,
            "startTime": int(self.start * 1000),
            "endTime": int(self.end * 1000) if self.end else None,
        }
        if self.topic:
            doc["topic"] = self.topic
        if self.error:
            doc["error"] = self.error
        if self.events:
            doc["events"] = self.events
        return doc


@dataclass
class Trace:
    trace_id: str
    entry: str  # name of the step (or "emit") that started it
    start: float = field(default_factory=time.time)
    head: list[Span] = field(default_factory=list)
    # made when the head is full: almost every trace (one API call, a short chain) never needs it
    tail: deque[Span] = field(default_factory=deque)
    dropped: int = 0
    dropped_by_step: dict[str, int] = field(default_factory=dict)
    dropped_failed: int = 0  # dropped spans that had failed when they were dropped

    @property
    def spans(self) -> list[Span]:
        return [*self.head, *self.tail]

    def add(self, span: Span) -> bool:
        """Keep ``span``; False when that dropped an older one (the trace holds no more spans)."""
        if len(self.head) < SPAN_HEAD:
            self.head.append(span)
            return True
        tail = self.tail
        if tail.maxlen is None:  # the first span past the head
            tail = self.tail = deque(maxlen=MAX_SPANS - SPAN_HEAD)
        if len(tail) < (tail.maxlen or 0):
            tail.append(span)
            return True
        old = tail.popleft()
        tail.append(span)
        self.dropped += 1
        self.dropped_by_step[old.step] = self.dropped_by_step.get(old.step, 0) + 1
        if old.status is SpanStatus.FAILED:
            self.dropped_failed += 1
        return False

    def as_json(self) -> dict[str, Any]:
        spans = self.spans
        statuses = {s.status for s in spans}
        status = (
            SpanStatus.RUNNING
            if SpanStatus.RUNNING in statuses
            else SpanStatus.FAILED
            if SpanStatus.FAILED in statuses or self.dropped_failed
            else SpanStatus.COMPLETED
        )
        doc: dict[str, Any] = {
            "id": self.trace_id,
            "name": self.entry,
            "startTime": int(self.start * 1000),
            "status": status.value,
            "spans": [s.as_json() for s in spans],
        }
        if self.dropped:
            doc["droppedSpans"] = {
                "count": self.dropped,
                "failed": self.dropped_failed,
                "steps": dict(self.dropped_by_step),
                "note": f"a trace keeps its first {SPAN_HEAD} and newest {MAX_SPANS - SPAN_HEAD} spans",
            }
        return doc


class TraceStore:
    """The last `capacity` traces, in memory, holding at most `max_spans` spans in all."""

    def __init__(self, capacity: int = 2000, max_spans: int = 100_000) -> None:
        self.capacity = capacity
        self.max_spans = max_spans
        self._traces: OrderedDict[str, Trace] = OrderedDict()
        self._held = 0  # spans held by all traces

    def begin(self, trace_id: str, entry: str) -> Trace:
        trace = self._traces.get(trace_id)
        if trace is None:
            trace = self._traces[trace_id] = Trace(trace_id, entry)
            while len(self._traces) > self.capacity:
                self._evict_oldest()
        return trace

    def _evict_oldest(self) -> None:
        _, old = self._traces.popitem(last=False)
        self._held -= len(old.head) + len(old.tail)

    def start_span(
        self, trace_id: str, span_id: str, step: str, step_type: str, language: str, attempt: int, topic: str | None
    ) -> Span:
        trace = self._traces.get(trace_id) or self.begin(trace_id, step)
        span = Span(span_id, trace_id, step, step_type, language, attempt, topic=topic)
        if trace.add(span):
            self._held += 1
            while self._held > self.max_spans and len(self._traces) > 1:
                self._evict_oldest()
        return span

    def get(self, trace_id: str) -> Trace | None:
        return self._traces.get(trace_id)

    def recent(self, limit: int = 100) -> list[Trace]:
        return list(reversed(self._traces.values()))[:limit]
