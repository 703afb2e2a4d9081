"""Test helpers for step authors: run a handler in-process with a real context.

:class:`StepTestEnvironment` plays the core (in the manner of Temporal's ``ActivityEnvironment``):
it builds a default context over an in-memory state, captures emits and log lines, and runs
handlers exactly as the runner does (middleware, ``def`` handlers in a worker thread, payloads
and results round-tripped through JSON)::

    from motia.testing import StepTestEnvironment
    from steps.orders import create_order_step as step

    async def test_create_order() -> None:
        env = StepTestEnvironment()
        result = await env.run_api(step.handler, body={"sku": "A1"}, middleware=step.config.get("middleware", ()))
        assert result["status"] == 201
        assert env.emitted("order.created") == [{"sku": "A1"}]
        assert env.state.get("orders", "A1") == {"sku": "A1"}

Use it from ``async def`` tests (pytest-asyncio or ``asyncio.run``).

For end-to-end tests, :class:`MotiaApp` runs the real ``motia-core serve`` on a project (the pytest
plugin's ``motia_app`` fixture wraps it; docs/testing.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

from . import _json
from ._context import Context, Streams
from ._errors import CallError
from ._execution import StepCallable, Trigger, run_handler
from ._motia_app import MotiaApp, MotiaAppError, Response
from ._request import ApiRequest
from .transport import (
    CallRequest,
    EmitCall,
    LogLevel,
    LogRecord,
    StateClearCall,
    StateDeleteCall,
    StateGetCall,
    StateGetGroupCall,
    StateSetCall,
    StreamDeleteCall,
    StreamGetCall,
    StreamGetGroupCall,
    StreamSendCall,
    StreamSetCall,
)

_TRACE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ123456789"


def new_trace_id() -> str:
    """A trace id in Motia's format, e.g. ``K7QZP-4123456``."""
    prefix = "".join(random.choice(_TRACE_ALPHABET) for _ in range(5))
    return f"{prefix}-{str(int(time.time() * 1000))[6:]}"


