"""Emit and consume: fan-out of each emitted event to every subscribing step, schema checks on
the way in, and the retry policy on the way out."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import orjson

from motia_core.dispatch import Invoke, InvokeRequest
from motia_core.errors import CallFailed, RunnerError
from motia_core.logs import Logger
from motia_core.queue.base import AttemptFailure, Consumer, Delivery, EventQueue, Fate, QueuedEvent
from motia_core.registry import Registry
from motia_core.runners.transport import Trigger
from motia_core.steps import Step, StepType

MAX_BACKOFF = 60.0


class EventBus:
    def __init__(
        self,
        registry: Registry,
        queue: EventQueue,
        invoke: Invoke,
        logger: Logger,
        strict: bool = False,
        retry_base_delay: float = 1.0,
    ) -> None:
        self._registry = registry
        self._queue = queue
        self._invoke = invoke
        self._logger = logger
        self.strict = strict
        self.retry_base_delay = retry_base_delay
        self._subscribers = registry.subscribers()
        for topic, steps in self._subscribers.items():
            for step in steps:
                queue.subscribe(
                    subscription_key(topic, step),
                    self._consumer(step),
                    step.queue.concurrency,
                    fifo=step.queue.fifo,
                    visibility_timeout=step.queue.visibility_timeout,
                )

    def topics(self) -> list[str]:
        return sorted(self._subscribers)

    async def emit(
        self,
        topic: str,
        data_json: bytes,
        trace_id: str,
        group_id: str = "",
        source: str | None = None,
        allowed: tuple[str, ...] = (),
    ) -> int:
        """Enqueue one copy per subscriber; return how many. Raises CallFailed when rejected."""
        if not topic:
            raise CallFailed("CODE_INVALID_ARGUMENT", "emit needs a topic")
        if allowed and topic not in allowed:
            # Motia 0.x drops an emit its step did not declare, with a warning; so do we.
            message = f"{source} emitted {topic!r}, which is not in its config.emits; the event was dropped"
            self._logger.warn(message, step=source, trace_id=trace_id)
            if self.strict:
                raise CallFailed("CODE_REJECTED", message)
            return 0
        subscribers = self._subscribers.get(topic, [])
        if not subscribers:
            self._logger.debug(f"no step subscribes to {topic!r}; event dropped", step=source, trace_id=trace_id)
            return 0
        self._check_inputs(topic, data_json, subscribers, source, trace_id)
        for step in subscribers:
            event = QueuedEvent(topic=topic, data_json=data_json, trace_id=trace_id, message_group_id=group_id)
            await self._queue.enqueue(subscription_key(topic, step), event, step.queue.delay_seconds)
        return len(subscribers)

    def _check_inputs(self, topic: str, data_json: bytes, steps: list[Step], source: str | None, trace: str) -> None:
        validators = self._registry.input_validators
        data: object = None
        decoded = False
        for step in steps:
            validator = validators.get(step.id)
            if validator is None:
                continue
            if not decoded:
                try:
                    data = orjson.loads(data_json)
                except orjson.JSONDecodeError as exc:
                    raise CallFailed("CODE_INVALID_ARGUMENT", f"event data is not JSON: {exc}") from exc
                decoded = True
            problems = validator.errors(data)
            if not problems:
                continue
            detail = "; ".join(f"{p.path or '/'}: {p.message}" for p in problems[:5])
            message = f"event {topic!r} does not match the input schema of {step.name}: {detail}"
            self._logger.warn(message, step=source, trace_id=trace, subscriber=step.name)
            if self.strict:
                raise CallFailed("CODE_REJECTED", message)

    def _consumer(self, step: Step) -> Consumer:
        max_retries = step.queue.max_retries

        async def consume(event: QueuedEvent) -> Delivery:
            req = InvokeRequest(step, Trigger.EVENT, event.data_json, event.trace_id, event.topic, event.attempts)
            now = time.time()
            try:
                outcome = await self._invoke(req)
            except RunnerError as exc:
                failure = AttemptFailure(event.attempts, now, type(exc).__name__, str(exc), kind=_kind_of(exc))
                return self._retry_or_bury(step, event, max_retries, failure, retry_after_ms=0, non_retryable=False)
            except Exception as exc:  # never let a consumer die
                self._logger.error(f"delivering {event.topic!r} to {step.name} failed in the core: {exc!r}")
                failure = AttemptFailure(event.attempts, now, type(exc).__name__, str(exc), kind="core_error")
                return self._retry_or_bury(step, event, max_retries, failure, retry_after_ms=0, non_retryable=False)
            if outcome.failure is None:
                return Delivery(Fate.ACK)
            f = outcome.failure
            failure = AttemptFailure(
                event.attempts, now, f.error_type, f.message, f.stack[:4000], outcome.runner, f.kind.name.lower()
            )
            return self._retry_or_bury(step, event, max_retries, failure, f.retry_after_ms, f.non_retryable)

        return consume

    def _retry_or_bury(
        self,
        step: Step,
        event: QueuedEvent,
        max_retries: int,
        failure: AttemptFailure,
        retry_after_ms: int,
        non_retryable: bool,
    ) -> Delivery:
        # One meaning everywhere: maxRetries = retries after the first try.
        why = failure.message
        if non_retryable or event.attempts > max_retries:
            self._logger.error(
                f"giving up on {event.topic!r} for {step.name} after {event.attempts} attempt(s): {why}; "
                f"kept as dead letter {event.id} (motia-core dlq show {event.id})",
                step=step.name,
                trace_id=event.trace_id,
            )
            return Delivery(Fate.DEAD_LETTER, failure=failure)
        delay = retry_after_ms / 1000 if retry_after_ms else backoff(self.retry_base_delay, event.attempts)
        self._logger.warn(
            f"retrying {event.topic!r} for {step.name} in {delay:.2f}s (attempt {event.attempts + 1} of "
            f"{max_retries + 1})",
            step=step.name,
            trace_id=event.trace_id,
        )
        return Delivery(Fate.RETRY, delay, failure)


def backoff(base: float, attempts: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with +-20 % jitter: base, 2*base, 4*base ... capped at MAX_BACKOFF."""
    delay: float = min(MAX_BACKOFF, base * (2 ** max(0, attempts - 1)))
    return delay * (0.8 + 0.4 * rand())


_RUNNER_ERROR_KINDS = {
    "RunnerLost": "runner_lost",
    "RunnerUnavailable": "runner_unavailable",
    "AdmissionTimeout": "admission_timeout",
}


def _kind_of(exc: RunnerError) -> str:
    return _RUNNER_ERROR_KINDS.get(type(exc).__name__, "runner_error")


def subscription_key(topic: str, step: Step) -> str:
    return f"{topic}::{step.id}"


def is_event_step(step: Step) -> bool:
    return step.type is StepType.EVENT
