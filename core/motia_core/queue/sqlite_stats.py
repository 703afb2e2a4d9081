"""SqliteQueue.stats()'s counting, kept off the event loop.

Counting reads every row of the queue (O(events waiting): ~0.1 s per 100k rows on the bench machine),
and the Workbench's live feed asks every second while one is open; on the loop, a backlog of a million
waiting events would stall every request for a second at a time. So the scan runs in a worker thread
on a read-only connection of its own (WAL: readers never block the loop's writes), one scan at a time
however many callers ask, and a slow scan's result is reused for REUSE times its own duration, which
bounds the CPU spent counting a huge backlog to about a tenth of a core. Small queues (a scan under
SLOW) are always counted afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from motia_core.queue.base import SubscriptionStats
from motia_core.sqlite import Database

SLOW = 0.05  # seconds: a scan this slow means a large queue, and its result is reused...
REUSE = 10.0  # ...for this many times its own duration
_SQL = (
    "SELECT subscription, COUNT(*), SUM(leased_until > :now), "
    "SUM((leased_until IS NULL OR leased_until <= :now) AND visible_at > :now) "
    "FROM queue GROUP BY subscription"
)

Counts = tuple[dict[str, SubscriptionStats], int]  # per subscription, and the dead letters' count


class StatsCounter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._scan: asyncio.Task[Counts] | None = None
        self._reuse: tuple[float, Counts] | None = None  # (until, counts) of the last slow scan

    async def count(self) -> Counts:
        if self._reuse is not None and time.monotonic() < self._reuse[0]:
            return self._reuse[1]
        if self._scan is None or self._scan.done():
            self._scan = asyncio.create_task(self._run(), name="queue-stats")
        # shielded: a caller that gives up (a scrape's timeout) does not cancel the others' scan
        return await asyncio.shield(self._scan)

    async def close(self) -> None:
        if self._scan is not None and not self._scan.done():
            self._scan.cancel()
            with contextlib.suppress(BaseException):
                await self._scan

    async def _run(self) -> Counts:
        started = time.monotonic()
        try:
            rows, dead = await asyncio.to_thread(_count_in_thread, self._db.path, time.time())
        except (sqlite3.Error, OSError):
            # the file is gone or failing: count through the loop's own connection, which reports
            # (and logs) storage faults as every other call of the queue does
            rows, dead = _count(self._db.rows, time.time())
        found = {r[0]: SubscriptionStats(int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in rows}
        took = time.monotonic() - started
        if took >= SLOW:
            self._reuse = (time.monotonic() + REUSE * took, (found, dead))
        return found, dead


def _count_in_thread(path: Path, now: float) -> tuple[list[Any], int]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    try:
        return _count(lambda sql, params=(): conn.execute(sql, params).fetchall(), now)
    finally:
        conn.close()


def _count(rows: Callable[..., list[Any]], now: float) -> tuple[list[Any], int]:
    found = rows(_SQL, {"now": now})
    dead = rows("SELECT COUNT(*) FROM dead_letters")
    return found, int(dead[0][0]) if dead else 0
