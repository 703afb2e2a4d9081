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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from motia_core.errors import StorageUnavailable
from motia_core.logs import Logger
from motia_core.queue.base import (
    AttemptFailure,
    Consumer,
    DeadLetter,
    Delivery,
    Fate,
    QueuedEvent,
    QueueStats,
    SubscriptionStats,
)
from motia_core.queue.sqlite_commits import CommitBatcher
from motia_core.queue.sqlite_stats import StatsCounter
from motia_core.sqlite import open_db

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
    created_at    REAL NOT NULL,
    failures      BLOB NOT NULL DEFAULT '[]'
);
DROP INDEX IF EXISTS queue_ready;
CREATE INDEX IF NOT EXISTS queue_order ON queue (subscription, created_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    id            TEXT PRIMARY KEY,
    subscription  TEXT NOT NULL,
    topic         TEXT NOT NULL,
    data          BLOB NOT NULL,
    trace_id      TEXT NOT NULL,
    group_id      TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    failures      BLOB NOT NULL,
    created_at    REAL NOT NULL,
    died_at       REAL NOT NULL
);
"""
_LETTER_COLUMNS = "id, subscription, topic, data, trace_id, group_id, attempts, failures, created_at, died_at"
_IDLE_POLL = 1.0  # seconds between lease sweeps when nothing wakes a consumer
_CONSUMER_ERROR_DELAY = 1.0
_LEASE_BATCH = 64  # rows leased per statement at most


@dataclass
class _Subscription:
    name: str
    consumer: Consumer
    concurrency: int
    fifo: bool
    visibility_timeout: float
    wake: asyncio.Event


class SqliteQueue:
    def __init__(self, path: Path, logger: Logger | None = None) -> None:
        self._db = open_db(path, _SCHEMA, contents="your events", refusing="new events", logger=logger)
        columns = {r[1] for r in self._db.rows("PRAGMA table_info(queue)")}
        if "parent_id" not in columns:  # a queue.db from before traces knew the emitting span
            self._db.execute("ALTER TABLE queue ADD COLUMN parent_id TEXT NOT NULL DEFAULT ''")
        self._subs: dict[str, _Subscription] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._leasing = asyncio.Event()  # cleared by pause(): the core is stopping
        self._leasing.set()
        self._stats = StatsCounter(self._db)  # off the loop: counting reads every row
        self._commits = CommitBatcher(self._db)  # emits and fates of one loop turn in one commit

    def pause(self) -> None:
        """Lease nothing more (the core is stopping); deliveries in flight finish and write their fate."""
        self._leasing.clear()

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
        await self.enqueue_many([(subscription, event, delay)])

    async def enqueue_many(self, items: list[tuple[str, QueuedEvent, float]]) -> None:
        """All the copies in one transaction: a fan-out is stored whole or not at all. Returns once
        they are committed (with whatever else this loop turn wrote: sqlite_commits.py)."""
        self._db.ensure_present()  # never accept an event into a queue.db that was deleted or replaced
        now = time.time()
        await self._commits.write(
            [(_INSERT, _row(subscription, event, now + delay)) for subscription, event, delay in items]
        )
        for subscription, _, delay in items:
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
                await self._leasing.wait()
                free = 1
                # take every free slot now (acquire does not suspend while the semaphore is unlocked),
                # so one statement leases a batch; FIFO leases one at a time to keep groups in order
                while not sub.fifo and free < _LEASE_BATCH and not slots.locked():
                    await slots.acquire()
                    free += 1
                try:
                    events = self._lease(sub, free)
                except StorageUnavailable:  # logged by the database; try again, never let the pump die
                    events = []
                    await asyncio.sleep(_CONSUMER_ERROR_DELAY)
                for _ in range(free - len(events)):
                    slots.release()
                if not events:
                    sub.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(sub.wake.wait(), self._next_wake(sub))
                    continue
                for event in events:
                    task = asyncio.create_task(self._deliver(sub, event, slots))
                    running.add(task)
                    task.add_done_callback(running.discard)
        finally:
            for task in running:
                task.cancel()

    def _lease(self, sub: _Subscription, limit: int) -> list[QueuedEvent]:
        now = time.time()
        group_clause = (
            "AND group_id NOT IN (SELECT group_id FROM queue WHERE subscription = :s AND leased_until > :now "
            "AND group_id != '')"
            if sub.fifo
            else ""
        )
        rows = self._db.rows(
            "UPDATE queue SET leased_until = :until, attempts = attempts + 1 WHERE id IN ("
            "  SELECT id FROM queue INDEXED BY queue_order WHERE subscription = :s"
            "  AND (leased_until IS NULL OR leased_until <= :now)"
            f"  AND visible_at <= :now {group_clause} ORDER BY created_at LIMIT :limit"
            ") RETURNING id, topic, data, trace_id, group_id, attempts, created_at, parent_id",
            {"s": sub.name, "now": now, "until": now + sub.visibility_timeout, "limit": limit},
        )
        events = [
            QueuedEvent(
                id=r[0],
                topic=r[1],
                data_json=bytes(r[2]),
                trace_id=r[3],
                message_group_id=r[4],
                attempts=r[5],
                enqueued_at=r[6],
                parent_id=r[7],
            )
            for r in rows
        ]
        events.sort(key=lambda e: e.enqueued_at)  # RETURNING order is unspecified
        return events

    def _next_wake(self, sub: _Subscription) -> float:
        try:
            row = self._db.execute(
                "SELECT MIN(CASE WHEN leased_until IS NULL THEN visible_at ELSE leased_until END) FROM queue "
                "WHERE subscription = ?",
                (sub.name,),
            ).fetchone()
        except StorageUnavailable:
            return _IDLE_POLL
        if row is None or row[0] is None:
            return _IDLE_POLL
        return min(_IDLE_POLL, max(0.001, float(row[0]) - time.time()))

    async def _deliver(self, sub: _Subscription, event: QueuedEvent, slots: asyncio.Semaphore) -> None:
        acked = False
        try:
            try:
                delivery = await sub.consumer(event)
            except Exception as exc:  # a consumer bug must not strand the row until its lease expires
                failure = AttemptFailure(event.attempts, time.time(), type(exc).__name__, str(exc), kind="core_error")
                delivery = Delivery(Fate.RETRY, _CONSUMER_ERROR_DELAY, failure)
            if delivery.fate is Fate.ACK:
                await self._commits.write([("DELETE FROM queue WHERE id = ?", (event.id,))])
                acked = True
            elif delivery.fate is Fate.RETRY and not delivery.counted:  # give the attempt back
                sql = (
                    "UPDATE queue SET leased_until = NULL, visible_at = ?, attempts = MAX(0, attempts - 1) WHERE id = ?"
                )
                await self._commits.write([(sql, (time.time() + delivery.delay, event.id))])
            elif delivery.fate is Fate.RETRY:
                sql = (
                    "UPDATE queue SET leased_until = NULL, visible_at = ?, failures = json_insert(failures, '$[#]', "
                    "json(?)) WHERE id = ?"
                )
                await self._commits.write(
                    [(sql, (time.time() + delivery.delay, _failure_json(delivery.failure), event.id))]
                )
                if delivery.delay <= 0:
                    sub.wake.set()
            else:
                self._bury(event.id, delivery.failure)
        except StorageUnavailable:
            pass  # logged by the database; the row stays leased and is delivered again when its lease runs out
        finally:
            slots.release()  # a pump waiting for a slot goes on: ready rows it could not take are leased
            # An ack makes nothing ready but the next row of a FIFO group, so the pump is not woken to
            # lease in vain (an empty lease and a look at the next deadline: two statements per event);
            # any other fate may have moved the subscription's next deadline.
            if sub.fifo or not acked:
                sub.wake.set()

    def _bury(self, event_id: str, failure: AttemptFailure | None) -> None:
        """Move a row to dead_letters with its whole failure chain, in one transaction."""
        with self._db.transaction():
            self._db.execute(
                f"INSERT INTO dead_letters ({_LETTER_COLUMNS}) SELECT id, subscription, topic, data, trace_id, "
                "group_id, attempts, json_insert(failures, '$[#]', json(?)), created_at, ? FROM queue WHERE id = ?",
                (_failure_json(failure), time.time(), event_id),
            )
            self._db.execute("DELETE FROM queue WHERE id = ?", (event_id,))

    # -- dead letters ------------------------------------------------------------------------------

    async def dead_letters(self, subscription: str | None = None) -> list[DeadLetter]:
        where, args = ("WHERE subscription = ?", (subscription,)) if subscription else ("", ())
        rows = self._db.execute(f"SELECT {_LETTER_COLUMNS} FROM dead_letters {where} ORDER BY died_at", args)
        return [_letter(r) for r in rows.fetchall()]

    async def dead_letter(self, letter_id: str) -> DeadLetter | None:
        row = self._db.execute(f"SELECT {_LETTER_COLUMNS} FROM dead_letters WHERE id = ?", (letter_id,)).fetchone()
        return _letter(row) if row else None

    async def replay(self, letter_id: str) -> bool:
        with self._db.transaction():
            moved = self._db.execute(
                "INSERT INTO queue (id, subscription, topic, data, trace_id, group_id, attempts, visible_at, "
                "created_at) SELECT id, subscription, topic, data, trace_id, group_id, 0, ?, ? FROM dead_letters "
                "WHERE id = ?",
                (time.time(), time.time(), letter_id),
            ).rowcount
            self._db.execute("DELETE FROM dead_letters WHERE id = ?", (letter_id,))
        if moved:
            for sub in self._subs.values():
                sub.wake.set()
        return bool(moved)

    async def purge(self, letter_id: str | None = None) -> int:
        if letter_id is None:
            return int(self._db.execute("DELETE FROM dead_letters").rowcount)
        return int(self._db.execute("DELETE FROM dead_letters WHERE id = ?", (letter_id,)).rowcount)

    def depth(self, subscription: str) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM queue WHERE subscription = ?", (subscription,)).fetchone()
        return int(row[0]) if row else 0

    async def stats(self) -> QueueStats:
        found, dead = await self._stats.count()
        subs = {name: found.get(name, SubscriptionStats()) for name in self._subs}
        return QueueStats(subs, dead)

    async def close(self) -> None:
        await self._stats.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._commits.flush()  # writes queued in this turn (a fate, an emit) before the file is closed
        self._db.close()


_INSERT = (
    "INSERT INTO queue (id, subscription, topic, data, trace_id, group_id, attempts, visible_at, created_at, "
    "parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _row(subscription: str, event: QueuedEvent, visible_at: float) -> tuple[object, ...]:
    return (
        event.id,
        subscription,
        event.topic,
        event.data_json,
        event.trace_id,
        event.message_group_id,
        event.attempts,
        visible_at,
        event.enqueued_at,
        event.parent_id,
    )


def _failure_json(failure: AttemptFailure | None) -> str:
    # a str, not bytes: SQLite's json() refuses BLOBs
    return orjson.dumps(failure.as_json() if failure else {"message": "unknown"}).decode()


def _letter(row: Any) -> DeadLetter:
    failures = orjson.loads(row[7])
    return DeadLetter(
        id=str(row[0]),
        subscription=str(row[1]),
        topic=str(row[2]),
        data_json=bytes(row[3]),
        trace_id=str(row[4]),
        message_group_id=str(row[5]),
        attempts=int(row[6]),
        failures=failures if isinstance(failures, list) else [],
        enqueued_at=float(row[8]),
        died_at=float(row[9]),
    )
