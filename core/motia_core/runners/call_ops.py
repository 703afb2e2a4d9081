"""A session's side of the runner's Calls: whose invocation each is, who serves it, the reply.

Each Call but `log` is served in its own task by the core's CallHandler (transport.py; calls.py
implements it), through serve_call's table of ops; the reply is its value, or a CallError for
CallFailed (the handler's refusals) and for any other exception (a fault inside the core).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.errors import CallFailed
from motia_core.logs import Logger
from motia_core.runners.transport import CallHandler, InvocationScope, RunnerInfo

_CALL_ERROR_CODES = {name: value for name, value in pb.CallError.Code.items()}
_RECENT_SCOPES = 4096  # scopes kept after an invocation ends, for calls a handler did not await


class SessionCalls:
    """One session's calls. The session registers each invocation's scope in `scopes` while it runs
    and calls ended() after; on_call() takes each Call envelope the runner sends."""

    def __init__(
        self,
        handler: CallHandler,
        info: RunnerInfo,
        logger: Logger,
        message: Callable[[], pb.CoreMessage],
        closed: asyncio.Future[str],
    ) -> None:
        self._handler = handler
        self._info = info
        self._logger = logger
        self._message = message  # the session's: a new envelope in the frame being built
        self._closed = closed
        self.scopes: dict[str, InvocationScope] = {}
        self._recent: OrderedDict[str, InvocationScope] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def ended(self, iid: str) -> None:
        """The invocation is over; its scope stays known a while for calls its handler did not await."""
        done = self.scopes.pop(iid, None)
        if done is not None:
            self._recent[iid] = done
            if len(self._recent) > _RECENT_SCOPES:
                self._recent.popitem(last=False)

    def _scope(self, invocation_id: str) -> InvocationScope | None:
        if not invocation_id:
            return None
        return self.scopes.get(invocation_id) or self._recent.get(invocation_id)

    def on_call(self, call: pb.Call) -> None:
        op = call.WhichOneof("op")
        scope = self._scope(call.invocation_id)
        if op == "log":
            log = call.log
            self._handler.log(scope, self._info, log.level, log.message, log.fields_json, log.time_unix_ms)
            if call.request_id:
                self._message().call_reply.request_id = call.request_id
            return
        if call.invocation_id and scope is None:
            self.reply_error(call.request_id, "CODE_UNKNOWN_INVOCATION", f"unknown invocation {call.invocation_id}")
            return
        task = asyncio.create_task(self._serve(call, op, scope))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, call: pb.Call, op: str | None, scope: InvocationScope | None) -> None:
        try:
            value = await serve_call(self._handler, call, op, scope)
        except CallFailed as exc:
            self.reply_error(call.request_id, exc.code, str(exc))
            return
        except Exception as exc:
            self._logger.error(f"call {op} failed inside the core: {exc!r}", source="core")
            self.reply_error(call.request_id, "CODE_INTERNAL", f"{type(exc).__name__}: {exc}")
            return
        if call.request_id and not self._closed.done():
            reply = self._message().call_reply
            reply.request_id = call.request_id
            reply.value_json = value

    def reply_error(self, request_id: int, code: str, message: str) -> None:
        if not request_id or self._closed.done():
            return
        reply = self._message().call_reply
        reply.request_id = request_id
        reply.error.code = _CALL_ERROR_CODES.get(code, pb.CallError.CODE_INTERNAL)  # type: ignore[assignment]
        reply.error.message = message


async def serve_call(c: CallHandler, call: pb.Call, op: str | None, scope: InvocationScope | None) -> bytes:
    """The reply's value_json for one Call; CallFailed("CODE_INVALID_ARGUMENT") for an unknown op."""
    if op == "emit":
        return await c.emit(scope, call.emit.topic, call.emit.data_json, call.emit.message_group_id)
    if op == "state_get":
        return await c.state_get(scope, call.state_get.group_id, call.state_get.key)
    if op == "state_set":
        s = call.state_set
        return await c.state_set(scope, s.group_id, s.key, s.value_json)
    if op == "state_delete":
        return await c.state_delete(scope, call.state_delete.group_id, call.state_delete.key)
    if op == "state_get_group":
        return await c.state_get_group(scope, call.state_get_group.group_id)
    if op == "state_clear":
        return await c.state_clear(scope, call.state_clear.group_id)
    if op == "stream_get":
        g = call.stream_get
        return await c.stream_get(scope, g.stream, g.group_id, g.id)
    if op == "stream_set":
        ss = call.stream_set
        return await c.stream_set(scope, ss.stream, ss.group_id, ss.id, ss.data_json)
    if op == "stream_delete":
        d = call.stream_delete
        return await c.stream_delete(scope, d.stream, d.group_id, d.id)
    if op == "stream_get_group":
        gg = call.stream_get_group
        return await c.stream_get_group(scope, gg.stream, gg.group_id)
    if op == "stream_send":
        e = call.stream_send
        return await c.stream_send(scope, e.stream, e.group_id, e.id, e.type, e.data_json)
    raise CallFailed("CODE_INVALID_ARGUMENT", f"unknown call {op!r}")
