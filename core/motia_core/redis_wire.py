"""A lean, dedicated Redis connection for the hot paths of the Redis backend: the queue's pumps and
script batches, and the trace writes (docs/adapters.md#redis-wire).

Why not redis-py's client for these: one redis-py call (execute_command: initialize, the
single-connection lock, Retry.call_with_retry, its observability hooks, the response callbacks)
cost about 270 µs of CPU for an EVALSHA on this machine, against about 55 µs for the same round trip
through an asyncio protocol that packs with `hiredis.pack_command` and parses with `hiredis.Reader`
(`bench/benchlib/redis_queue_cost.py` measures the queue's share). The queue and the trace writer
only need raw replies, so they skip all of that here.

What is kept from redis_conn's client: the same URL and connection settings (host/port or unix
socket, username/password, db, socket and connect timeouts), reconnecting and retrying a command
whose connection broke (`redis_conn.RETRIES`, the same backoff), and redis-py's exception classes,
so callers' handling of an unreachable Redis (`queue/redis_support.UNREACHABLE`) and of NOSCRIPT,
NOGROUP and script errors is unchanged. A TLS URL (rediss://) keeps redis-py's connection, used raw
(send, read: no response callbacks), which keeps most of the saving.

Replies are hiredis' RESP2 shapes: bytes, int, None, lists (no dicts: XREADGROUP's fields are a
flat list). Calls may overlap: replies come back in order, each to its caller; a call cancelled in
flight leaves its reply to be read and dropped, so the connection stays in step (a redis-py read
cancelled mid-reply could leave its connection out of step for good).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import hiredis
import redis.exceptions as rex

from motia_core.redis_conn import CONNECT_TIMEOUT, RETRIES, SOCKET_TIMEOUT

if TYPE_CHECKING:
    import redis.asyncio
    import redis.commands.core

_BACKOFF_BASE, _BACKOFF_CAP = 0.05, 0.5  # as redis_conn's ExponentialBackoff
_ERRORS: dict[str, type[rex.RedisError]] = {
    "NOSCRIPT": rex.NoScriptError,
    "LOADING": rex.BusyLoadingError,
    "READONLY": rex.ReadOnlyError,
}
Command = Sequence[Any]
# hiredis' stub types its argument as a 1-tuple; it packs a command of any length
_pack = cast(Callable[[tuple[Any, ...]], bytes], hiredis.pack_command)


def _error(reply: hiredis.ReplyError) -> rex.RedisError:
    message = str(reply)
    kind = _ERRORS.get(message.split(" ", 1)[0], rex.ResponseError)
    return kind(message)


def _settle(futures: list[asyncio.Future[Any]]) -> None:
    """The replies of a batch nobody will await any more (an earlier one failed, or the caller was
    cancelled): a pending one is cancelled (its reply is still read, then dropped), a failed one marked
    as seen, so asyncio logs no "exception was never retrieved"."""
    for future in futures:
        if not future.done():
            future.cancel()
        elif not future.cancelled():
            future.exception()


class _Protocol(asyncio.Protocol):
    """One socket: writes packed commands, hands each parsed reply to the oldest waiting future."""

    def __init__(self) -> None:
        self._reader = hiredis.Reader(replyError=hiredis.ReplyError)
        self._waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._transport: asyncio.Transport | None = None
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while self._waiting:
            try:
                reply = self._reader.gets()
            except hiredis.ProtocolError as exc:  # not RESP: nothing after it can be trusted
                self.close(rex.ConnectionError(f"Redis protocol error: {exc}"))
                return
            if reply is False:
                return
            future = self._waiting.popleft()
            if not future.done():  # cancelled: its reply is dropped, the next one is the next caller's
                future.set_result(reply)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.close(rex.ConnectionError(f"Connection to Redis lost: {exc}" if exc else "Connection closed by Redis"))

    def send(self, packed: bytes, replies: int) -> list[asyncio.Future[Any]]:
        if self.lost is not None or self._transport is None:
            raise rex.ConnectionError(str(self.lost or "not connected"))
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(replies)]
        self._waiting.extend(futures)
        self._transport.write(packed)
        return futures

    def close(self, why: BaseException) -> None:
        if self.lost is None:
            self.lost = why
        if self._transport is not None:
            self._transport.abort()  # unsent commands are dropped: whoever waits for them gets `why`
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(why)


class Wire:
    """A dedicated connection to the Redis of `client` (its pool's settings), connected on first use."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        pool = client.connection_pool
        self._kwargs: dict[str, Any] = dict(pool.connection_kwargs)
        self._raw = "ssl" in pool.connection_class.__name__.lower()  # TLS: redis-py's connection, used raw
        self._pool_client = client
        self._proto: _Protocol | None = None
        self._conn: Any = None  # the TLS case: a redis-py connection of its own
        self._connecting: asyncio.Lock | None = None
        self._epoch = 0  # bumped by close(): a connect under way when it came closes what it made
        self.client_id: int | None = None  # CLIENT ID of the current connection (close() unblocks its read)
        wires = getattr(pool, "motia_wires", None)  # redis_conn's pool closes it with itself
        if wires is not None:
            wires.add(self)

    async def call(self, *args: Any, timeout: float | None = SOCKET_TIMEOUT, retry: bool = True) -> Any:
        """One command's reply; an error reply raises (redis-py's classes). `timeout`: seconds the reply
        may take (a blocking read adds its block), None for no bound."""
        replies = await self.pipeline([args], timeout=timeout, retry=retry)
        return replies[0]

    async def pipeline(
        self, commands: Sequence[Command], timeout: float | None = SOCKET_TIMEOUT, retry: bool = True
    ) -> list[Any]:
        """Every command sent at once, their replies in order; the first error reply raises, as redis-py's
        pipeline does. A broken connection is reconnected and the whole batch sent again (the callers'
        scripts are idempotent or fenced by lease tokens, as with redis-py's own retries)."""
        packed = b"".join(_pack(tuple(c)) for c in commands)
        attempt = 0
        while True:
            try:
                replies = await self._exchange(packed, len(commands), timeout)
                break
            except (rex.ConnectionError, rex.TimeoutError):
                if not retry or attempt >= RETRIES:
                    raise
                await asyncio.sleep(min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt))
                attempt += 1
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                raise _error(reply)
        return replies

    async def script(self, script: redis.commands.core.AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """EVALSHA of a registered script; loaded again when Redis lost its script cache (a restart)."""
        try:
            return await self.call("EVALSHA", script.sha, len(keys), *keys, *args)
        except rex.NoScriptError:
            script.sha = await self.call("SCRIPT", "LOAD", script.script)
            return await self.call("EVALSHA", script.sha, len(keys), *keys, *args)

    async def _exchange(self, packed: bytes, count: int, timeout: float | None) -> list[Any]:
        if self._raw:
            return await self._exchange_raw(packed, count, timeout)
        proto = self._proto
        if proto is None or proto.lost is not None:
            proto = await self._connect()
        futures = proto.send(packed, count)
        try:
            async with asyncio.timeout(timeout):
                return [await f for f in futures]
        except TimeoutError as exc:  # the connection's state is unknown past a timeout: start afresh
            proto.close(rex.TimeoutError("Timeout reading from Redis"))
            raise rex.TimeoutError(f"Redis did not answer within {timeout:g}s") from exc
        finally:
            _settle(futures)

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # overlapping calls share one reconnect
            if self._proto is not None and self._proto.lost is None:
                return self._proto
            loop = asyncio.get_running_loop()
            kw = self._kwargs
            epoch = self._epoch
            wait = kw.get("socket_connect_timeout") or CONNECT_TIMEOUT
            try:
                async with asyncio.timeout(wait):
                    if kw.get("path"):
                        _, proto = await loop.create_unix_connection(_Protocol, kw["path"])
                    else:
                        _, proto = await loop.create_connection(
                            _Protocol, kw.get("host", "localhost"), int(kw.get("port", 6379))
                        )
            except (OSError, TimeoutError) as exc:
                raise rex.ConnectionError(f"Error connecting to Redis: {exc or type(exc).__name__}") from exc
            try:
                self.client_id = await self._handshake(proto)
            except BaseException:  # refused, timed out or cancelled (a flush given up): never left open
                proto.close(rex.ConnectionError("the connection's handshake did not complete"))
                raise
            if epoch != self._epoch:  # close() came meanwhile: this connection is nobody's
                proto.close(rex.ConnectionError("closed"))
                raise rex.ConnectionError("the connection was closed while it was made")
            self._proto = proto
            return proto

    async def _handshake(self, proto: _Protocol) -> int:
        """AUTH and SELECT as the URL asks, then the connection's CLIENT ID."""
        kw = self._kwargs
        hello: list[Command] = []
        if kw.get("password") is not None:
            user = kw.get("username")
            hello.append(("AUTH", user, kw["password"]) if user else ("AUTH", kw["password"]))
        if int(kw.get("db") or 0):
            hello.append(("SELECT", int(kw["db"])))
        hello.append(("CLIENT", "ID"))
        futures = proto.send(b"".join(_pack(tuple(c)) for c in hello), len(hello))
        try:
            async with asyncio.timeout(kw.get("socket_timeout") or SOCKET_TIMEOUT):
                replies = [await f for f in futures]
        except TimeoutError as exc:
            raise rex.TimeoutError("Redis did not answer the connection's handshake") from exc
        finally:
            _settle(futures)
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                message = str(reply)
                if message.startswith(("WRONGPASS", "NOAUTH", "ERR AUTH", "ERR invalid password")):
                    raise rex.AuthenticationError(message)
                raise _error(reply)
        return int(replies[-1])

    async def _exchange_raw(self, packed: bytes, count: int, timeout: float | None) -> list[Any]:
        if self._conn is None:
            pool = self._pool_client.connection_pool
            self._conn = cast(Any, pool).make_connection()
        conn = self._conn
        try:
            if not conn.is_connected:
                await conn.connect()
                self.client_id = None
            if self.client_id is None:
                await conn.send_packed_command([_pack(("CLIENT", "ID"))], check_health=False)
                self.client_id = int(await conn.read_response())
            await conn.send_packed_command([packed], check_health=False)
            async with asyncio.timeout(timeout):
                return [await conn.read_response(disable_decoding=True) for _ in range(count)]
        except TimeoutError as exc:
            await conn.disconnect()
            raise rex.TimeoutError(f"Redis did not answer within {timeout:g}s") from exc
        except BaseException:
            await conn.disconnect()  # mid-reply or broken: never reused as is
            raise

    async def close(self) -> None:
        self._epoch += 1
        if self._proto is not None:
            self._proto.close(rex.ConnectionError("closed"))
            self._proto = None
            await asyncio.sleep(0)  # the transport closes its socket in a callback: let it run now
        if self._conn is not None:
            await self._conn.disconnect()
            self._conn = None
