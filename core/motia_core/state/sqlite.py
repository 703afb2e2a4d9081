"""The embedded default state store: SQLite in WAL mode under the project's .motia/.

Calls run on the event loop thread: each statement is a few microseconds against the page cache,
cheaper than a hop to a worker thread. WAL with synchronous=NORMAL keeps every committed write
across a process crash (only an OS crash can lose the last transactions).
"""

from __future__ import annotations

import time
from pathlib import Path

from motia_core.logs import Logger
from motia_core.sqlite import open_db

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    group_id   TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (group_id, key)
);
"""


class SqliteStateStore:
    def __init__(self, path: Path, logger: Logger | None = None) -> None:
        self.path = path
        self._db = open_db(
            path, _SCHEMA, contents="your state and stream items", refusing="state writes", logger=logger
        )

    async def get(self, group_id: str, key: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM state WHERE group_id=? AND key=?", (group_id, key)).fetchone()
        return bytes(row[0]) if row else None

    async def set(self, group_id: str, key: str, value_json: bytes) -> None:
        self._db.ensure_present()  # a state.db deleted or replaced under us: refuse, never write into it
        now = time.time()
        self._db.execute(
            "INSERT INTO state (group_id, key, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(group_id, key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
            (group_id, key, value_json, now, now),
        )

    async def delete(self, group_id: str, key: str) -> bytes | None:
        self._db.ensure_present()
        rows = self._db.rows("DELETE FROM state WHERE group_id=? AND key=? RETURNING value", (group_id, key))
        return bytes(rows[0][0]) if rows else None

    async def get_group(self, group_id: str) -> list[bytes]:
        rows = self._db.execute(
            "SELECT value FROM state WHERE group_id=? ORDER BY created_at, rowid", (group_id,)
        ).fetchall()
        return [bytes(r[0]) for r in rows]

    async def items(self, group_id: str) -> list[tuple[str, bytes]]:
        rows = self._db.execute(
            "SELECT key, value FROM state WHERE group_id=? ORDER BY created_at, rowid", (group_id,)
        ).fetchall()
        return [(str(r[0]), bytes(r[1])) for r in rows]

    async def clear(self, group_id: str) -> None:
        self._db.ensure_present()
        self._db.execute("DELETE FROM state WHERE group_id=?", (group_id,))

    async def groups(self) -> list[str]:
        return [str(r[0]) for r in self._db.execute("SELECT DISTINCT group_id FROM state ORDER BY group_id")]

    async def close(self) -> None:
        self._db.close()
