"""Pieces of the Redis queue (queue/redis.py) that are not the queue itself: batching of fates,
outage bookkeeping, decoding of replies and dead letters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
import redis.commands.core
import redis.exceptions as rex

from motia_core.logs import Logger
from motia_core.queue.base import DeadLetter, QueuedEvent

# what "Redis cannot be reached or answer" looks like; a script error (a bug) is not among them
UNREACHABLE = (rex.ConnectionError, rex.TimeoutError, rex.BusyLoadingError, rex.ReadOnlyError, OSError)


class FateBatcher:
    """Writes the fates of deliveries through one script; all the ones asked for in the same loop
    tick share one pipeline."""

    def __init__(
        self, client: aioredis.Redis, script: redis.commands.core.AsyncScript, calls: set[asyncio.Future[Any]]
    ) -> None:
        self._client = client
        self._script = script
        self._calls = calls  # tasks close() lets finish
        self._pending: list[tuple[str, list[bytes | str | int], asyncio.Future[Any]]] = []

    async def write(self, stream: str, args: list[bytes | str | int]) -> Any:
        """Fates written in the same loop tick go to Redis in one pipeline (one round trip for a
        burst of acks); each is still its own atomic script."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((stream, args, future))
        if len(self._pending) == 1:
            flush = asyncio.ensure_future(self._flush())
            self._calls.add(flush)
            flush.add_done_callback(forget_call(self._calls))
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the other deliveries finishing in this tick join the batch
        batch, self._pending = self._pending, []
        script = self._script
        try:
            # plain EVALSHA: a pipeline that registers the script would ask SCRIPT EXISTS every time
            async with self._client.pipeline(transaction=False) as pipe:
                for stream, args, _ in batch:
                    pipe.evalsha(script.sha, 1, stream, *args)
                results = await pipe.execute(raise_on_error=False)
            for i, result in enumerate(results):
                if isinstance(result, rex.NoScriptError):  # Redis restarted: the Script object reloads it
                    results[i] = await script(keys=[batch[i][0]], args=batch[i][1])
        except BaseException as exc:
            for _, _, future in batch:
                if future.done():
                    continue
                if isinstance(exc, Exception):
                    future.set_exception(exc)
                else:
                    future.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


class Outage:
    """One queue's view of Redis going away and coming back: the outage is logged at most once a
    minute with its backoff, its end once, by whichever call (lease, fate, heartbeat) first gets an
    answer, since the pumps of a busy instance may wait for slots and never see the outage end. For
    `takeover_grace` seconds after an outage the queue takes over no other consumer's leases."""

    LOG_EVERY = 60.0

    def __init__(self, logger: Logger, takeover_grace: float) -> None:
        self._logger = logger
        self._grace = takeover_grace
        self._since: float | None = None  # when a call first failed to reach Redis; None: it answers
        self._last_logged: float | None = None
        self._takeover_from = 0.0  # monotonic

    def noticed(self) -> None:
        """A call failed to reach Redis; someone else logs it."""
        if self._since is None:
            self._since = time.monotonic()

    def failed(self, doing: str, exc: BaseException, pause: float) -> None:
        self.noticed()
        now = time.monotonic()
        if self._last_logged is None or now - self._last_logged >= self.LOG_EVERY:
            self._last_logged = now
            self._logger.error(f"Redis cannot be reached while {doing} ({describe(exc)}); retrying in {pause:g}s")

    def ended(self) -> None:
        """A call got an answer."""
        if self._since is not None:
            now = time.monotonic()
            down, self._since = now - self._since, None
            self._takeover_from = now + self._grace
            self._logger.info(f"Redis is back after {down:.1f}s without it; the queue is delivering again")

    def takeover_allowed(self) -> bool:
        return time.monotonic() >= self._takeover_from


def forget_call(calls: set[asyncio.Future[Any]]) -> Callable[[asyncio.Future[Any]], None]:
    def done(task: asyncio.Future[Any]) -> None:
        calls.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a call whose pump is gone fails quietly; the pump logged outages

    return done


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def leased_events(rows: list[Any]) -> list[tuple[QueuedEvent, str, int]]:
    """The events of a LEASE or CLAIMED reply, each with its stream entry id and lease token."""
    events = []
    for entry, event_id, lease, topic, data, trace, group, attempts, created, parent in rows:
        event = QueuedEvent(
            topic=text(topic),
            data_json=bytes(data),
            trace_id=text(trace),
            message_group_id=text(group),
            attempts=int(attempts),
            id=text(event_id),
            enqueued_at=float(created),
            parent_id=text(parent or b""),
        )
        events.append((event, text(entry), int(lease)))
    return events


def letter(letter_id: str, row: Any) -> DeadLetter:
    def field_(name: str, default: bytes = b"") -> bytes:
        return bytes(row.get(name.encode(), default))

    failures = orjson.loads(field_("failures", b"[]"))
    return DeadLetter(
        id=letter_id,
        subscription=field_("sub").decode(),
        topic=field_("topic").decode(),
        data_json=field_("data"),
        trace_id=field_("trace").decode(),
        message_group_id=field_("group").decode(),
        attempts=int(field_("attempts", b"0")),
        failures=failures if isinstance(failures, list) else [],
        enqueued_at=float(field_("created", b"0")),
        died_at=int(field_("died", b"0")) / 1000,
    )
