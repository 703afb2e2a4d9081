"""The gRPC implementation of the runner transport.

One grpc.aio server on a unix socket in a private 0700 directory. Each runner opens one
bidirectional stream; per stream there is one reader (this handler) and one writer task. Outgoing
envelopes are appended to the frame being built and the writer sends everything queued as one
gRPC message: a gRPC message costs ~100 µs of core CPU whatever its size, so coalescing is the
difference between ~15 % and ~50 % of bare aiohttp throughput (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import shutil
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any, TypeVar

# The core forks runner processes while grpc threads run; grpc's fork handlers only log noise then.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

import grpc

from motia_core import PROTOCOL_MAX, PROTOCOL_MIN
from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core._proto.motia.runner.v1 import runner_pb2_grpc as pb_grpc
from motia_core.errors import AdmissionTimeout, CallFailed, RunnerLost
from motia_core.logs import Logger
from motia_core.project import StepFile
from motia_core.runners.transport import (
    CallHandler,
    Failure,
    FailureKind,
    Invocation,
    InvocationScope,
    LoadFailure,
    Manifest,
    ManifestEntry,
    Outcome,
    RunnerInfo,
)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_CALL_ERROR_CODES = {name: value for name, value in pb.CallError.Code.items()}
_T = TypeVar("_T")
_RECENT_SCOPES = 4096  # scopes kept after an invocation ends, for calls a handler did not await


class GrpcSession:
    """One connected runner: a reader loop (run) and a batching writer task."""

    def __init__(self, context: Any, info: RunnerInfo, calls: CallHandler, logger: Logger, session_id: str) -> None:
        self.info = info
        self.session_id = session_id
        self._context = context
        self._calls = calls
        self._logger = logger
        self._loop = asyncio.get_running_loop()
        self._frame = pb.CoreFrame()
        self._wake = asyncio.Event()
        self._pending: dict[str, tuple[asyncio.Future[Outcome], int]] = {}
        self._scopes: dict[str, InvocationScope] = {}
        self._recent: OrderedDict[str, InvocationScope] = OrderedDict()
        self._loads: dict[int, asyncio.Future[Manifest]] = {}
        self._pings: dict[int, asyncio.Future[float]] = {}
        self._next_id = 0
        self._slots = asyncio.Semaphore(max(1, info.slots))
        self._call_tasks: set[asyncio.Task[None]] = set()
        self.closed: asyncio.Future[str] = self._loop.create_future()
        self._writer = asyncio.create_task(self._write_loop(), name=f"runner-writer-{info.language}")
        self._end = asyncio.Event()

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    # -- sending -------------------------------------------------------------------------------

    def _message(self) -> pb.CoreMessage:
        msg = self._frame.messages.add()
        if not self._wake.is_set():
            self._wake.set()
        return msg

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                if not self._frame.messages:
                    continue
                frame, self._frame = self._frame, pb.CoreFrame()
                await self._context.write(frame)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the stream broke under us: end the session
            self.abort(f"write failed: {exc}")

    # -- the domain-facing API ------------------------------------------------------------------

    async def load_steps(self, files: list[StepFile], timeout: float) -> Manifest:
        self._next_id += 1
        request_id = self._next_id
        fut: asyncio.Future[Manifest] = self._loop.create_future()
        self._loads[request_id] = fut
        load = self._message().load_steps
        load.request_id = request_id
        for f in files:
            load.files.add(step_id=f.step_id, path=str(f.path), relative_path=f.relative_path)
        try:
            return await self._until_closed(fut, timeout, "loading steps")
        finally:
            self._loads.pop(request_id, None)

    async def invoke(self, invocation: Invocation, scope: InvocationScope, admission_timeout: float) -> Outcome:
        if self.closed.done():
            raise RunnerLost(f"{self.info.language} runner is not connected ({self.closed.result()})")
        if self._slots.locked():
            try:
                await asyncio.wait_for(self._slots.acquire(), admission_timeout)
            except TimeoutError:
                raise AdmissionTimeout(
                    f"{self.info.language} runner had no free slot within {admission_timeout:g}s "
                    f"({self.info.slots} in flight)"
                ) from None
        else:
            await self._slots.acquire()
        iid = invocation.invocation_id
        fut: asyncio.Future[Outcome] = self._loop.create_future()
        self._pending[iid] = (fut, invocation.fencing_token)
        self._scopes[iid] = scope
        try:
            start = self._message().start
            start.invocation_id = iid
            start.step_id = invocation.step_id
            start.attempt = invocation.attempt
            start.fencing_token = invocation.fencing_token
            start.deadline_unix_ms = invocation.deadline_ms
            start.trace_id = invocation.trace_id
            start.flows.extend(invocation.flows)
            start.trigger = invocation.trigger.value  # type: ignore[assignment]
            start.payload_json = invocation.payload
            start.topic = invocation.topic
            return await fut
        finally:
            self._slots.release()
            self._pending.pop(iid, None)
            done = self._scopes.pop(iid, None)
            if done is not None:
                self._recent[iid] = done
                if len(self._recent) > _RECENT_SCOPES:
                    self._recent.popitem(last=False)

    async def ping(self, timeout: float) -> float:
        self._next_id += 1
        nonce = self._next_id
        fut: asyncio.Future[float] = self._loop.create_future()
        self._pings[nonce] = fut
        sent = time.perf_counter()
        self._message().ping.nonce = nonce
        try:
            await self._until_closed(fut, timeout, "waiting for pong")
            return time.perf_counter() - sent
        finally:
            self._pings.pop(nonce, None)

    async def shutdown(self, grace: float, reason: str) -> None:
        if self.closed.done():
            return
        msg = self._message().shutdown
        msg.grace_ms = int(grace * 1000)
        msg.reason = reason
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), grace + 1.0)

    def abort(self, reason: str) -> None:
        if self.closed.done():
            return
        self.closed.set_result(reason)
        lost = RunnerLost(f"{self.info.language} runner went away: {reason}")
        for fut, _ in list(self._pending.values()):
            if not fut.done():
                fut.set_exception(lost)
        waiters: list[asyncio.Future[Any]] = [*self._loads.values(), *self._pings.values()]
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(lost)
        self._writer.cancel()
        self._end.set()

    async def _until_closed(self, fut: Awaitable[_T], timeout: float, what: str) -> _T:
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise RunnerLost(f"{self.info.language} runner did not answer in {timeout:g}s while {what}") from None

    # -- receiving ------------------------------------------------------------------------------

    async def run(self, first: list[pb.RunnerMessage]) -> None:
        """Read until the stream ends; then fail whatever is still in flight."""
        reason = "stream closed by the runner"
        try:
            for msg in first:
                self._dispatch(msg)
            while not self.closed.done():
                frame = await self._context.read()
                if frame is grpc.aio.EOF:
                    break
                for msg in frame.messages:
                    self._dispatch(msg)
        except asyncio.CancelledError:
            reason = "core shutting down"
            raise
        except Exception as exc:
            reason = f"stream error: {exc}"
        finally:
            self.abort(reason)

    def _dispatch(self, msg: pb.RunnerMessage) -> None:
        kind = msg.WhichOneof("kind")
        if kind == "result":
            self._on_result(msg.result)
        elif kind == "call":
            self._on_call(msg.call)
        elif kind == "steps_loaded":
            self._on_loaded(msg.steps_loaded)
        elif kind == "ping":
            self._message().pong.nonce = msg.ping.nonce
        elif kind == "pong":
            waiter = self._pings.get(msg.pong.nonce)
            if waiter is not None and not waiter.done():
                waiter.set_result(0.0)
        else:
            self._logger.warn(f"ignoring unexpected runner message {kind!r}", source=f"runner:{self.info.language}")

    def _on_result(self, result: pb.InvocationResult) -> None:
        entry = self._pending.get(result.invocation_id)
        if entry is None:
            self._logger.debug("result for an invocation no longer pending", invocation=result.invocation_id)
            return
        fut, token = entry
        if result.fencing_token != token:
            self._logger.warn(
                "stale result rejected (fencing token mismatch)",
                invocation=result.invocation_id,
                got=result.fencing_token,
                expected=token,
            )
            return
        if fut.done():
            return
        if result.WhichOneof("outcome") == "failed":
            f = result.failed
            kind = FailureKind(f.kind) if f.kind in FailureKind._value2member_map_ else FailureKind.UNSPECIFIED
            fut.set_result(
                Outcome(failure=Failure(kind, f.error_type, f.message, f.stack, f.non_retryable, int(f.retry_after_ms)))
            )
        else:
            fut.set_result(Outcome(payload=result.completed.payload_json))

    def _on_loaded(self, loaded: pb.StepsLoaded) -> None:
        fut = self._loads.get(loaded.request_id)
        if fut is None or fut.done():
            return
        fut.set_result(
            Manifest(
                steps=[
                    ManifestEntry(s.step_id, s.config_json, s.has_handler, s.middleware_count) for s in loaded.steps
                ],
                errors=[LoadFailure(e.step_id, e.error_type, e.message, e.stack) for e in loaded.errors],
            )
        )

    def _scope(self, invocation_id: str) -> InvocationScope | None:
        if not invocation_id:
            return None
        return self._scopes.get(invocation_id) or self._recent.get(invocation_id)

    def _on_call(self, call: pb.Call) -> None:
        op = call.WhichOneof("op")
        scope = self._scope(call.invocation_id)
        if op == "log":
            log = call.log
            self._calls.log(scope, self.info, log.level, log.message, log.fields_json, log.time_unix_ms)
            if call.request_id:
                self._message().call_reply.request_id = call.request_id
            return
        if call.invocation_id and scope is None:
            self._reply_error(call.request_id, "CODE_UNKNOWN_INVOCATION", f"unknown invocation {call.invocation_id}")
            return
        task = asyncio.create_task(self._serve_call(call, op, scope))
        self._call_tasks.add(task)
        task.add_done_callback(self._call_tasks.discard)

    async def _serve_call(self, call: pb.Call, op: str | None, scope: InvocationScope | None) -> None:
        c = self._calls
        try:
            if op == "emit":
                value = await c.emit(scope, call.emit.topic, call.emit.data_json, call.emit.message_group_id)
            elif op == "state_get":
                value = await c.state_get(scope, call.state_get.group_id, call.state_get.key)
            elif op == "state_set":
                s = call.state_set
                value = await c.state_set(scope, s.group_id, s.key, s.value_json)
            elif op == "state_delete":
                value = await c.state_delete(scope, call.state_delete.group_id, call.state_delete.key)
            elif op == "state_get_group":
                value = await c.state_get_group(scope, call.state_get_group.group_id)
            elif op == "state_clear":
                value = await c.state_clear(scope, call.state_clear.group_id)
            elif op == "stream_get":
                g = call.stream_get
                value = await c.stream_get(scope, g.stream, g.group_id, g.id)
            elif op == "stream_set":
                ss = call.stream_set
                value = await c.stream_set(scope, ss.stream, ss.group_id, ss.id, ss.data_json)
            elif op == "stream_delete":
                d = call.stream_delete
                value = await c.stream_delete(scope, d.stream, d.group_id, d.id)
            elif op == "stream_get_group":
                gg = call.stream_get_group
                value = await c.stream_get_group(scope, gg.stream, gg.group_id)
            elif op == "stream_send":
                e = call.stream_send
                value = await c.stream_send(scope, e.stream, e.group_id, e.id, e.type, e.data_json)
            else:
                raise CallFailed("CODE_INVALID_ARGUMENT", f"unknown call {op!r}")
        except CallFailed as exc:
            self._reply_error(call.request_id, exc.code, str(exc))
            return
        except Exception as exc:
            self._logger.error(f"call {op} failed inside the core: {exc!r}", source="core")
            self._reply_error(call.request_id, "CODE_INTERNAL", f"{type(exc).__name__}: {exc}")
            return
        if call.request_id and not self.closed.done():
            reply = self._message().call_reply
            reply.request_id = call.request_id
            reply.value_json = value

    def _reply_error(self, request_id: int, code: str, message: str) -> None:
        if not request_id or self.closed.done():
            return
        reply = self._message().call_reply
        reply.request_id = request_id
        reply.error.code = _CALL_ERROR_CODES.get(code, pb.CallError.CODE_INTERNAL)  # type: ignore[assignment]
        reply.error.message = message


class _Servicer(pb_grpc.RunnerServiceServicer):
    def __init__(self, server: GrpcRunnerServer) -> None:
        self._server = server

    async def Connect(self, request_iterator: Any, context: Any) -> None:
        await self._server._accept(context)


class GrpcRunnerServer:
    """Accepts runner connections and matches each to the spawn that expects its secret."""

    def __init__(self, calls: CallHandler, logger: Logger, project_dir: str) -> None:
        self._calls = calls
        self._project_dir = project_dir
        self._logger = logger
        self._expected: dict[str, asyncio.Future[GrpcSession]] = {}
        self._dir: str | None = None
        self._server: Any = None
        self.address = ""

    async def start(self) -> str:
        self._dir = tempfile.mkdtemp(prefix="motia-core-")
        os.chmod(self._dir, 0o700)
        socket_path = os.path.join(self._dir, "runners.sock")
        options = [
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ]
        self._server = grpc.aio.server(options=options)
        pb_grpc.add_RunnerServiceServicer_to_server(_Servicer(self), self._server)  # type: ignore[no-untyped-call]
        self._server.add_insecure_port(f"unix:{socket_path}")
        await self._server.start()
        self.address = f"unix:{socket_path}"
        return self.address

    def expect(self, secret: str) -> asyncio.Future[GrpcSession]:
        fut: asyncio.Future[GrpcSession] = asyncio.get_running_loop().create_future()
        self._expected[secret] = fut
        return fut

    def forget(self, secret: str) -> None:
        fut = self._expected.pop(secret, None)
        if fut is not None and not fut.done():
            fut.cancel()

    async def stop(self, grace: float = 1.0) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    async def _accept(self, context: Any) -> None:
        first = await context.read()
        if first is grpc.aio.EOF or not first.messages or first.messages[0].WhichOneof("kind") != "hello":
            await _refuse(context, pb.Refusal.CODE_NOT_HELLO, "the first message on the stream must be a Hello")
            return
        hello = first.messages[0].hello
        version = min(PROTOCOL_MAX, hello.protocol_max)
        if version < max(PROTOCOL_MIN, hello.protocol_min):
            await _refuse(
                context,
                pb.Refusal.CODE_VERSION_UNSUPPORTED,
                f"runner speaks protocol {hello.protocol_min}..{hello.protocol_max}, "
                f"core speaks {PROTOCOL_MIN}..{PROTOCOL_MAX}",
            )
            return
        waiter = self._match(hello.secret)
        if waiter is None:
            self._logger.warn(
                "refused a runner connection with a missing or wrong secret",
                language=hello.language or "?",
                pid=hello.pid,
            )
            await _refuse(context, pb.Refusal.CODE_BAD_SECRET, "missing or wrong runner secret")
            return
        info = RunnerInfo(
            language=hello.language,
            runtime_version=hello.runtime_version,
            sdk_version=hello.sdk_version,
            instance_id=hello.runner_instance_id,
            pid=hello.pid,
            slots=hello.concurrency_slots or 1,
            protocol_version=version,
        )
        session = GrpcSession(context, info, self._calls, self._logger, uuid.uuid4().hex)
        welcome = session._message().welcome
        welcome.protocol_version = version
        welcome.session_id = session.session_id
        welcome.max_message_bytes = MAX_MESSAGE_BYTES
        welcome.ping_interval_ms = 0
        welcome.project_dir = self._project_dir
        waiter.set_result(session)
        await session.run(list(first.messages[1:]))

    def _match(self, secret: str) -> asyncio.Future[GrpcSession] | None:
        found = None
        for expected, fut in self._expected.items():
            # compare every entry so timing does not reveal which one matched
            if hmac.compare_digest(expected.encode(), secret.encode()) and not fut.done():
                found = expected
        return self._expected.pop(found) if found is not None else None


async def _refuse(context: Any, code: int, message: str) -> None:
    frame = pb.CoreFrame()
    refusal = frame.messages.add().refusal
    refusal.code = code  # type: ignore[assignment]
    refusal.message = message
    refusal.core_protocol_min = PROTOCOL_MIN
    refusal.core_protocol_max = PROTOCOL_MAX
    with contextlib.suppress(Exception):
        await context.write(frame)
