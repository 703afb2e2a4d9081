"""The distributed queue: Redis Streams, shared by every core instance on the same Redis and prefix.

One stream per subscription, with one consumer group ("motia") that every instance joins under its
own consumer name, so each event is leased by exactly one instance. An event's body lives in a hash;
the stream carries its id. A pump, on its own lean connection (redis_wire), waits in a blocking
XREAD for an entry its group has not delivered yet, pipelined with the READ script that leases what
came (one round trip per wake-up); a LEASE script, run when a timer is due, promotes due delays
and reclaims leases that ran out (XAUTOCLAIM, any consumer's) or whose instance died. An ack is XACK
+ XDEL + delete in one script; concurrent emits and fates share one script call. FIFO subscriptions
keep one event per message group out (ready, leased or waiting for its retry) cluster-wide, the rest
in a list per group. Every multi-key change is one Lua script (queue/redis_scripts.py: the key
layout). Semantics are those of the SQLite queue (docs/delivery.md#redis), proven by
tests/test_contract_queue.py; how it leases: docs/adapters.md#redis-queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis
import redis.exceptions as rex

from motia_core.errors import StorageUnavailable
from motia_core.logs import Logger
from motia_core.queue import redis_scripts as lua
from motia_core.queue import redis_support as support
from motia_core.queue.base import (
    AttemptFailure,
    Consumer,
    Delivery,
    Fate,
    QueuedEvent,
)
from motia_core.queue.redis_admin import RedisQueueAdmin
from motia_core.queue.redis_support import UNREACHABLE, Outage, ScriptBatcher, describe, forget_call, text
from motia_core.redis_wire import Wire

_LEASE_BATCH = 64  # events leased per script call at most
# longest blocking read: an idle pump's one wait (and its READ) this often; it also bounds how long a
# silent network partition goes unnoticed by the read. LEASE runs only when a delay or reclaim is due.
_BLOCK_MS = 10_000
_BACKOFF_FIRST, _BACKOFF_MAX = 0.1, 5.0  # seconds between tries while Redis cannot be reached
_FATE_PATIENCE = 30.0  # seconds a fate is retried during an outage at least (else: the visibility timeout)
_CONSUMER_ERROR_DELAY = 1.0
# An instance renews its liveness key every _ALIVE_EVERY seconds; once the key has been gone
# _ALIVE_TTL seconds, others take its leases without waiting for their visibility timeout.
_ALIVE_TTL, _ALIVE_EVERY = 10.0, 2.0
_CLOSE_WAIT = 2.0  # seconds close() lets a pump's Redis call finish
_CLAIM_EVERY = 1.0  # seconds between two reclaim scans (XAUTOCLAIM, dead consumers) while entries are leased
_IDLE_CLAIM_EVERY = 60.0  # ... while none is (a read leasing one wakes every pump); forgets dead consumers
_T = TypeVar("_T")


@dataclass
class _Sub:
    name: str
    consumer: Consumer
    concurrency: int
    fifo: bool
    visibility_timeout: float
    stream: str
    conn: Wire  # the pump's own lean connection (redis_wire): no pool, no redis-py call path
    cursor: str = "0-0"
    last: bytes | None = None  # the group's last-delivered-id as READ last saw it: the wait's start
    next_claim: float = 0.0
    next_look: float = 0.0  # monotonic: when the next LEASE is due (until then a blocking read waits)
    recover: bool = False  # a call failed: entries may be leased to us that no delivery holds
    registered: bool = False
    leases: dict[str, tuple[str, int]] = field(default_factory=dict)  # event id -> (entry id, lease token)


class RedisQueue(RedisQueueAdmin):
    def __init__(self, client: aioredis.Redis, prefix: str, logger: Logger) -> None:
        self._redis = client
        tag = prefix if "{" in prefix else "{" + prefix + "}"  # one hash tag: one Cluster slot
        self._base = f"{tag}:q:"
        self._logger = logger
        self._consumer_name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._subs: dict[str, _Sub] = {}
        self._depth: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._leasing = asyncio.Event()  # cleared by pause(): the core is stopping
        self._leasing.set()
        # after an outage longer than the liveness TTL every key has expired, the live instances' too:
        # take nobody's leases for one TTL, time for each live instance to renew its key
        self._outage = Outage(logger, takeover_grace=_ALIVE_TTL)
        self._calls: set[asyncio.Future[Any]] = set()
        self._scripts = {
            name: client.register_script(getattr(lua, name))
            for name in ("ENQUEUE", "LEASE", "READ", "FATES", "REPLAY", "PURGE", "FORGET_CONSUMER")
        }
        # concurrent emits' copies, and fates of deliveries ending together: one script call in flight each
        fifo = self._key("fifo")
        self._enqueues = ScriptBatcher(self._scripts["ENQUEUE"], fifo, [self._base], 1, self._calls, Wire(client))
        self._fates = ScriptBatcher(self._scripts["FATES"], fifo, [self._base], 2, self._calls, Wire(client))

    @property
    def consumer_name(self) -> str:
        """This instance's consumer name in every subscription's consumer group."""
        return self._consumer_name

    def pause(self) -> None:
        """Lease nothing more (the core is stopping); deliveries in flight finish and write their fate."""
        self._leasing.clear()

    def subscribe(
        self,
        subscription: str,
        consumer: Consumer,
        concurrency: int,
        fifo: bool = False,
        visibility_timeout: float = 900.0,
    ) -> None:
        stream = self._key("s:", subscription)
        sub = _Sub(subscription, consumer, max(1, concurrency), fifo, visibility_timeout, stream, Wire(self._redis))
        self._subs[subscription] = sub
        if self._started:
            self._spawn(sub)

    def _key(self, kind: str, subscription: str = "") -> str:
        return f"{self._base}{kind}{subscription}"

    # -- enqueue -----------------------------------------------------------------------------------

    async def enqueue(self, subscription: str, event: QueuedEvent, delay: float = 0.0) -> None:
        await self.enqueue_many([(subscription, event, delay)])

    async def enqueue_many(self, items: list[tuple[str, QueuedEvent, float]]) -> None:
        """Store every copy in one script: all of them or none. Raises StorageUnavailable when Redis
        cannot be reached (POST /emit answers 503, ctx.emit CODE_UNAVAILABLE)."""
        if not items:
            return
        args: list[bytes | str | int] = []
        for sub, e, delay in items:
            args += [sub, e.id, e.topic, e.data_json, e.trace_id, e.message_group_id, e.attempts]
            args += [repr(e.enqueued_at), int(max(0.0, delay) * 1000), e.parent_id]
        await self._register_fifo({sub for sub, _, _ in items})
        try:
            depths = await self._enqueues.call(args, len(items))
        except UNREACHABLE as exc:
            raise StorageUnavailable(f"Redis cannot be reached ({describe(exc)}); the event was not stored") from exc
        for (sub, _, _), depth in zip(items, depths, strict=True):
            self._depth[sub] = int(depth)

    async def _register_fifo(self, subscriptions: set[str]) -> None:
        # the FIFO flag lives in Redis so any instance (or the dlq CLI replaying) routes by group
        todo = [s for s in (self._subs.get(n) for n in subscriptions) if s is not None and not s.registered]
        for sub in todo:
            try:
                if sub.fifo:
                    await self._redis.hset(self._key("fifo"), sub.name, "1")
                else:
                    await self._redis.hdel(self._key("fifo"), sub.name)
            except UNREACHABLE as exc:
                raise StorageUnavailable(f"Redis cannot be reached ({describe(exc)})") from exc
            sub.registered = True

    # -- consuming ---------------------------------------------------------------------------------

    async def start(self) -> None:
        with contextlib.suppress(*UNREACHABLE):  # the heartbeat task tries again
            await self._heartbeat_once()
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="redis-queue-alive"))
        self._started = True
        for sub in self._subs.values():
            self._spawn(sub)

    def _spawn(self, sub: _Sub) -> None:
        self._tasks.append(asyncio.create_task(self._pump(sub), name=f"redis-queue-{sub.name}"))

    async def _pump(self, sub: _Sub) -> None:
        """Lease while slots are free; each event to the consumer in its own task. Never dies: while
        Redis is away it logs (at most once a minute) and tries again with a growing pause."""
        slots = asyncio.Semaphore(sub.concurrency)
        running: set[asyncio.Task[None]] = set()
        pause = _BACKOFF_FIRST
        ready = False
        try:
            while True:
                await slots.acquire()
                await self._leasing.wait()
                free = 1
                while free < _LEASE_BATCH and not slots.locked():
                    await slots.acquire()
                    free += 1
                events: list[tuple[QueuedEvent, str, int]] = []
                try:
                    if not ready:
                        await self._prepare(sub)
                        ready = True
                    events = await self._detached(self._lease(sub, free))
                    self._outage.ended()
                    pause = _BACKOFF_FIRST
                except UNREACHABLE as exc:
                    sub.recover, sub.next_look, sub.last, ready = True, 0.0, None, False
                    self._outage.failed(f"leasing {sub.name}", exc, pause)
                    await asyncio.sleep(pause)
                    pause = min(_BACKOFF_MAX, pause * 2)
                except rex.ResponseError as exc:
                    if "NOGROUP" not in str(exc):
                        raise
                    ready = False  # the stream or its group is gone (Redis lost its data): recreate
                    self._logger.warn(f"the consumer group of {sub.name} was missing in Redis; recreating it")
                for _ in range(free - len(events)):
                    slots.release()
                for event, entry, lease in events:
                    sub.leases[event.id] = (entry, lease)
                    # leased by a blocking read that pause() could not interrupt: give it back untouched
                    paused = not self._leasing.is_set()
                    task = asyncio.create_task(self._deliver(sub, event, slots, release=paused))
                    running.add(task)
                    task.add_done_callback(running.discard)
        finally:
            for task in running:
                task.cancel()

    async def _heartbeat_once(self) -> None:
        await self._redis.set(self._key("alive:", self._consumer_name), b"1", px=int(_ALIVE_TTL * 1000))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(_ALIVE_EVERY)
            try:
                await self._detached(self._heartbeat_once())
                self._outage.ended()
            except UNREACHABLE as exc:  # the pumps log the outage; leases may be taken over meanwhile
                self._outage.noticed()
                self._logger.debug(f"could not renew the queue's liveness key: {describe(exc)}")

    async def _detached(self, call: Coroutine[Any, Any, _T]) -> _T:
        """Run a Redis call in its own task that close() lets finish (a blocking read ends within
        _BLOCK_MS) instead of cancelling it: a read cancelled mid-reply can leave redis-py waiting on
        the socket for good."""
        task = asyncio.ensure_future(call)
        self._calls.add(task)
        task.add_done_callback(forget_call(self._calls))
        return await asyncio.shield(task)

    async def _prepare(self, sub: _Sub) -> None:
        with contextlib.suppress(rex.ResponseError):  # BUSYGROUP: another instance made it
            # from 0, not $: events enqueued before any consumer existed are delivered too
            await self._redis.xgroup_create(sub.stream, lua.GROUP, id="0", mkstream=True)
        await self._register_fifo({sub.name})

    async def _lease(self, sub: _Sub, limit: int) -> list[tuple[QueuedEvent, str, int]]:
        """A LEASE script call when a look is due (a delay due, a reclaim due, a wake-up marker seen);
        otherwise, and when it found nothing, a blocking XREAD that any instance's XADD ends at once,
        with READ behind it in the same pipeline: in the steady state one round trip per batch, and
        an idle pump (nothing leased, nothing delayed) one wait and its READ per _BLOCK_MS."""
        if time.monotonic() >= sub.next_look:
            events = await self._look(sub, limit)
            if events:
                return events
        # an empty wait's end is no look: a look is due only at a delay's due time or a reclaim's
        wait_ms = min(_BLOCK_MS, int((sub.next_look - time.monotonic()) * 1000))
        if wait_ms <= 0 or not self._leasing.is_set():
            return []
        script, args = self._scripts["READ"], [self._base, sub.name, self._consumer_name, limit]
        if sub.last is None:  # not known yet: read at once, which tells it
            reply = await sub.conn.script(script, [sub.stream], args)
        else:  # wait for an entry past the group's last-delivered-id, then READ: one round trip
            wait = ["XREAD", "COUNT", 1, "BLOCK", wait_ms, "STREAMS", sub.stream, sub.last]
            reply = await support.read_after(sub.conn, script, wait, [sub.stream], args, wait_ms / 1000)
        sub.last = reply[0]
        if int(reply[1]) < 0:  # Redis had lost the script: nothing ran
            return []
        return self._unpack(sub, reply, int(reply[4]), claimed=True)

    async def _look(self, sub: _Sub, limit: int) -> list[tuple[QueuedEvent, str, int]]:
        now = time.monotonic()
        claim_ms = -1
        if now >= sub.next_claim:  # reclaiming scans the pending list: not on every call
            claim_ms = int(sub.visibility_timeout * 1000)
            sub.next_claim = now + min(_CLAIM_EVERY, sub.visibility_timeout / 4)
        takeover = 1 if self._outage.takeover_allowed() else 0
        args: list[str | int] = [self._base, sub.name, self._consumer_name, limit, claim_ms, sub.cursor]
        args += [takeover, int(sub.recover)]
        if sub.recover:
            args += [entry for entry, _ in sub.leases.values()]
        reply = await sub.conn.script(self._scripts["LEASE"], [sub.stream], args)
        sub.recover = int(reply[4]) > 0  # more orphans than free slots: the rest next time
        sub.next_look = math.inf
        return self._unpack(sub, reply, int(reply[5]))

    def _unpack(
        self, sub: _Sub, reply: list[Any], pending: int, claimed: bool = False
    ) -> list[tuple[QueuedEvent, str, int]]:
        """The reply's events; and the next look: a reclaim scan only while the group has entries leased
        (any instance's: only those can run out or lose their instance, and a read leasing one wakes
        every pump, whose READ then sees it), at the earliest delay's due time."""
        if not claimed:  # the XAUTOCLAIM cursor: READ does not scan
            sub.cursor = text(reply[0]) or "0-0"
        self._depth[sub.name] = int(reply[1])
        now = time.monotonic()
        if pending > 0 or sub.recover:
            sub.next_claim = min(sub.next_claim, now + min(_CLAIM_EVERY, sub.visibility_timeout / 4))
        else:
            sub.next_claim = max(sub.next_claim, now + _IDLE_CLAIM_EVERY)
        sub.next_look = min(sub.next_look, sub.next_claim)
        if int(reply[2]) >= 0:  # the earliest delay is due then: look again at that time at the latest
            sub.next_look = min(sub.next_look, now + int(reply[2]) / 1000)
        return support.leased_events(reply[3])

    async def _deliver(self, sub: _Sub, event: QueuedEvent, slots: asyncio.Semaphore, release: bool) -> None:
        try:
            try:
                delivery = Delivery(Fate.RETRY, counted=False) if release else await sub.consumer(event)
            except Exception as exc:  # a consumer bug must not strand the event until its lease expires
                failure = AttemptFailure(event.attempts, time.time(), type(exc).__name__, str(exc), kind="core_error")
                delivery = Delivery(Fate.RETRY, _CONSUMER_ERROR_DELAY, failure)
            await self._settle(sub, event, delivery)
        finally:
            sub.leases.pop(event.id, None)
            slots.release()

    async def _settle(self, sub: _Sub, event: QueuedEvent, delivery: Delivery) -> None:
        """Write the delivery's fate; while Redis is away, keep trying as long as the lease lasts (the
        slot stays taken, nothing could be leased anyway): given up sooner, a handled event would wait
        for its lease to run out and run again. Given up, the lease runs out and the event comes back."""
        entry, lease = sub.leases[event.id]
        failure = orjson.dumps(delivery.failure.as_json() if delivery.failure else {"message": "unknown"})
        args: list[bytes | str | int] = [sub.name, support.fate_op(delivery), entry, event.id, lease]
        args += [int(max(0.0, delivery.delay) * 1000), failure, event.message_group_id]
        deadline = time.monotonic() + max(_FATE_PATIENCE, sub.visibility_timeout)
        pause = _BACKOFF_FIRST
        while True:
            try:
                status, depth = await self._fates.call(args, 1)
                self._outage.ended()
                self._depth[sub.name] = int(depth)
                if int(status) < 0:
                    self._logger.warn(
                        f"the lease of event {event.id} on {sub.name} ran out before its handler finished; "
                        "the newer delivery decides its fate",
                        trace_id=event.trace_id,
                    )
                return
            except UNREACHABLE as exc:
                if time.monotonic() + pause > deadline:
                    self._logger.error(
                        f"could not record the outcome of event {event.id} on {sub.name} ({describe(exc)}); "
                        "it is delivered again when its lease runs out",
                        trace_id=event.trace_id,
                    )
                    return
                self._outage.failed(f"recording the outcome of an event on {sub.name}", exc, pause)
                await asyncio.sleep(pause)
                pause = min(_BACKOFF_MAX, pause * 2)

    def depth(self, subscription: str) -> int:
        """Events of the subscription not yet acked or buried, as of this instance's last exchange with
        Redis (each lease, enqueue, fate and end of a pump's wait refreshes it: an idle pump's every
        _BLOCK_MS, or at once when any instance adds an entry to the stream)."""
        return self._depth.get(subscription, 0)

    async def close(self) -> None:
        """Stop pumping; leases still held (deliveries cut off) are taken over by another instance at its
        next look, as the liveness key is deleted. The client is not closed: its owner closes it."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        ids = [sub.conn.client_id for sub in self._subs.values()]
        closing = self._key("closing:", self._consumer_name)  # READ after an ended wait leases nothing
        answered = await support.end_reads(self._redis, ids, self._calls, _CLOSE_WAIT, closing)
        conns = [sub.conn for sub in self._subs.values()] + [self._enqueues.client, self._fates.client]
        for conn in conns:  # pumps and batches are gone
            await conn.close()
        if not answered:  # Redis away: the liveness key expires by itself (_ALIVE_TTL), then others take over
            return
        forget, me = self._scripts["FORGET_CONSUMER"], [self._consumer_name]
        calls: list[Awaitable[Any]] = [forget(keys=[sub.stream], args=me) for sub in self._subs.values()]
        if self._started:  # leases still held (cancelled deliveries) go to another instance at once
            calls.append(self._redis.delete(self._key("alive:", self._consumer_name), closing))
        await support.all_within(calls, _CLOSE_WAIT)
