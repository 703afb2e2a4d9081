"""One way to open the embedded SQLite databases under .motia/ (state, queue, stream items), and to
keep their faults loud (docs/delivery.md#storage-faults).

WAL with synchronous=NORMAL: a committed transaction survives a crash of the core (only an OS crash
can lose the last ones), readers never block the writer, and commits cost no fsync. Autocommit mode
(isolation_level=None): each statement commits unless wrapped in an explicit BEGIN.

Faults:
- at open, a file that is not a SQLite database, is damaged, or cannot be created raises
  StorageError naming the file and what to do (the CLI prints it and exits 2);
- a new database file is created 0600 (SQLite gives its -wal and -shm files the same mode);
- `ensure_present()`, called before every write that accepts new data, compares the file's
  (device, inode) with the one opened: a database deleted or replaced under a running core keeps
  working through the open descriptor, so without this check new events would be accepted into a
  file that is gone. One stat of the database per write (~4 µs, against ~170 µs for an enqueue);
  the -wal and -shm files are compared at most once a second;
- a statement that fails in SQLite (disk full, I/O error, damaged page, locked past the busy
  timeout) raises StorageUnavailable naming the file; the same failure is logged at most once a
  minute (a full disk fails every write, and a read in between may well succeed).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from motia_core.errors import StorageError, StorageUnavailable
from motia_core.logs import Logger

COMPANION_CHECK_INTERVAL = 1.0  # seconds between checks of the -wal and -shm files
REPEAT_LOG_AFTER = 60.0  # seconds before the same statement failure is logged again
_COMPANIONS = ("-wal", "-shm")
Identity = tuple[int, int] | None  # (st_dev, st_ino), None when the path does not exist


class Database:
    """A SQLite connection that knows which file it opened and reports what goes wrong with it."""

    def __init__(
        self,
        path: Path,
        schema: str,
        contents: str = "its data",
        refusing: str = "writes",
        logger: Logger | None = None,
    ) -> None:
        """`contents` says what the file holds ("your events"), `refusing` what a lost file refuses
        ("new events"); both go into the error messages."""
        self.path = path
        self._where = os.fspath(path)  # a str: os.stat on it is cheaper than on a Path, once per write
        self._refusing = refusing
        self._logger = logger
        self._conn = _connect(path, schema, contents)
        self._identity = _identity(path)
        self._companions = {suffix: _identity(_sibling(path, suffix)) for suffix in _COMPANIONS}
        self._companions_due = time.monotonic() + COMPANION_CHECK_INTERVAL
        self._gone: str | None = None  # why writes are refused for good (the file was lost)
        self._logged: dict[str, float] = {}  # failure message -> when it was last logged

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        try:
            cursor = self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            if not _is_storage_fault(exc):
                raise
            raise self._failed(exc) from exc
        return cursor

    def rows(self, sql: str, params: Any = ()) -> list[Any]:
        """Execute and fetch every row. For a write with RETURNING, use this rather than
        execute().fetch...(): the statement commits on its last step, inside fetchall, and a
        failure there must be translated like any other."""
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            if not _is_storage_fault(exc):
                raise
            raise self._failed(exc) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT around the block's statements; rolled back if the block or the
        COMMIT itself fails (a failed COMMIT, busy or full, can leave the transaction open)."""
        self.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:  # SQLite rolls back by itself after some failures (a full disk)
                self.execute("ROLLBACK")
            raise

    def ensure_present(self) -> None:
        """Raise StorageUnavailable if the database file (or its -wal/-shm) is no longer the one this
        connection opened: new data written now would land in a file nobody will ever open again."""
        if self._gone is not None:
            raise StorageUnavailable(self._gone)
        current = _identity(self._where)
        if current != self._identity:
            self._lose(self.path, self._identity, current)
        now = time.monotonic()
        if now >= self._companions_due:
            self._companions_due = now + COMPANION_CHECK_INTERVAL
            for suffix, opened in self._companions.items():
                companion = _sibling(self.path, suffix)
                current = _identity(companion)
                if opened is None:  # not there at open: SQLite creates it on demand
                    self._companions[suffix] = current
                elif current != opened:
                    self._lose(companion, opened, current)

    def close(self) -> None:
        self._conn.close()

    def _lose(self, path: Path, opened: Identity, current: Identity) -> None:
        before = opened[1] if opened else "none"
        after = current[1] if current else "none"
        self._gone = (
            f"{path} was deleted or replaced while the core was running (inode {before} → {after}); "
            f"refusing {self._refusing} so none is accepted into a file that is gone; "
            "restart the core to recreate it"
        )
        if self._logger is not None:
            self._logger.error(self._gone, file=str(path))
        raise StorageUnavailable(self._gone)

    def _failed(self, exc: sqlite3.Error) -> StorageUnavailable:
        name = str(getattr(exc, "sqlite_errorname", ""))
        hint = {
            "SQLITE_FULL": "the disk is full: free some space",
            "SQLITE_CORRUPT": "the file is damaged: stop the core, move the file aside and start again",
            "SQLITE_NOTADB": "the file is no longer a SQLite database: stop the core, move it aside and start again",
            "SQLITE_BUSY": "another process holds a lock on it",
            "SQLITE_READONLY": f"make {self.path.parent} and its files writable by the core's user",
        }.get(_primary(name), "check the disk and the file")
        message = f"{self.path}: {exc} ({hint})"
        now = time.monotonic()
        if now - self._logged.get(message, -REPEAT_LOG_AFTER) >= REPEAT_LOG_AFTER:
            if len(self._logged) > 64:
                self._logged.clear()
            self._logged[message] = now
            if self._logger is not None:
                self._logger.error(message, file=str(self.path))
        return StorageUnavailable(message)


