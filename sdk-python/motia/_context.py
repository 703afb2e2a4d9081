"""The handler context: ``trace_id``, ``flows``, ``logger``, ``state``, ``emit`` and ``streams``.

Every call goes through a :class:`motia.transport.CallSink`. A context method behaves according to
the thread it is called from:

* on the event loop (``async def`` handlers and middleware) it sends the call at once and returns
  a :class:`PendingCall`, which is awaited like a coroutine; not awaiting it (fire and forget)
  is fine: the call already went out, and no "never awaited" warning is printed;
* on any other thread (``def`` handlers run in a thread pool) it blocks until the core answers
  and returns the value itself;
* inside another event loop running on a worker thread it returns an awaitable for that loop.

Once the invocation is cancelled (the core sent ``Cancel``: its timeout elapsed, or the core is
stopping) ``context.cancelled`` is true and every call (emit, state, streams) raises
:class:`motia.InvocationCancelledError`, so a ``def`` handler, which cannot be interrupted from
outside its thread, stops at its next call. Log lines still go out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from . import _emit, _json
from ._errors import InvocationCancelledError, StreamNotDeclaredError
from .transport import (
    CallRequest,
    CallSink,
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

T = TypeVar("T")

# Guards the lazily made cancel Event of every context (taken only on cancel and wait_cancelled).
_CANCEL_LOCK = threading.Lock()


class PendingCall(Coroutine[Any, Any, T], Generic[T]):
    """A call that has already been sent; awaiting it yields the decoded reply.

    It is a ``Coroutine`` so that ``await``, ``asyncio.gather`` and ``asyncio.create_task`` all
    accept it, but unlike a native coroutine it never warns when it is not awaited.
    """

    __slots__ = ("_decode", "_future", "_runner")

    def __init__(self, future: asyncio.Future[bytes], decode: Callable[[bytes], T]) -> None:
        self._future = future
        self._decode = decode
        self._runner: Generator[Any, None, T] | None = None

    def _run(self) -> Generator[Any, None, T]:
        raw = yield from self._future
        return self._decode(raw)

    def __await__(self) -> Generator[Any, None, T]:
        return self._run()

    def send(self, value: Any) -> Any:
        if self._runner is None:
            self._runner = self._run()
        return self._runner.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        if self._runner is None:
            self._runner = self._run()
        if val is None and tb is None:
            return self._runner.throw(typ)
        return self._runner.throw(typ, val, tb)  # pragma: no cover - legacy 3-argument form

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()

    def done(self) -> bool:
        """True once the core has answered."""
        return self._future.done()


def _decode_value(raw: bytes) -> Any:
    return _json.loads_or_none(raw)


def _decode_list(raw: bytes) -> list[Any]:
    value = _json.loads_or_none(raw)
    return [] if value is None else list(value)


def _decode_none(raw: bytes) -> None:
    return None


class _Bridge:
    """Routes context operations to the sink, from the loop thread or from a worker thread.

    Also holds the invocation's cancellation: ``cancel_reason`` (``None`` until cancelled), readable
    from any thread. The ``threading.Event`` a worker thread waits on is made only when one waits
    (rare), not for every invocation: its Condition and locks cost more than the rest of a context.
    """

    __slots__ = ("_cancel_event", "cancel_reason", "loop", "sink")

    def __init__(self, sink: CallSink, loop: asyncio.AbstractEventLoop) -> None:
        self.sink = sink
        self.loop = loop
        self.cancel_reason: str | None = None
        self._cancel_event: threading.Event | None = None

    @property
    def is_cancelled(self) -> bool:
        return self.cancel_reason is not None

    def cancel(self, reason: str) -> None:
        """Mark cancelled (the first reason stays) and wake the threads waiting for it."""
        with _CANCEL_LOCK:
            if self.cancel_reason is not None:
                return
            self.cancel_reason = reason
            event = self._cancel_event
        if event is not None:
            event.set()

    def wait_cancelled(self, timeout: float | None) -> bool:
        if self.cancel_reason is not None:
            return True
        with _CANCEL_LOCK:  # the same lock as cancel(): no cancel slips between the check and the wait
            event = self._cancel_event
            if event is None:
                event = self._cancel_event = threading.Event()
            if self.cancel_reason is not None:
                event.set()
        return event.wait(timeout)

    def check_cancelled(self) -> None:
        reason = self.cancel_reason
        if reason is not None:
            raise InvocationCancelledError(reason or "cancelled")

    def call(
        self, request: CallRequest, decode: Callable[[bytes], T], on_reply: Callable[[bytes], None] | None = None
    ) -> Any:
        self.check_cancelled()
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            return PendingCall(self._start(request, on_reply), decode)
        future = asyncio.run_coroutine_threadsafe(self._call_async(request, decode, on_reply), self.loop)
        if running is None:
            try:
                return future.result()
            except concurrent.futures.CancelledError:
                # The call failed with InvocationCancelledError on the loop, which cancels the
                # coroutine's task and so this future: give the thread the real reason.
                self.check_cancelled()
                raise
        return asyncio.wrap_future(future, loop=running)

    def _start(self, request: CallRequest, on_reply: Callable[[bytes], None] | None = None) -> asyncio.Future[bytes]:
        self.check_cancelled()  # again on the loop: a thread's call may have been queued before the cancel
        reply: Awaitable[bytes] = self.sink.call(request)
        future = asyncio.ensure_future(reply, loop=self.loop)
        if on_reply is not None:  # runs whether or not the caller awaits (a fire-and-forget emit)
            future.add_done_callback(lambda f: None if f.cancelled() or f.exception() else on_reply(f.result()))
        return future

    async def _call_async(
        self, request: CallRequest, decode: Callable[[bytes], T], on_reply: Callable[[bytes], None] | None
    ) -> T:
        return decode(await self._start(request, on_reply))

    def resolved(self) -> Any:
        """What a context call that sends nothing returns: ``None`` to a ``def`` handler, an awaitable
        of ``None`` on an event loop (a dropped emit is still awaited by ``async def`` handlers)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return None
        done: asyncio.Future[bytes] = running.create_future()
        done.set_result(b"")
        return PendingCall(done, _decode_none)

    def log(self, record: LogRecord) -> None:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        try:
            if running is self.loop:
                self.sink.log(record)
            else:
                self.loop.call_soon_threadsafe(self.sink.log, record)
        except RuntimeError:  # the loop is closed: the process is going away
            pass


