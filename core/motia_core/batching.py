"""What LogRecorder (logstore.py) and TraceRecorder (tracing_recorder.py) share: both note changes on
the request path into a bounded buffer and write them from one task, in batches, off that path.

- ``FlushLoop``: the task. It calls ``flush`` every ``interval`` seconds, or as soon as ``wake`` is
  called (a batch's worth waits), and on ``stop`` lets the flush under way end, then drains what is
  left, all within a bounded wait: a stuck storage delays shutdown by that much, never more.
- ``DropCount``: what a recorder could not record (a full buffer, a failed or slow write), counted in
  all and in a metric, and logged as a warning at most once per ``every`` seconds (a storage that is
  down would otherwise log a warning per batch, and each warning is itself a line to record).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from motia_core.logs import Logger
from motia_core.metrics import Counter

LOG_EVERY = 60.0  # seconds between two warnings about what was not recorded

# (count since the last warning, why the latest was lost, count in all) -> the warning's text
Warning = Callable[[int, str, int], str]


class FlushLoop:
    def __init__(self, flush: Callable[[], Awaitable[None]], name: str, interval: float) -> None:
        self.interval = interval
        self.closing = False
        self._flush = flush
        self._name = name
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Flush now rather than at the end of the interval. The event loop's thread only."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def _run(self) -> None:
        while not self.closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            await self._flush()

    async def stop(self, timeout: float, drain: Callable[[], Awaitable[None]]) -> bool:
        """End the loop after the flush under way, then `drain` what is left; False when that took
        longer than `timeout` seconds (the caller counts what is still pending as lost)."""
        self.closing = True
        self._wake.set()

        async def last() -> None:
            if self._task is not None:
                await self._task  # it ends after the flush it is doing
            await drain()

        try:
            await asyncio.wait_for(last(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._task = None


class DropCount:
    def __init__(self, logger: Logger, metric: Counter, warning: Warning, every: float = LOG_EVERY) -> None:
        self.total = 0
        self._logger = logger
        self._metric = metric
        self._warning = warning
        self._every = every
        self._unlogged = 0  # since the last warning
        self._why = ""  # the reason of the latest
        self._last_warning = -every

    def drop(self, count: int, why: str) -> None:
        if count <= 0:
            return
        self.total += count
        self._metric.inc(amount=count)
        self._unlogged += count
        self._why = why
        self.warn()

    def warn(self, force: bool = False) -> None:
        """Log what was lost since the last warning, unless one was logged less than `every` s ago."""
        now = time.monotonic()
        if self._unlogged and (force or now - self._last_warning >= self._every):
            unlogged, self._unlogged = self._unlogged, 0  # first: a log recorder's warning comes back to it
            self._last_warning = now
            self._logger.warn(self._warning(unlogged, self._why, self.total), dropped=unlogged)
