"""The event queue interface: one subscription per (topic, subscribing step), fan-out by enqueueing
a copy per subscription. The consumer callback decides the fate of each delivery (ack, retry after
a delay, or drop); the queue only stores and delivers. Durable (SQLite) and distributed (Redis)
implementations fill the same interface."""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class QueuedEvent:
    topic: str
    data_json: bytes
    trace_id: str
    message_group_id: str = ""
    attempts: int = 0  # deliveries made so far
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    enqueued_at: float = field(default_factory=time.time)


class Fate(enum.Enum):
    ACK = "ack"  # done, forget it
    RETRY = "retry"  # deliver again after Delivery.delay
    DROP = "drop"  # give up (retries exhausted, or not retryable)


@dataclass(frozen=True)
class Delivery:
    fate: Fate
    delay: float = 0.0


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

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def depth(self, subscription: str) -> int: ...
