"""The queue on a large backlog (bench/README.md, the backlog curve): SqliteQueue.stats() counts off the
event loop (queue/sqlite_stats.py), since counting reads every waiting row; and event ids are
time-ordered, so storing and acking new events touch the same hot index pages however many wait."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest

from motia_core.queue import sqlite_stats
from motia_core.queue.base import Delivery, Fate, QueuedEvent, event_id
from motia_core.queue.sqlite import SqliteQueue

SUB = "t::a"


def _event(n: int) -> QueuedEvent:
    return QueuedEvent(topic="t", data_json=b'{"n":%d}' % n, trace_id=f"T{n}")


async def _nobody(event: QueuedEvent) -> Delivery:
    return Delivery(Fate.ACK)


async def _filled(path: Path, n: int) -> SqliteQueue:
    queue = SqliteQueue(path)
    queue.subscribe(SUB, _nobody, concurrency=1)  # never started: the events wait
    await queue.enqueue_many([(SUB, _event(i), 0.0) for i in range(n)])
    return queue


async def test_the_loop_runs_other_tasks_while_stats_counts(tmp_path: Path) -> None:
    queue = await _filled(tmp_path / "q.db", 2_000)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    stats = await queue.stats()
    # counted on the loop, stats() would return without letting the ticker run once
    assert ticks > before
    assert stats.subscriptions[SUB].depth == 2_000 and stats.dead_letters == 0
    task.cancel()
    await queue.close()


async def test_concurrent_callers_share_one_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    queue = await _filled(tmp_path / "q.db", 100)
    scans = 0
    real = sqlite_stats._count_in_thread

    def counting(path: Path, now: float) -> tuple[list[object], int]:
        nonlocal scans
        scans += 1
        return real(path, now)

    monkeypatch.setattr(sqlite_stats, "_count_in_thread", counting)
    results = await asyncio.gather(*(queue.stats() for _ in range(5)))
    assert scans == 1
    assert {r.subscriptions[SUB].depth for r in results} == {100}
    await queue.close()


async def test_a_slow_scan_is_reused_a_fast_one_never(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    queue = await _filled(tmp_path / "q.db", 10)
    assert (await queue.stats()).subscriptions[SUB].depth == 10
    await queue.enqueue(SUB, _event(10))
    assert (await queue.stats()).subscriptions[SUB].depth == 11  # fast scans: always afresh
    monkeypatch.setattr(sqlite_stats, "SLOW", 0.0)  # every scan counts as slow (a huge queue)
    monkeypatch.setattr(sqlite_stats, "REUSE", 1e9)
    assert (await queue.stats()).subscriptions[SUB].depth == 11
    await queue.enqueue(SUB, _event(11))
    assert (await queue.stats()).subscriptions[SUB].depth == 11  # reused, not counted again
    await queue.close()


async def test_stats_still_answer_after_the_file_is_deleted(tmp_path: Path) -> None:
    """As before the change: the open connection still reads the deleted file (writes are refused
    elsewhere, docs/delivery.md#storage-faults); the read-only side connection cannot open it."""
    path = tmp_path / "q.db"
    queue = await _filled(path, 3)
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")
    stats = await queue.stats()
    assert stats.subscriptions[SUB].depth == 3
    await queue.close()


def test_event_ids_are_time_ordered_unique_32_hex() -> None:
    ids = [QueuedEvent("t", b"{}", "T").id for _ in range(5_000)] + [event_id() for _ in range(5_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 and i == i.lower() for i in ids)
    clock = [i[:16] for i in ids]  # the nanosecond clock first: later events sort after earlier ones
    assert clock == sorted(clock)
