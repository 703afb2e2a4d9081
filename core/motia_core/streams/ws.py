"""The stream WebSocket endpoint, wire-compatible with Motia's stream clients (spec 6.4).

Any path of the HTTP port upgrades (Motia's clients connect to ``ws://host:port``). Per connection:

* the handler task reads client messages in order: ``join`` / ``leave`` with
  ``{streamName, groupId, id?, subscriptionId}``;
* a writer task sends the connection's queue, one text frame per message.

Slow clients never slow the core: the hub only appends to a connection's queue, which is bounded
(messages and bytes). A client whose socket is backed up (the kernel and transport buffers are
full) and whose queue reaches the limit is dropped with close code 1008 and a warning; Motia's
clients reconnect after 2 s and re-join, which re-syncs them. A burst that merely outruns the writer
task by one event-loop turn is absorbed up to BURST_FACTOR times the message limit; the byte limit
always holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import WSMsgType, hdrs, web

from motia_core.logs import Logger
from motia_core.streams.hub import StreamHub

if TYPE_CHECKING:
    from motia_core.streams.access import StreamAccess

CLOSE_TOO_SLOW = 1008  # policy violation: the client did not keep up with its messages
CLOSE_GOING_AWAY = 1001
BACKED_UP_BYTES = 64 * 1024  # transport buffer above this: the socket is not taking data
BURST_FACTOR = 4


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    send_queue_messages: int = 4096  # queued messages per connection before it is dropped
    send_queue_bytes: int = 16 * 1024 * 1024  # queued bytes per connection before it is dropped
    max_subscriptions: int = 1024  # per connection
    max_message_bytes: int = 64 * 1024  # largest client message
    close_timeout: float = 1.0  # how long a dropped client gets to take the close frame
    heartbeat: float = 30.0  # ping interval; a client that does not answer is closed

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            send_queue_messages=max(1, int(_env_number("MOTIA_STREAM_SEND_QUEUE", cls.send_queue_messages))),
            send_queue_bytes=max(1024, int(_env_number("MOTIA_STREAM_SEND_QUEUE_BYTES", cls.send_queue_bytes))),
            close_timeout=max(0.0, _env_number("MOTIA_STREAM_CLOSE_TIMEOUT", cls.close_timeout)),
        )


_ids = itertools.count(1)


class Connection:
    """One client: its subscriptions, its bounded send queue and the task that drains it."""

    def __init__(
        self, ws: web.WebSocketResponse, request: web.Request, limits: Limits, logger: Logger, auth_context: bytes
    ) -> None:
        self.id = next(_ids)
        self.ws = ws
        self.peer = request.remote or "?"
        self.auth_context = auth_context
        self.subscriptions: dict[str, tuple[str, str, str]] = {}  # subscriptionId -> (stream, group, item)
        self.unnamed = itertools.count(1)  # keys for joins that carry no subscriptionId
        self._transport = request.transport
        self._limits = limits
        self._logger = logger
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self.dropped = False
        self.closed = False
        self.sent = 0

    @property
    def queued(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name=f"stream-ws-writer-{self.id}")

    def offer(self, message: bytes) -> bool:
        if self.closed:
            return False
        size = len(message)
        limits = self._limits
        queued = len(self._queue)
        if queued >= limits.send_queue_messages or self._queued_bytes + size > limits.send_queue_bytes:
            backed_up = self._transport is None or self._transport.get_write_buffer_size() >= BACKED_UP_BYTES
            if (
                backed_up
                or queued >= limits.send_queue_messages * BURST_FACTOR
                or self._queued_bytes + size > limits.send_queue_bytes
            ):
                self._drop_slow()
                return False
        self._queue.append(message)
        self._queued_bytes += size
        if not self._wake.is_set():
            self._wake.set()
        return True

    async def _write_loop(self) -> None:
        ws = self.ws
        queue = self._queue
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while queue:
                    message = queue.popleft()
                    self._queued_bytes -= len(message)
                    # a text frame: browsers hand binary frames to the client as a Blob
                    await ws.send_frame(message, WSMsgType.TEXT)
                    self.sent += 1
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket broke: the reader sees it too and cleans up
            self.closed = True

    def _drop_slow(self) -> None:
        self.closed = True
        self.dropped = True
        self._logger.warn(
            f"stream client {self.peer} (connection {self.id}) fell behind: {len(self._queue)} messages / "
            f"{self._queued_bytes} bytes queued; closing it with code {CLOSE_TOO_SLOW}",
            source="streams",
            connection=self.id,
            subscriptions=len(self.subscriptions),
        )
        self._queue.clear()
        self._queued_bytes = 0
        self._closer = asyncio.create_task(self.close(CLOSE_TOO_SLOW, b"send queue overflow: client too slow"))

    async def close(self, code: int, reason: bytes) -> None:
        """Stop writing, send a close frame if the client takes it in time, then drop the socket."""
        self.closed = True
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code=code, message=reason), self._limits.close_timeout)
        if self._transport is not None:
            # not close(): it would wait to flush what is buffered, forever for a client that stopped reading
            self._transport.abort()

    async def finish(self) -> None:
        """The reader is done: stop the writer (and any close in progress)."""
        self.closed = True
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
        if self._closer is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._closer


class StreamSocketServer:
    """Accepts stream WebSocket connections on the HTTP app and serves join/leave."""

    def __init__(
        self, hub: StreamHub, logger: Logger, limits: Limits | None = None, access: StreamAccess | None = None
    ) -> None:
        self.hub = hub
        self.logger = logger
        self.limits = limits or Limits.from_env()
        self.access = access
        self.connections: set[Connection] = set()
        self.dropped = 0
        # --cors-origins (set by build_app): None allows every Origin, as Motia does; else a browser
        # whose Origin is not listed gets 403 before the upgrade (docs/security.md#cors)
        self.allowed_origins: frozenset[str] | None = None

    @staticmethod
    def is_upgrade(request: web.Request) -> bool:
        return request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.allowed_origins is not None:
            origin = request.headers.get(hdrs.ORIGIN)
            # no Origin: not a browser, nothing to protect a user's browser from
            if origin is not None and origin.strip().rstrip("/").lower() not in self.allowed_origins:
                why = f"Origin {origin!r} is not in --cors-origins"
                self.logger.info(f"stream connection refused: {why}", source="streams")
                return web.json_response(
                    {"error": "Origin not allowed", "message": f"{origin!r} is not in this server's --cors-origins"},
                    status=403,
                )
        offered = [p.strip() for p in request.headers.get(hdrs.SEC_WEBSOCKET_PROTOCOL, "").split(",") if p.strip()]
        token = auth_token(offered, request.query.get("authToken"))
        auth_context = b"null"
        if self.access is not None and self.access.has_auth:
            rejected, auth_context = await self.access.authenticate(request, token)
            if rejected is not None:
                return rejected
        ws = web.WebSocketResponse(
            protocols=offered[:1],  # like the `ws` server: accept the client's first subprotocol
            compress=False,
            max_msg_size=self.limits.max_message_bytes,
            heartbeat=self.limits.heartbeat,
        )
        await ws.prepare(request)
        conn = Connection(ws, request, self.limits, self.logger, auth_context)
        self.connections.add(conn)
        conn.start()
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT or msg.type is WSMsgType.BINARY:
                    await self._on_message(conn, msg.data)
                if conn.closed:
                    break
        finally:
            self.connections.discard(conn)
            for stream, group_id, item_id in conn.subscriptions.values():
                self.hub.leave(conn, stream, group_id, item_id)
            conn.subscriptions.clear()
            if conn.dropped:
                self.dropped += 1
            await conn.finish()
        return ws

    async def close_all(self) -> None:
        """On shutdown: say goodbye to every client (they reconnect to the next core)."""
        await asyncio.gather(
            *(c.close(CLOSE_GOING_AWAY, b"server shutting down") for c in list(self.connections)),
            return_exceptions=True,
        )

    def stats(self) -> dict[str, Any]:
        return {
            "connections": len(self.connections),
            "subscriptions": sum(len(c.subscriptions) for c in self.connections),
            "queued": sum(c.queued for c in self.connections),
            "dropped": self.dropped,
            **self.hub.stats(),
        }

    # -- client messages -----------------------------------------------------------------------------

    async def _on_message(self, conn: Connection, raw: str | bytes) -> None:
        try:
            doc = orjson.loads(raw)
            kind = doc["type"]
            data = doc["data"]
            stream = _name(data["streamName"])
            group_id = _name(data["groupId"])
            item_id = _name(data.get("id") or "")
            sub_id = _name(data.get("subscriptionId") or "")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            self.logger.debug(f"ignoring a bad stream client message: {exc!r}", source="streams", connection=conn.id)
            return
        if kind == "join":
            await self._join(conn, stream, group_id, item_id, sub_id)
        elif kind == "leave":
            key = conn.subscriptions.pop(sub_id, None) if sub_id else None
            if key is None:  # Motia's leave names the room; without a known subscription id, use it
                key = (stream, group_id, item_id)
                matching = [s for s, k in conn.subscriptions.items() if k == key]
                if not matching:
                    return
                del conn.subscriptions[matching[0]]
            self.hub.leave(conn, *key)

    async def _join(self, conn: Connection, stream: str, group_id: str, item_id: str, sub_id: str) -> None:
        definition = self.hub.streams.get(stream)
        if definition is None:
            declared = ", ".join(sorted(n for n, d in self.hub.streams.items() if not d.hidden)) or "none"
            message = f"unknown stream {stream!r} (declared: {declared})"
            self._error(conn, stream, group_id, item_id, "STREAM_NOT_FOUND", message)
            return
        if definition.can_access and self.access is not None:
            if not await self.access.can_access(definition, group_id, item_id, conn.auth_context):
                self._error(conn, stream, group_id, item_id, "STREAM_ACCESS_DENIED", "Access denied")
                return
        if conn.closed:
            return
        previous = conn.subscriptions.pop(sub_id, None) if sub_id else None
        if previous is not None:
            self.hub.leave(conn, *previous)
        elif len(conn.subscriptions) >= self.limits.max_subscriptions:
            message = f"too many subscriptions on one connection (limit {self.limits.max_subscriptions})"
            self._error(conn, stream, group_id, item_id, "TOO_MANY_SUBSCRIPTIONS", message)
            return
        conn.subscriptions[sub_id or f"\0unnamed-{next(conn.unnamed)}"] = (stream, group_id, item_id)
        await self.hub.join(conn, stream, group_id, item_id)

    def _error(self, conn: Connection, stream: str, group_id: str, item_id: str, code: str, message: str) -> None:
        """Motia's error shape: an `event` message whose event type is `error`."""
        data = orjson.dumps({"code": code, "message": message})
        event = b'{"type":"event","event":{"type":"error","data":' + data + b"}}"
        conn.offer(self.hub.message(stream, group_id, item_id, event))


def _name(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def auth_token(protocols: list[str], query_token: str | None) -> str | None:
    """Motia's two ways to pass a token: `Sec-WebSocket-Protocol: Authorization,<token>` or `?authToken=`."""
    if len(protocols) >= 2 and protocols[0].lower() == "authorization":
        return protocols[1]
    return query_token or None
