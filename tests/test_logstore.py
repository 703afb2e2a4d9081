"""The log store (logstore.py, logstore_redis.py): one contract for SQLite and Redis (filters, paging,
retention), and the recorder that feeds it from the Logger without ever blocking the emitter."""

from __future__ import annotations

import asyncio
import io
import os
import stat
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from motia_core.logs import Level, Logger, LogRecord
from motia_core.logstore import LogDoc, LogQuery, LogRecorder, LogRetention, LogStorage, SqliteLogStorage
from motia_core.logstore_redis import RedisLogStorage
from tests.redis_server import RedisServer


@dataclass
class Store:
    name: str
    make: Callable[[LogRetention], LogStorage]


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    clients: list[aioredis.Redis] = []
    if request.param == "sqlite":
        yield Store("sqlite", lambda r: SqliteLogStorage(tmp_path / "logs.db", Logger(stream=io.StringIO()), r))
    else:
        server: RedisServer = request.getfixturevalue("redis_server")

        def make(retention: LogRetention) -> LogStorage:
            clients.append(aioredis.Redis.from_url(server.url))
            return RedisLogStorage(clients[-1], "logtest", server.url, retention)

        yield Store("redis", make)
    for client in clients:
        await client.aclose()


def _record(n: int, level: Level = Level.INFO, step: str | None = None, trace: str | None = None) -> LogRecord:
    return LogRecord(level, f"line {n} of the Test", step, trace, "python" if step else None, fields={"n": n})


async def _all(storage: LogStorage, query: LogQuery) -> list[LogDoc]:
    """Every page, following `next`."""
    out: list[LogDoc] = []
    before: str | None = None
    for _ in range(1000):
        page = await storage.query(LogQuery(**{**query.__dict__, "before": before}))
        out += page.logs
        if page.next is None:
            return out
        before = page.next
    raise AssertionError("paging never ended")


