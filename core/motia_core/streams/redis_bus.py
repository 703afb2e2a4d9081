"""Stream fan-out across instances through Redis: a Redis stream (log) per (stream, group).

Why a log and not pub/sub: pub/sub drops whatever is published while a subscriber reconnects, and
a subscription taken after a join's sync can miss the events in between. A Redis stream lets every
instance read a group's events from an exact position, so "the sync, then every later event, once,
in order" is a read from the sync's position, and a reconnect resumes where it stopped.

Per group, three keys share one hash tag (one Redis Cluster slot):

* ``<prefix>:streams:{<tag>}:seq``  the group's sequence number (INCR per event)
* ``<prefix>:streams:{<tag>}:log``  the events, entry id ``<seq>-0`` (so ids are contiguous)
* ``<prefix>:streams:{<tag>}:lock`` the group's write lock (SET NX PX, token-checked release)

A change is "write the item to the shared store, then publish" under the group lock, so the log's
order is the store's order, and a join reads the store and the sequence under the same lock: its
sync is exactly "every event up to seq S". The lock's TTL (``LOCK_TTL_MS``) frees a group whose
holder died; a holder stalled past it can publish out of order with the next holder (a Redis or
process stall of seconds), which is the one window where the order can break (docs/streams.md).

The log keeps the newest ``max_len`` events per group (approximate trim). A reader that falls
further behind (or a Redis that lost its data) sees a hole in the ids and asks the hub to re-sync
that group's subscribers instead of guessing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from motia_core.errors import StorageUnavailable
from motia_core.logs import Logger

LOCK_TTL_MS = 5000  # a dead holder blocks its group at most this long
LOCK_TIMEOUT = 10.0  # seconds a change or join waits for the group lock before failing
# XREAD BLOCK: the wake key interrupts it when the set of groups changes, so it only bounds an idle
# reader's traffic (one XREAD per wait); below the client's socket timeout (redis_conn.SOCKET_TIMEOUT)
READ_BLOCK_MS = 4000
READ_COUNT = 512
CLOSE_WAIT = 2.0  # seconds close() waits for the reader to stop, and for the wake key's removal
RECONNECT_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)

# INCR the sequence and append the event with id <seq>-0: one atomic step, so ids are contiguous;
# then release the group lock if we still hold it (one round trip for both)
_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], seq .. '-0', 'i', ARGV[2], 'e', ARGV[3])
if ARGV[4] ~= '' and redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
return seq
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

OnEvent = Callable[[str, str, int, str, bytes], None]  # stream, group, seq, item id, event JSON
OnGap = Callable[[str, str], Awaitable[None]]  # the hub re-syncs that group's subscribers
GroupKey = tuple[str, str]


class RedisStreamBus:
    """One per instance: publishes this instance's changes and reads the logs of the groups that
    have subscribers here, handing every entry to the hub (which drops what it already delivered)."""

    def __init__(self, client: redis.Redis, prefix: str, logger: Logger, max_len: int = 10_000) -> None:
        self._client = client
        self._prefix = prefix
        self._logger = logger
        self._max_len = max_len
        self._publish = client.register_script(_PUBLISH)
        self._release = client.register_script(_RELEASE)
        self._watched: dict[GroupKey, int] = {}  # group -> last seq read
        self._keys: dict[GroupKey, str] = {}  # group -> its log key
        self._tokens: dict[str, str] = {}  # lock key -> our token, while this instance holds it
        self._wake_key = f"{prefix}:streams:wake:{secrets.token_hex(8)}"  # this instance's own
        self._on_event: OnEvent | None = None
        self._on_gap: OnGap | None = None
        self._reader: asyncio.Task[None] | None = None
        self._gaps: set[asyncio.Future[None]] = set()
        self.read = 0  # log entries read (own and remote)

    # -- the hub's side ------------------------------------------------------------------------------

    def bind(self, on_event: OnEvent, on_gap: OnGap) -> None:
        self._on_event = on_event
        self._on_gap = on_gap

    def key(self, stream: str, group_id: str, kind: str) -> str:
        # the names may hold any character (':', '{'...): the hash tag is a digest of them
        tag = hashlib.blake2b(f"{stream}\0{group_id}".encode(), digest_size=8).hexdigest()
        return f"{self._prefix}:streams:{{{tag}}}:{kind}"

    @contextlib.asynccontextmanager
    async def exclusive(self, stream: str, group_id: str) -> AsyncIterator[None]:
        """The group's cluster-wide lock, around a change (write + publish) or a join's read."""
        key = self.key(stream, group_id, "lock")
        token = secrets.token_hex(8)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_TIMEOUT
        delay = 0.0005
        try:
            while not await self._client.set(key, token, nx=True, px=LOCK_TTL_MS):
                if loop.time() > deadline:
                    raise StorageUnavailable(
                        f"stream {stream!r} group {group_id!r}: its Redis lock ({key}) stayed taken for "
                        f"{LOCK_TIMEOUT:g}s; another instance may be stalled"
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.02)
        except RedisError as exc:
            raise _unavailable(stream, group_id, exc) from exc
        self._tokens[key] = token
        try:
            yield
        finally:
            if self._tokens.pop(key, None) is not None:  # publish did not release it already
                with contextlib.suppress(RedisError):  # not released: it expires after LOCK_TTL_MS
                    await self._release(keys=[key], args=[token])

    async def publish(self, stream: str, group_id: str, item_id: str, event: bytes) -> int:
        """Append an event to the group's log; its sequence number. Called under ``exclusive``, whose
        lock it releases in the same round trip (the caller's remaining work is local)."""
        lock = self.key(stream, group_id, "lock")
        keys = [self.key(stream, group_id, "seq"), self.key(stream, group_id, "log"), lock]
        token = self._tokens.pop(lock, "")
        try:
            return int(await self._publish(keys=keys, args=[self._max_len, item_id, event, token]))
        except BaseException as exc:
            if token:  # not released by the script: exclusive() releases it (or it expires)
                self._tokens[lock] = token
            if not isinstance(exc, RedisError):
                raise
            raise _unavailable(stream, group_id, exc) from exc

    async def position(self, stream: str, group_id: str) -> int:
        """The group's last sequence number (call under ``exclusive``, with the store read)."""
        try:
            value = await self._client.get(self.key(stream, group_id, "seq"))
        except RedisError as exc:
            raise _unavailable(stream, group_id, exc) from exc
        return int(value or 0)

    def watch(self, stream: str, group_id: str, after: int) -> None:
        """Read the group's log from just after ``after`` (again: a re-sync moved the position)."""
        key = (stream, group_id)
        self._watched[key] = after
        self._keys[key] = self.key(stream, group_id, "log")
        if self._reader is None:
            self.start()
        else:
            self._wake()

    def unwatch(self, stream: str, group_id: str) -> None:
        self._watched.pop((stream, group_id), None)
        self._keys.pop((stream, group_id), None)

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_loop(), name="stream-bus-reader")

    async def close(self) -> None:
        tasks = [t for t in (self._reader, *self._gaps) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:  # bounded: shutdown must not hang on a connection that does not answer
            await asyncio.wait(tasks, timeout=CLOSE_WAIT)
        self._reader = None
        with contextlib.suppress(RedisError, TimeoutError):
            await asyncio.wait_for(self._client.delete(self._wake_key), CLOSE_WAIT)

    # -- internals -------------------------------------------------------------------------------------

    def _wake(self) -> None:
        """Interrupt the reader's blocking XREAD so it reads the new set of groups now."""
        if self._reader is None:
            return
        task = asyncio.create_task(self._poke(), name="stream-bus-wake")
        self._gaps.add(task)
        task.add_done_callback(self._gaps.discard)

    async def _poke(self) -> None:
        with contextlib.suppress(RedisError):  # the reader re-reads the set after its block anyway
            await self._client.xadd(self._wake_key, {"w": "1"}, maxlen=1, approximate=False)

    async def _read_loop(self) -> None:
        failures = 0
        wake_id = "$"
        while True:
            groups = {self._keys[g]: g for g in self._watched}
            streams: dict[Any, Any] = {self._wake_key: wake_id}
            for log_key, group in groups.items():
                streams[log_key] = f"{self._watched[group]}-0"
            try:
                if wake_id == "$":  # pin the wake position so a poke during the read is not lost
                    last: Any = await self._client.xrevrange(self._wake_key, count=1)
                    wake_id = _text(last[0][0]) if last else "0-0"
                    streams[self._wake_key] = wake_id
                replies: Any = await self._client.xread(streams, count=READ_COUNT, block=READ_BLOCK_MS)
            except asyncio.CancelledError:
                raise
            except RedisError as exc:
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                if failures == 0:
                    self._logger.warn(
                        f"stream fan-out lost Redis ({exc}); retrying, then re-syncing this instance's subscribers",
                        source="streams",
                    )
                failures += 1
                await asyncio.sleep(delay)
                continue
            if failures:
                failures = 0
                self._logger.info("stream fan-out reconnected to Redis; re-syncing subscribers", source="streams")
                for stream, group_id in list(self._watched):  # events may have been lost with Redis
                    self._gap(stream, group_id)
            for raw_key, entries in replies or ():
                log_key = _text(raw_key)
                if log_key == self._wake_key:
                    wake_id = _text(entries[-1][0]) if entries else wake_id
                    continue
                found = groups.get(log_key)
                if found is not None:
                    self._deliver(found, entries)

    def _deliver(self, group: GroupKey, entries: list[tuple[Any, dict[Any, Any]]]) -> None:
        stream, group_id = group
        on_event = self._on_event
        for entry_id, fields in entries:
            last = self._watched.get(group)
            if last is None:  # unwatched while we read
                return
            seq = int(_text(entry_id).split("-", 1)[0])
            if seq != last + 1:  # trimmed past us, or Redis lost data: only a re-sync is honest
                self._gap(stream, group_id)
                return
            self._watched[group] = seq
            self.read += 1
            if on_event is not None:
                item_id = fields.get(b"i", fields.get("i", b""))
                event = fields.get(b"e", fields.get("e", b""))
                on_event(stream, group_id, seq, _text(item_id), _bytes(event))

    def _gap(self, stream: str, group_id: str) -> None:
        self._watched.pop((stream, group_id), None)  # until the hub watches again from its re-sync
        self._keys.pop((stream, group_id), None)
        if self._on_gap is None:
            return
        task = asyncio.ensure_future(self._on_gap(stream, group_id))
        self._gaps.add(task)
        task.add_done_callback(self._gaps.discard)


def _unavailable(stream: str, group_id: str, exc: Exception) -> StorageUnavailable:
    return StorageUnavailable(f"stream {stream!r} group {group_id!r}: Redis is unavailable ({exc})")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
