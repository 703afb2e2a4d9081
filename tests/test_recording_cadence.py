"""How often the log store is written (issue 15, "Recording a log line" in docs/performance.md): every
100 ms while lines come in slowly, every 500 ms while they come in fast (each write has a fixed
cost whatever its size); a sweep by count rides in its batch's transaction and the store still keeps
its bound; a core stopped under load still keeps every line it logged."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import pytest

from motia_core.logs import Level, Logger, LogRecord
from motia_core.logstore import (
    BUSY_INTERVAL,
    BUSY_RATE,
    FLUSH_INTERVAL,
    LogQuery,
    LogRecorder,
    LogRetention,
    SqliteLogStorage,
)
from tests.conftest import CoreProcess, copy_fixture


class _Kept:
    """A storage that keeps each batch's size (below the LogStorage interface: no I/O)."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    async def append(self, records: Sequence[LogRecord]) -> list[str]:
        self.batches.append(len(records))
        return [str(i) for i in range(len(records))]

    async def query(self, query: LogQuery) -> object:
        raise NotImplementedError

    async def close(self) -> None:
        pass


async def test_the_recorder_writes_less_often_while_lines_come_fast() -> None:
    logger = Logger(fmt="json", stream=io.StringIO())
    storage = _Kept()
    recorder = LogRecorder(storage, logger)  # type: ignore[arg-type]
    logger.sinks.append(recorder)  # not started: the test calls flush itself
    assert recorder.interval == FLUSH_INTERVAL
    lines = 6000  # far more than BUSY_RATE lines a second, however slow this machine is
    assert lines / 30 > BUSY_RATE
    for n in range(lines):
        logger.info(f"busy {n}")
    await recorder.flush()
    assert storage.batches == [lines]
    assert recorder.interval == BUSY_INTERVAL  # the next batch gathers for longer
    logger.info("one line, then quiet")
    await asyncio.sleep(0.05)  # at most 20 lines a second since the last flush: below BUSY_RATE
    await recorder.flush()
    assert storage.batches == [lines, 1]
    assert recorder.interval == FLUSH_INTERVAL  # back to the short wait: someone may be watching
    await recorder.flush()  # nothing waiting: nothing written, still the short wait
    assert storage.batches == [lines, 1]
    assert recorder.interval == FLUSH_INTERVAL
    # an interval longer than the busy one is kept as it is
    assert LogRecorder(storage, logger, interval=2.0)._busy_interval == 2.0  # type: ignore[arg-type]


def _line(n: int) -> LogRecord:
    return LogRecord(Level.INFO, f"line {n}", "Step", f"ABCDE-{n}", "python", "step", {"n": n})


async def test_a_sweep_in_the_batch_transaction_keeps_the_bound_and_every_newest_line(tmp_path: Path) -> None:
    storage = SqliteLogStorage(tmp_path / "logs.db", Logger(stream=io.StringIO()), LogRetention(max_lines=100))
    written = 0
    # batches below the sweep's cadence (10 lines here), at it, over it, and over one INSERT's 500 rows
    for size in (7, 2, 13, 1, 250, 600, 3, 9, 1):
        await storage.append([_line(written + i) for i in range(size)])
        written += size
        rows = storage._reader.rows("SELECT id, fields FROM logs ORDER BY id")
        assert 100 <= len(rows) <= 110 or len(rows) == written, (size, len(rows))  # at most 10 % over
        assert rows[-1][0] == written  # the newest line is always kept
        assert [r[0] for r in rows] == list(range(written - len(rows) + 1, written + 1))  # dense, oldest gone
    page = await storage.query(LogQuery(limit=3))
    assert [d["fields"]["n"] for d in page.logs] == [written - 1, written - 2, written - 3]
    await storage.close()


async def test_a_failed_batch_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    storage = SqliteLogStorage(tmp_path / "logs.db", Logger(stream=io.StringIO()), LogRetention(max_lines=100))
    await storage.append([_line(n) for n in range(95)])
    bad = _line(95)
    bad.message = None  # type: ignore[assignment]  # NOT NULL: the INSERT fails
    for size in (5, 40, 700):  # one statement alone; with the sweep in its transaction; several INSERTs
        with pytest.raises(sqlite3.IntegrityError):
            await storage.append([_line(95 + i) for i in range(size - 1)] + [bad])
        rows = storage._reader.rows("SELECT COUNT(*), MIN(id), MAX(id) FROM logs")
        assert rows[0] == (95, 1, 95), size  # nothing of the batch, and no sweep either
    await storage.append([_line(95)])
    assert (await storage.query(LogQuery(limit=1))).logs[0]["message"] == "line 95"
    await storage.close()


@pytest.mark.timeout(120)
async def test_a_core_stopped_under_load_keeps_every_line_it_logged(tmp_path: Path) -> None:
    """Lines wait up to BUSY_INTERVAL for their write under load: a stop writes them all first."""
    core = CoreProcess(copy_fixture("rec_parity", tmp_path))
    try:
        core.wait_ready()
        gate = asyncio.Semaphore(16)

        async def one(session: aiohttp.ClientSession) -> None:
            async with gate, session.get(f"{core.url}/rec/py") as resp:
                assert resp.status == 200, await resp.text()

        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(one(session) for _ in range(300)))
    finally:
        assert core.stop() == 0, core.output()
    db = sqlite3.connect(tmp_path / "rec_parity" / ".motia" / "logs.db")
    try:
        kept = db.execute("SELECT COUNT(*) FROM logs WHERE step = 'RecPy' AND message = 'rec line'").fetchone()[0]
    finally:
        db.close()
    assert kept == 300, core.output()