async def test_filters_and_paging_newest_first(store: Store) -> None:
    storage = store.make(LogRetention())
    records = [_record(n, Level.ERROR if n % 5 == 0 else Level.INFO, f"step{n % 3}", f"T{n % 2}") for n in range(1, 31)]
    ids = await storage.append(records)
    assert len(set(ids)) == 30
    page = await storage.query(LogQuery(limit=7))
    assert [d["id"] for d in page.logs] == ids[::-1][:7]  # the ids append answered
    assert [d["fields"]["n"] for d in page.logs] == list(range(30, 23, -1))  # newest first
    assert page.next == page.logs[-1]["id"]
    every = await _all(storage, LogQuery(limit=7))
    assert [d["fields"]["n"] for d in every] == list(range(30, 0, -1))  # pages neither skip nor repeat
    errors = await _all(storage, LogQuery(limit=4, level=Level.WARN))
    assert [d["fields"]["n"] for d in errors] == [30, 25, 20, 15, 10, 5]
    one = await _all(storage, LogQuery(step="step1", trace_id="T0"))
    assert [d["fields"]["n"] for d in one] == [28, 22, 16, 10, 4]
    assert one[0] | {"id": "x", "time": 0} == {
        "id": "x",
        "time": 0,
        "level": "info",
        "message": "line 28 of the Test",
        "step": "step1",
        "traceId": "T0",
        "language": "python",
        "source": "core",
        "fields": {"n": 28},
    }
    text = await _all(storage, LogQuery(text="LINE 1"))  # case-insensitive substring
    assert sorted(d["fields"]["n"] for d in text) == [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    literal = await _all(storage, LogQuery(text="%"))  # no wildcard: a literal percent sign
    assert literal == []
    await storage.close()


async def test_time_range_is_inclusive(store: Store) -> None:
    storage = store.make(LogRetention())
    now = time.time()
    records = [_record(n) for n in range(5)]
    for n, r in enumerate(records):
        r.time = now - 10 + n  # one a second, ten seconds ago
    await storage.append(records)
    since, until = int((now - 9) * 1000), int((now - 7) * 1000)
    found = await _all(storage, LogQuery(since=since, until=until))
    assert [d["fields"]["n"] for d in found] == [3, 2, 1]
    await storage.close()


async def test_retention_by_count_and_by_age(store: Store) -> None:
    storage = store.make(LogRetention(max_lines=100, max_age=3600))
    for chunk in range(10):
        await storage.append([_record(chunk * 100 + n) for n in range(100)])
    kept = await _all(storage, LogQuery(limit=1000))
    # SQLite sweeps every max_lines / 10 lines; Redis trims whole stream nodes (MAXLEN ~): about that many
    assert kept[0]["fields"]["n"] == 999
    assert 100 <= len(kept) <= (110 if store.name == "sqlite" else 300)
    assert [d["fields"]["n"] for d in kept] == list(range(999, 999 - len(kept), -1))
    await storage.close()

    aged = store.make(LogRetention(max_lines=1000, max_age=60))
    if isinstance(aged, RedisLogStorage):  # the same stream or file as above: start it empty
        await aged._r.delete(aged.key)
    elif isinstance(aged, SqliteLogStorage):
        aged._writer.execute("DELETE FROM logs")
    old = [_record(n) for n in range(3)]
    for r in old:
        r.time = time.time() - 3600  # an hour old: past a one-minute retention
    if isinstance(aged, SqliteLogStorage):
        await aged.append(old)
        aged._aged_at = 0.0  # the minute between two sweeps by age has passed
        aged._prune()
        assert await _all(aged, LogQuery()) == []
    else:  # Redis ids are arrival times: age is judged by arrival, so trim from an hour ahead
        await aged.append(old)
        await aged._r.xtrim(aged.key, minid=str(int((time.time() + 1) * 1000)))
        assert await _all(aged, LogQuery()) == []
    await aged.close()


async def test_sqlite_file_is_private_and_ids_continue_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    logger = Logger(stream=io.StringIO())
    first = SqliteLogStorage(path, logger)
    ids = await first.append([_record(1), _record(2)])
    await first.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    second = SqliteLogStorage(path, logger)
    more = await second.append([_record(3)])
    assert int(more[0]) > int(ids[-1])
    assert [d["fields"]["n"] for d in (await second.query(LogQuery())).logs] == [3, 2, 1]
    await second.close()


class _Slow:
    """A storage that takes its time: the emitter must never wait for it."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.batches: list[int] = []

    async def append(self, records: list[LogRecord]) -> list[str]:
        await asyncio.sleep(self.delay)
        self.batches.append(len(records))
        return [str(i) for i in range(len(records))]

    async def query(self, query: LogQuery) -> object:
        raise NotImplementedError

    async def close(self) -> None:
        pass


async def test_recorder_batches_never_blocks_and_counts_what_it_drops() -> None:
    out = io.StringIO()
    logger = Logger(fmt="json", stream=out)
    slow = _Slow(0.5)
    recorder = LogRecorder(slow, logger, interval=0.05, batch=100, max_pending=1000)  # type: ignore[arg-type]
    seen: list[int] = []
    recorder.listeners.append(lambda ids, records: seen.append(len(ids)))
    logger.sinks.append(recorder)
    recorder.start()
    started = time.perf_counter()
    for n in range(3000):
        logger.info(f"burst {n}")
    spent = time.perf_counter() - started
    assert spent < 2.0, f"3000 lines took {spent:.2f}s to emit: the emitter waited"  # generous bound
    assert recorder.dropped >= 1000  # a 1000-line buffer cannot hold a 3000-line burst
    await recorder.close(timeout=5.0)
    assert sum(slow.batches) + recorder.dropped >= 3000
    assert max(slow.batches) > 1  # written in batches, not line by line
    assert sum(seen) == sum(slow.batches)  # the live listeners got each stored batch
    assert "were not recorded in the log store" in out.getvalue()


async def test_recorder_drops_a_failed_batch_and_keeps_going() -> None:
    class Failing(_Slow):
        fail = True

        async def append(self, records: list[LogRecord]) -> list[str]:
            if self.fail:
                self.fail = False
                raise OSError("disk on fire")
            return await super().append(records)

    out = io.StringIO()
    logger = Logger(fmt="json", stream=out)
    storage = Failing(0.0)
    recorder = LogRecorder(storage, logger, interval=0.02)  # type: ignore[arg-type]
    logger.sinks.append(recorder)
    recorder.start()
    logger.info("lost")
    deadline = time.monotonic() + 5
    while recorder.dropped == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    logger.info("kept")
    await recorder.close(timeout=5.0)
    assert recorder.dropped == 1
    assert "disk on fire" in out.getvalue()
    assert sum(storage.batches) >= 1  # "kept" (and the warning about "lost") were written
