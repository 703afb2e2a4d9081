"""Group commit of the SQLite queue (queue/sqlite_commits.py): the writes of one loop turn share one
transaction, each caller still returns only once its write is committed, and one bad write never
takes the others down with it."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from benchlib import walcount

from motia_core.errors import StorageUnavailable
from motia_core.queue.base import Delivery, Fate, QueuedEvent
from motia_core.queue.sqlite import SqliteQueue


def _event(n: int, ident: str | None = None) -> QueuedEvent:
    event = QueuedEvent(topic="t", data_json=b'{"n":%d}' % n, trace_id=f"T{n}")
    if ident is not None:
        event.id = ident
    return event


def _committed(path: Path) -> int:
    """Rows in the file, read by a connection of its own: what a crash right now would keep."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0])
    finally:
        conn.close()


async def test_emits_of_one_turn_share_one_commit_and_each_returns_committed(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    queue = SqliteQueue(db)
    before = walcount.commits(db)
    await asyncio.gather(*(queue.enqueue("t::a", _event(n)) for n in range(20)))
    assert walcount.delta(before, walcount.commits(db)) == 1
    assert _committed(db) == 20  # stored on disk, not only in the core's connection
    await queue.enqueue("t::a", _event(20))  # alone in its turn: its own commit, still stored on return
    assert walcount.delta(before, walcount.commits(db)) == 2
    assert _committed(db) == 21
    await queue.close()


async def test_a_failing_write_fails_alone(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    queue = SqliteQueue(db)
    await queue.enqueue("t::a", _event(0, ident="taken"))
    results = await asyncio.gather(
        queue.enqueue("t::a", _event(1)),
        queue.enqueue_many([("t::a", _event(2), 0.0), ("t::b", _event(3, ident="taken"), 0.0)]),
        queue.enqueue("t::a", _event(4)),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], sqlite3.IntegrityError)
    # the fan-out with the duplicate id is stored whole or not at all: neither of its copies is there
    conn = sqlite3.connect(db)
    data = sorted(bytes(r[0]) for r in conn.execute("SELECT data FROM queue"))
    conn.close()
    assert data == [b'{"n":0}', b'{"n":1}', b'{"n":4}']
    await queue.close()


async def test_a_storage_failure_fails_every_write_of_the_turn(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    queue = SqliteQueue(db)
    queue._db.execute("PRAGMA max_page_count = 2")  # a full disk: the table's pages are all there is
    big = QueuedEvent(topic="t", data_json=b'{"x":"' + b"y" * 20000 + b'"}', trace_id="T")
    results = await asyncio.gather(queue.enqueue("t::a", big), queue.enqueue("t::a", _event(1)), return_exceptions=True)
    assert all(isinstance(r, StorageUnavailable) for r in results), results
    assert "q.db" in str(results[0])
    queue._db.execute("PRAGMA max_page_count = 1000000")
    await queue.enqueue("t::a", _event(2))  # the queue goes on once there is room again
    assert _committed(db) == 1
    await queue.close()


@pytest.mark.timeout(60)
async def test_acks_of_a_burst_share_commits(tmp_path: Path) -> None:
    """Deliveries that end in the same turn write their acks in one commit, and an ack does not wake
    the pump to lease in vain: 40 events cost far fewer than the 3 commits each (store, lease, ack)
    of one transaction per write."""
    db = tmp_path / "q.db"
    queue = SqliteQueue(db)
    release = asyncio.Event()
    seen: list[int] = []

    async def consume(event: QueuedEvent) -> Delivery:
        seen.append(event.attempts)
        await release.wait()
        return Delivery(Fate.ACK)

    queue.subscribe("t::a", consume, concurrency=64)
    await queue.enqueue_many([("t::a", _event(n), 0.0) for n in range(40)])
    before = walcount.commits(db)
    await queue.start()
    deadline = asyncio.get_running_loop().time() + 10
    while len(seen) < 40:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    release.set()
    while queue.depth("t::a"):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    used = walcount.delta(before, walcount.commits(db))
    assert used is not None and used <= 4, used  # the start's release, one lease, one ack commit (+1 slack)
    assert seen == [1] * 40
    await queue.close()


async def test_a_fate_queued_when_the_queue_closes_is_written(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    queue = SqliteQueue(db)
    await queue.enqueue("t::a", _event(1))
    pending = queue._commits.write([("DELETE FROM queue", ())])  # queued, its turn not over yet
    await queue.close()
    assert pending.done() and pending.exception() is None
    assert _committed(db) == 0
