"""Calls from handlers to the core (emit, state, streams, log) over the stream, and their replies.

:class:`CallRouter` owns the request ids and the futures waiting for ``CallReply``; each
invocation's context talks to it through an :class:`InvocationSink` (a ``motia.transport.CallSink``)
that stamps the invocation id. A call is enqueued in the outbox the moment the handler makes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from motia._errors import CallError, CallErrorCode, InvocationCancelledError
from motia.transport import (
    CallRequest,
    EmitCall,
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

from .outbox import Outbox
from .proto import pb

_OP_NAMES: dict[type, str] = {
    EmitCall: "emit",
    StateGetCall: "state.get",
    StateSetCall: "state.set",
    StateDeleteCall: "state.delete",
    StateGetGroupCall: "state.getGroup",
    StateClearCall: "state.clear",
    StreamGetCall: "streams.get",
    StreamSetCall: "streams.set",
    StreamDeleteCall: "streams.delete",
    StreamGetGroupCall: "streams.getGroup",
    StreamSendCall: "streams.send",
}


def _call_code(code: int) -> CallErrorCode:
    try:
        return CallErrorCode(code)
    except ValueError:
        return CallErrorCode.UNSPECIFIED


class CallRouter:
    """Request ids, pending replies and the wire encoding of calls, for one stream."""

    def __init__(self, outbox: Outbox, max_payload_bytes: int) -> None:
        self._outbox = outbox
        self.max_payload_bytes = max_payload_bytes
        self._next_id = 1
        self._pending: dict[int, tuple[asyncio.Future[bytes], str, str]] = {}  # id -> (future, op, invocation)
        self._closed: CallError | None = None

    def call(self, invocation_id: str, request: CallRequest) -> asyncio.Future[bytes]:
        """Enqueue ``request`` now; the future resolves with the reply's value JSON."""
        op = _OP_NAMES[type(request)]
        if self._closed is not None:
            raise self._closed
        message = pb.RunnerMessage()
        call = message.call
        request_id = self._next_id
        self._next_id += 1
        call.request_id = request_id
        call.invocation_id = invocation_id
        if isinstance(request, EmitCall):
            self._check_size(op, request.data_json)
            call.emit.topic = request.topic
            call.emit.data_json = request.data_json
            call.emit.message_group_id = request.message_group_id
        elif isinstance(request, StateGetCall):
            call.state_get.group_id = request.group_id
            call.state_get.key = request.key
        elif isinstance(request, StateSetCall):
            self._check_size(op, request.value_json)
            call.state_set.group_id = request.group_id
            call.state_set.key = request.key
            call.state_set.value_json = request.value_json
        elif isinstance(request, StateDeleteCall):
            call.state_delete.group_id = request.group_id
            call.state_delete.key = request.key
        elif isinstance(request, StateGetGroupCall):
            call.state_get_group.group_id = request.group_id
        elif isinstance(request, StateClearCall):
            call.state_clear.group_id = request.group_id
        else:
            _encode_stream_call(call, request, self._check_size)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (future, op, invocation_id)
        self._outbox.put(message)
        return future

    def _check_size(self, op: str, payload: bytes) -> None:
        if len(payload) > self.max_payload_bytes:
            raise CallError(
                f"{op}: the value is {len(payload)} bytes of JSON, above the {self.max_payload_bytes} bytes "
                "a message may carry",
                CallErrorCode.INVALID_ARGUMENT,
                op,
            )

    def log(self, invocation_id: str, record: LogRecord) -> None:
        """Enqueue a log line (request id 0: no reply)."""
        message = pb.RunnerMessage()
        call = message.call
        call.invocation_id = invocation_id
        log = call.log
        log.level = int(record.level)  # type: ignore[assignment]
        log.message = record.message
        log.fields_json = record.fields_json
        log.time_unix_ms = record.time_unix_ms
        self._outbox.put(message)

    def resolve(self, reply: pb.CallReply) -> None:
        """Hand a ``CallReply`` to the call waiting for it (late or unknown replies are dropped)."""
        entry = self._pending.pop(reply.request_id, None)
        if entry is None:
            return
        future, op, _ = entry
        if future.done():
            return
        if reply.WhichOneof("outcome") == "error":
            future.set_exception(CallError(reply.error.message, _call_code(reply.error.code), op))
        else:
            future.set_result(reply.value_json)

    def close(self, reason: str) -> None:
        """Fail every pending call and refuse new ones: the stream is gone."""
        self._closed = CallError(reason, CallErrorCode.UNAVAILABLE)
        pending, self._pending = self._pending, {}
        for future, op, _ in pending.values():
            if not future.done():
                future.set_exception(CallError(reason, CallErrorCode.UNAVAILABLE, op))
                future.exception()  # the process is ending: no "exception never retrieved" noise

    def cancel_invocation(self, invocation_id: str, reason: str) -> int:
        """Fail the calls of a cancelled invocation that still wait for a reply with
        ``InvocationCancelledError`` (their late replies are dropped); returns how many."""
        doomed = [request_id for request_id, entry in self._pending.items() if entry[2] == invocation_id]
        for request_id in doomed:
            future = self._pending.pop(request_id)[0]
            if not future.done():
                future.set_exception(InvocationCancelledError(reason))
                future.exception()  # a fire-and-forget emit must not log "exception never retrieved"
        return len(doomed)

    @property
    def pending(self) -> int:
        return len(self._pending)


def _encode_stream_call(call: pb.Call, request: CallRequest, check_size: Callable[[str, bytes], None]) -> None:
    if isinstance(request, StreamGetCall):
        call.stream_get.stream, call.stream_get.group_id, call.stream_get.id = (
            request.stream,
            request.group_id,
            request.id,
        )
    elif isinstance(request, StreamSetCall):
        check_size("streams.set", request.data_json)
        op = call.stream_set
        op.stream, op.group_id, op.id, op.data_json = request.stream, request.group_id, request.id, request.data_json
    elif isinstance(request, StreamDeleteCall):
        op_delete = call.stream_delete
        op_delete.stream, op_delete.group_id, op_delete.id = request.stream, request.group_id, request.id
    elif isinstance(request, StreamGetGroupCall):
        call.stream_get_group.stream, call.stream_get_group.group_id = request.stream, request.group_id
    elif isinstance(request, StreamSendCall):
        check_size("streams.send", request.data_json)
        send = call.stream_send
        send.stream, send.group_id, send.id = request.stream, request.group_id, request.id
        send.type, send.data_json = request.type, request.data_json
    else:  # pragma: no cover - CallRequest is a closed union
        raise TypeError(f"unsupported call {type(request).__name__}")


class InvocationSink:
    """The ``CallSink`` of one invocation's context."""

    __slots__ = ("_invocation_id", "_router")

    def __init__(self, router: CallRouter, invocation_id: str) -> None:
        self._router = router
        self._invocation_id = invocation_id

    def call(self, request: CallRequest) -> asyncio.Future[bytes]:
        return self._router.call(self._invocation_id, request)

    def log(self, record: LogRecord) -> None:
        self._router.log(self._invocation_id, record)
