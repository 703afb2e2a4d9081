"""The hub's cross-instance half (used only when it has a ``StreamBus``): deliver each group's
events to this instance's connections in sequence order, and place every join's sync at its turn.
hub.py's docstring has the why; docs/streams.md#across-instances-redis the guarantees."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from motia_core.errors import MotiaError
from motia_core.logs import Logger

if TYPE_CHECKING:
    from motia_core.streams.hub import StreamBus, Subscriber, _KeyedLocks
    from motia_core.streams.store import StreamStore

JOIN_WAIT = 5.0  # seconds a join waits for this instance to deliver the events before its sync
GroupKey = tuple[str, str]


class _Joiner:
    """A join whose sync waits for this instance to deliver its group's events up to ``seq``."""

    __slots__ = ("subscriber", "room", "sync", "done")

    def __init__(self, subscriber: Subscriber, room: tuple[str, str, str], sync: bytes) -> None:
        self.subscriber = subscriber
        self.room = room
        self.sync = sync
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class SharedDelivery:
    """Mixed into StreamHub, whose attributes and local methods it uses."""

    bus: StreamBus | None
    logger: Logger | None
    store: StreamStore
    resyncs: int
    _locks: _KeyedLocks
    _groups: dict[GroupKey, dict[Subscriber, int]]
    _items: dict[tuple[str, str, str], dict[Subscriber, int]]
    _next: dict[GroupKey, int]
    _early: dict[GroupKey, dict[int, tuple[str, bytes]]]
    _joiners: dict[GroupKey, dict[int, list[_Joiner]]]
    _held: dict[GroupKey, int]

    if TYPE_CHECKING:

        async def get(self, stream: str, group_id: str, item_id: str) -> bytes: ...

        async def get_group(self, stream: str, group_id: str) -> bytes: ...

        def message(self, stream: str, group_id: str, item_id: str, event: bytes) -> bytes: ...

        def _publish(self, stream: str, group_id: str, item_id: str, event: bytes) -> None: ...

        def _subscribe(self, subscriber: Subscriber, stream: str, group_id: str, item_id: str) -> None: ...

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
