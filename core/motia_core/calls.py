"""The core's answers to runner->core calls: emit, state, streams and log."""

from __future__ import annotations

import time
from typing import Any

import orjson

from motia_core.errors import CallFailed
from motia_core.events import EventBus, undeclared_emit
from motia_core.lenient import UNDECLARED, EmitDrops
from motia_core.limits import MAX_PAYLOAD_BYTES, check_value, size_message
from motia_core.logs import Level, Logger, LogRecord
from motia_core.runners.transport import InvocationScope, RunnerInfo
from motia_core.state.base import StateStore
from motia_core.streams.hub import NotAnObject, StreamHub
from motia_core.tracing import Span, TraceStore

NULL = b"null"
_LEVELS = {1: Level.DEBUG, 2: Level.INFO, 3: Level.WARN, 4: Level.ERROR}


class CoreCalls:
    """Implements runners.transport.CallHandler."""

    def __init__(
        self,
        state: StateStore,
        logger: Logger,
        streams: StreamHub | None = None,
        traces: TraceStore | None = None,
        record_events: bool = True,
    ) -> None:
        self.state = state
        self.logger = logger
        self.streams = streams
        self.traces = traces
        # each call made during an invocation becomes an event of its span, in the order they arrive
        # here (docs/observability.md#span-events); `serve --no-record` turns it off
        self.record_events = record_events and traces is not None
        self.drops = EmitDrops(traces)  # emits dropped as Motia drops them: /metrics and the span
        self.bus: EventBus | None = None  # set once the registry exists

    async def emit(self, scope: InvocationScope | None, topic: str, data_json: bytes, group_id: str) -> bytes:
        if self.bus is None:
            raise CallFailed("CODE_UNAVAILABLE", "the core is still starting")
        if scope is None:
            raise CallFailed("CODE_INVALID_ARGUMENT", "emit must be made from inside a handler")
        dropped = undeclared_emit(topic, scope.emits, scope.step_name)
        if dropped is not None:
            if self.bus.strict:
                raise CallFailed("CODE_REJECTED", f"{dropped}; serve --strict refuses it")
            # Motia drops it and the handler carries on. The runner logs the warning with the file and
            # line of the emit call (only it knows them) when it reads this reply; a runner that does
            # not still gets a normal reply, and the drop is counted and traced here either way.
            message = f"{dropped}; the event was dropped"
            self.drops.record(scope, UNDECLARED, topic)
            self.logger.debug(message, step=scope.step_name, trace_id=scope.trace_id)
            return orjson.dumps({"dropped": UNDECLARED, "message": message})
        span = self._span(scope)
        if span is not None:
            span.add_event({"type": "emit", "topic": topic, "time": _now_ms()})
        await self.bus.emit(
            topic,
            data_json or NULL,
            scope.trace_id,
            group_id,
            source=scope.step_name,
            allowed=scope.emits,
            parent=scope.invocation_id,
        )
        return NULL

    async def state_get(self, scope: InvocationScope | None, group_id: str, key: str) -> bytes:
        self._state_event(scope, "get", group_id, key)
        return await self.state.get(group_id, key) or NULL

    async def state_set(self, scope: InvocationScope | None, group_id: str, key: str, value_json: bytes) -> bytes:
        value = value_json or NULL
        self._state_event(scope, "set", group_id, key)
        check_value(value, f"state value {group_id}/{key}")
        _check_json(value, "state value")
        await self.state.set(group_id, key, value)
        return value

    async def state_delete(self, scope: InvocationScope | None, group_id: str, key: str) -> bytes:
        self._state_event(scope, "delete", group_id, key)
        return await self.state.delete(group_id, key) or NULL

    async def state_get_group(self, scope: InvocationScope | None, group_id: str) -> bytes:
        self._state_event(scope, "getGroup", group_id, None)
        return _fits(b"[" + b",".join(await self.state.get_group(group_id)) + b"]", f"state group {group_id!r}")

    async def state_clear(self, scope: InvocationScope | None, group_id: str) -> bytes:
        self._state_event(scope, "clear", group_id, None)
        await self.state.clear(group_id)
        return NULL

    async def stream_get(self, scope: InvocationScope | None, stream: str, group_id: str, item_id: str) -> bytes:
        self._stream_event(scope, "get", stream, group_id, item_id)
        return await self._hub(stream).get(stream, group_id, _item_id(item_id))

    async def stream_set(
        self, scope: InvocationScope | None, stream: str, group_id: str, item_id: str, data_json: bytes
    ) -> bytes:
        hub = self._hub(stream)
        self._stream_event(scope, "set", stream, group_id, item_id)
        check_value(data_json, f"streams.{stream}.set value {group_id}/{item_id}")
        try:
            return await hub.set(stream, group_id, _item_id(item_id), data_json)
        except NotAnObject as exc:
            raise CallFailed("CODE_INVALID_ARGUMENT", f"streams.{stream}.set: {exc}") from exc

    async def stream_delete(self, scope: InvocationScope | None, stream: str, group_id: str, item_id: str) -> bytes:
        self._stream_event(scope, "delete", stream, group_id, item_id)
        return await self._hub(stream).delete(stream, group_id, _item_id(item_id))

    async def stream_get_group(self, scope: InvocationScope | None, stream: str, group_id: str) -> bytes:
        self._stream_event(scope, "getGroup", stream, group_id, None)
        return _fits(await self._hub(stream).get_group(stream, group_id), f"streams.{stream} group {group_id!r}")

    async def stream_send(
        self,
        scope: InvocationScope | None,
        stream: str,
        group_id: str,
        item_id: str,
        event_type: str,
        data_json: bytes,
    ) -> bytes:
        hub = self._hub(stream)
        if not event_type:
            raise CallFailed("CODE_INVALID_ARGUMENT", f"streams.{stream}.send: the event needs a type")
        self._stream_event(scope, "send", stream, group_id, item_id or None)
        if data_json:
            check_value(data_json, f"streams.{stream}.send data")
            _check_json(data_json, "stream event data")
        await hub.send(stream, group_id, item_id, event_type, data_json)
        return NULL

    def _span(self, scope: InvocationScope | None) -> Span | None:
        if scope is None or not self.record_events or self.traces is None:
            return None
        return self.traces.span(scope.invocation_id)

    def _state_event(self, scope: InvocationScope | None, op: str, group_id: str, key: str | None) -> None:
        span = self._span(scope)
        if span is not None:
            event: dict[str, Any] = {"type": "state", "op": op, "group": group_id, "time": _now_ms()}
            if key is not None:
                event["key"] = key
            span.add_event(event)

    def _stream_event(
        self, scope: InvocationScope | None, op: str, stream: str, group_id: str, item_id: str | None
    ) -> None:
        span = self._span(scope)
        if span is not None:
            event: dict[str, Any] = {"type": "stream", "op": op, "stream": stream, "group": group_id, "time": _now_ms()}
            if item_id is not None:
                event["id"] = item_id
            span.add_event(event)

    def _hub(self, stream: str) -> StreamHub:
        hub = self.streams
        if hub is None:
            raise CallFailed("CODE_UNAVAILABLE", "the core is still starting")
        if stream not in hub.streams:
            declared = ", ".join(sorted(n for n, d in hub.streams.items() if not d.hidden))
            listing = f"declared streams: {declared}" if declared else "the project declares no streams"
            raise CallFailed(
                "CODE_INVALID_ARGUMENT",
                f"stream {stream!r} is not declared in this project ({listing}); "
                "declare it in a *.stream.ts|js|rb or *_stream.py|ts|js|rb file under steps/ or src/",
            )
        return hub

    def log(
        self,
        scope: InvocationScope | None,
        info: RunnerInfo,
        level: int,
        message: str,
        fields_json: bytes,
        time_ms: int,
    ) -> None:
        lvl = _LEVELS.get(level, Level.INFO)
        # a runner's warning about an emit it dropped is counted even when warnings are not shown
        marked = scope is not None and lvl is Level.WARN and b'"emit_dropped"' in fields_json
        if not marked and not self.logger.enabled(lvl):
            return
        fields: dict[str, Any] = {}
        if fields_json:
            try:
                decoded = orjson.loads(fields_json)
                fields = decoded if isinstance(decoded, dict) else {"data": decoded}
            except orjson.JSONDecodeError:
                fields = {"data": fields_json.decode("utf-8", errors="replace")}
        if marked:
            self.drops.from_log(scope, fields)
            if not self.logger.enabled(lvl):
                return
        record = LogRecord(
            level=lvl,
            message=message,
            step=scope.step_name if scope else None,
            trace_id=scope.trace_id if scope else None,
            language=scope.language if scope else info.language,
            source="step" if scope else f"runner:{info.language}",
            fields=fields,
            time=time_ms / 1000 if time_ms else time.time(),
        )
        if scope and scope.flows:
            record.fields.setdefault("flows", list(scope.flows))
        span = self._span(scope)
        if span is not None:
            span.add_event(
                {"type": "log", "level": lvl.name.lower(), "message": message, "time": int(record.time * 1000)}
            )
        self.logger.emit(record)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _fits(reply: bytes, what: str) -> bytes:
    """A reply goes back to the runner in one message: a group grown past it is refused, not sent
    (sending it would end the runner's stream)."""
    if len(reply) > MAX_PAYLOAD_BYTES:
        raise CallFailed("CODE_INVALID_ARGUMENT", size_message(what, len(reply)) + "; read its items one by one")
    return reply


def _item_id(item_id: str) -> str:
    if not item_id:
        raise CallFailed("CODE_INVALID_ARGUMENT", "a stream item needs a non-empty id")
    return item_id


def _check_json(value: bytes, what: str) -> None:
    try:
        orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise CallFailed("CODE_INVALID_ARGUMENT", f"{what} is not valid JSON: {exc}") from exc
