"""WS /__motia/live: what the Workbench shows as it happens (docs/observability.md#live).

Server -> client JSON messages:
    {"type":"log","log":{...}}        each log line once the log store holds it (with its id)
    {"type":"trace","trace":{...}}    a trace's summary (no spans) when its spans changed, at most
                                      once per TRACE_EVERY seconds per trace
    {"type":"flows"}                  the steps changed: refetch /__motia/flows
    {"type":"queue"}                  queue stats changed (polled at most once a second)
Client -> server: {"type":"filter","logs":{"level"?,"step"?,"traceId"?}} narrows the log messages.

Nothing here slows what it watches: the feed is a log listener and a trace listener that only note
the change when a client is connected; one task per client sends from a bounded buffer, and a client
that does not keep up loses messages (counted, and told once with {"type":"dropped","count"}).
Traces: this instance's changes come from its live store at once; on a shared trace storage that can
be watched (tracing.SharedTraceChanges: Redis), every flush of every instance is announced once it
is stored, and a trace another instance changed is re-read from the storage (at most REMOTE_READS a
tick, the rest on the next). Once another instance touched a trace, this instance's own changes to it
are also sent from the storage, when its own flush is announced, and never from the live store: so
a summary holds every instance's spans, and a change is sent once, not once per source.
Logs are the log store's, so with Redis they are this instance's (other instances' lines are in
GET /__motia/logs).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from motia_core.http.guard import AdminGuard
from motia_core.logs import Level, Logger, LogRecord
from motia_core.logstore import LogDoc, log_doc
from motia_core.queue.base import QueueStats
from motia_core.tracing import Span, Trace, TraceDoc, TraceStore, trace_summary
from motia_core.tracing_storage import SharedTraceChanges

TRACE_EVERY = 0.25  # seconds between two summaries of the same trace
REMOTE_READS = 100  # traces re-read from the shared storage per tick
REMOTE_WAIT = 2.0  # seconds one re-read may take before this tick gives up on it
REMOTE_PENDING = 10_000  # trace ids waiting for a re-read; past it new ones are dropped
MIXED_HELD = 10_000  # traces remembered as touched by other instances
QUEUE_EVERY = 1.0  # seconds between two looks at the queue's stats
CLIENT_BUFFER = 1000  # messages waiting for one client; past it they are dropped
MAX_CLIENTS = 64


class _Client:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.buffer: asyncio.Queue[bytes] = asyncio.Queue(CLIENT_BUFFER)
        self.level: Level | None = None
        self.step: str | None = None
        self.trace_id: str | None = None
        self.dropped = 0
        self.told = 0  # drops already reported to the client

    def wants(self, log: LogDoc) -> bool:
        if self.level is not None and Level[str(log["level"]).upper()] < self.level:
            return False
        if self.step is not None and log.get("step") != self.step:
            return False
        return self.trace_id is None or log.get("traceId") == self.trace_id

    def send(self, message: bytes) -> None:
        try:
            self.buffer.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += 1

    def set_filter(self, doc: Any) -> None:
        logs = doc.get("logs") if isinstance(doc, dict) else None
        if not isinstance(logs, dict):
            return
        level = logs.get("level")
        try:
            self.level = Level.parse(level) if isinstance(level, str) and level else None
        except ValueError:
            self.level = None
        step, trace_id = logs.get("step"), logs.get("traceId")
        self.step = step if isinstance(step, str) and step else None
        self.trace_id = trace_id if isinstance(trace_id, str) and trace_id else None


class LiveFeed:
    """A log listener (LogRecorder.listeners) and a TraceListener of the live store."""

    def __init__(
        self,
        traces: TraceStore,
        queue_stats: Callable[[], Awaitable[QueueStats]] | None,
        logger: Logger,
        shared: object = None,
    ) -> None:
        """`shared`: the shared trace storage, watched when it is a SharedTraceChanges."""
        self._traces = traces
        self._queue_stats = queue_stats
        self._logger = logger
        self._shared = shared if isinstance(shared, SharedTraceChanges) else None
        self.clients: set[_Client] = set()
        self._dirty: set[str] = set()
        self._remote: dict[str, None] = {}  # to re-read from the shared storage, oldest first
        self._mixed: OrderedDict[str, None] = OrderedDict()  # traces other instances changed
        self._tasks: list[asyncio.Task[None]] = []

    # -- listeners: called where things happen, so they only take note ---------------------------

    def logs_recorded(self, ids: list[str], records: list[LogRecord]) -> None:
        if not self.clients:
            return
        docs = [log_doc(i, r) for i, r in zip(ids, records, strict=False)]
        for client in self.clients:
            for doc in docs:
                if client.wants(doc):
                    client.send(orjson.dumps({"type": "log", "log": doc}, default=str))

    def trace_begun(self, trace: Trace) -> None:
        if self.clients:
            self._dirty.add(trace.trace_id)

    def span_changed(self, span: Span) -> None:
        if self.clients:
            self._dirty.add(span.trace_id)

    def stored(self, trace_ids: list[str], own: bool) -> None:
        """A flush that changed these traces is in the shared storage (SharedTraceChanges.watch)."""
        for trace_id in trace_ids:
            if own and trace_id not in self._mixed:
                continue  # the live store has told the socket already
            if not own:
                self._mixed[trace_id] = None
                self._mixed.move_to_end(trace_id)
            if self.clients and len(self._remote) < REMOTE_PENDING:
                self._remote[trace_id] = None
        while len(self._mixed) > MIXED_HELD:
            self._mixed.popitem(last=False)

    def flows_changed(self) -> None:
        self._broadcast({"type": "flows"})

    # -- tasks ------------------------------------------------------------------------------------

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._traces_loop(), name="live-traces")]
            if self._shared is not None:
                self._tasks.append(asyncio.create_task(self._shared.watch(self.stored), name="live-watch"))
            if self._queue_stats is not None:
                self._tasks.append(asyncio.create_task(self._queue_loop(), name="live-queue"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.close_clients()

    async def close_clients(self) -> None:
        """Say goodbye to every live socket (on the HTTP server's shutdown: an open socket would
        otherwise hold the drain until its timeout)."""
        for client in list(self.clients):
            with contextlib.suppress(Exception):
                await client.ws.close(code=1001, message=b"server shutting down")

    async def _traces_loop(self) -> None:
        while True:
            await asyncio.sleep(TRACE_EVERY)
            await self._reread()
            if not self._dirty:
                continue
            dirty, self._dirty = self._dirty, set()
            for trace_id in dirty:
                if trace_id in self._mixed:  # sent from the storage once this flush is announced
                    continue
                trace = self._traces.get(trace_id)
                if trace is not None:
                    self._broadcast({"type": "trace", "trace": trace_summary(trace.as_json())})

    async def _reread(self) -> None:
        """Send the summaries of the traces to re-read from the shared storage."""
        if self._shared is None:
            return
        if not self._remote or not self.clients:
            self._remote.clear()
            return
        ids = list(itertools.islice(self._remote, REMOTE_READS))
        for trace_id in ids:
            del self._remote[trace_id]
        try:
            docs: list[TraceDoc | None] = await asyncio.wait_for(self._shared.get_traces(ids), REMOTE_WAIT)
        except Exception:  # the storage is down: GET /__motia/traces says why; the socket goes on
            return
        for doc in docs:
            if doc is not None:
                self._broadcast({"type": "trace", "trace": trace_summary(doc)})

    async def _queue_loop(self) -> None:
        assert self._queue_stats is not None
        last: QueueStats | None = None
        while True:
            await asyncio.sleep(QUEUE_EVERY)
            if not self.clients:
                continue
            try:
                stats = await self._queue_stats()
            except Exception:  # the queue's storage is down: GET /__motia/queue says why
                continue
            if last is not None and stats != last:
                self._broadcast({"type": "queue"})
            last = stats

    def _broadcast(self, message: dict[str, Any]) -> None:
        if self.clients:
            data = orjson.dumps(message)
            for client in self.clients:
                client.send(data)

    # -- the socket -------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if len(self.clients) >= MAX_CLIENTS:
            return web.json_response(
                {"error": "Too many connections", "message": f"at most {MAX_CLIENTS} live sockets"}, status=503
            )
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=64 * 1024)
        await ws.prepare(request)
        client = _Client(ws)
        self.clients.add(client)
        writer = asyncio.create_task(self._write(client), name="live-writer")
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    with contextlib.suppress(orjson.JSONDecodeError):
                        doc = orjson.loads(msg.data)
                        if isinstance(doc, dict) and doc.get("type") == "filter":
                            client.set_filter(doc)
        finally:
            self.clients.discard(client)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    async def _write(self, client: _Client) -> None:
        while True:
            message = await client.buffer.get()
            if client.dropped > client.told:
                await client.ws.send_str(
                    orjson.dumps({"type": "dropped", "count": client.dropped - client.told}).decode()
                )
                client.told = client.dropped
            await client.ws.send_str(message.decode())


def add_live_route(app: web.Application, guard: AdminGuard, feed: LiveFeed) -> None:
    app.router.add_get("/__motia/live", guard.wrap(feed.handle))
    app.on_shutdown.append(lambda _: feed.close_clients())
