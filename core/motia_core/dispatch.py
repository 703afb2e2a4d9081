"""One invocation's life, as composable layers around "send it to the runner".

    Invoke = async (InvokeRequest) -> Outcome
    Layer  = (Invoke) -> Invoke

The innermost invoke picks the ready runner for the step's language and sends the invocation;
layers around it add tracing and failure logging. Retries belong to the queue consumer (events.py).
Every invocation of an API step has a handler timeout: its own `infrastructure.handler.timeout`, else
the core's `--api-timeout` (RunnerInvoke.timeout_for); the session cancels the handler when it runs out.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from motia_core.errors import RunnerError
from motia_core.logs import Logger
from motia_core.project import RunnerName
from motia_core.runners.http_body import HttpRequestBody
from motia_core.runners.transport import Invocation, InvocationScope, Outcome, RunnerSession, Trigger
from motia_core.steps import Step, StepType
from motia_core.tracing import SpanStatus, TraceStore, new_invocation_id


@dataclass(slots=True)
class InvokeRequest:
    step: Step
    trigger: Trigger
    payload: bytes
    trace_id: str
    topic: str = ""
    attempt: int = 1
    invocation_id: str = field(default_factory=new_invocation_id)
    parent_id: str = ""  # the span that emitted the event this invocation handles (its span's parent)
    traceparent: str = ""  # an API request's W3C traceparent header: OpenTelemetry joins the caller's trace
    http_body: HttpRequestBody | None = None  # an API request's body, as bytes (runners/http_body.py)


# An enum member's .value and a Step's id/language/runtime are Python-level properties (~0.1-0.5 µs
# each): the per-call layers below read the plain fields behind them instead (docs/performance.md,
# "Core per request, session 6").
_TYPE_VALUES = {t: t.value for t in StepType}

Invoke = Callable[[InvokeRequest], Awaitable[Outcome]]
Layer = Callable[[Invoke], Invoke]


class SessionProvider(Protocol):
    async def session_for(self, runtime: RunnerName, timeout: float) -> RunnerSession: ...


def compose(layers: Sequence[Layer], inner: Invoke) -> Invoke:
    """layers[0] is the outermost."""
    for layer in reversed(layers):
        inner = layer(inner)
    return inner


class RunnerInvoke:
    """The innermost Invoke: send to the step's runner and wait for its outcome."""

    def __init__(
        self,
        sessions: SessionProvider,
        ready_timeout: float = 10.0,
        admission_timeout: float = 10.0,
        api_timeout: float | None = None,
    ) -> None:
        self._sessions = sessions
        self._tokens = itertools.count(1)
        self.ready_timeout = ready_timeout
        self.admission_timeout = admission_timeout
        self.api_timeout = api_timeout  # default handler timeout of API calls; None or 0: none

    def timeout_for(self, step: Step, trigger: Trigger) -> float | None:
        """The step's own handler timeout wins; an API call without one gets the core's default."""
        if step.handler_timeout:
            return step.handler_timeout
        if trigger is Trigger.API and self.api_timeout:
            return self.api_timeout
        return None

    async def __call__(self, req: InvokeRequest) -> Outcome:
        step = req.step
        file = step.file  # step.runtime, step.id and step.language, without their property calls
        session = await self._sessions.session_for(file.runtime, self.ready_timeout)
        iid = req.invocation_id
        trigger = req.trigger
        # timeout_for, inline
        timeout = step.handler_timeout or (self.api_timeout if trigger is Trigger.API else None) or None
        invocation = Invocation(
            iid,
            file.relative_path,
            trigger,
            req.payload,
            req.trace_id,
            step.flows,
            next(self._tokens),
            req.attempt,
            int((time.time() + timeout) * 1000) if timeout else 0,
            req.topic,
            req.http_body,
        )
        scope = InvocationScope(iid, req.trace_id, step.name, file.language, step.flows, step.emits)
        outcome = await session.invoke(invocation, scope, self.admission_timeout, timeout)
        if outcome.failure is not None:
            outcome.runner = f"{session.info.language} pid {session.info.pid}"
        return outcome


def tracing_layer(traces: TraceStore) -> Layer:
    """Each step run is a span of its trace, with start, end and status."""
    start_span = traces.start_span

    def layer(inner: Invoke) -> Invoke:
        async def invoke(req: InvokeRequest) -> Outcome:
            step = req.step
            span = start_span(
                req.trace_id,
                req.invocation_id,
                step.name,
                _TYPE_VALUES[step.type],
                step.file.language,
                req.attempt,
                req.topic or None,
                req.parent_id or None,
            )
            try:
                outcome = await inner(req)
            except RunnerError as exc:
                span.finish(SpanStatus.FAILED, {"type": type(exc).__name__, "message": str(exc)})
                raise
            except BaseException:
                span.finish(SpanStatus.FAILED, {"type": "Cancelled", "message": "invocation abandoned"})
                raise
            if outcome.failure is None:
                span.finish(SpanStatus.COMPLETED)
            else:
                f = outcome.failure
                span.finish(
                    SpanStatus.FAILED, {"type": f.error_type, "message": f.message, "kind": f.kind.name.lower()}
                )
            return outcome

        return invoke

    return layer


def failure_log_layer(logger: Logger) -> Layer:
    """A failed step run is logged once, with its stack, step, trace id and language."""

    def layer(inner: Invoke) -> Invoke:
        async def invoke(req: InvokeRequest) -> Outcome:
            started = time.perf_counter()
            try:
                outcome = await inner(req)
            except RunnerError as exc:
                logger.error(
                    f"{req.step.name} could not run: {exc}",
                    step=req.step.name,
                    trace_id=req.trace_id,
                    language=req.step.language,
                )
                raise
            if outcome.failure is not None:
                f = outcome.failure
                logger.error(
                    f"{req.step.name} failed: {f.error_type + ': ' if f.error_type else ''}{f.message}",
                    step=req.step.name,
                    trace_id=req.trace_id,
                    language=req.step.language,
                    attempt=req.attempt,
                    kind=f.kind.name.lower(),
                    stack=f.stack,
                    ms=round((time.perf_counter() - started) * 1000, 2),
                )
            return outcome

        return invoke

    return layer


def decode_json(payload: bytes) -> object:
    return orjson.loads(payload) if payload else None
