"""The core's end of the protocol, played by the kit: one object per runner stream.

:class:`RunnerStream` is one connected runner (the kit's server, _kit_server.py, creates it). Like
the core it has one reader and one batching writer; unlike the core it records everything a case may
want to check: envelopes per frame, frame sizes, every call with what was answered, results, and
*violations* (protocol errors that fail whatever case is running, e.g. a result for an invocation
never started).

Calls are answered by _kit_calls.py (an in-memory state store with the core's semantics).
``reply_delay`` lets a case answer calls late, so replies arrive out of order.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# The kit forks runner processes while grpc threads run; grpc's fork handlers only log noise then.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

import grpc
import orjson

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.conformance._kit_calls import CallRecord, StateStore, serve_call

KIT_PROTOCOL = 1


@dataclass
class Invocation:
    start: pb.StartInvocation
    result: asyncio.Future[pb.InvocationResult]
    calls: list[CallRecord] = field(default_factory=list)
    unanswered: set[int] = field(default_factory=set)  # request ids still waiting for a reply
    unanswered_at_result: int = 0

    @property
    def invocation_id(self) -> str:
        return self.start.invocation_id


class RunnerStream:
    """One runner's stream, from the first Hello to the end of the RPC."""

    def __init__(self, context: Any, first: pb.RunnerFrame, state: StateStore) -> None:
        self._context = context
        self.hello = first.messages[0].hello
        self.state = state
        self._loop = asyncio.get_running_loop()
        self._frame = pb.CoreFrame()
        self._wake = asyncio.Event()
        self._closing = False
        self._finish = asyncio.Event()
        self.ended: asyncio.Future[str] = self._loop.create_future()
        self.half_closed = False  # the runner half-closed its side (EOF) before the stream ended
        self.frames_in: list[int] = [len(first.messages)]  # envelopes per received frame
        self.frames_out = 0
        self.max_frame_bytes = first.ByteSize()
        self.violations: list[str] = []
        self._violation_waiters: list[asyncio.Future[None]] = []
        self.invocations: dict[str, Invocation] = {}
        self.request_ids: set[int] = set()
        self.reply_delay: Callable[[pb.Call], float] | None = None
        self._loads: dict[int, asyncio.Future[pb.StepsLoaded]] = {}
        self._pongs: dict[int, asyncio.Future[None]] = {}
        self.cancels: dict[str, asyncio.Future[pb.Cancelled]] = {}  # invocation id -> its Cancelled
        self.draining: asyncio.Future[pb.Draining] = self._loop.create_future()
        self._next_id = 0
        self._fencing = 1 << 33  # above 32 bits on purpose: the token must round-trip as a uint64
        for extra in first.messages[1:]:
            self._loop.call_soon(self._dispatch, extra)

    # -- what cases call ---------------------------------------------------------------------------

    def welcome(self, project_dir: str, max_message_bytes: int) -> None:
        welcome = self._message().welcome
        welcome.protocol_version = KIT_PROTOCOL
        welcome.session_id = uuid.uuid4().hex
        welcome.max_message_bytes = max_message_bytes
        welcome.ping_interval_ms = 0
        welcome.project_dir = project_dir

    def refuse(self, code: int, message: str, core_min: int, core_max: int) -> None:
        refusal = self._message().refusal
        refusal.code = code  # type: ignore[assignment]
        refusal.message = message
        refusal.core_protocol_min = core_min
        refusal.core_protocol_max = core_max
        self._finish.set()

    def load_steps(self, files: list[tuple[str, str, str]]) -> asyncio.Future[pb.StepsLoaded]:
        """Send LoadSteps for (step_id, absolute path, relative path) triples."""
        self._next_id += 1
        fut: asyncio.Future[pb.StepsLoaded] = self._loop.create_future()
        self._loads[self._next_id] = fut
        load = self._message().load_steps
        load.request_id = self._next_id
        for step_id, path, relative in files:
            load.files.add(step_id=step_id, path=path, relative_path=relative)
        return fut

    def start(
        self,
        step_id: str,
        trigger: int,
        payload: Any = None,
        *,
        trace_id: str = "",
        topic: str = "",
        flows: tuple[str, ...] = ("conformance",),
    ) -> Invocation:
        """Send one StartInvocation (payload None = empty bytes); everything started in one go shares a frame."""
        self._fencing += 1
        start = self._message().start
        start.invocation_id = f"inv-{uuid.uuid4().hex}"
        start.step_id = step_id
        start.attempt = 1
        start.fencing_token = self._fencing
        start.trace_id = trace_id or f"trace-{uuid.uuid4().hex[:16]}"
        start.flows.extend(flows)
        start.trigger = trigger  # type: ignore[assignment]
        start.payload_json = b"" if payload is None else orjson.dumps(payload)
        start.topic = topic
        invocation = Invocation(start=pb.StartInvocation(), result=self._loop.create_future())
        invocation.start.CopyFrom(start)
        self.invocations[start.invocation_id] = invocation
        return invocation

    def ping(self, nonce: int) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = self._loop.create_future()
        self._pongs[nonce] = fut
        self._message().ping.nonce = nonce
        return fut

    def cancel(self, invocation_id: str, grace_ms: int = 5000) -> asyncio.Future[pb.Cancelled]:
        """Send Cancel (reason TIMEOUT); the future resolves with the runner's Cancelled."""
        fut: asyncio.Future[pb.Cancelled] = self._loop.create_future()
        self.cancels[invocation_id] = fut
        msg = self._message().cancel
        msg.invocation_id = invocation_id
        msg.reason = pb.Cancel.REASON_TIMEOUT
        msg.grace_ms = grace_ms
        return fut

    def shutdown(self, grace_ms: int, reason: str) -> None:
        msg = self._message().shutdown
        msg.grace_ms = grace_ms
        msg.reason = reason

    def close(self) -> None:
        """End the stream from the kit's side (after writing what is queued)."""
        self._finish.set()

    def take_violations(self) -> list[str]:
        found, self.violations = self.violations, []
        return found

    def violated(self) -> asyncio.Future[None]:
        """Resolves as soon as a protocol violation is recorded (at once if one is pending)."""
        fut: asyncio.Future[None] = self._loop.create_future()
        if self.violations:
            fut.set_result(None)
        else:
            self._violation_waiters.append(fut)
        return fut

    def _violate(self, text: str) -> None:
        self.violations.append(text)
        waiters, self._violation_waiters = self._violation_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    # -- serving the RPC ---------------------------------------------------------------------------

    async def serve(self) -> None:
        reader = asyncio.create_task(self._read_loop())
        writer = asyncio.create_task(self._write_loop())
        reason = "closed by the kit"
        try:
            finish = asyncio.create_task(self._finish.wait())
            done, _ = await asyncio.wait({reader, writer, finish}, return_when=asyncio.FIRST_COMPLETED)
            finish.cancel()
            if reader in done:
                reason = "the runner half-closed the stream" if self.half_closed else self._why(reader, "read")
            elif writer in done:
                reason = self._why(writer, "write")
            self._closing = True  # the writer sends what is queued, then returns
            self._wake.set()
            if not writer.done():
                await asyncio.wait({writer}, timeout=2.0)
        finally:
            reader.cancel()
            writer.cancel()
            if not self.ended.done():
                self.ended.set_result(reason)
            self._fail_waiters(reason)

    @staticmethod
    def _why(task: asyncio.Task[None], what: str) -> str:
        exc = None if task.cancelled() else task.exception()
        if exc is None:
            return "the stream ended"
        code = getattr(exc, "code", None)
        detail = f"{code().name}" if callable(code) else f"{type(exc).__name__}: {exc}"
        return f"the stream broke on {what} ({detail})"

    def _fail_waiters(self, reason: str) -> None:
        waiters: list[asyncio.Future[Any]] = [*self._loads.values(), *self._pongs.values(), *self.cancels.values()]
        waiters.append(self.draining)
        waiters += [inv.result for inv in self.invocations.values()]
        for fut in waiters:
            if not fut.done():
                fut.set_exception(ConnectionError(f"the stream ended ({reason})"))
                fut.exception()  # retrieved: nobody may be waiting for this one

    async def _read_loop(self) -> None:
        while True:
            frame = await self._context.read()
            if frame is grpc.aio.EOF:
                self.half_closed = True
                return
            self.frames_in.append(len(frame.messages))
            self.max_frame_bytes = max(self.max_frame_bytes, frame.ByteSize())
            for msg in frame.messages:
                self._dispatch(msg)

    async def _write_loop(self) -> None:
        while True:
            if not self._frame.messages:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            frame, self._frame = self._frame, pb.CoreFrame()
            await self._context.write(frame)
            self.frames_out += 1

    def _message(self) -> pb.CoreMessage:
        msg = self._frame.messages.add()
        self._wake.set()
        return msg

    # -- receiving ---------------------------------------------------------------------------------

    def _dispatch(self, msg: pb.RunnerMessage) -> None:
        kind = msg.WhichOneof("kind")
        if kind == "result":
            self._on_result(msg.result)
        elif kind == "call":
            self._on_call(msg.call)
        elif kind == "steps_loaded":
            fut = self._loads.pop(msg.steps_loaded.request_id, None)
            if fut is None:
                self._violate(f"StepsLoaded for unknown request_id {msg.steps_loaded.request_id}")
            elif not fut.done():
                fut.set_result(msg.steps_loaded)
        elif kind == "ping":
            self._message().pong.nonce = msg.ping.nonce
        elif kind == "pong":
            waiter = self._pongs.pop(msg.pong.nonce, None)
            if waiter is None:
                self._violate(f"Pong with nonce {msg.pong.nonce} answers no Ping")
            elif not waiter.done():
                waiter.set_result(None)
        elif kind == "cancelled":
            self._on_cancelled(msg.cancelled)
        elif kind == "draining":
            if not self.draining.done():
                self.draining.set_result(msg.draining)
        elif kind == "hello":
            self._violate("a second Hello on the same stream")
        else:
            self._violate(f"an envelope with no known kind ({kind!r})")

    def _on_result(self, result: pb.InvocationResult) -> None:
        invocation = self.invocations.get(result.invocation_id)
        if invocation is None:
            self._violate(f"InvocationResult for invocation {result.invocation_id!r}, never started")
            return
        cancelled = self.cancels.get(result.invocation_id)
        if cancelled is not None and cancelled.done() and not cancelled.cancelled():
            self._violate(f"an InvocationResult for {result.invocation_id} after its Cancelled")
            return
        if invocation.result.cancelled():  # the case stopped waiting for it
            return
        if invocation.result.done():
            self._violate(f"a second InvocationResult for {result.invocation_id}")
            return
        if result.fencing_token != invocation.start.fencing_token:
            self._violate(
                f"InvocationResult for {result.invocation_id} carries fencing token {result.fencing_token}, "
                f"expected {invocation.start.fencing_token}"
            )
        invocation.unanswered_at_result = len(invocation.unanswered)
        invocation.result.set_result(result)

    def _on_cancelled(self, cancelled: pb.Cancelled) -> None:
        fut = self.cancels.get(cancelled.invocation_id)
        if fut is None:
            self._violate(f"Cancelled for {cancelled.invocation_id!r}, which the kit never cancelled")
        elif fut.done():
            self._violate(f"a second Cancelled for {cancelled.invocation_id}")
        else:
            fut.set_result(cancelled)

    def _on_call(self, call: pb.Call) -> None:
        op = call.WhichOneof("op") or ""
        invocation = self.invocations.get(call.invocation_id)
        wants_reply = op != "log" or call.request_id != 0
        if op == "log" and call.request_id != 0:
            self._violate(f"a log Call with request_id {call.request_id} (log lines use 0: no reply)")
        if wants_reply:
            if call.request_id == 0:
                self._violate(f"a {op or 'empty'} Call with request_id 0 (calls wanting a reply need > 0)")
            elif call.request_id in self.request_ids:
                self._violate(f"request_id {call.request_id} used twice on one stream")
            self.request_ids.add(call.request_id)
        if invocation is None:
            self._violate(f"a {op} Call for invocation {call.invocation_id!r}, which the kit never started")
            self._reply(call.request_id, None, ("CODE_UNKNOWN_INVOCATION", "unknown invocation"), None)
            return
        if invocation.result.done():
            self._violate(f"a {op} Call for {call.invocation_id} after its InvocationResult")
        try:
            args, value = serve_call(self.state, op, call)
        except ValueError as exc:
            self._violate(f"{op} Call of {call.invocation_id}: {exc}")
            self._reply(call.request_id, None, ("CODE_INVALID_ARGUMENT", str(exc)), invocation)
            return
        record = CallRecord(call.request_id, op, args, overlapped=bool(invocation.unanswered))
        invocation.calls.append(record)
        if call.request_id == 0:
            return
        value = value or b"null"
        record.reply = orjson.loads(value)
        invocation.unanswered.add(call.request_id)
        delay = self.reply_delay(call) if self.reply_delay is not None else 0.0
        if delay > 0:
            self._loop.call_later(delay, self._reply, call.request_id, value, None, invocation)
        else:
            self._reply(call.request_id, value, None, invocation)

    def _reply(
        self, request_id: int, value: bytes | None, error: tuple[str, str] | None, invocation: Invocation | None
    ) -> None:
        if invocation is not None:
            invocation.unanswered.discard(request_id)
        if request_id == 0 or self.ended.done():
            return
        reply = self._message().call_reply
        reply.request_id = request_id
        if error is not None:
            reply.error.code = pb.CallError.Code.Value(error[0])  # type: ignore[assignment]
            reply.error.message = error[1]
        else:
            reply.value_json = value or b""
