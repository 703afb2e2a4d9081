"""Where stream items live. Items are JSON objects stored as the bytes the core encoded once
(``{...data, "id": id}``); reads return them unchanged.

The embedded default is a table of its own in ``.motia/state.db`` (SQLite, WAL), so items survive
restarts like state does. Statements run on the event loop thread: each is a few microseconds
against the page cache, cheaper than a hop to a worker thread.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from motia_core.logs import Logger
from motia_core.sqlite import open_db

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stream_items (
    stream     TEXT NOT NULL,
    group_id   TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    value      BLOB NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (stream, group_id, item_id)
);
"""


class StreamStore(Protocol):
    async def get(self, stream: str, group_id: str, item_id: str) -> bytes | None: ...

    async def set(self, stream: str, group_id: str, item_id: str, item_json: bytes) -> bool:
        """Create or replace an item; True when it was created."""
        ...

    async def delete(self, stream: str, group_id: str, item_id: str) -> bytes | None:
        """Remove an item; return it."""
        ...

    async def get_group(self, stream: str, group_id: str) -> list[bytes]:
        """The group's items, in the order they were created."""
        ...

    async def groups(self, stream: str) -> list[str]: ...

    async def close(self) -> None: ...


class SqliteStreamStore:
    def __init__(self, path: Path, logger: Logger | None = None) -> None:
        self.path = path
        self._db = open_db(
            path, _SCHEMA, contents="your state and stream items", refusing="stream item writes", logger=logger
        )

    async def get(self, stream: str, group_id: str, item_id: str) -> bytes | None:
        row = self._db.execute(
            "SELECT value FROM stream_items WHERE stream=? AND group_id=? AND item_id=?", (stream, group_id, item_id)
        ).fetchone()
        return bytes(row[0]) if row else None

    async def set(self, stream: str, group_id: str, item_id: str, item_json: bytes) -> bool:
        self._db.ensure_present()  # a state.db deleted or replaced under us: refuse, never write into it
        now = time.time()
        cursor = self._db.execute(
            "UPDATE stream_items SET value=?, updated_at=? WHERE stream=? AND group_id=? AND item_id=?",
            (item_json, now, stream, group_id, item_id),
        )
        if cursor.rowcount:
            return False
        self._db.execute(
            "INSERT INTO stream_items (stream, group_id, item_id, value, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (stream, group_id, item_id, item_json, now, now),
        )
        return True

    async def delete(self, stream: str, group_id: str, item_id: str) -> bytes | None:
        self._db.ensure_present()
        rows = self._db.rows(
            "DELETE FROM stream_items WHERE stream=? AND group_id=? AND item_id=? RETURNING value",
            (stream, group_id, item_id),
        )
        return bytes(rows[0][0]) if rows else None

    async def get_group(self, stream: str, group_id: str) -> list[bytes]:
        # rowid grows with every insert and an update keeps it: creation order, ties impossible
        rows = self._db.execute(
            "SELECT value FROM stream_items WHERE stream=? AND group_id=? ORDER BY rowid", (stream, group_id)
        ).fetchall()
        return [bytes(r[0]) for r in rows]

    async def groups(self, stream: str) -> list[str]:
        rows = self._db.execute(
            "SELECT DISTINCT group_id FROM stream_items WHERE stream=? ORDER BY group_id", (stream,)
        ).fetchall()
        return [str(r[0]) for r in rows]

    async def close(self) -> None:
        self._db.close()
