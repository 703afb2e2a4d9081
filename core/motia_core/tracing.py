"""Traces and spans.

A trace starts with an API request, a cron tick or a POST /emit; events inherit the emitter's trace
id, so one trace spans every step a request set off. Each step run is a span with start, end and
status.

Two places hold traces (docs/adapters.md#traces):

- the live ``TraceStore`` of this process, which dispatch writes synchronously (a span is a Python
  object that the tracing layer finishes in place: nothing on the request path awaits storage);
- a ``TraceStorage`` (tracing_storage.py), which /__motia/traces reads. With one process it is the live store itself
  (``MemoryTraceStorage``); with a shared backend (Redis) a ``TraceRecorder``
  (tracing_recorder.py) batches the live store's changes into it, so every instance serves every
  trace.

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ123456789"
MAX_SPANS = 500  # spans one trace keeps
MAX_SPAN_EVENTS = 200  # events one span lists (emits, state and stream ops, logs); later ones are counted
SPAN_HEAD = 100  # of which the first ones (the rest are the newest)

TraceDoc = dict[str, Any]  # one trace as GET /__motia/traces/{id} answers it


# _ALPHABET has 32 letters: 25 random bits are its five letters, 5 bits each. Pairs are looked up in
# a 1,024-entry table, so an id costs one getrandbits and three lookups (random.choices cost ~1 µs).
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)
_getrandbits = random.getrandbits


def new_trace_id() -> str:
    """Motia's format: five letters/digits, a dash, and the low digits of the time in ms.
    Not a secret, so a fast PRNG instead of the OS's (no syscall on the request path)."""
    r = _getrandbits(25)
    return f"{_PAIRS[r >> 15]}{_PAIRS[(r >> 5) & 1023]}{_ALPHABET[r & 31]}-{str(time.time_ns() // 1_000_000)[6:]}"


_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)


