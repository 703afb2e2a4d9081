"""The SQLite log store's trace id index: found by every trace id, used by the query, cheap to write
(docs/observability.md#what-recording-costs)."""

from __future__ import annotations

import io
import sqlite3
import time
from pathlib import Path

from motia_core.logs import Level, Logger, LogRecord
from motia_core.logstore import LogQuery, LogRetention, SqliteLogStorage
from motia_core.tracing import new_trace_id


def _storage(path: Path, max_lines: int = 100_000) -> SqliteLogStorage:
    return SqliteLogStorage(path, Logger(stream=io.StringIO()), LogRetention(max_lines=max_lines))


def _line(trace_id: str | None, message: str = "handled", level: Level = Level.INFO) -> LogRecord:
    return LogRecord(level, message, "Step", trace_id, "python", "step", {"n": 1})


async def test_every_trace_id_shape_finds_its_lines_and_only_them(tmp_path: Path) -> None:
    # Motia's ids, two of them ending alike (the same millisecond), ids with no dash, several dashes,
    # a dash at the end, and a W3C-like hex id: the index is keyed by the part after the first dash
    ids = ["ABCDE-1234567", "XYZ12-1234567", "nodash", "a-b-c", "b-c", "ends-", "-", "4bf92f3577b34da6a3ce929d0e0e4736"]
    storage = _storage(tmp_path / "logs.db")
    await storage.append([_line(t, f"line of {t}") for t in ids for _ in range(2)] + [_line(None, "no trace")])
    for trace_id in ids:
        page = await storage.query(LogQuery(trace_id=trace_id))
        assert [d["message"] for d in page.logs] == [f"line of {trace_id}"] * 2, trace_id
        assert all(d["traceId"] == trace_id for d in page.logs)
    assert (await storage.query(LogQuery(trace_id="ZZZZZ-1234567"))).logs == []
    await storage.close()


async def test_a_trace_id_query_searches_the_index_with_every_other_filter(tmp_path: Path) -> None:
    storage = _storage(tmp_path / "logs.db")
    await storage.append([_line(new_trace_id()) for _ in range(200)])
    plans: list[str] = []
    rows = storage._reader.rows

    def explained(sql: str, params: object = ()) -> list[object]:
        plans.append(" ".join(str(r[-1]) for r in rows("EXPLAIN QUERY PLAN " + sql, params)))
        return rows(sql, params)

    storage._reader.rows = explained  # type: ignore[method-assign]
    trace_id = new_trace_id()
    for query in (
        LogQuery(trace_id=trace_id),
        LogQuery(trace_id=trace_id, level=Level.WARN, step="Step", text="hand", since=1, until=2**40),
        LogQuery(trace_id=trace_id, before="150", limit=10),
    ):
        await storage.query(query)
    assert len(plans) == 3
    for plan in plans:
        assert "USING INDEX logs_trace_tail" in plan, plan  # a SCAN would read every line kept
    await storage.close()


async def test_a_batch_writes_few_pages_however_many_lines_are_kept(tmp_path: Path) -> None:
    """The cost that mattered (record_cost.py's steady state): with the whole trace id as the key,
    each of 500 new lines landed on a random index page, and a batch into a store of 20k lines wrote
    ~130 pages to the WAL (~18 with 2k lines). Keyed by the time part, a batch appends: the same ~18
    pages whatever the store holds. Counted in WAL frames, not timed."""
    storage = _storage(tmp_path / "logs.db", max_lines=1_000_000)
    for _ in range(40):
        await storage.append([_line(new_trace_id()) for _ in range(500)])
    frames = []
    for _ in range(3):
        storage._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await storage.append([_line(new_trace_id()) for _ in range(500)])
        frames.append(storage._writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    assert max(frames) <= 40, f"a 500-line batch into 20k lines wrote {frames} pages"
    await storage.close()


async def test_a_store_with_the_old_index_is_moved_to_the_new_one(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE logs (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, level INTEGER NOT NULL,
            message TEXT NOT NULL, step TEXT, trace_id TEXT, language TEXT, source TEXT NOT NULL, fields BLOB);
        CREATE INDEX logs_trace ON logs (trace_id) WHERE trace_id IS NOT NULL;
        """
    )
    old.execute(  # now, not long ago: the age bound would sweep it
        "INSERT INTO logs VALUES (7, ?, 20, 'kept from before', 'Step', 'ABCDE-1234567', 'python', 'step', NULL)",
        (int(time.time() * 1000),),
    )
    old.commit()
    old.close()
    storage = _storage(path)
    indexes = {r[0] for r in storage._reader.rows("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert indexes == {"logs_trace_tail"}
    page = await storage.query(LogQuery(trace_id="ABCDE-1234567"))
    assert [(d["id"], d["message"]) for d in page.logs] == [("7", "kept from before")]
    assert (await storage.append([_line("ABCDE-1234567")])) == ["8"]
    await storage.close()
