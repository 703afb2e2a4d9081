"""Logs kept and queryable: every line the Logger emits (the core's, every runner's stderr, every
handler's ctx.logger) goes to a LogStorage that GET /__motia/logs reads (docs/observability.md).

- ``LogStorage`` is the interface: ``append`` a batch, ``query`` newest first with filters and a
  cursor, ``close``. The embedded default is ``SqliteLogStorage`` (.motia/logs.db, 0600); the Redis
  backend keeps a capped stream (logstore_redis.py), so every instance serves every instance's logs.
- ``LogRecorder`` is the Logger's sink. On the emitting side it only appends the record to a bounded
  buffer (no I/O, no await); one task writes the buffer every ``interval`` seconds (``busy_interval``
  while ``BUSY_RATE`` lines a second or more come in; sooner when ``batch`` lines wait) as one
  ``append``. A full buffer drops the new line and counts it; a failed
  write drops its batch and counts it; either is logged at most once per ``LOG_EVERY`` seconds
  (the flush loop and the drop count are batching.py's, shared with the TraceRecorder).
- Retention: ``LogRetention`` (lines and age), enforced by each storage as it writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from motia_core.batching import LOG_EVERY, DropCount, FlushLoop
from motia_core.logs import Level, Logger, LogRecord
from motia_core.metrics import REGISTRY
from motia_core.sqlite import Database, open_db

LogDoc = dict[str, Any]  # one line as GET /__motia/logs answers it

FLUSH_INTERVAL = 0.1  # seconds between two writes of the buffer while lines come in slowly
# ... and while they come in at BUSY_RATE lines a second or more. While the event loop is busy each
# write costs ~0.9 ms of CPU whatever its size (the worker thread's round trip and its GIL hand-offs,
# a statement, a WAL commit), so at 200 lines/s batches of 20 cost ~65 µs a line and batches of 100
# ~31 (record_cost.py --rate 213 --work 300); nobody reads a live tail line by line at that rate
# (docs/performance.md, "Recording a log line")
BUSY_INTERVAL = 0.5
BUSY_RATE = 100.0
FLUSH_LINES = 500  # buffered lines that trigger a write before the interval ends
MAX_PENDING = 20_000  # lines held while a write is slow; past it new lines are dropped and counted
FLUSH_TIMEOUT = 5.0  # seconds one write may take before its batch is counted as lost
PRUNE_EVERY = 2_000  # lines written between two sweeps by count, at most
AGE_SWEEP_EVERY = 60.0  # seconds between two sweeps by age

LINES_NOT_RECORDED = REGISTRY.counter(
    "motia_log_lines_not_recorded_total",
    "Log lines the log store did not get (its buffer was full, or a write failed): /__motia/logs misses them",
)


@dataclass(frozen=True)
class LogRetention:
    """How much a log store keeps: at most `max_lines` lines, none older than `max_age` seconds."""

    max_lines: int = 100_000
    max_age: float = 7 * 24 * 3600.0

    def __post_init__(self) -> None:
        if self.max_lines < 1:
            raise ValueError(f"log retention: max_lines must be at least 1, got {self.max_lines}")
        if self.max_age <= 0:
            raise ValueError(f"log retention: max_age must be positive, got {self.max_age}")


@dataclass(frozen=True)
class LogQuery:
    """The filters of GET /__motia/logs. `level` is a minimum (warn: warn and error); `text` a
    case-insensitive substring of the message; `since`/`until` Unix ms, inclusive; `before` the
    cursor of the previous page (`next`)."""

    limit: int = 100
    level: Level | None = None
    step: str | None = None
    trace_id: str | None = None
    text: str | None = None
    since: int | None = None
    until: int | None = None
    before: str | None = None


@dataclass(frozen=True)
class LogPage:
    logs: list[LogDoc]
    next: str | None  # pass as `before` for the next (older) page; None: nothing older matches


class LogStorage(Protocol):
    async def append(self, records: Sequence[LogRecord]) -> list[str]:
        """Store the batch, oldest first; return each line's id. Raise StorageUnavailable (or any
        error) when it cannot: the recorder counts the batch as lost."""
        ...

    async def query(self, query: LogQuery) -> LogPage: ...

    async def close(self) -> None: ...


def log_doc(log_id: str, r: LogRecord) -> LogDoc:
    doc: LogDoc = {"id": log_id, "time": int(r.time * 1000), "level": r.level.name.lower(), "message": r.message}
    if r.step:
        doc["step"] = r.step
    if r.trace_id:
        doc["traceId"] = r.trace_id
    if r.language:
        doc["language"] = r.language
    doc["source"] = r.source
    if r.fields:
        doc["fields"] = r.fields
    return doc


def fields_json(r: LogRecord) -> bytes | None:
    return orjson.dumps(r.fields, default=str) if r.fields else None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    id        INTEGER PRIMARY KEY,
    time      INTEGER NOT NULL,
    level     INTEGER NOT NULL,
    message   TEXT NOT NULL,
    step      TEXT,
    trace_id  TEXT,
    language  TEXT,
    source    TEXT NOT NULL,
    fields    BLOB
);
DROP INDEX IF EXISTS logs_trace;
CREATE INDEX IF NOT EXISTS logs_trace_tail ON logs (substr(trace_id, instr(trace_id, '-') + 1))
    WHERE trace_id IS NOT NULL;
DROP INDEX IF EXISTS logs_time;
"""
# The trace id index is keyed by the id's part after its first dash: in Motia's ids
# (tracing.new_trace_id: 5 random letters, a dash, the time in ms) that part grows with time, so a new
# line lands at the index's end. Keyed by the whole id (random first letters) every line landed on a
# random page and each batch rewrote most of the index to the WAL: with 100k lines kept a line's write
# cost 4-5 times what it costs now (record_cost.py's store_append_us measures a store that full).
_TRACE_KEY = "substr(trace_id, instr(trace_id, '-') + 1)"


