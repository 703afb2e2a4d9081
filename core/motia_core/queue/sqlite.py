"""The embedded default queue: SQLite (WAL) under the project's .motia/, at-least-once.

`enqueue` returns once the row is committed. A consumer *leases* a row (state `leased`, with a
deadline of `visibility_timeout`) before it is handed to a handler, and the row is deleted only on
ack. A row whose lease runs out, or that was leased when the core stopped or crashed, becomes ready
again: the event is delivered again, never lost. FIFO subscriptions deliver at most one row per
message group at a time, oldest first.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from motia_core.queue.base import Consumer, Fate, QueuedEvent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    id            TEXT PRIMARY KEY,
    subscription  TEXT NOT NULL,
    topic         TEXT NOT NULL,
    data          BLOB NOT NULL,
    trace_id      TEXT NOT NULL,
    group_id      TEXT NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    visible_at    REAL NOT NULL,
    leased_until  REAL,
    created_at    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_ready ON queue (subscription, leased_until, visible_at, created_at);
"""
_IDLE_POLL = 1.0  # seconds between lease sweeps when nothing wakes a consumer


@dataclass
class _Subscription:
    name: str
    consumer: Consumer
    concurrency: int
    fifo: bool
    visibility_timeout: float
    wake: asyncio.Event


class SqliteQueue:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._subs: dict[str, _Subscription] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False

    def subscribe(
        self,
        subscription: str,
        consumer: Consumer,
        concurrency: int,
        fifo: bool = False,
        visibility_timeout: float = 900.0,
    ) -> None:
        sub = _Subscription(subscription, consumer, max(1, concurrency), fifo, visibility_timeout, asyncio.Event())
        self._subs[subscription] = sub
        if self._started:
            self._spawn(sub)

    async def enqueue(self, subscription: str, event: QueuedEvent, delay: float = 0.0) -> None:
        now = time.time()
        self._db.execute(
            "INSERT INTO queue (id, subscription, topic, data, trace_id, group_id, attempts, visible_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.id,
                subscription,
                event.topic,
                event.data_json,
                event.trace_id,
                event.message_group_id,
                event.attempts,
                now + delay,
                event.enqueued_at,
            ),
        )
        sub = self._subs.get(subscription)
        if sub is not None and delay <= 0:
            sub.wake.set()

    async def start(self) -> None:
        # Whatever was leased when the core last stopped (or crashed) was never acked: deliver it again.
        self._db.execute("UPDATE queue SET leased_until = NULL WHERE leased_until IS NOT NULL")
        self._started = True
        for sub in self._subs.values():
            self._spawn(sub)

    def _spawn(self, sub: _Subscription) -> None:
        self._tasks.append(asyncio.create_task(self._pump(sub), name=f"queue-{sub.name}"))

    async def _pump(self, sub: _Subscription) -> None:
        """Lease ready rows while slots are free; hand each to the consumer in its own task."""
        slots = asyncio.Semaphore(sub.concurrency)
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                await slots.acquire()
                event = self._lease(sub)
                if event is None:
                    slots.release()
                    sub.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(sub.wake.wait(), self._next_wake(sub))
                    continue
                task = asyncio.create_task(self._deliver(sub, event, slots))
                running.add(task)
                task.add_done_callback(running.discard)
        finally:
            for task in running:
                task.cancel()

    def _lease(self, sub: _Subscription) -> QueuedEvent | None:
        now = time.time()
        group_clause = (
            "AND group_id NOT IN (SELECT group_id FROM queue WHERE subscription = :s AND leased_until > :now "
            "AND group_id != '')"
            if sub.fifo
            else ""
        )
        row = self._db.execute(
            "UPDATE queue SET leased_until = :until, attempts = attempts + 1 WHERE id = ("
            "  SELECT id FROM queue WHERE subscription = :s AND (leased_until IS NULL OR leased_until <= :now)"
            f"  AND visible_at <= :now {group_clause} ORDER BY created_at LIMIT 1"
            ") RETURNING id, topic, data, trace_id, group_id, attempts, created_at",
            {"s": sub.name, "now": now, "until": now + sub.visibility_timeout},
        ).fetchone()
        if row is None:
            return None
        return QueuedEvent(
            id=row[0],
            topic=row[1],
            data_json=bytes(row[2]),
            trace_id=row[3],
            message_group_id=row[4],
            attempts=row[5],
            enqueued_at=row[6],
        )

    def _next_wake(self, sub: _Subscription) -> float:
        row = self._db.execute(
            "SELECT MIN(CASE WHEN leased_until IS NULL THEN visible_at ELSE leased_until END) FROM queue "
            "WHERE subscription = ?",
            (sub.name,),
        ).fetchone()
        if row is None or row[0] is None:
            return _IDLE_POLL
        return min(_IDLE_POLL, max(0.001, float(row[0]) - time.time()))

    async def _deliver(self, sub: _Subscription, event: QueuedEvent, slots: asyncio.Semaphore) -> None:
        try:
            delivery = await sub.consumer(event)
            if delivery.fate is Fate.RETRY:
                self._db.execute(
                    "UPDATE queue SET leased_until = NULL, visible_at = ? WHERE id = ?",
                    (time.time() + delivery.delay, event.id),
                )
                if delivery.delay <= 0:
                    sub.wake.set()
            else:  # ACK, or DROP (the consumer has recorded why)
                self._db.execute("DELETE FROM queue WHERE id = ?", (event.id,))
        finally:
            slots.release()
            sub.wake.set()

    def depth(self, subscription: str) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM queue WHERE subscription = ?", (subscription,)).fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._db.close()
