"""One runner's stream, core side: a reader loop and a batching writer task (frames.py).

Invocations (with their timeouts and client-gone cancels), calls, step loading, pings and the
heartbeat, cancellation and drain notices all go through here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any, TypeVar

import grpc

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.errors import AdmissionTimeout, CallFailed, RunnerLost
from motia_core.limits import MAX_MESSAGE_BYTES, mib
from motia_core.logs import Logger
from motia_core.project import FileKind, StepFile
from motia_core.runners.credit import ByteCredit
from motia_core.runners.frames import FrameWriter
from motia_core.runners.http_body import HTTP_BODY_CAPABILITY, HttpResult
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

CANCEL_GRACE = float(os.environ.get("MOTIA_CANCEL_GRACE", "5"))  # seconds a runner has to confirm a Cancel
# Liveness: a runner that sends nothing for HEARTBEAT_TIMEOUT seconds (SIGSTOPped, or an event loop
# blocked by a handler that never yields) is declared dead. The core pings only a quiet stream, so a
# busy runner's own frames are its heartbeat and an idle one costs one tiny message per interval.
# Only silence the runner is to blame for counts: time the core's own loop was stalled (it could
# neither send the ping nor read the answer) is not counted, and the runner gets the whole timeout
# after the ping was handed to the transport (docs/protocol.md, "Liveness").
HEARTBEAT_INTERVAL = float(os.environ.get("MOTIA_HEARTBEAT_INTERVAL", "1"))
HEARTBEAT_TIMEOUT = float(os.environ.get("MOTIA_HEARTBEAT_TIMEOUT", "5"))
_CALL_ERROR_CODES = {name: value for name, value in pb.CallError.Code.items()}
_T = TypeVar("_T")
_RECENT_SCOPES = 4096  # scopes kept after an invocation ends, for calls a handler did not await
_TIMED_OUT = Outcome()  # marker: the invocation's timer fired before its result came


def _expire(fut: asyncio.Future[Outcome]) -> None:
    if not fut.done():
        fut.set_result(_TIMED_OUT)


class GrpcSession:
    """One connected runner: a reader loop (run) and a batching writer task."""

    def __init__(self, context: Any, info: RunnerInfo, calls: CallHandler, logger: Logger, session_id: str) -> None:
        self.info = info
        self.session_id = session_id
        self._context = context
        self._calls = calls
        self._logger = logger
        self._loop = asyncio.get_running_loop()
        self._out = FrameWriter(self._write_frame, self._refuse_oversized)
        self._message = self._out.message  # a new envelope in the frame being built; fill it before yielding
        self._pending: dict[str, tuple[asyncio.Future[Outcome], int]] = {}
        self._scopes: dict[str, InvocationScope] = {}
        self._recent: OrderedDict[str, InvocationScope] = OrderedDict()
        self._loads: dict[int, asyncio.Future[Manifest]] = {}
        self._pings: dict[int, asyncio.Future[float]] = {}
        self._next_id = 0
        self._slots = asyncio.Semaphore(max(1, info.slots))
        self._credit = ByteCredit()  # bytes of input in flight, beside the count the slots bound
        self._call_tasks: set[asyncio.Task[None]] = set()
        self.closed: asyncio.Future[str] = self._loop.create_future()
        self.draining: asyncio.Future[str] = self._loop.create_future()  # the runner announced a drain (SIGTERM)
        self._cancels: dict[str, asyncio.Future[None]] = {}
        self.cancel_grace = CANCEL_GRACE
        self._writer = asyncio.create_task(self._write_loop(), name=f"runner-writer-{info.language}")
        self._end = asyncio.Event()
        self._last_heard = time.monotonic()
        self._stalled = 0.0  # seconds the core's own loop lagged since the runner was last heard
        self._ping_nonce = 0  # the heartbeat ping not yet answered by any frame (0: none)
        self._ping_written: float | None = None  # when that ping was handed to the transport
        self._stalled_at_write = 0.0  # self._stalled at that moment
        self._heartbeat: asyncio.Task[None] | None = None
        self.unresponsive: str | None = None  # why the heartbeat gave up on this runner, if it did

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    # -- sending -------------------------------------------------------------------------------

    async def _write_frame(self, frame: pb.CoreFrame) -> None:
        await self._context.write(frame)
        if self._ping_nonce and self._ping_written is None:  # only while a heartbeat ping waits: rare
            nonce = self._ping_nonce
            if any(m.WhichOneof("kind") == "ping" and m.ping.nonce == nonce for m in frame.messages):
                self._ping_written = time.monotonic()
                self._stalled_at_write = self._stalled

    async def _write_loop(self) -> None:
        try:
            await self._out.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the stream broke under us: end the session
            self.abort(f"write failed: {exc}")

    def _refuse_oversized(self, msg: pb.CoreMessage, size: int) -> None:
        """Never reached when the edges do their job (motia_core.limits): a lone envelope too large
        for one message fails its own invocation or call instead of the whole stream."""
        kind = msg.WhichOneof("kind")
        why = (
            f"a {kind} message of {size} bytes ({mib(size)}) does not fit in one runner message "
            f"({mib(MAX_MESSAGE_BYTES)}); it was not sent"
        )
        self._logger.error(why, source=f"runner:{self.info.language}")
        if kind == "start":
            entry = self._pending.get(msg.start.invocation_id)
            if entry is not None and not entry[0].done():
                failure = Failure(FailureKind.BAD_PAYLOAD, "PayloadTooLarge", why, non_retryable=True)
                entry[0].set_result(Outcome(failure=failure))
        elif kind == "call_reply":
            self._reply_error(msg.call_reply.request_id, "CODE_INVALID_ARGUMENT", why)

    # -- the domain-facing API ------------------------------------------------------------------

    async def load_steps(self, files: list[StepFile], timeout: float) -> Manifest:
        self._next_id += 1
        request_id = self._next_id
        fut: asyncio.Future[Manifest] = self._loop.create_future()
        self._loads[request_id] = fut
        load = self._message().load_steps
        load.request_id = request_id
        for f in files:
            kind = pb.STEP_FILE_KIND_PROJECT_CONFIG if f.kind is FileKind.PROJECT_CONFIG else 0  # motia.config.ts
            load.files.add(step_id=f.step_id, path=str(f.path), relative_path=f.relative_path, kind=kind)
        try:
            return await self._until_closed(fut, timeout, "loading steps")
        finally:
            self._loads.pop(request_id, None)

    async def invoke(
        self,
        invocation: Invocation,
        scope: InvocationScope,
        admission_timeout: float,
        timeout: float | None = None,
    ) -> Outcome:
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
            caller = asyncio.current_task()
            if caller is not None and caller.cancelling():
                # cancelled (client gone) as the slot came: Python 3.11's wait_for returns the slot and
                # swallows the cancel, which would run a call nobody waits for; give the slot back
                self._slots.release()
                raise asyncio.CancelledError
        else:
            await self._slots.acquire()
        size = len(invocation.payload) + (len(invocation.http_body.raw) if invocation.http_body is not None else 0)
        try:
            await self._take_credit(size, admission_timeout)
        except BaseException:
            self._slots.release()
            raise
        iid = invocation.invocation_id
        slot_held = False  # a timed-out invocation keeps its slot until the runner confirms the cancel
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
            if invocation.http_body is None:
                start.payload_json = invocation.payload
            elif HTTP_BODY_CAPABILITY in self.info.capabilities:  # the body once, as bytes (runners/http_body.py)
                start.payload_json = invocation.payload
                http_body = start.http_body
                http_body.SetInParent()  # present even when empty: it tells the runner to answer http_response
                http_body.raw = invocation.http_body.raw
                http_body.content_type = invocation.http_body.content_type
                http_body.encoding = invocation.http_body.encoding.value  # type: ignore[assignment]
            else:
                start.payload_json = invocation.http_body.legacy_payload(invocation.payload)
            start.topic = invocation.topic
            # A timer resolves `fut` with a marker rather than wrapping it in wait_for(shield(...)): that
            # pair costs ~17 µs per call (measured), this ~2 µs; the hot path runs it on every API call.
            timer = self._loop.call_later(timeout, _expire, fut) if timeout is not None else None
            try:
                outcome = await fut
            except asyncio.CancelledError:
                # the caller gave up (an HTTP client went away): stop the handler, and keep its slot
                # until the runner confirms, exactly like a timeout
                if fut.cancelled() and not self.closed.done():
                    slot_held = True
                    self._cancel(iid, pb.Cancel.REASON_CLIENT_GONE)
                raise
            finally:
                if timer is not None:
                    timer.cancel()
            if outcome is _TIMED_OUT:
                slot_held = True
                self._cancel(iid, pb.Cancel.REASON_TIMEOUT)
                return Outcome(
                    failure=Failure(
                        FailureKind.TIMEOUT,
                        "TimeoutError",
                        f"{scope.step_name} did not finish within its timeout of {timeout:g}s; it was cancelled",
                    )
                )
            return outcome
        finally:
            self._credit.give(size)  # the runner has read the input whatever became of it
            if not slot_held:
                self._slots.release()
            self._pending.pop(iid, None)
            done = self._scopes.pop(iid, None)
            if done is not None:
                self._recent[iid] = done
                if len(self._recent) > _RECENT_SCOPES:
                    self._recent.popitem(last=False)

    async def _take_credit(self, size: int, admission_timeout: float) -> None:
        """Wait until `size` more bytes of input fit in what this runner holds (runners/credit.py)."""
        credit = self._credit
        if credit.try_take(size):  # no coroutine on the hot path
            return
        try:
            await asyncio.wait_for(credit.take(size), admission_timeout)
        except TimeoutError:
            raise AdmissionTimeout(
                f"{self.info.language} runner already holds {mib(credit.used)} of input "
                f"(limit {mib(credit.limit)}, MOTIA_RUNNER_INFLIGHT_BYTES); no room within {admission_timeout:g}s"
            ) from None
        caller = asyncio.current_task()
        if caller is not None and caller.cancelling():  # Python 3.11's wait_for: see the slot above
            credit.give(size)
            raise asyncio.CancelledError

    def _cancel(self, iid: str, reason: int) -> None:
        """Ask the runner to stop a handler; free its slot once it confirms, or kill the runner."""
        confirmed: asyncio.Future[None] = self._loop.create_future()
        self._cancels[iid] = confirmed
        msg = self._message().cancel
        msg.invocation_id = iid
        msg.reason = reason  # type: ignore[assignment]
        msg.grace_ms = int(self.cancel_grace * 1000)
        task = asyncio.create_task(self._await_cancelled(iid, confirmed))
        self._call_tasks.add(task)
        task.add_done_callback(self._call_tasks.discard)

    async def _await_cancelled(self, iid: str, confirmed: asyncio.Future[None]) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(confirmed), self.cancel_grace)
        except TimeoutError:
            self._logger.error(
                f"the {self.info.language} runner did not stop invocation {iid} within {self.cancel_grace:g}s "
                "of its cancel; restarting the runner",
                source=f"runner:{self.info.language}",
            )
            self.abort(f"invocation {iid} could not be cancelled")
        except RunnerLost:
            pass
        finally:
            self._cancels.pop(iid, None)
            self._slots.release()

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

    def start_heartbeat(self, interval: float = HEARTBEAT_INTERVAL, timeout: float = HEARTBEAT_TIMEOUT) -> None:
        """Watch the stream from now on (after step loading, which may legitimately block a runner)."""
        if self._heartbeat is None and not self.closed.done() and interval > 0:
            self._heartbeat = asyncio.create_task(
                self._watch(interval, timeout), name=f"runner-heartbeat-{self.info.language}"
            )

    async def _watch(self, interval: float, timeout: float) -> None:
        while not self.closed.done():
            before = time.monotonic()
            await asyncio.sleep(interval)
            now = time.monotonic()
            # A loop busy with other work (1 MB bodies on a starved CPU) wakes us late and reads the
            # runner's frames late too: that lag is the core's, not the runner's silence.
            lag = max(0.0, now - before - interval - 0.05)
            self._stalled += lag
            quiet = now - self._last_heard
            silent = quiet - self._stalled
            written = self._ping_written
            # the runner gets the whole timeout after its ping left the core (core stalls not counted);
            # a ping the transport never took means the runner does not read its stream either
            waited = timeout if written is None else now - written - (self._stalled - self._stalled_at_write)
            if silent >= timeout and waited >= timeout:
                why = "a ping never reached it" if written is None else f"a ping unanswered for {now - written:.0f}s"
                self.unresponsive = f"stopped answering pings for {quiet:.0f}s ({why})"
                self.abort(f"the {self.info.language} runner {self.unresponsive}")
                return
            if quiet >= interval:
                self._next_id += 1
                self._message().ping.nonce = self._next_id
                if not self._ping_nonce:  # the clock runs from the first unanswered ping
                    self._ping_nonce = self._next_id

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
        waiters: list[asyncio.Future[Any]] = [*self._loads.values(), *self._pings.values(), *self._cancels.values()]
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(lost)
        self._writer.cancel()
        if self._heartbeat is not None and self._heartbeat is not asyncio.current_task():
            self._heartbeat.cancel()
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
                self._last_heard = time.monotonic()
                self._stalled = 0.0
                self._ping_nonce, self._ping_written = 0, None
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
        elif kind == "cancelled":
            confirmed = self._cancels.get(msg.cancelled.invocation_id)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
        elif kind == "draining":
            if not self.draining.done():
                self.draining.set_result(msg.draining.reason or "draining")
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
        elif result.completed.HasField("http_response"):
            h = result.completed.http_response
            fut.set_result(Outcome(http=HttpResult(h.status, h.headers_json, h.body, h.body_kind)))
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