def _trace_key(trace_id: str) -> str:
    """What _TRACE_KEY computes in SQLite: the part after the first dash, or the whole id without one."""
    head, dash, tail = trace_id.partition("-")
    return tail if dash else head


_COLUMNS = "id, time, level, message, step, trace_id, language, source, fields"
_ROWS_PER_INSERT = 500  # 9 parameters a row: far below SQLite's 32766 per statement


@functools.lru_cache(maxsize=_ROWS_PER_INSERT)
def _insert_sql(rows: int) -> str:
    return f"INSERT INTO logs ({_COLUMNS}) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * rows)


def _insert(db: Database, first: int, records: Sequence[LogRecord]) -> None:
    """One INSERT of many rows: far cheaper than one per row. The rows are built here, on the worker
    thread: the event loop only handed the records over."""
    values = [
        v
        for i, r in enumerate(records, first)
        for v in (i, int(r.time * 1000), int(r.level), r.message, r.step, r.trace_id, r.language, r.source,
                  fields_json(r))
    ]  # fmt: skip
    db.execute(_insert_sql(len(records)), values)


class SqliteLogStorage:
    """.motia/logs.db: writes on a worker thread with their own connection (WAL: queries on the
    event loop's connection never wait for them). Ids are assigned here, one writer per file, so
    they are dense and retention by count is `id <= newest - max_lines`."""

    def __init__(self, path: Path, logger: Logger, retention: LogRetention | None = None) -> None:
        self.retention = retention or LogRetention()
        self._writer = open_db(path, _SCHEMA, contents="the kept log lines", refusing="log lines", logger=logger)
        self._reader: Database = open_db(path, _SCHEMA, contents="the kept log lines", logger=logger)
        row = self._writer.execute("SELECT MAX(id) FROM logs").fetchone()
        self._next_id = int(row[0] or 0) + 1
        self._since_prune = 0
        self._aged_at = 0.0
        self._prune()

    async def append(self, records: Sequence[LogRecord]) -> list[str]:
        first = self._next_id
        self._next_id += len(records)
        # the rows are made on the worker thread too: the event loop only hands the records over
        await asyncio.to_thread(self._write, first, records)
        return [str(first + i) for i in range(len(records))]

    def _write(self, first: int, records: Sequence[LogRecord]) -> None:
        db = self._writer
        db.ensure_present()
        every = min(PRUNE_EVERY, max(1, self.retention.max_lines // 10))  # at most 10 % over the bound
        prune = self._since_prune + len(records) >= every or time.monotonic() - self._aged_at >= AGE_SWEEP_EVERY
        if len(records) <= _ROWS_PER_INSERT and not prune:
            # one statement commits alone: a BEGIN and a COMMIT of their own would be two more
            # statements (each a GIL hand-off) for the same single WAL commit
            _insert(db, first, records)
            self._since_prune += len(records)
            return
        db.execute("BEGIN")
        try:
            for at in range(0, len(records), _ROWS_PER_INSERT):
                _insert(db, first + at, records[at : at + _ROWS_PER_INSERT])
            if prune:  # in the batch's transaction: one WAL commit, not a second one for the sweep
                self._prune()
            else:
                self._since_prune += len(records)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                db.execute("ROLLBACK")
            raise

    def _prune(self) -> None:
        """By count: a rowid range, cheap, every `every` lines. By age: a scan of the table (no time
        index: it would cost every insert more than this sweep costs), at most once a minute."""
        self._since_prune = 0
        self._writer.execute("DELETE FROM logs WHERE id <= ?", (self._next_id - 1 - self.retention.max_lines,))
        if time.monotonic() - self._aged_at >= AGE_SWEEP_EVERY:
            self._aged_at = time.monotonic()
            oldest = int((time.time() - self.retention.max_age) * 1000)
            self._writer.execute("DELETE FROM logs WHERE time < ?", (oldest,))

    async def query(self, query: LogQuery) -> LogPage:
        where: list[str] = []
        args: list[Any] = []
        if query.before is not None:
            where.append("id < ?")
            args.append(int(query.before.partition("-")[0]))  # a cursor is a number here
        if query.level is not None:
            where.append("level >= ?")
            args.append(int(query.level))
        if query.step is not None:
            where.append("step = ?")
            args.append(query.step)
        if query.trace_id is not None:
            # `+trace_id`: a plain `trace_id = ?` lets SQLite put the value into _TRACE_KEY, which then
            # no longer matches the index's expression, and it scans the table
            where.append(f"{_TRACE_KEY} = ? AND trace_id IS NOT NULL AND +trace_id = ?")
            args += [_trace_key(query.trace_id), query.trace_id]
        if query.text:
            escaped = query.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("message LIKE ? ESCAPE '\\'")  # LIKE is case-insensitive for ASCII
            args.append(f"%{escaped}%")
        if query.since is not None:
            where.append("time >= ?")
            args.append(query.since)
        if query.until is not None:
            where.append("time <= ?")
            args.append(query.until)
        sql = f"SELECT {_COLUMNS} FROM logs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        rows = self._reader.rows(sql, (*args, query.limit + 1))
        docs = [_row_doc(r) for r in rows[: query.limit]]
        return LogPage(docs, docs[-1]["id"] if len(rows) > query.limit else None)

    async def close(self) -> None:
        self._writer.close()
        self._reader.close()


def _row_doc(row: Any) -> LogDoc:
    log_id, ms, level, message, step, trace_id, language, source, fields = row
    record = LogRecord(Level(level), message, step, trace_id, language, source, orjson.loads(fields) if fields else {})
    doc = log_doc(str(log_id), record)
    doc["time"] = ms
    return doc


# told of each stored batch: (ids, records), so a listener that has nobody to tell builds nothing
LogListener = Callable[[list[str], list[LogRecord]], None]


class LogRecorder:
    """The Logger's sink (see the module docstring). `listeners` get each batch once it is stored
    (the live socket)."""

    def __init__(
        self,
        storage: LogStorage,
        logger: Logger,
        interval: float = FLUSH_INTERVAL,
        batch: int = FLUSH_LINES,
        max_pending: int = MAX_PENDING,
        busy_interval: float = BUSY_INTERVAL,
    ) -> None:
        self.storage = storage
        self._quiet_interval = interval
        self._busy_interval = max(interval, busy_interval)
        self._flushed_at = time.monotonic()
        self.batch = batch
        self.max_pending = max_pending
        self.listeners: list[LogListener] = []
        self.recorded = 0
        self._pending: deque[LogRecord] = deque()
        self._loop_thread = threading.get_ident()  # asyncio.Event.set belongs to the loop's thread
        self._loop = FlushLoop(self.flush, "log-recorder", interval)
        self._drops = DropCount(logger, LINES_NOT_RECORDED, _not_recorded, LOG_EVERY)

    @property
    def interval(self) -> float:
        return self._loop.interval

    @property
    def dropped(self) -> int:
        """Lines not recorded, in all."""
        return self._drops.total

    def __call__(self, record: LogRecord) -> None:
        """Called by Logger.emit on the caller's path: an append, nothing else."""
        if len(self._pending) >= self.max_pending:
            self._drops.drop(1, f"more than {self.max_pending} lines waiting for the log store")
            return
        self._pending.append(record)  # deque.append is thread-safe: a worker thread's line lands too
        if len(self._pending) >= self.batch and threading.get_ident() == self._loop_thread:
            self._loop.wake()  # another thread's line waits for the next interval instead

    def start(self) -> None:
        self._loop.start()

    async def flush(self) -> None:
        now = time.monotonic()
        rate = len(self._pending) / max(now - self._flushed_at, 1e-3)  # lines a second since the last flush
        self._flushed_at = now
        self._loop.interval = self._busy_interval if rate >= BUSY_RATE else self._quiet_interval
        if not self._pending:
            return
        batch = [self._pending.popleft() for _ in range(min(len(self._pending), self.max_pending))]
        try:
            ids = await asyncio.wait_for(self.storage.append(batch), FLUSH_TIMEOUT)
        except asyncio.CancelledError:
            self._drops.drop(len(batch), "the core stopped while they were being written")
            raise
        except Exception as exc:  # never the emitter's problem
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._drops.drop(len(batch), f"the log store failed ({reason})")
            return
        self.recorded += len(ids)
        for listener in list(self.listeners):
            listener(ids, batch)

    async def close(self, timeout: float = 1.0) -> None:
        """Write what is buffered (within `timeout` seconds) and stop."""
        if not await self._loop.stop(timeout, self._drain):
            self._drops.drop(len(self._pending), f"the last write took longer than {timeout:g}s at shutdown")
        self._drops.warn(force=True)

    async def _drain(self) -> None:
        while self._pending:
            before = len(self._pending)
            await self.flush()
            if len(self._pending) >= before:
                break


def _not_recorded(count: int, why: str, total: int) -> str:
    return f"{count} log line(s) were not recorded in the log store: {why}; /__motia/logs misses them ({total} in all)"
