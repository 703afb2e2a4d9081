"""Running ``StartInvocation``s concurrently and answering each with one ``InvocationResult``.

Each invocation is a task on the loop (``def`` handlers go to the thread pool from there), so the
reader never waits for a handler. Whatever happens inside a handler ends as a result:

* the step is not loaded -> ``UNKNOWN_STEP``; the runner is draining -> ``SHUTTING_DOWN``;
* the payload is not JSON (or an API payload is not an object) -> ``BAD_PAYLOAD``;
* the handler or a middleware raises -> ``HANDLER_ERROR`` with the Python traceback;
* the return value cannot be encoded as JSON (or is too large) -> ``BAD_RESULT``;
* ``None`` -> ``Completed`` with empty ``payload_json``.

An API invocation that carries ``http_body`` (the core does so because this runner announced
``http_body_bytes``) gets ``body`` / ``rawBody`` built from the raw bytes (``bytes`` for a binary
body, never decoded) and is answered with ``Completed.http_response``: the body encoded once here
(``bytes`` as is, ``str`` as UTF-8, anything else as JSON) and spliced into the HTTP response by the
core. A result that is not a dict with an absent or integer 100-599 status goes back as
``payload_json``, so the core names what is wrong with it as for any runner.

A handler steers the retry of a failure with :class:`motia.RetryAfter` (``Failed.retry_after_ms``) or
:class:`motia.NonRetryableError` (``Failed.non_retryable``); any exception carrying an int
``retry_after_ms`` or ``non_retryable = True`` attribute does the same.

``Cancel`` stops one invocation: its context is marked cancelled (calls raise
``InvocationCancelledError``; calls waiting for a reply fail with it), the threads and tasks of its
:class:`HandlerScope` start no more user code, and its task is cancelled (``async def`` code stops at
its current ``await``). Once the task ended *and* its last worker thread returned, the runner sends
``Cancelled`` instead of a result and the slot is free. A ``def`` handler that never makes another
call and never checks ``context.cancelled`` keeps its thread; the core then restarts the runner after
``Cancel.grace_ms``.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Coroutine
from concurrent.futures import Executor
from typing import Any

from motia import _json
from motia._context import Context
from motia._errors import NotJsonError
from motia._execution import HandlerScope, StepCallable, Trigger, run_callable, run_handler
from motia._request import ApiRequest
from motia._tracebacks import format_user_traceback

from .calls import CallRouter, InvocationSink
from .http_body import BadResult, HttpResponseParts, add_body, encode_response
from .loader import LoadedStep
from .outbox import Outbox
from .proto import pb
from .wire import TAIL_MIN_BYTES, body_tail

_RUNNER_DIR = os.path.dirname(os.path.abspath(__file__))

_TRIGGERS = {
    pb.TRIGGER_API: Trigger.API,
    pb.TRIGGER_EVENT: Trigger.EVENT,
    pb.TRIGGER_CRON: Trigger.CRON,
    pb.TRIGGER_STREAM_AUTH: Trigger.EVENT,  # the stream auth file: handler({headers, url, authToken}, ctx)
}


class _Failure(Exception):
    """An invocation outcome other than a handler error, raised to leave ``_execute`` early."""

    def __init__(self, kind: pb.FailureKind, error_type: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.error_type = error_type
        self.message = message


_CANCEL_REASONS = {
    pb.Cancel.REASON_TIMEOUT: "timeout",
    pb.Cancel.REASON_SHUTDOWN: "shutdown",
    pb.Cancel.REASON_CLIENT_GONE: "client gone",
}


class _Running:
    """One invocation in flight: its task, the user code it runs, and whether the core cancelled it."""

    __slots__ = ("_scope", "cancelling", "context", "fencing_token", "invocation_id", "loop", "task")

    def __init__(self, start: pb.StartInvocation, loop: asyncio.AbstractEventLoop) -> None:
        self.invocation_id = start.invocation_id
        self.fencing_token = start.fencing_token
        self.loop = loop
        self._scope: HandlerScope | None = None
        self.context: Context | None = None  # made once the payload decoded
        self.task: asyncio.Task[None] | None = None
        self.cancelling = False  # the core sent Cancel: answer Cancelled, never a result

    @property
    def scope(self) -> HandlerScope:
        """Made on first use: a lone ``async def`` handler never needs one (its task is the whole
        of its user code) unless it is cancelled, and a scope costs a lock per invocation."""
        if self._scope is None:
            self._scope = HandlerScope(self.loop)
        return self._scope

    def stop(self, reason: str) -> None:
        """Stop the user code: flag the context, refuse new pieces, cancel the tasks."""
        if self.context is not None:
            self.context.cancel(reason)
        self.scope.stop(reason)
        if self.task is not None:
            self.task.cancel()


def retry_hints(failed: pb.Failed, exc: BaseException) -> None:
    """Copy a handler error's retry wishes (``RetryAfter``, ``NonRetryableError`` or duck-typed
    ``retry_after_ms`` / ``non_retryable`` attributes) into ``failed``."""
    if getattr(exc, "non_retryable", False) is True:
        failed.non_retryable = True
    delay = getattr(exc, "retry_after_ms", None)
    if isinstance(delay, (int, float)) and not isinstance(delay, bool) and 0 < delay < 2**63:
        failed.retry_after_ms = math.ceil(delay)  # a positive delay never becomes 0 ("the default")


class Invocations:
    """The invocations in flight on one stream."""

    def __init__(
        self,
        steps: dict[str, LoadedStep],
        router: CallRouter,
        outbox: Outbox,
        executor: Executor | None,
        max_payload_bytes: int,
    ) -> None:
        self._steps = steps
        self._router = router
        self._outbox = outbox
        self._executor = executor
        self.max_payload_bytes = max_payload_bytes
        self._running: dict[str, _Running] = {}
        self._confirming: set[asyncio.Task[None]] = set()
        self._empty = asyncio.Event()
        self._empty.set()
        self.accepting = True
        self.completed = 0
        self.cancelled = 0

    def __len__(self) -> int:
        """Invocations holding a slot: running, or cancelled and not yet stopped."""
        return len(self._running)

    def start(self, start: pb.StartInvocation) -> None:
        """Begin one invocation without waiting for it."""
        if not self.accepting:
            self._send_failed(start, pb.FAILURE_KIND_SHUTTING_DOWN, "ShuttingDown", "the runner is shutting down")
            return
        step = self._steps.get(start.step_id)
        if step is None:
            message = f"step {start.step_id!r} is not loaded in this runner"
            self._send_failed(start, pb.FAILURE_KIND_UNKNOWN_STEP, "UnknownStep", message)
            return
        loop = asyncio.get_running_loop()
        running = _Running(start, loop)
        # Named after the invocation: a debugging aid, and a Task without a name formats one.
        running.task = loop.create_task(self._run(start, step, running), name=running.invocation_id)
        if not self._running:
            self._empty.clear()
        self._running[running.invocation_id] = running
        running.task.add_done_callback(lambda _: self._task_done(running))

    def cancel(self, cancel: pb.Cancel) -> None:
        """Stop one invocation; ``Cancelled`` goes out once its handler has stopped.

        An unknown or finished invocation is answered at once (fencing token 0 when unknown); a
        second Cancel for one that is stopping changes nothing (its Cancelled is on the way).
        """
        running = self._running.get(cancel.invocation_id)
        if running is None or running.task is None or running.task.done():
            token = running.fencing_token if running is not None else 0
            self._send_cancelled(cancel.invocation_id, token)
            return
        if running.cancelling:
            return
        running.cancelling = True
        reason = _CANCEL_REASONS.get(cancel.reason, "cancelled")
        running.stop(reason)
        # A def handler blocked on a reply must not wait for the core to answer it.
        self._router.cancel_invocation(cancel.invocation_id, reason)

    async def drain(self, timeout: float | None) -> int:
        """Stop taking work and wait up to ``timeout`` seconds (``None``: as long as it takes) for the
        invocations in flight, cancelled ones included; returns how many did not finish."""
        self.accepting = False
        if self._running:
            empty = asyncio.ensure_future(self._empty.wait())
            try:
                await asyncio.wait({empty}, timeout=timeout)  # not wait_for: no TimeoutError to tell apart on 3.10
            finally:
                empty.cancel()
        return len(self._running)

    def cancel_all(self) -> None:
        """Abandon everything in flight (the stream is ending): no result, no Cancelled."""
        for running in list(self._running.values()):
            running.stop("shutdown")
        for task in list(self._confirming):
            task.cancel()

    def _task_done(self, running: _Running) -> None:
        if running.cancelling:
            # The task ended, but a def piece may still be on its worker thread: wait for it to
            # return. Even when it already has, confirm from a new task: what the thread sent on
            # its way out (log lines go through call_soon_threadsafe) is then queued before it.
            confirm = asyncio.get_running_loop().create_task(self._confirm_when_stopped(running))
            self._confirming.add(confirm)
            confirm.add_done_callback(self._confirming.discard)
            return
        self._finish(running)

    async def _confirm_when_stopped(self, running: _Running) -> None:
        try:
            await running.scope.wait_stopped()
        finally:
            self._finish(running)

    def _finish(self, running: _Running) -> None:
        """Free the slot (and confirm a cancel)."""
        if self._running.get(running.invocation_id) is running:
            del self._running[running.invocation_id]
        if running.cancelling:
            self.cancelled += 1
            self._send_cancelled(running.invocation_id, running.fencing_token)
        if not self._running:
            self._empty.set()

    def _send_cancelled(self, invocation_id: str, fencing_token: int) -> None:
        message = pb.RunnerMessage()
        message.cancelled.invocation_id = invocation_id
        message.cancelled.fencing_token = fencing_token
        self._outbox.put(message)

    # -- one invocation ---------------------------------------------------------------------------

    async def _run(self, start: pb.StartInvocation, step: LoadedStep, running: _Running) -> None:
        message = pb.RunnerMessage()
        result = message.result
        # Each read of a protobuf field is a lookup by name: read once, reuse.
        result.invocation_id = running.invocation_id
        result.fencing_token = running.fencing_token
        tail: bytes | None = None
        try:
            trigger_code = start.trigger
            if trigger_code == pb.TRIGGER_STREAM_ACCESS:
                payload: bytes | HttpResponseParts = await self._can_access(start, step, running.scope)
            else:
                # Awaited here rather than in a coroutine of its own: one frame less per invocation.
                handling, as_http = self._begin(start, trigger_code, step, running)
                payload = self._encode(await handling, as_http)
        except _Failure as failure:
            self._fill_failed(result.failed, failure.kind, failure.error_type, failure.message, "")
        except asyncio.CancelledError:
            if running.cancelling:  # the core cancelled it: Cancelled goes out once it stopped
                return
            if not self.accepting:  # cancelled by the runner's shutdown: the core gets no result
                raise
            kind, message_text = pb.FAILURE_KIND_HANDLER_ERROR, "the handler was cancelled"
            self._fill_failed(result.failed, kind, "CancelledError", message_text, "")
        except BaseException as exc:  # a handler's SystemExit must not stop the runner either
            stack = format_user_traceback(exc, internal_dirs=(_RUNNER_DIR,))
            self._fill_failed(result.failed, pb.FAILURE_KIND_HANDLER_ERROR, type(exc).__name__, str(exc), stack)
            retry_hints(result.failed, exc)
        else:
            # Setting a field, even to its default, makes the messages above it present (a bare 200
            # still sends http_response; None still sends completed): no SetInParent calls needed.
            completed = result.completed
            if isinstance(payload, HttpResponseParts):
                http = completed.http_response
                http.status = payload.status
                http.headers_json = payload.headers_json
                http.body_kind = payload.kind  # type: ignore[assignment]
                if len(payload.body) >= TAIL_MIN_BYTES:
                    tail = payload.body  # copied once, into the frame, never into a protobuf message
                else:
                    http.body = payload.body
            else:
                completed.payload_json = payload
        if running.cancelling:  # finished (or swallowed the cancel) after the core gave up on it
            return
        self.completed += 1
        if tail is None:
            self._outbox.put(message)
        else:
            self._outbox.put_parts((message.SerializeToString(), body_tail(len(tail)), tail))

    def _begin(
        self, start: pb.StartInvocation, trigger_code: pb.Trigger, step: LoadedStep, running: _Running
    ) -> tuple[Coroutine[Any, Any, Any], bool]:
        """Decode the invocation and make its context; returns the handler's call (not started yet)
        and whether the result goes back as ``http_response``. Raises ``_Failure`` for a bad one."""
        trigger = _TRIGGERS.get(trigger_code)
        if trigger is None:
            raise _Failure(pb.FAILURE_KIND_BAD_PAYLOAD, "BadTrigger", f"unknown trigger {trigger_code}")
        handler = step.handler
        if handler is None:
            raise _Failure(pb.FAILURE_KIND_HANDLER_ERROR, "NoHandler", f"{step.path} exports no callable `handler`")
        payload = self._decode_payload(trigger, start.payload_json)
        http = trigger is Trigger.API and start.HasField("http_body")
        if http:
            try:
                add_body(payload, start.http_body)
            except ValueError as exc:
                raise _Failure(pb.FAILURE_KIND_BAD_PAYLOAD, "BadPayload", f"http_body is not JSON: {exc}") from None
        context = Context(
            trace_id=start.trace_id,
            flows=start.flows[:],  # a slice: list() of a repeated field ends in an IndexError
            sink=InvocationSink(self._router, running.invocation_id),
            loop=running.loop,
        )
        running.context = context
        middleware = step.middleware if trigger is Trigger.API else ()
        handling = run_handler(
            trigger,
            handler,
            payload,
            context,
            middleware=middleware,
            executor=self._executor,
            # only def pieces and middleware chains run user code outside this task
            scope=running.scope if middleware or not handler.is_async else None,
        )
        return handling, http

    def _encode(self, value: Any, http: bool) -> bytes | HttpResponseParts:
        """The handler's return value as ``http_response`` parts (an API result) or payload JSON."""
        if http and isinstance(value, dict):
            try:
                encoded = encode_response(value, self.max_payload_bytes)
            except BadResult as exc:
                raise _Failure(pb.FAILURE_KIND_BAD_RESULT, exc.error_type, str(exc)) from None
            if encoded is not None:
                return encoded
        return self._encode_result(value)

    async def _can_access(self, start: pb.StartInvocation, step: LoadedStep, scope: HandlerScope) -> bytes:
        """A stream file's ``config["canAccess"](subscription, auth_context)``, as a JSON boolean."""
        can_access = step.config.get("canAccess")
        if not callable(can_access):
            message = f"{step.path} has no callable config['canAccess']"
            raise _Failure(pb.FAILURE_KIND_HANDLER_ERROR, "NoCanAccess", message)
        payload = self._decode_payload(Trigger.EVENT, start.payload_json)
        if not isinstance(payload, dict):
            raise _Failure(pb.FAILURE_KIND_BAD_PAYLOAD, "BadPayload", "a stream access payload must be an object")
        args = (payload.get("subscription"), payload.get("authContext"))
        allowed = await run_callable(StepCallable.of(can_access), args, executor=self._executor, scope=scope)
        return b"true" if allowed else b"false"

    @staticmethod
    def _decode_payload(trigger: Trigger, raw: bytes) -> Any:
        if trigger is Trigger.CRON:
            return None
        try:
            value = _json.loads(raw) if raw else None
        except ValueError as exc:
            raise _Failure(pb.FAILURE_KIND_BAD_PAYLOAD, "BadPayload", f"payload_json is not JSON: {exc}") from None
        if trigger is Trigger.API:
            if not isinstance(value, dict):
                message = f"an API payload must be a JSON object, got {type(value).__name__}"
                raise _Failure(pb.FAILURE_KIND_BAD_PAYLOAD, "BadPayload", message)
            return ApiRequest(value)
        return value

    def _encode_result(self, value: Any) -> bytes:
        if value is None:
            return b""
        try:
            encoded = _json.dumps(value)
        except NotJsonError as exc:
            message = f"the handler returned a value that is not JSON: {exc}"
            raise _Failure(pb.FAILURE_KIND_BAD_RESULT, "NotJsonError", message) from None
        if len(encoded) > self.max_payload_bytes:
            message = f"the handler returned {len(encoded)} bytes of JSON, above the {self.max_payload_bytes} allowed"
            raise _Failure(pb.FAILURE_KIND_BAD_RESULT, "ResultTooLarge", message)
        return encoded

    @staticmethod
    def _fill_failed(failed: pb.Failed, kind: pb.FailureKind, error_type: str, message: str, stack: str) -> None:
        failed.kind = kind
        failed.error_type = error_type
        failed.message = message
        failed.stack = stack

    def _send_failed(self, start: pb.StartInvocation, kind: pb.FailureKind, error_type: str, message: str) -> None:
        envelope = pb.RunnerMessage()
        envelope.result.invocation_id = start.invocation_id
        envelope.result.fencing_token = start.fencing_token
        self._fill_failed(envelope.result.failed, kind, error_type, message, "")
        self._outbox.put(envelope)
