"""Group commit for the SQLite queue: the writes of one event-loop turn share one transaction.

Each commit in WAL mode costs a write lock, the WAL frames of every page it touched and the WAL
index update: ~60 µs of the core's CPU for a one-row insert or delete on the bench machine against
~25 µs per row when eight share a commit (`bench/benchlib/walcount.py` counts the commits of a
chain run). Under load the emits and acks of several deliveries land in the same turn of the loop
(one gRPC frame carries the calls and results of many invocations), so they are queued here and
written together by a callback scheduled for the end of that turn.

Nothing is weakened: a caller's future resolves only after the transaction holding its write has
committed (an emit still returns once its event is stored), and fails with that transaction's
error. A group of writes (a fan-out's copies) is always in one transaction. When a batch fails
with an error of a statement rather than of the storage (a constraint), the groups are written
again one by one, so only the group at fault fails.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from motia_core.errors import StorageUnavailable
from motia_core.sqlite import Database

Write = tuple[str, Any]  # (sql, parameters)


class CommitBatcher:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._groups: list[tuple[list[Write], asyncio.Future[None]]] = []
        self._scheduled = False

    def write(self, writes: list[Write]) -> asyncio.Future[None]:
        """Queue `writes` (one group, atomic) for this turn's transaction; the future resolves when
        it has committed."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._groups.append((writes, fut))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self.flush)
        return fut

    def flush(self) -> None:
        """Write every queued group now (also called by the queue's close, before the database is)."""
        self._scheduled = False
        groups, self._groups = self._groups, []
        if not groups:
            return
        try:
            self._commit([w for writes, _ in groups for w in writes])
        except StorageUnavailable as exc:
            for _, fut in groups:
                _fail(fut, exc)
            return
        except sqlite3.Error as exc:
            if len(groups) == 1:
                _fail(groups[0][1], exc)
                return
            for group in groups:  # find the group at fault: the others must not fail with it
                self._flush_one(*group)
            return
        for _, fut in groups:
            if not fut.done():
                fut.set_result(None)

    def _flush_one(self, writes: list[Write], fut: asyncio.Future[None]) -> None:
        try:
            self._commit(writes)
        except (StorageUnavailable, sqlite3.Error) as exc:
            _fail(fut, exc)
            return
        if not fut.done():
            fut.set_result(None)

    def _commit(self, writes: list[Write]) -> None:
        if len(writes) == 1:  # autocommit: one statement is its own transaction
            self._db.execute(*writes[0])
            return
        with self._db.transaction():
            for sql, params in writes:
                self._db.execute(sql, params)


def _fail(fut: asyncio.Future[None], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
