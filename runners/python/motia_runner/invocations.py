"""Running ``StartInvocation``s concurrently and answering each with one ``InvocationResult``.

Each invocation is a task on the loop (``def`` handlers go to the thread pool from there), so the
reader never waits for a handler. Whatever happens inside a handler ends as a result:

* the step is not loaded -> ``UNKNOWN_STEP``; the runner is draining -> ``SHUTTING_DOWN``;
* the payload is not JSON (or an API payload is not an object) -> ``BAD_PAYLOAD``;
* the handler or a middleware raises -> ``HANDLER_ERROR`` with the Python traceback;
* the return value cannot be encoded as JSON (or is too large) -> ``BAD_RESULT``;
* ``None`` -> ``Completed`` with empty ``payload_json``.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import Executor
from typing import Any

from motia import _json
from motia._context import Context
from motia._errors import NotJsonError
from motia._execution import StepCallable, Trigger, run_callable, run_handler
from motia._request import ApiRequest
from motia._tracebacks import format_user_traceback

from .calls import CallRouter, InvocationSink
from .loader import LoadedStep
from .outbox import Outbox
from .proto import pb

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
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.accepting = True
        self.completed = 0

    def __len__(self) -> int:
        return len(self._tasks)

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
        task = asyncio.get_running_loop().create_task(self._run(start, step))
        self._tasks[start.invocation_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(start.invocation_id, None))

    async def drain(self, timeout: float) -> int:
        """Stop taking work and wait up to ``timeout`` seconds; returns how many did not finish."""
        self.accepting = False
        tasks = list(self._tasks.values())
        if not tasks:
            return 0
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        return len(pending)

    def cancel_all(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()

    # -- one invocation ---------------------------------------------------------------------------

    async def _run(self, start: pb.StartInvocation, step: LoadedStep) -> None:
        message = pb.RunnerMessage()
        result = message.result
        result.invocation_id = start.invocation_id
        result.fencing_token = start.fencing_token
        try:
            payload = await self._execute(start, step)
        except _Failure as failure:
            self._fill_failed(result.failed, failure.kind, failure.error_type, failure.message, "")
        except asyncio.CancelledError:
            if not self.accepting:  # cancelled by the runner's shutdown: the core gets no result
                raise
            kind, message_text = pb.FAILURE_KIND_HANDLER_ERROR, "the handler was cancelled"
            self._fill_failed(result.failed, kind, "CancelledError", message_text, "")
        except BaseException as exc:  # a handler's SystemExit must not stop the runner either
            stack = format_user_traceback(exc, internal_dirs=(_RUNNER_DIR,))
            self._fill_failed(result.failed, pb.FAILURE_KIND_HANDLER_ERROR, type(exc).__name__, str(exc), stack)
        else:
            result.completed.SetInParent()
            result.completed.payload_json = payload
        self.completed += 1
        self._outbox.put(message)

    async def _execute(self, start: pb.StartInvocation, step: LoadedStep) -> bytes:
        if start.trigger == pb.TRIGGER_STREAM_ACCESS:
            return await self._can_access(start, step)
        trigger = _TRIGGERS.get(start.trigger)
        if trigger is None:
            raise _Failure(pb.FAILURE_KIND_BAD_PAYLOAD, "BadTrigger", f"unknown trigger {start.trigger}")
        if step.handler is None:
            raise _Failure(pb.FAILURE_KIND_HANDLER_ERROR, "NoHandler", f"{step.path} exports no callable `handler`")
        payload = self._decode_payload(trigger, start.payload_json)
        context = Context(
            trace_id=start.trace_id,
            flows=start.flows,
            sink=InvocationSink(self._router, start.invocation_id),
        )
        value = await run_handler(
            trigger, step.handler, payload, context, middleware=step.middleware, executor=self._executor
        )
        return self._encode_result(value)

    async def _can_access(self, start: pb.StartInvocation, step: LoadedStep) -> bytes:
        """A stream file's ``config["canAccess"](subscription, auth_context)``, as a JSON boolean."""
        can_access = step.config.get("canAccess")
        if not callable(can_access):
            message = f"{step.path} has no callable config['canAccess']"
            raise _Failure(pb.FAILURE_KIND_HANDLER_ERROR, "NoCanAccess", message)
        payload = self._decode_payload(Trigger.EVENT, start.payload_json)
        if not isinstance(payload, dict):
            raise _Failure(pb.FAILURE_KIND_BAD_PAYLOAD, "BadPayload", "a stream access payload must be an object")
        args = (payload.get("subscription"), payload.get("authContext"))
        allowed = await run_callable(StepCallable.of(can_access), args, executor=self._executor)
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
