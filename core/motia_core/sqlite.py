"""One way to open the embedded SQLite databases under .motia/ (state, queue, stream items).

WAL with synchronous=NORMAL: a committed transaction survives a crash of the core (only an OS crash
can lose the last ones), readers never block the writer, and commits cost no fsync. Autocommit mode
(isolation_level=None): each statement commits unless wrapped in an explicit BEGIN.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_db(path: Path, schema: str) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(schema)
    return db