def _warning(message: str, fields_json: bytes) -> LogRecord:
    now_ms = int(time.time() * 1000)
    return LogRecord(level=LogLevel.WARN, message=message, fields_json=fields_json, time_unix_ms=now_ms)


def _log_fields(args: Any) -> bytes:
    if args is None:
        return b""
    if isinstance(args, Mapping):
        fields = {str(key): value for key, value in args.items()}
    else:
        fields = {"data": args}
    return _json.dumps_lenient(fields)


class Logger:
    """``ctx.logger``: structured log lines that the core attaches to the trace and the step.

    ``info|warn|warning|error|debug(message, args=None)``: a dict ``args`` is merged into the line's
    fields, any other value becomes ``{"data": args}``; exceptions (at any depth) become
    ``{message, stack, name}``. Logging never blocks and never raises.
    """

    __slots__ = ("_bridge",)

    def __init__(self, bridge: _Bridge) -> None:
        self._bridge = bridge

    def _log(self, level: LogLevel, message: Any, args: Any) -> None:
        record = LogRecord(
            level=level,
            message=message if isinstance(message, str) else str(message),
            fields_json=_log_fields(args),
            time_unix_ms=int(time.time() * 1000),
        )
        self._bridge.log(record)

    def debug(self, message: Any, args: Any = None) -> None:
        self._log(LogLevel.DEBUG, message, args)

    def info(self, message: Any, args: Any = None) -> None:
        self._log(LogLevel.INFO, message, args)

    def warn(self, message: Any, args: Any = None) -> None:
        self._log(LogLevel.WARN, message, args)

    warning = warn

    def error(self, message: Any, args: Any = None) -> None:
        self._log(LogLevel.ERROR, message, args)


class State:
    """``ctx.state``: JSON values shared across steps and languages, grouped by a caller-chosen id.

    ``get`` returns the stored value as it was set (``None`` when missing); see the SDK README for
    how this differs from Motia 0.x's Python runner.
    """

    __slots__ = ("_bridge",)

    def __init__(self, bridge: _Bridge) -> None:
        self._bridge = bridge

    def get(self, group_id: str, key: str) -> Any:
        """The value stored under ``key`` in ``group_id``, or ``None``."""
        return self._bridge.call(StateGetCall(group_id=str(group_id), key=str(key)), _decode_value)

    def set(self, group_id: str, key: str, value: Any) -> Any:
        """Store ``value`` (any JSON value); returns the stored value."""
        request = StateSetCall(group_id=str(group_id), key=str(key), value_json=_json.dumps(value))
        return self._bridge.call(request, _decode_value)

    def delete(self, group_id: str, key: str) -> Any:
        """Remove ``key``; returns the old value or ``None``."""
        return self._bridge.call(StateDeleteCall(group_id=str(group_id), key=str(key)), _decode_value)

    def get_group(self, group_id: str) -> Any:
        """Every value in ``group_id`` (values only, no keys)."""
        return self._bridge.call(StateGetGroupCall(group_id=str(group_id)), _decode_list)

    getGroup = get_group

    def clear(self, group_id: str) -> Any:
        """Remove every key of ``group_id``."""
        return self._bridge.call(StateClearCall(group_id=str(group_id)), _decode_none)


