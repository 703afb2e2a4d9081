"""The event queue interface: one subscription per (topic, subscribing step), fan-out by enqueueing
a copy per subscription. The consumer callback decides the fate of each delivery (ack, retry after
a delay, or dead-letter); the queue only stores and delivers, and keeps dead letters with the
failure of every attempt. Durable (SQLite) and distributed (Redis) implementations fill the same
interface."""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import orjson


def event_id() -> str:
    """32 hex digits, time-ordered: the nanosecond clock, then 64 random bits. On SQLite, events
    enqueued one after the other land next to each other in the primary-key index, so storing and
    acking them touch the same few hot pages however many events wait elsewhere (random ids cost a
    page read per event on a large backlog: bench/README.md, the backlog curve)."""
    return f"{time.time_ns():016x}{os.urandom(8).hex()}"


@dataclass
class QueuedEvent:
    topic: str
    data_json: bytes
    trace_id: str
    message_group_id: str = ""
    attempts: int = 0  # deliveries made so far
    id: str = field(default_factory=event_id)
    enqueued_at: float = field(default_factory=time.time)
    parent_id: str = ""  # span id of the invocation that emitted it (traces: the parent of its spans)


class Fate(enum.Enum):
    ACK = "ack"  # done, forget it
    RETRY = "retry"  # deliver again after Delivery.delay
    DEAD_LETTER = "dead_letter"  # give up (retries exhausted, or not retryable): keep it for replay


@dataclass(frozen=True)
class AttemptFailure:
    """Why one delivery attempt failed: one link of a dead letter's failure chain."""

    attempt: int
    time: float
    error_type: str
    message: str
    stack: str = ""
    runner: str = ""  # e.g. "python pid 4242"
    kind: str = ""  # handler_error, runner_lost, timeout, ...

    def as_json(self) -> dict[str, object]:
        return {
            "attempt": self.attempt,
            "time": self.time,
            "errorType": self.error_type,
            "message": self.message,
            "stack": self.stack,
            "runner": self.runner,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Delivery:
    fate: Fate
    delay: float = 0.0
    failure: AttemptFailure | None = None
    # False: the event never reached a handler (its runner was gone, the core was stopping), so this
    # delivery gives its attempt back instead of using up one of maxRetries (docs/delivery.md)
    counted: bool = True


@dataclass(frozen=True)
class DeadLetter:
    id: str
    subscription: str
    topic: str
    data_json: bytes
    trace_id: str
    message_group_id: str
    attempts: int
    failures: list[dict[str, object]]
    enqueued_at: float
    died_at: float

    def as_json(self, with_data: bool = True) -> dict[str, object]:
        doc: dict[str, object] = {
            "id": self.id,
            "subscription": self.subscription,
            "topic": self.topic,
            "traceId": self.trace_id,
            "messageGroupId": self.message_group_id,
            "attempts": self.attempts,
            "enqueuedAt": self.enqueued_at,
            "diedAt": self.died_at,
            "lastError": self.failures[-1].get("message") if self.failures else None,
        }
        if with_data:
            doc["data"] = orjson.loads(self.data_json)
            doc["failures"] = self.failures
        return doc


@dataclass(frozen=True)
class SubscriptionStats:
    """One subscription's events not yet acked or buried (`depth`), of which `in_flight` are leased
    to a handler now and `scheduled` wait for a delay or a retry's backoff."""

    depth: int = 0
    in_flight: int = 0
    scheduled: int = 0


@dataclass(frozen=True)
class QueueStats:
    subscriptions: dict[str, SubscriptionStats]  # every subscribed subscription (zeros when idle)
    dead_letters: int


Consumer = Callable[[QueuedEvent], Awaitable[Delivery]]


class EventQueue(Protocol):
    def subscribe(
        self,
        subscription: str,
        consumer: Consumer,
        concurrency: int,
        fifo: bool = False,
        visibility_timeout: float = 900.0,
    ) -> None:
        """Deliver events of `subscription` to `consumer`, at most `concurrency` at once. FIFO: one event
        per message group at a time, oldest first. An event not acked within `visibility_timeout`
        seconds is delivered again (durable implementations)."""
        ...

    async def enqueue(self, subscription: str, event: QueuedEvent, delay: float = 0.0) -> None:
        """Store the event; return once it is stored."""
        ...

    async def enqueue_many(self, items: list[tuple[str, QueuedEvent, float]]) -> None:
        """Store several (subscription, event, delay) at once, atomically: all of them or none (the
        fan-out of one emit: SQLite one transaction, Redis one script). Return once stored."""
        ...

    async def start(self) -> None: ...

    def pause(self) -> None:
        """Start no new delivery (the core is stopping); deliveries in flight finish and write their fate."""
        ...

    async def close(self) -> None: ...

    def depth(self, subscription: str) -> int: ...

    async def stats(self) -> QueueStats:
        """Depth, in flight and scheduled per subscription, and the dead letters' count (GET
        /__motia/queue). Shared backends count every instance's events."""
        ...

    async def dead_letters(self, subscription: str | None = None) -> list[DeadLetter]: ...

    async def dead_letter(self, letter_id: str) -> DeadLetter | None: ...

    async def replay(self, letter_id: str) -> bool:
        """Move a dead letter back into its subscription as a fresh event (attempts reset)."""
        ...

    async def purge(self, letter_id: str | None = None) -> int:
        """Delete one dead letter, or all of them; return how many."""
        ...
