"""The stream hub: items in, events out.

Handlers change items through the hub (``ctx.streams.<name>.set`` ... arrive here as calls); every
change is written to the store and then published, as one pre-encoded message, to each connection
subscribed to the item's group or to the item itself (once per connection, even when it holds both
subscriptions: Motia's clients route a message to every matching subscription themselves).

Ordering: changes and joins of one (stream, group) take a FIFO lock around "write + publish" and
"subscribe + read + sync", so a client never sees an event older than its sync, and events of one
item reach every subscriber in the order the changes were made. Publishing never waits: a
connection's ``offer`` appends to its bounded queue or drops the connection (ws.py).

Across instances (a ``StreamBus``, redis_bus.py): a change also takes the group's cluster-wide lock
and is published with the group's next sequence number; every instance delivers a group's events
to its own connections strictly in sequence order (an event is delivered when its turn comes: a
local one may wait for an earlier remote one; an event already delivered, such as this instance's
own read back from Redis, is dropped). A join reads the shared store and the group's sequence S
under the cluster lock, and its sync is queued at S's turn in that order: the client gets the sync,
then exactly the events after S. Without a bus none of this runs: the local path is unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

import orjson

from motia_core.errors import MotiaError
from motia_core.logs import Logger
from motia_core.streams.config import StreamDef
from motia_core.streams.store import StreamStore

NULL = b"null"
JOIN_WAIT = 5.0  # seconds a join waits for this instance to deliver the events before its sync
GroupKey = tuple[str, str]  # (stream, group id)
ItemKey = tuple[str, str, str]  # (stream, group id, item id)


class Subscriber(Protocol):
    """A connection that receives stream messages (one JSON text frame each)."""

    def offer(self, message: bytes) -> bool:
        """Queue a message without waiting; False when the connection is gone or was dropped."""
        ...


class StreamBus(Protocol):
    """Fan-out of stream changes to the other instances (redis_bus.RedisStreamBus); None: one instance."""

    def bind(
        self,
        on_event: Callable[[str, str, int, str, bytes], None],
        on_gap: Callable[[str, str], Awaitable[None]],
    ) -> None:
        """Where to hand (stream, group, seq, item id, event) read from the group logs, and whom to
        ask for a re-sync of a group whose events were lost (trimmed log, Redis outage)."""
        ...

    def exclusive(self, stream: str, group_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """The group's cluster-wide lock."""
        ...

    async def publish(self, stream: str, group_id: str, item_id: str, event: bytes) -> int:
        """Publish an event; its group sequence number (1, 2, ...)."""
        ...

    async def position(self, stream: str, group_id: str) -> int:
        """The group's last sequence number."""
        ...

    def watch(self, stream: str, group_id: str, after: int) -> None:
        """Read the group's events after sequence ``after`` (this instance has subscribers)."""
        ...

    def unwatch(self, stream: str, group_id: str) -> None: ...

    def start(self) -> None: ...

    async def close(self) -> None: ...


class NotAnObject(ValueError):
    """Stream items must be JSON objects (Motia stores ``{...data, id}``)."""


class _Clock:
    """Millisecond timestamps that never repeat or go back: Motia's clients drop an item event whose
    timestamp is not above the last one they saw, so two updates within one millisecond need
    distinct stamps."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        now = int(time.time() * 1000)
        self._last = now if now > self._last else self._last + 1
        return self._last


class _KeyedLocks:
    """One FIFO asyncio.Lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[GroupKey, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: GroupKey) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def _dumps(value: str) -> bytes:
    return orjson.dumps(value)


