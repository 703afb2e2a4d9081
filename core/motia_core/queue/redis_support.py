"""Pieces of the Redis queue (queue/redis.py) that are not the queue itself: batching of script calls,
outage bookkeeping, decoding of replies and dead letters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis
import redis.commands.core
import redis.exceptions as rex

from motia_core.logs import Logger
from motia_core.queue.base import DeadLetter, Delivery, Fate, QueuedEvent, QueueStats, SubscriptionStats
from motia_core.queue.redis_scripts import GROUP
from motia_core.redis_conn import SOCKET_TIMEOUT
from motia_core.redis_wire import Wire

# what "Redis cannot be reached or answer" looks like; a script error (a bug) is not among them
UNREACHABLE = (rex.ConnectionError, rex.TimeoutError, rex.BusyLoadingError, rex.ReadOnlyError, OSError)


class ScriptBatcher:
    """Calls of one batch script become one script call (one EVALSHA, one round trip, one reply to
    decode): the script loops over every caller's items, and each caller gets its items' share of
    the flat reply. The merged call is one atomic script, so each caller's items still happen whole
    or not at all. Used for enqueues (a copy per subscription of concurrent emits) and for fates
    (acks of deliveries finishing together).

    At most one call is in flight: what callers add meanwhile waits for it to end and goes out as
    the next call, so under load a batch grows to whatever arrived during a round trip instead of
    one loop tick's worth (a chain at k16 saw mostly batches of one). The calls run on a lean
    connection of their own (`client`, redis_wire.Wire), which spares each redis-py's call path."""

    def __init__(
        self,
        script: redis.commands.core.AsyncScript,
        key: str,
        head: list[bytes | str | int],
        width: int,
        calls: set[asyncio.Future[Any]],
        client: Wire,
    ) -> None:
        self._lua = script
        self._key = key  # a key of the queue's slot: routes the call (Cluster)
        self._head = head  # the script's leading arguments, shared by every item
        self._width = width  # reply values per item
        self._calls = calls  # tasks close() lets finish
        self.client = client
        self._pending: list[tuple[list[bytes | str | int], int, asyncio.Future[list[Any]]]] = []
        self._sender: asyncio.Future[None] | None = None

    async def _script(self, keys: list[str], args: list[bytes | str | int]) -> Any:
        return await self.client.script(self._lua, keys, args)

    async def call(self, args: list[bytes | str | int], items: int) -> list[Any]:
        """Run the script over `items` items (`args`: their arguments, back to back); their share of
        the reply, `width` values per item."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._pending.append((args, items, future))
        if self._sender is None:
            sender = self._sender = asyncio.ensure_future(self._send_all())
            self._calls.add(sender)
            sender.add_done_callback(forget_call(self._calls))
        return await future

    async def _send_all(self) -> None:
        try:
            await asyncio.sleep(0)  # let the other callers of this tick join the first batch
            while self._pending:
                batch, self._pending = self._pending, []
                await self._send(batch)
        finally:
            self._sender = None
            left, self._pending = self._pending, []  # only when cancelled (close): nobody sends them
            for _, _, future in left:
                future.cancel()

    async def _send(self, batch: list[tuple[list[bytes | str | int], int, asyncio.Future[list[Any]]]]) -> None:
        args = list(self._head)
        for more, _, _ in batch:
            args += more
        try:
            # Wire.script loads the script again when a restarted Redis lost its cache
            reply = await self._script(keys=[self._key], args=args)
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
        at = 0
        for _, items, future in batch:
            share = reply[at : at + items * self._width]
            at += items * self._width
            if not future.done():
                future.set_result(share)


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


async def read_dead_letters(client: aioredis.Redis, base: str, subscription: str | None) -> list[DeadLetter]:
    ids = await client.zrange(base + "dead", 0, -1)
    async with client.pipeline(transaction=False) as pipe:
        for letter_id in ids:
            pipe.hgetall(base + "x:" + text(letter_id))
        rows = await pipe.execute()
    letters = [letter(text(i), row) for i, row in zip(ids, rows, strict=True) if row]
    return [d for d in letters if subscription in (None, d.subscription)]


async def read_stats(client: aioredis.Redis, base: str, names: list[str]) -> QueueStats:
    """Depth (`n:`), in flight (the group's pending entries) and scheduled (`d:`) of each subscription,
    and the dead letters' count: one pipeline."""
    async with client.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.get(base + "n:" + name)
            pipe.xpending(base + "s:" + name, GROUP)
            pipe.zcard(base + "d:" + name)
        pipe.zcard(base + "dead")
        replies = await pipe.execute(raise_on_error=False)
    subs: dict[str, SubscriptionStats] = {}
    for i, name in enumerate(names):
        depth, pending, scheduled = replies[3 * i : 3 * i + 3]
        in_flight = pending.get("pending", 0) if isinstance(pending, dict) else 0  # no group yet: none
        subs[name] = SubscriptionStats(int(depth or 0), int(in_flight), int(scheduled or 0))
    dead = replies[-1]
    if isinstance(dead, Exception):
        raise dead
    return QueueStats(subs, int(dead))


async def end_reads(
    client: aioredis.Redis, client_ids: list[int | None], calls: set[asyncio.Future[Any]], wait: float, closing: str
) -> bool:
    """Wait (up to `wait`) for the calls in flight, the pumps' blocking reads ended at once by CLIENT
    UNBLOCK (they return as if timed out) instead of after up to a block's length. False when Redis did
    not answer the unblock: the close's last calls would only spend their retries too.

    An id gone stale by a reconnect unblocks nothing, or another client's read, which simply reads again."""
    unblocking = asyncio.ensure_future(_unblock(client, [i for i in client_ids if i is not None], closing))
    if calls:
        _, late = await asyncio.wait(set(calls), timeout=wait)
        for call in late:  # leased entries it may hold come back after their visibility timeout
            call.cancel()
    done, _ = await asyncio.wait([unblocking], timeout=wait)
    if not done:
        unblocking.cancel()
        return False
    failure = unblocking.exception()
    if failure is not None and not isinstance(failure, UNREACHABLE):
        raise failure
    return failure is None


async def _unblock(client: aioredis.Redis, client_ids: list[int], closing: str) -> None:
    async with client.pipeline(transaction=False) as pipe:
        pipe.set(closing, b"1", px=60_000)  # first: the READ that follows each ended wait leases nothing
        for client_id in client_ids:
            pipe.client_unblock(client_id)
        pipe.ping()  # with no read to end, still the probe of whether Redis answers
        await pipe.execute(raise_on_error=False)  # an unknown id is no error; an unreachable Redis raises


async def all_within(calls: Sequence[Awaitable[Any]], wait: float) -> None:
    """Run `calls` at once, bounded together by `wait`: with Redis gone each one spends its retries
    (about 0.75 s, redis_conn.RETRIES), and one after the other a shutdown waited that per call."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=wait)
    for task in late:
        task.cancel()
    for task in tasks:  # Redis away, or a script's error on a stream already gone: expected at close
        failure = task.exception() if task.done() and not task.cancelled() else None
        if failure is not None and not isinstance(failure, (*UNREACHABLE, rex.ResponseError)):
            raise failure


async def read_after(
    conn: Wire,
    script: redis.commands.core.AsyncScript,
    wait: list[Any],
    keys: list[str],
    args: list[Any],
    wait_s: float,
) -> Any:
    """`wait` (a blocking XREAD) and the READ script in one pipeline; READ's reply. A script Redis lost
    (a restart) is loaded and an empty reply returned: the pump reads again, nothing was leased."""
    read = ["EVALSHA", script.sha, len(keys), *keys, *args]
    try:
        return (await conn.pipeline([wait, read], timeout=wait_s + SOCKET_TIMEOUT))[1]
    except rex.NoScriptError:
        script.sha = await conn.call("SCRIPT", "LOAD", script.script)
        return [None, -1, -1, [], -1]  # READ's first field: no last-delivered-id known; depth -1: no reply


def fate_op(delivery: Delivery) -> str:
    """The FATES script's op for a delivery."""
    if delivery.fate is Fate.ACK:
        return "ack"
    if delivery.fate is Fate.DEAD_LETTER:
        return "bury"
    return "retry" if delivery.counted else "free"


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def leased_events(rows: list[Any]) -> list[tuple[QueuedEvent, str, int]]:
    """The events of a LEASE or READ reply, each with its stream entry id and lease token."""
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
