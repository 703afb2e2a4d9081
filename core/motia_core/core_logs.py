"""The log lines a serving core keeps for /__motia/logs: where they are stored and who records them.

`serve` opens them first, so that the start-up lines are kept too; `steps` and `dlq` build a core
without them. The storage is the backend's (Redis) or .motia/logs.db; unless --no-record, a
LogRecorder (logstore.py) takes every line from the logger and tells the live socket.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from motia_core.logs import Logger
from motia_core.logstore import LogListener, LogRecorder, LogRetention, LogStorage, SqliteLogStorage


def open_logs(
    storage: LogStorage | None,
    project_dir: Path,
    logger: Logger,
    retention: LogRetention,
    record: bool,
    recorded: LogListener,
) -> tuple[LogStorage, LogRecorder | None]:
    """The storage (the backend's, else .motia/logs.db) and, when `record`, its started recorder."""
    from motia_core.project import motia_dir

    if storage is None:  # the embedded default, and a third-party backend that keeps none
        path = motia_dir(project_dir, logger) / "logs.db"
        storage = SqliteLogStorage(path, logger, retention)
    if not record:
        return storage, None
    recorder = LogRecorder(storage, logger)
    recorder.listeners.append(recorded)
    logger.sinks.append(recorder)
    recorder.start()
    return storage, recorder


async def close_logs(recorder: LogRecorder | None, storage: LogStorage | None, logger: Logger, wait: float) -> None:
    """The last lines, within a bounded wait, then the storage."""
    if recorder is not None:
        await recorder.close(wait)
        with contextlib.suppress(ValueError):
            logger.sinks.remove(recorder)
    if storage is not None:
        await storage.close()
