"""One runner's stream, core side: a reader loop and a batching writer task (frames.py).

Invocations (with their timeouts and client-gone cancels), calls, step loading, pings and the
heartbeat, cancellation and drain notices all go through here. What the messages carry is
wire.py's, the calls' ops call_ops.py's, the heartbeat's clock liveness.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import grpc

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.errors import AdmissionTimeout, RunnerLost
from motia_core.limits import MAX_MESSAGE_BYTES, mib
from motia_core.logs import Logger
from motia_core.project import FileKind, StepFile
from motia_core.runners.call_ops import SessionCalls
from motia_core.runners.credit import ByteCredit
from motia_core.runners.deadlines import Deadlines
from motia_core.runners.frames import FrameWriter
from motia_core.runners.grpc_polling import settled as _grpc_polling_settled
from motia_core.runners.liveness import HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, Liveness
from motia_core.runners.transport import (
    CallHandler,
    Failure,
    FailureKind,
    Invocation,
    InvocationScope,
    Manifest,
    Outcome,
    RunnerInfo,
)
from motia_core.runners.wire import fill_start, manifest_of, outcome_of

CANCEL_GRACE = float(os.environ.get("MOTIA_CANCEL_GRACE", "5"))  # seconds a runner has to confirm a Cancel
_T = TypeVar("_T")
_TIMED_OUT = Outcome()  # marker: the invocation's timer fired before its result came
_grpc_polling_settled()  # grpc is imported (above, and by grpc_server before us): runners get a clean env


def _expire(fut: asyncio.Future[Outcome]) -> None:
    if not fut.done():
        fut.set_result(_TIMED_OUT)


class GrpcSession:
    """One connected runner: a reader loop (run) and a batching writer task."""

    def __init__(self, context: Any, info: RunnerInfo, calls: CallHandler, logger: Logger, session_id: str) -> None:
        self.info = info
        self.session_id = session_id
        self._context = context
        self._logger = logger
        self._loop = asyncio.get_running_loop()
        self._out = FrameWriter(self._write_frame, self._refuse_oversized)
        self._message = self._out.message  # a new envelope in the frame being built; fill it before yielding
        self._pending: dict[str, tuple[asyncio.Future[Outcome], int]] = {}
        self._loads: dict[int, asyncio.Future[Manifest]] = {}
        self._pings: dict[int, asyncio.Future[float]] = {}
        self._next_id = 0
        self._slots = asyncio.Semaphore(max(1, info.slots))
        self._credit = ByteCredit()  # bytes of input in flight, beside the count the slots bound
        self._cancel_tasks: set[asyncio.Task[None]] = set()
        self.closed: asyncio.Future[str] = self._loop.create_future()
        self._calls = SessionCalls(calls, info, logger, self._message, self.closed)  # scopes, calls, replies
        self._scopes = self._calls.scopes  # each running invocation's, by id
        self.draining: asyncio.Future[str] = self._loop.create_future()  # the runner announced a drain (SIGTERM)
        self._cancels: dict[str, asyncio.Future[None]] = {}
        self._deadlines = Deadlines(self._loop, _expire)  # handler timeouts: a timer per timeout, not per call
        self.cancel_grace = CANCEL_GRACE
        self._writer = asyncio.create_task(self._write_loop(), name=f"runner-writer-{info.language}")
        self._end = asyncio.Event()
        self._liveness = Liveness()  # when the runner was last heard, for the heartbeat (liveness.py)
        self._heartbeat: asyncio.Task[None] | None = None
        self.unresponsive: str | None = None  # why the heartbeat gave up on this runner, if it did

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    # -- sending -------------------------------------------------------------------------------

    async def _write_frame(self, frame: pb.CoreFrame) -> None:
        await self._context.write(frame)
        liveness = self._liveness
        if liveness.ping_nonce and liveness.ping_written is None:  # only while a heartbeat ping waits: rare
            liveness.ping_handed_over(frame)

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
            self._calls.reply_error(msg.call_reply.request_id, "CODE_INVALID_ARGUMENT", why)

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
        if not self._credit.try_take(size):  # the common case takes its credit without a coroutine
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
            fill_start(self._message().start, invocation, self.info.capabilities)
            # The deadline resolves `fut` with a marker rather than wrapping it in wait_for(shield(...)):
            # that pair costs ~17 µs per call (measured), a call_later ~2 µs, Deadlines ~0.2 µs.
            if timeout is not None:
                self._deadlines.add(iid, timeout, fut)
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
                if timeout is not None:
                    self._deadlines.discard(iid, timeout)
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
            self._calls.ended(iid)

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
        self._cancel_tasks.add(task)
        task.add_done_callback(self._cancel_tasks.discard)

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
            watch = self._liveness.watch(interval, timeout, self.closed, self._send_ping, self._give_up)
            self._heartbeat = asyncio.create_task(watch, name=f"runner-heartbeat-{self.info.language}")

    def _send_ping(self) -> int:
        self._next_id += 1
        self._message().ping.nonce = self._next_id
        return self._next_id

    def _give_up(self, why: str) -> None:
        self.unresponsive = why
        self.abort(f"the {self.info.language} runner {why}")

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
        self._deadlines.close()
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
                self._liveness.heard()
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
            self._calls.on_call(msg.call)
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
        fut.set_result(outcome_of(result))

    def _on_loaded(self, loaded: pb.StepsLoaded) -> None:
        fut = self._loads.get(loaded.request_id)
        if fut is None or fut.done():
            return
        fut.set_result(manifest_of(loaded))