class InMemoryState:
    """The state store behind a test context. Values are kept as JSON, like the real core, so what a
    handler reads back is a fresh copy. Its methods are synchronous, for seeding and asserting."""

    def __init__(self, groups: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._groups: dict[str, dict[str, bytes]] = {}
        for group_id, items in (groups or {}).items():
            for key, value in items.items():
                self.set(group_id, key, value)

    def get(self, group_id: str, key: str) -> Any:
        raw = self._groups.get(group_id, {}).get(key)
        return None if raw is None else _json.loads(raw)

    def set(self, group_id: str, key: str, value: Any) -> Any:
        self._groups.setdefault(group_id, {})[key] = _json.dumps(value)
        return value

    def delete(self, group_id: str, key: str) -> Any:
        raw = self._groups.get(group_id, {}).pop(key, None)
        return None if raw is None else _json.loads(raw)

    def get_group(self, group_id: str) -> list[Any]:
        return [_json.loads(raw) for raw in self._groups.get(group_id, {}).values()]

    def clear(self, group_id: str) -> None:
        self._groups.pop(group_id, None)

    def groups(self) -> dict[str, dict[str, Any]]:
        """A decoded snapshot of everything stored: ``{group_id: {key: value}}``."""
        return {g: {k: _json.loads(v) for k, v in items.items()} for g, items in self._groups.items() if items}


class InMemoryStreams:
    """The stream items behind a test context, like the core keeps them: ``{...data, "id": id}``, groups
    in creation order. ``sent`` records ``send`` events as ``(stream, channel, event)``. Synchronous
    methods, for seeding and asserting."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], dict[str, bytes]] = {}
        self.sent: list[tuple[str, dict[str, Any], dict[str, Any]]] = []

    def get(self, stream: str, group_id: str, item_id: str) -> Any:
        raw = self._items.get((stream, group_id), {}).get(item_id)
        return None if raw is None else _json.loads(raw)

    def set(self, stream: str, group_id: str, item_id: str, data: Mapping[str, Any]) -> Any:
        item = {**data, "id": item_id}
        self._items.setdefault((stream, group_id), {})[item_id] = _json.dumps(item)
        return _json.loads(_json.dumps(item))

    def delete(self, stream: str, group_id: str, item_id: str) -> Any:
        raw = self._items.get((stream, group_id), {}).pop(item_id, None)
        return None if raw is None else _json.loads(raw)

    def get_group(self, stream: str, group_id: str) -> list[Any]:
        return [_json.loads(raw) for raw in self._items.get((stream, group_id), {}).values()]


@dataclasses.dataclass(frozen=True)
class CapturedLog:
    """One ``ctx.logger`` line, decoded."""

    level: str  # "debug" | "info" | "warn" | "error"
    message: str
    fields: dict[str, Any]
    time_unix_ms: int


CallHook = Callable[[CallRequest], None]
"""Called with every request before it is applied; raise (e.g. ``CallError``) to make it fail."""


class InMemorySink:
    """A :class:`motia.transport.CallSink` that applies calls to an :class:`InMemoryState` at once."""

    def __init__(
        self,
        state: InMemoryState | None = None,
        on_call: CallHook | None = None,
        streams: InMemoryStreams | None = None,
    ) -> None:
        self.state = state if state is not None else InMemoryState()
        self.streams = streams if streams is not None else InMemoryStreams()
        self.on_call = on_call
        self.calls: list[CallRequest] = []
        self.emits: list[dict[str, Any]] = []
        self.logs: list[CapturedLog] = []

    def call(self, request: CallRequest) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.calls.append(request)
        try:
            if self.on_call is not None:
                self.on_call(request)
            future.set_result(self._apply(request))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def _apply(self, request: CallRequest) -> bytes:
        state = self.state
        if isinstance(request, EmitCall):
            event: dict[str, Any] = {"topic": request.topic, "data": _json.loads(request.data_json)}
            if request.message_group_id:
                event["messageGroupId"] = request.message_group_id
            self.emits.append(event)
            return b""
        if isinstance(request, StateGetCall):
            return _json.dumps(state.get(request.group_id, request.key))
        if isinstance(request, StateSetCall):
            state.set(request.group_id, request.key, _json.loads(request.value_json))
            return request.value_json
        if isinstance(request, StateDeleteCall):
            return _json.dumps(state.delete(request.group_id, request.key))
        if isinstance(request, StateGetGroupCall):
            return _json.dumps(state.get_group(request.group_id))
        if isinstance(request, StateClearCall):
            state.clear(request.group_id)
            return b""
        return self._apply_stream(request)

    def _apply_stream(self, request: CallRequest) -> bytes:
        streams = self.streams
        if isinstance(request, StreamGetCall):
            return _json.dumps(streams.get(request.stream, request.group_id, request.id))
        if isinstance(request, StreamSetCall):
            data = _json.loads(request.data_json)
            if not isinstance(data, dict):
                raise CallError(f"streams.{request.stream}.set: a stream item must be a JSON object")
            return _json.dumps(streams.set(request.stream, request.group_id, request.id, data))
        if isinstance(request, StreamDeleteCall):
            return _json.dumps(streams.delete(request.stream, request.group_id, request.id))
        if isinstance(request, StreamGetGroupCall):
            return _json.dumps(streams.get_group(request.stream, request.group_id))
        if isinstance(request, StreamSendCall):
            channel: dict[str, Any] = {"groupId": request.group_id}
            if request.id:
                channel["id"] = request.id
            event = {"type": request.type, "data": _json.loads(request.data_json) if request.data_json else None}
            streams.sent.append((request.stream, channel, event))
            return b""
        raise CallError(f"unsupported call {type(request).__name__}")  # pragma: no cover

    def log(self, record: LogRecord) -> None:
        fields = _json.loads(record.fields_json) if record.fields_json else {}
        self.logs.append(CapturedLog(_LEVEL_NAMES[record.level], record.message, fields, record.time_unix_ms))


_LEVEL_NAMES = {LogLevel.DEBUG: "debug", LogLevel.INFO: "info", LogLevel.WARN: "warn", LogLevel.ERROR: "error"}


def _middleware(entries: Iterable[Any]) -> list[StepCallable]:
    return [StepCallable.of(entry) for entry in entries if callable(entry)]


class StepTestEnvironment:
    """Runs handlers against an in-memory core and records what they did.

    :param trace_id: the context's trace id (default: a fresh Motia-style id).
    :param flows: the context's flows.
    :param state: a pre-seeded store (or pass ``{group: {key: value}}``).
    :param streams: stream objects by name for ``ctx.streams.<name>`` (only those names then exist);
        by default every name is an in-memory stream (see :attr:`streams`).
    :param on_call: see :data:`CallHook`.
    :param executor: where ``def`` handlers run (default: the loop's default executor).
    """

    def __init__(
        self,
        *,
        trace_id: str | None = None,
        flows: Sequence[str] = (),
        state: InMemoryState | Mapping[str, Mapping[str, Any]] | None = None,
        streams: Mapping[str, Any] | None = None,
        on_call: CallHook | None = None,
        executor: Executor | None = None,
    ) -> None:
        store = state if isinstance(state, InMemoryState) else InMemoryState(state)
        self.trace_id = trace_id if trace_id is not None else new_trace_id()
        self.flows = list(flows)
        self.sink = InMemorySink(store, on_call)
        self.executor = executor
        self._streams = dict(streams) if streams is not None else None

    # -- what happened ----------------------------------------------------------------------------

    @property
    def state(self) -> InMemoryState:
        return self.sink.state

    @property
    def streams(self) -> InMemoryStreams:
        """The stream items handlers wrote (and the events they sent)."""
        return self.sink.streams

    @property
    def emits(self) -> list[dict[str, Any]]:
        """Every emitted event, in order: ``{"topic", "data", "messageGroupId"?}``."""
        return self.sink.emits

    @property
    def logs(self) -> list[CapturedLog]:
        return self.sink.logs

    @property
    def calls(self) -> list[CallRequest]:
        """Every call the context made (emit and state), in order."""
        return self.sink.calls

    def emitted(self, topic: str) -> list[Any]:
        """The ``data`` of every event emitted on ``topic``."""
        return [event["data"] for event in self.emits if event["topic"] == topic]

    def reset(self) -> None:
        """Forget emits, logs and calls (the state is kept)."""
        self.sink.emits.clear()
        self.sink.logs.clear()
        self.sink.calls.clear()

    # -- running handlers -------------------------------------------------------------------------

    def context(self) -> Context:
        """A context wired to this environment; call it on the event loop."""
        streams = Streams(self._streams) if self._streams is not None else None
        return Context(trace_id=self.trace_id, flows=self.flows, sink=self.sink, streams=streams)

    async def run_api(
        self,
        handler: Callable[..., Any],
        *,
        body: Any = None,
        headers: Mapping[str, Any] | None = None,
        path_params: Mapping[str, str] | None = None,
        query_params: Mapping[str, Any] | None = None,
        raw_body: str | None = None,
        middleware: Iterable[Any] = (),
    ) -> Any:
        """Run an API handler (after ``middleware``) with a request built like the core builds it."""
        body = _roundtrip(body)
        request = ApiRequest(
            body=body,
            headers={str(k).lower(): v for k, v in (headers or {}).items()},
            pathParams=dict(path_params or {}),
            queryParams=dict(query_params or {}),
            rawBody=raw_body if raw_body is not None else ("" if body is None else _json.dumps(body).decode()),
        )
        return await self._run(Trigger.API, handler, _roundtrip(request, ApiRequest), middleware)

    async def run_event(self, handler: Callable[..., Any], data: Any = None) -> Any:
        """Run an event handler with ``data`` (round-tripped through JSON)."""
        return await self._run(Trigger.EVENT, handler, _roundtrip(data), ())

    async def run_cron(self, handler: Callable[..., Any]) -> Any:
        """Run a cron handler."""
        return await self._run(Trigger.CRON, handler, None, ())

    async def _run(self, trigger: Trigger, handler: Callable[..., Any], payload: Any, middleware: Iterable[Any]) -> Any:
        result = await run_handler(
            trigger,
            StepCallable.of(handler),
            payload,
            self.context(),
            middleware=_middleware(middleware),
            executor=self.executor,
        )
        _json.dumps(result)  # what the runner does: a result that is not JSON fails the invocation
        return result


def _roundtrip(value: Any, wrap: Callable[[Any], Any] | None = None) -> Any:
    decoded = _json.loads(_json.dumps(value))
    return wrap(decoded) if wrap is not None else decoded


__all__ = [
    "CallHook",
    "CapturedLog",
    "InMemorySink",
    "InMemoryState",
    "InMemoryStreams",
    "MotiaApp",
    "MotiaAppError",
    "Response",
    "StepTestEnvironment",
    "new_trace_id",
]
