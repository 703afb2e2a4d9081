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

from motia_core.logs import Logger
from motia_core.streams.config import StreamDef
from motia_core.streams.shared import SharedDelivery, _Joiner
from motia_core.streams.store import StreamStore

NULL = b"null"
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


class StreamHub(SharedDelivery):
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