def new_invocation_id() -> str:
    """Unique across core restarts (random per-process prefix) and cheap (a counter)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):x}"


class SpanStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


_RUNNING = SpanStatus.RUNNING


class TraceListener(Protocol):
    """Told of every change to the live store, synchronously: it must only note the change."""

    def trace_begun(self, trace: Trace) -> None: ...

    def span_changed(self, span: Span) -> None: ...


@dataclass(slots=True)
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
    parent_id: str | None = None  # the span whose emit queued the event this span handles
    events_dropped: int = 0  # events past MAX_SPAN_EVENTS, counted only
    # set by the live store when a recorder copies it to a shared storage
    listener: TraceListener | None = field(default=None, repr=False, compare=False)
    recorded: bool = field(default=False, repr=False, compare=False)  # the storage holds a version of it

    def finish(self, status: SpanStatus, error: dict[str, str] | None = None) -> None:
        self.end = time.time()
        self.status = status
        self.error = error
        if self.listener is not None:  # changed(), without its call
            self.listener.span_changed(self)

    def add_event(self, event: dict[str, Any]) -> None:
        """Append one event (in the order the core handled the runner's calls) and publish the new
        version; past MAX_SPAN_EVENTS only counted, so a handler looping over state stays bounded."""
        if len(self.events) < MAX_SPAN_EVENTS:
            self.events.append(event)
        else:
            self.events_dropped += 1
        self.changed()

    def changed(self) -> None:
        """Call after changing a span outside `finish` (e.g. appending to `events` after it ended), so
        a shared storage gets the new version; `finish` calls it."""
        if self.listener is not None:
            self.listener.span_changed(self)

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
        doc["parentId"] = self.parent_id
        if self.topic:
            doc["topic"] = self.topic
        if self.error:
            doc["error"] = self.error
        if self.events:
            doc["events"] = self.events
        if self.events_dropped:
            doc["droppedEvents"] = self.events_dropped
        return doc


@dataclass(slots=True)
class Dropped:
    """The spans a trace let go of to stay within MAX_SPANS."""

    count: int = 0
    failed: int = 0  # of which had failed when they were dropped
    by_step: dict[str, int] = field(default_factory=dict)

    def add(self, step: str, failed: bool) -> None:
        self.count += 1
        self.by_step[step] = self.by_step.get(step, 0) + 1
        if failed:
            self.failed += 1


NO_DROPS = Dropped()  # what a trace that dropped nothing holds; Trace.add replaces it before counting


def trace_json(trace_id: str, name: str, start_ms: int, spans: Sequence[dict[str, Any]], dropped: Dropped) -> TraceDoc:
    """The JSON of one trace, whichever storage held it. Its status comes from all its spans: running
    while any runs, else failed when a failure stands (dropped ones included), else completed. A failed
    attempt followed by a later attempt of the same delivery that did not fail (same step, topic and
    emitting span) was retried away: it shows in the spans but does not fail the trace."""
    unresolved = _standing_failures(spans)
    statuses = {s.get("status") for s in spans}
    status = (
        SpanStatus.RUNNING
        if SpanStatus.RUNNING.value in statuses
        else SpanStatus.FAILED
        if unresolved or dropped.failed
        else SpanStatus.COMPLETED
    )
    doc: TraceDoc = {"id": trace_id, "name": name, "startTime": start_ms, "status": status.value}
    doc.update(_summary(start_ms, status, spans, dropped, unresolved))
    doc["spans"] = list(spans)
    if dropped.count:
        doc["droppedSpans"] = {
            "count": dropped.count,
            "failed": dropped.failed,
            "steps": dict(dropped.by_step),
            "note": f"a trace keeps its first {SPAN_HEAD} and newest {MAX_SPANS - SPAN_HEAD} spans",
        }
    return doc


def _delivery(span: dict[str, Any]) -> tuple[Any, ...]:
    """What the attempts of one delivery share: the step, the topic and the span that emitted it."""
    return (span.get("step"), span.get("topic"), span.get("parentId"))


def _standing_failures(spans: Sequence[dict[str, Any]]) -> int:
    """Failed spans no later attempt of the same delivery has made good."""
    recovered: dict[tuple[Any, ...], int] = {}  # delivery -> highest attempt that did not fail
    for s in spans:
        if s.get("status") != SpanStatus.FAILED.value and isinstance(s.get("attempt"), int):
            key = _delivery(s)
            recovered[key] = max(recovered.get(key, 0), s["attempt"])
    return sum(
        1
        for s in spans
        if s.get("status") == SpanStatus.FAILED.value
        and not (isinstance(s.get("attempt"), int) and recovered.get(_delivery(s), 0) > s["attempt"])
    )


def _summary(
    start_ms: int, status: SpanStatus, spans: Sequence[dict[str, Any]], dropped: Dropped, unresolved: int
) -> dict[str, Any]:
    """endTime and durationMs once nothing runs; steps: step runs (spans) by outcome, dropped ones
    included; `retried`: failed attempts a later attempt made good (not counted as failed)."""
    running = sum(1 for s in spans if s.get("status") == SpanStatus.RUNNING.value)
    all_failed = sum(1 for s in spans if s.get("status") == SpanStatus.FAILED.value)
    failed = unresolved + dropped.failed
    done = len(spans) + dropped.count - running - all_failed - dropped.failed
    out: dict[str, Any] = {
        "steps": {"done": done, "running": running, "failed": failed, "retried": all_failed - unresolved}
    }
    if status is not SpanStatus.RUNNING:
        ends = [s["endTime"] for s in spans if isinstance(s.get("endTime"), int)]
        end = max(ends, default=start_ms)
        out["endTime"] = end
        out["durationMs"] = max(0, end - start_ms)
    return out


def trace_summary(doc: TraceDoc) -> TraceDoc:
    """A trace without its spans: what the live socket sends when a trace changes."""
    return {k: v for k, v in doc.items() if k != "spans" and k != "droppedSpans"}


class TraceListeners:
    """Several listeners of one live store (the shared-storage recorder and the live socket)."""

    def __init__(self, *listeners: TraceListener) -> None:
        self.listeners = list(listeners)

    def trace_begun(self, trace: Trace) -> None:
        for listener in self.listeners:
            listener.trace_begun(trace)

    def span_changed(self, span: Span) -> None:
        for listener in self.listeners:
            listener.span_changed(span)


_TAIL_MAX = MAX_SPANS - SPAN_HEAD
# the tail of every trace whose head is not full: shared and never appended to (Trace.add replaces it)
_NO_TAIL: deque[Any] = deque(maxlen=0)


@dataclass(slots=True)
class Trace:
    trace_id: str
    entry: str  # name of the step (or "emit") that started it
    start: float = field(default_factory=time.time)
    head: list[Span] = field(default_factory=list)
    # _NO_TAIL (shared, never appended to) until the head is full: almost every trace (one API call,
    # a short chain) never needs a deque of its own
    tail: deque[Span] = field(default_factory=lambda: _NO_TAIL)
    # NO_DROPS (shared, never mutated) until the first span is dropped: one allocation less per trace
    dropped: Dropped = field(default_factory=lambda: NO_DROPS)
    # begun here by its entry (API call, cron tick, POST /emit); False when this process first saw
    # it in a span (an event of a trace begun elsewhere, or before a restart): `entry` is a guess
    root: bool = True

    @property
    def spans(self) -> list[Span]:
        return [*self.head, *self.tail]

    def add(self, span: Span) -> bool:
        """Keep ``span``; False when that dropped an older one (the trace holds no more spans)."""
        if len(self.head) < SPAN_HEAD:
            self.head.append(span)
            return True
        tail = self.tail
        if tail is _NO_TAIL:  # the first span past the head
            tail = self.tail = deque(maxlen=_TAIL_MAX)
        if len(tail) < _TAIL_MAX:
            tail.append(span)
            return True
        old = tail.popleft()
        tail.append(span)
        if self.dropped is NO_DROPS:
            self.dropped = Dropped()
        self.dropped.add(old.step, old.status is SpanStatus.FAILED)
        return False

    def as_json(self) -> TraceDoc:
        return trace_json(
            self.trace_id, self.entry, int(self.start * 1000), [s.as_json() for s in self.spans], self.dropped
        )


class TraceStore:
    """The live traces of this process: the last `capacity` traces, holding at most `max_spans`
    spans in all. `listener` (a TraceRecorder) is told of every change."""

    def __init__(self, capacity: int = 2000, max_spans: int = 100_000) -> None:
        self.capacity = capacity
        self.max_spans = max_spans
        self.listener: TraceListener | None = None
        self._traces: OrderedDict[str, Trace] = OrderedDict()
        self._held = 0  # spans held by all traces
        self._spans: dict[str, Span] = {}  # span id -> every span held: the runner's calls find theirs

    def begin(self, trace_id: str, entry: str) -> Trace:
        """A trace starts here (API call, cron tick, POST /emit): `entry` names it."""
        traces = self._traces
        trace = traces.get(trace_id)
        if trace is None:
            # every field given, positionally: no default factory runs (one trace per API request)
            trace = traces[trace_id] = Trace(trace_id, entry, time.time(), [], _NO_TAIL, NO_DROPS, True)
            if len(traces) > self.capacity:
                self._evict_oldest()  # one in, one out: the store is full in a steady state
            if self.listener is not None:
                self.listener.trace_begun(trace)
        return trace

    def _open(self, trace_id: str, entry: str, root: bool) -> Trace:
        trace = self._traces[trace_id] = Trace(trace_id, entry, root=root)
        while len(self._traces) > self.capacity:
            self._evict_oldest()
        return trace

    def _evict_oldest(self) -> None:
        _, old = self._traces.popitem(last=False)
        self._held -= len(old.head) + len(old.tail)
        spans = self._spans
        for span in old.head:  # head and tail read in place: no list built per evicted trace
            spans.pop(span.span_id, None)
        for span in old.tail:
            spans.pop(span.span_id, None)

    def start_span(
        self,
        trace_id: str,
        span_id: str,
        step: str,
        step_type: str,
        language: str,
        attempt: int,
        topic: str | None,
        parent_id: str | None = None,
    ) -> Span:
        trace = self._traces.get(trace_id) or self._open(trace_id, step, root=False)
        listener = self.listener
        # every field given, positionally: no default factory runs (one span per step run)
        span = Span(
            span_id, trace_id, step, step_type, language, attempt, time.time(), None, _RUNNING, None, topic, [],
            parent_id, 0, listener, False,
        )  # fmt: skip
        self._spans[span_id] = span
        head = trace.head
        if len(head) < SPAN_HEAD:  # Trace.add's first case, inline: almost every span lands here
            head.append(span)
            added = True
        else:
            tail = trace.tail
            if len(tail) == _TAIL_MAX:  # add() is about to drop the oldest of the tail
                self._spans.pop(tail[0].span_id, None)
            added = trace.add(span)
        if added:
            self._held += 1
            while self._held > self.max_spans and len(self._traces) > 1:
                self._evict_oldest()
        if listener is not None:  # span.changed(), without its call
            listener.span_changed(span)
        return span

    def get(self, trace_id: str) -> Trace | None:
        return self._traces.get(trace_id)

    def span(self, span_id: str) -> Span | None:
        """A span still held, by id (an invocation's id is its span's)."""
        return self._spans.get(span_id)

    def recent(self, limit: int = 100, before: str | None = None) -> list[Trace]:
        """Newest first; with `before`, the traces begun before that one (empty when it is not held:
        evicted, and so is everything older)."""
        newest_first = reversed(self._traces.values())
        if before is not None:
            if before not in self._traces:
                return []
            for trace in newest_first:  # the iterator resumes after `before`
                if trace.trace_id == before:
                    break
        return list(itertools.islice(newest_first, limit))