def open_db(
    path: Path,
    schema: str,
    contents: str = "its data",
    refusing: str = "writes",
    logger: Logger | None = None,
) -> Database:
    return Database(path, schema, contents, refusing, logger)


def _connect(path: Path, schema: str, contents: str) -> sqlite3.Connection:
    cannot_write = f"{path.parent} must be a folder the core's user can write to"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and not path.is_file():
            raise StorageError(f"{path} is not a file; move it aside and start again to create the database")
        # created here, 0600, rather than by SQLite (0644 less the umask): it holds the project's data
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StorageError(f"cannot create {path} ({exc.strerror or exc}): {cannot_write}") from exc
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open {path} ({exc}): {cannot_write}") from exc
    try:
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(schema)
    except sqlite3.Error as exc:
        db.close()
        raise StorageError(_open_failure(path, exc, contents, cannot_write)) from exc
    return db


def _open_failure(path: Path, exc: sqlite3.Error, contents: str, cannot_write: str) -> str:
    name = _primary(str(getattr(exc, "sqlite_errorname", "")))
    aside = f"move it aside ({contents} are in it) and start again to create a new one"
    if name == "SQLITE_NOTADB":
        return f"{path} is not a SQLite database ({exc}); {aside}"
    if name == "SQLITE_CORRUPT":
        return f"{path} is damaged ({exc}); {aside} (`sqlite3 {path} .recover` may save what it holds)"
    if name == "SQLITE_BUSY":
        return f"{path} is locked by another process ({exc}); stop it (another motia-core serving this project?)"
    return f"cannot open {path} ({exc}): {cannot_write}, on a disk with free space"


_FAULTS = (
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
    "SQLITE_BUSY",
    "SQLITE_READONLY",
    "SQLITE_CANTOPEN",
    "SQLITE_PERM",
    "SQLITE_LOCKED",
)


def _is_storage_fault(exc: sqlite3.Error) -> bool:
    """Errors of the file or the disk (extended codes included: SQLITE_IOERR_WRITE...), not of the
    statement (a constraint, a syntax error, a missing table)."""
    name = getattr(exc, "sqlite_errorname", "")
    return isinstance(name, str) and name.startswith(_FAULTS)


def _primary(name: str) -> str:
    """SQLITE_IOERR_WRITE -> SQLITE_IOERR: the primary result code of an extended one."""
    return "_".join(name.split("_", 2)[:2])


def _identity(path: str | Path) -> Identity:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)