class _Joiner:
    """A join whose sync waits for this instance to deliver its group's events up to ``seq``."""

    __slots__ = ("subscriber", "room", "sync", "done")

    def __init__(self, subscriber: Subscriber, room: tuple[str, str, str], sync: bytes) -> None:
        self.subscriber = subscriber
        self.room = room
        self.sync = sync
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class StreamHub:
    def __init__(self, store: StreamStore, bus: StreamBus | None = None, logger: Logger | None = None) -> None:
        self.store = store
        self.bus = bus
        self.logger = logger
        self.streams: Mapping[str, StreamDef] = {}
        self._groups: dict[GroupKey, dict[Subscriber, int]] = {}
        self._items: dict[ItemKey, dict[Subscriber, int]] = {}
        self._locks = _KeyedLocks()
        self._clock = _Clock()
        self.published = 0  # messages handed to connections
        # with a bus, per group that has subscribers here: the next sequence to deliver, events that
        # came before their turn, joins waiting for their sync's turn, and subscriptions held
        self._next: dict[GroupKey, int] = {}
        self._early: dict[GroupKey, dict[int, tuple[str, bytes]]] = {}
        self._joiners: dict[GroupKey, dict[int, list[_Joiner]]] = {}
        self._held: dict[GroupKey, int] = {}
        self.resyncs = 0
        if bus is not None:
            bus.bind(self._ordered, self.resync)

    # -- handler side (runner calls) ---------------------------------------------------------------

    async def get(self, stream: str, group_id: str, item_id: str) -> bytes:
        return await self.store.get(stream, group_id, item_id) or NULL

    async def set(self, stream: str, group_id: str, item_id: str, data_json: bytes) -> bytes:
        """Create or replace an item; publish create or update; return the stored item."""
        item = encode_item(data_json, item_id)
        bus = self.bus
        async with self._locks.hold((stream, group_id)):
            if bus is None:
                created = await self.store.set(stream, group_id, item_id, item)
                kind = b"create" if created else b"update"
                self._publish(stream, group_id, item_id, b'{"type":"' + kind + b'","data":' + item + b"}")
            else:
                async with bus.exclusive(stream, group_id):
                    created = await self.store.set(stream, group_id, item_id, item)
                    kind = b"create" if created else b"update"
                    await self._shared(bus, stream, group_id, item_id, b'{"type":"' + kind + b'","data":' + item + b"}")
        return item

    async def delete(self, stream: str, group_id: str, item_id: str) -> bytes:
        bus = self.bus
        async with self._locks.hold((stream, group_id)):
            if bus is None:
                old = await self.store.delete(stream, group_id, item_id)
                if old is not None:
                    self._publish(stream, group_id, item_id, b'{"type":"delete","data":' + old + b"}")
            else:
                async with bus.exclusive(stream, group_id):
                    old = await self.store.delete(stream, group_id, item_id)
                    if old is not None:
                        await self._shared(bus, stream, group_id, item_id, b'{"type":"delete","data":' + old + b"}")
        return old or NULL

    async def get_group(self, stream: str, group_id: str) -> bytes:
        return b"[" + b",".join(await self.store.get_group(stream, group_id)) + b"]"

    async def send(self, stream: str, group_id: str, item_id: str, event_type: str, data_json: bytes) -> None:
        """An ephemeral event for the group's subscribers (and the item's, when item_id is set)."""
        event = b'{"type":"event","event":{"type":' + _dumps(event_type) + b',"data":' + (data_json or NULL) + b"}}"
        bus = self.bus
        async with self._locks.hold((stream, group_id)):
            if bus is None:
                self._publish(stream, group_id, item_id, event)
            else:
                async with bus.exclusive(stream, group_id):
                    await self._shared(bus, stream, group_id, item_id, event)

    # -- subscriber side (WebSocket connections) ---------------------------------------------------

    async def join(self, subscriber: Subscriber, stream: str, group_id: str, item_id: str) -> None:
        """Subscribe, then send the current item (or null) or the whole group as a sync message."""
        if self.bus is not None:
            await self._join_shared(self.bus, subscriber, stream, group_id, item_id)
            return
        async with self._locks.hold((stream, group_id)):
            self._subscribe(subscriber, stream, group_id, item_id)
            if item_id:
                data = await self.get(stream, group_id, item_id)
            else:
                data = await self.get_group(stream, group_id)
            subscriber.offer(self.message(stream, group_id, item_id, b'{"type":"sync","data":' + data + b"}"))

    def leave(self, subscriber: Subscriber, stream: str, group_id: str, item_id: str) -> None:
        rooms: dict[Any, dict[Subscriber, int]] = self._items if item_id else self._groups
        key: GroupKey | ItemKey = (stream, group_id, item_id) if item_id else (stream, group_id)
        members = rooms.get(key)
        if members is None or subscriber not in members:
            return
        if members[subscriber] > 1:
            members[subscriber] -= 1
        else:
            del members[subscriber]
            if not members:
                del rooms[key]
        if self.bus is not None:
            self._release(self.bus, (stream, group_id))

    def message(self, stream: str, group_id: str, item_id: str, event: bytes) -> bytes:
        """One server message in Motia's shape: {timestamp, streamName, groupId, id?, event}."""
        head = b'{"timestamp":' + str(self._clock()).encode() + b',"streamName":' + _dumps(stream)
        head += b',"groupId":' + _dumps(group_id)
        if item_id:
            head += b',"id":' + _dumps(item_id)
        return head + b',"event":' + event + b"}"

    def stats(self) -> dict[str, int]:
        return {
            "groupRooms": len(self._groups),
            "itemRooms": len(self._items),
            "published": self.published,
            **({"sharedGroups": len(self._next), "resyncs": self.resyncs} if self.bus is not None else {}),
        }

    # -- internals ---------------------------------------------------------------------------------

    def _subscribe(self, subscriber: Subscriber, stream: str, group_id: str, item_id: str) -> None:
        if item_id:
            members = self._items.setdefault((stream, group_id, item_id), {})
        else:
            members = self._groups.setdefault((stream, group_id), {})
        members[subscriber] = members.get(subscriber, 0) + 1

    def _publish(self, stream: str, group_id: str, item_id: str, event: bytes) -> None:
        group = self._groups.get((stream, group_id))
        item = self._items.get((stream, group_id, item_id)) if item_id else None
        if not group and not item:
            return
        message = self.message(stream, group_id, item_id, event)
        sent = 0
        for subscriber in list(group or ()):
            subscriber.offer(message)
            sent += 1
        for subscriber in list(item or ()):
            if group is None or subscriber not in group:
                subscriber.offer(message)
                sent += 1
        self.published += sent

    # -- across instances (only with a bus) ----------------------------------------------------------

    async def _shared(self, bus: StreamBus, stream: str, group_id: str, item_id: str, event: bytes) -> None:
        """Publish a change made here (under the group's cluster lock) and deliver it in its turn."""
        self._ordered(stream, group_id, await bus.publish(stream, group_id, item_id, event), item_id, event)

    def _ordered(self, stream: str, group_id: str, seq: int, item_id: str, event: bytes) -> None:
        """Deliver a group's events to this instance's connections in sequence order, each once."""
        key = (stream, group_id)
        expected = self._next.get(key)
        if expected is None or seq < expected:  # nobody here, or delivered already (our own, read back)
            return
        early = self._early.get(key)
        if seq > expected:  # an earlier event is still on its way from Redis
            if early is None:
                early = self._early[key] = {}
            early[seq] = (item_id, event)
            return
        joiners = self._joiners.get(key)
        while True:
            self._publish(stream, group_id, item_id, event)
            if joiners and seq in joiners:
                for joiner in joiners.pop(seq):
                    self._sync(joiner)
            seq += 1
            if not early or seq not in early:
                break
            item_id, event = early.pop(seq)
        self._next[key] = seq
        if early is not None and not early:
            del self._early[key]
        if joiners is not None and not joiners:
            del self._joiners[key]

    async def _join_shared(
        self, bus: StreamBus, subscriber: Subscriber, stream: str, group_id: str, item_id: str
    ) -> None:
        key = (stream, group_id)
        async with self._locks.hold(key):
            self._held[key] = self._held.get(key, 0) + 1  # before any await: a leave must not unwatch
            joiner: _Joiner | None = None
            try:
                async with bus.exclusive(stream, group_id):
                    data = await (self.get(stream, group_id, item_id) if item_id else self.get_group(stream, group_id))
                    seq = await bus.position(stream, group_id)
                    # no await from here until the joiner is queued: the sync's place is exactly seq
                    joiner = _Joiner(subscriber, (stream, group_id, item_id), b'{"type":"sync","data":' + data + b"}")
                    self._queue(bus, joiner, seq)
                if not joiner.done.done():
                    await asyncio.wait_for(asyncio.shield(joiner.done), JOIN_WAIT)
            except TimeoutError:
                if joiner is None or joiner.done.done():  # not the wait for our turn that timed out
                    if joiner is None:
                        self._release(bus, key)
                    raise
                # the events before our sync did not arrive (Redis unreachable?): sync everyone here afresh
                self._unqueue(joiner)
                self._sync(joiner)
                if self.logger is not None:
                    self.logger.warn(
                        f"stream {stream!r} group {group_id!r}: events from other instances are late; re-syncing",
                        source="streams",
                    )
                await self._resync_locked(bus, stream, group_id)
            except BaseException:
                # failed or cancelled (the connection went away) before its sync: never subscribe it
                if joiner is None or not joiner.done.done():
                    if joiner is not None:
                        self._unqueue(joiner)
                    self._release(bus, key)
                raise

    def _queue(self, bus: StreamBus, joiner: _Joiner, seq: int) -> None:
        stream, group_id, _ = joiner.room
        key = (stream, group_id)
        expected = self._next.get(key)
        if expected is None:  # the first subscriber here: read the group's log from the sync on
            self._next[key] = expected = seq + 1
            bus.watch(stream, group_id, seq)
        if seq < expected:  # this instance delivered everything up to the sync
            self._sync(joiner)
        else:
            self._joiners.setdefault(key, {}).setdefault(seq, []).append(joiner)

    def _unqueue(self, joiner: _Joiner) -> None:
        key = joiner.room[:2]
        for waiting in self._joiners.get((key[0], key[1]), {}).values():
            if joiner in waiting:
                waiting.remove(joiner)

    def _sync(self, joiner: _Joiner) -> None:
        stream, group_id, item_id = joiner.room
        self._subscribe(joiner.subscriber, stream, group_id, item_id)
        joiner.subscriber.offer(self.message(stream, group_id, item_id, joiner.sync))
        if not joiner.done.done():
            joiner.done.set_result(None)

    def _release(self, bus: StreamBus, key: GroupKey) -> None:
        held = self._held.get(key, 0) - 1
        if held > 0:
            self._held[key] = held
            return
        self._held.pop(key, None)
        self._next.pop(key, None)
        self._early.pop(key, None)
        self._joiners.pop(key, None)
        bus.unwatch(*key)

    async def resync(self, stream: str, group_id: str) -> None:
        """Events of this group may have been lost (the bus says): send every subscriber here a fresh
        sync and deliver from there. Retries until it works or nobody here is subscribed."""
        bus, key, delay = self.bus, (stream, group_id), 0.1
        while bus is not None and key in self._held:
            try:
                async with self._locks.hold(key):
                    if key in self._held:
                        await self._resync_locked(bus, stream, group_id)
                return
            except MotiaError as exc:
                if self.logger is not None:
                    self.logger.warn(f"re-syncing stream {stream!r} group {group_id!r} failed: {exc}", source="streams")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _resync_locked(self, bus: StreamBus, stream: str, group_id: str) -> None:
        key = (stream, group_id)
        items = [k for k in self._items if k[0] == stream and k[1] == group_id]
        async with bus.exclusive(stream, group_id):
            group = await self.get_group(stream, group_id) if key in self._groups else b""
            values = [await self.get(*k) for k in items]
            seq = await bus.position(stream, group_id)
            if key not in self._held:
                return
            self.resyncs += 1
            self._next[key] = seq + 1
            self._early.pop(key, None)
            bus.watch(stream, group_id, seq)
            for subscriber in list(self._groups.get(key, ())):
                subscriber.offer(self.message(stream, group_id, "", b'{"type":"sync","data":' + group + b"}"))
            for room, value in zip(items, values, strict=True):
                for subscriber in list(self._items.get(room, ())):
                    subscriber.offer(self.message(*room, b'{"type":"sync","data":' + value + b"}"))


def encode_item(data_json: bytes, item_id: str) -> bytes:
    """``{...data, "id": item_id}`` as JSON; raises NotAnObject for anything but a JSON object."""
    try:
        data = orjson.loads(data_json) if data_json else None
    except orjson.JSONDecodeError as exc:
        raise NotAnObject(f"the item is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        kind = "null" if data is None else type(data).__name__
        raise NotAnObject(f"a stream item must be a JSON object, got {kind}")
    data["id"] = item_id
    return orjson.dumps(data)