def _channel_part(channel: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in channel:
            return channel[name]
    return None


class Stream:
    """``ctx.streams.<name>``: a real-time collection of JSON objects, partitioned by group id.

    Every item is stored as ``{...data, "id": id}`` and pushed to the WebSocket clients subscribed to
    its group or to the item itself. Like ``ctx.state``, methods return awaitables on the event loop
    and values in ``def`` handlers.
    """

    __slots__ = ("_bridge", "name")

    def __init__(self, bridge: _Bridge, name: str) -> None:
        self._bridge = bridge
        self.name = name

    def get(self, group_id: str, id: str) -> Any:
        """The item, or ``None``."""
        return self._bridge.call(StreamGetCall(self.name, str(group_id), str(id)), _decode_value)

    def set(self, group_id: str, id: str, data: Mapping[str, Any]) -> Any:
        """Create or replace an item (``data`` must be a dict); returns the stored item, with its ``id``."""
        if not isinstance(data, Mapping):
            raise TypeError(
                f"streams.{self.name}.set() takes a dict (a JSON object) as data, got {type(data).__name__}"
            )
        request = StreamSetCall(self.name, str(group_id), str(id), _json.dumps(data))
        return self._bridge.call(request, _decode_value)

    def delete(self, group_id: str, id: str) -> Any:
        """Remove an item; returns it, or ``None`` when there was none."""
        return self._bridge.call(StreamDeleteCall(self.name, str(group_id), str(id)), _decode_value)

    def get_group(self, group_id: str) -> Any:
        """Every item of the group, oldest first."""
        return self._bridge.call(StreamGetGroupCall(self.name, str(group_id)), _decode_list)

    getGroup = get_group

    def send(self, channel: Mapping[str, Any], event: Mapping[str, Any]) -> Any:
        """An ephemeral event for the group's subscribers (``{"groupId"}``) or an item's
        (``{"groupId", "id"}``); ``event`` is ``{"type": str, "data": Any}``. Not stored."""
        if not isinstance(channel, Mapping) or not isinstance(event, Mapping):
            raise TypeError(f"streams.{self.name}.send() takes (channel: dict, event: dict)")
        group_id = _channel_part(channel, "groupId", "group_id")
        if group_id is None:
            raise TypeError(f"streams.{self.name}.send(): the channel needs a 'groupId'")
        item_id = _channel_part(channel, "id")
        event_type = event.get("type")
        if not isinstance(event_type, str) or not event_type:
            raise TypeError(f"streams.{self.name}.send(): the event needs a non-empty string 'type'")
        request = StreamSendCall(
            self.name,
            str(group_id),
            "" if item_id is None else str(item_id),
            event_type,
            _json.dumps(event.get("data")),
        )
        return self._bridge.call(request, _decode_none)

    def __repr__(self) -> str:
        return f"Stream({self.name!r})"


class Streams:
    """``ctx.streams``: ``ctx.streams.<name>`` or ``ctx.streams["<name>"]``.

    In the runner every name gives a :class:`Stream`; the core answers a call on a stream the project
    does not declare with a :class:`motia.CallError` that names it and the declared ones. A context
    built with a mapping of streams (tests) hands out only those; any other name raises
    ``StreamNotDeclaredError("stream '<name>' is not declared in this project")``.
    """

    __slots__ = ("_factory", "_streams")

    def __init__(
        self, streams: Mapping[str, Any] | None = None, *, factory: Callable[[str], Any] | None = None
    ) -> None:
        self._streams: dict[str, Any] = dict(streams or {})
        self._factory = factory

    def __getitem__(self, name: str) -> Any:
        found = self._streams.get(name)
        if found is not None:
            return found
        if self._factory is None or not isinstance(name, str) or not name:
            raise StreamNotDeclaredError(str(name))
        stream = self._streams[name] = self._factory(name)
        return stream

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __contains__(self, name: object) -> bool:
        return name in self._streams or (self._factory is not None and isinstance(name, str) and bool(name))

    def __iter__(self) -> Iterator[str]:
        return iter(self._streams)

    def __len__(self) -> int:
        return len(self._streams)

    def __repr__(self) -> str:
        return f"Streams({sorted(self._streams)!r})"


class Context:
    """What a handler receives as ``context`` (``ctx``).

    Attributes: ``trace_id`` (also ``traceId``), ``flows``, ``logger``, ``state``, ``streams``,
    ``cancelled``; method ``emit(event)``. Build one with a :class:`motia.transport.CallSink` on the event loop that
    owns the sink (``loop`` defaults to the running loop). Middleware may set extra attributes.
    """

    def __init__(
        self,
        *,
        trace_id: str,
        flows: Sequence[str],
        sink: CallSink,
        loop: asyncio.AbstractEventLoop | None = None,
        streams: Streams | None = None,
    ) -> None:
        self._bridge = _Bridge(sink, loop if loop is not None else asyncio.get_running_loop())
        self.trace_id = trace_id
        self.flows = list(flows)
        if streams is not None:
            self.streams = streams
        # logger, state and (by default) streams are built on first use: most handlers touch one
        # of them or none, and the runner makes a context per invocation.

    @functools.cached_property
    def logger(self) -> Logger:
        return Logger(self._bridge)

    @functools.cached_property
    def state(self) -> State:
        return State(self._bridge)

    @functools.cached_property
    def streams(self) -> Streams:
        bridge = self._bridge
        return Streams(factory=lambda name: Stream(bridge, name))

    @property
    def traceId(self) -> str:
        return self.trace_id

    # -- cancellation -----------------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        """True once the core cancelled this invocation (its timeout elapsed, or the core is stopping).

        ``async def`` handlers need not look: their task is cancelled (``asyncio.CancelledError`` at
        the current ``await``). A long ``def`` handler should check it between units of work, or
        just keep making context calls, which raise :class:`motia.InvocationCancelledError` by then.
        """
        return self._bridge.is_cancelled

    def is_cancelled(self) -> bool:
        """Same as :attr:`cancelled`."""
        return self._bridge.is_cancelled

    @property
    def cancel_reason(self) -> str | None:
        """``"timeout"``, ``"shutdown"`` or ``"cancelled"`` once cancelled; ``None`` before."""
        return self._bridge.cancel_reason

    def raise_if_cancelled(self) -> None:
        """Raise :class:`motia.InvocationCancelledError` if the invocation was cancelled."""
        self._bridge.check_cancelled()

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        """Block the calling thread until the invocation is cancelled or ``timeout`` seconds passed;
        returns :attr:`cancelled`. For ``def`` handlers: ``while not ctx.wait_cancelled(5): poll()``
        sleeps between polls yet stops at once. Never call it from ``async def`` code (it would block
        the event loop); there, ``await asyncio.sleep(...)`` is already interrupted by the cancel."""
        return self._bridge.wait_cancelled(timeout)

    def cancel(self, reason: str = "cancelled") -> None:
        """Mark the invocation cancelled: later context calls raise, :attr:`cancelled` turns true.

        The runner calls it when the core cancels the invocation (it also stops the handler's task);
        tests can call it to check that a ``def`` handler stops cooperatively. Idempotent: the
        first reason stays.
        """
        self._bridge.cancel(reason)

    def emit(self, event: Any = None, *rest: Any, **kwargs: Any) -> Any:
        """Enqueue an event: ``{"topic": str, "data": Any, "messageGroupId": str (optional)}``.

        Resolves to ``None`` once the core accepted it (it is not yet handled by then). An emit Motia
        would drop (positional arguments, no dict, no topic, a topic the step does not declare) is
        dropped with a warning naming this call's file and line; ``serve --strict`` raises instead
        (see :mod:`motia._emit`).
        """
        problem = _emit.shape_problem(event, rest, kwargs)
        if problem is not None:
            return self._drop_shape(*problem)
        topic = event["topic"]
        group = event.get("messageGroupId", event.get("message_group_id"))
        request = EmitCall(
            topic=topic,
            data_json=_json.dumps(event.get("data")),
            message_group_id="" if group is None else str(group),
        )
        site = _emit.call_site()
        bridge = self._bridge

        def on_reply(raw: bytes) -> None:  # on the loop, awaited or not
            dropped = _emit.dropped_reply(raw)
            if dropped is not None:
                reason, message = dropped
                bridge.log(_warning(message + _emit.where(site), _emit.drop_fields(reason, topic, site)))

        return bridge.call(request, _decode_none, on_reply)

    def _drop_shape(self, reason: str, topic: str | None, what: str) -> Any:
        site = _emit.call_site(3)
        if _emit.strict_emits():
            raise TypeError(f"{what}{_emit.where(site)}; serve --strict refuses it")
        message = f"{what}: Motia drops such an emit, so the event was dropped{_emit.where(site)}"
        self._bridge.log(_warning(message, _emit.drop_fields(reason, topic, site)))
        return self._bridge.resolved()

    def __repr__(self) -> str:
        return f"Context(trace_id={self.trace_id!r}, flows={self.flows!r})"
