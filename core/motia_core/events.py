"""Emit and consume: fan-out of each emitted event to every subscribing step, schema checks on
the way in, and the retry policy on the way out."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

import orjson

from motia_core.dispatch import Invoke, InvokeRequest
from motia_core.errors import CallFailed, RunnerError, RunnerLost
from motia_core.limits import check_value
from motia_core.logs import Logger
from motia_core.queue.base import AttemptFailure, Consumer, Delivery, EventQueue, Fate, QueuedEvent
from motia_core.registry import Registry
from motia_core.runners.transport import FailureKind, Trigger
from motia_core.steps import Step, StepType

MAX_BACKOFF = 60.0
FREE_RUNNER_LOSSES = 3  # runner losses an event gets for free before they count against maxRetries
STOPPING_RELEASE_DELAY = 1.0  # a row released while the core stops stays invisible this long (no spin)
REMOVED_STEP_DELAY = 5.0  # an event of a step a reload removed is looked at again this often (no spin)


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
        self.stopping = False  # set by the core's stop: nothing new starts, nothing is counted or buried
        self._losses: dict[str, int] = {}  # event id -> runner losses not counted as attempts
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._subscribers: dict[str, list[Step]] = {}
        self._current: dict[str, Step] = {}  # subscription key -> the step that consumes it now
        self._consumed: set[str] = set()  # keys with a queue consumer (a queue cannot unsubscribe)
        self.update(registry)

    def update(self, registry: Registry) -> None:
        """Serve `registry` from now on (a reload swapped it, registry.LiveRegistry): new subscriptions
        get a consumer; a removed one keeps its consumer but delivers nothing, so its events stay
        queued until the step comes back. Queue options (concurrency, fifo, visibility) are read
        when a subscription first gets its consumer: a change to them needs a restart."""
        self._registry = registry
        self._subscribers = registry.subscribers()
        self._current = {
            subscription_key(topic, step): step for topic, steps in self._subscribers.items() for step in steps
        }
        for key, step in self._current.items():
            if key in self._consumed:
                continue
            self._consumed.add(key)
            self._queue.subscribe(
                key,
                self._consumer(key),
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
        parent: str = "",
    ) -> int:
        """Enqueue one copy per subscriber; return how many. Raises CallFailed when rejected. `parent`:
        the emitting invocation's span id, the parent of the spans that handle the copies."""
        if not topic:
            raise CallFailed("CODE_INVALID_ARGUMENT", "emit needs a topic")
        check_value(data_json, f"event data for topic {topic!r}")  # too big or too deep for a runner
        undeclared = undeclared_emit(topic, allowed, source)
        if undeclared is not None:
            # Motia 0.x drops an emit its step did not declare, with a warning; so do we. (A step's
            # own emits are checked earlier, in CoreCalls.emit, which also counts and traces them.)
            if self.strict:
                raise CallFailed("CODE_REJECTED", f"{undeclared}; serve --strict refuses it")
            self._logger.warn(f"{undeclared}; the event was dropped", step=source, trace_id=trace_id)
            return 0
        subscribers = self._subscribers.get(topic, [])
        if not subscribers:
            self._logger.debug(f"no step subscribes to {topic!r}; event dropped", step=source, trace_id=trace_id)
            return 0
        self._check_inputs(topic, data_json, subscribers, source, trace_id)
        # one copy per subscriber, stored in one step: a fan-out never half-happens
        copies = [
            (
                subscription_key(topic, step),
                QueuedEvent(
                    topic=topic, data_json=data_json, trace_id=trace_id, message_group_id=group_id, parent_id=parent
                ),
                step.queue.delay_seconds,
            )
            for step in subscribers
        ]
        await self._queue.enqueue_many(copies)
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

    def _consumer(self, key: str) -> Consumer:
        async def consume(event: QueuedEvent) -> Delivery:
            if self.stopping:  # leased after the stop began: back to the queue for the next start
                return Delivery(Fate.RETRY, STOPPING_RELEASE_DELAY, counted=False)
            step = self._current.get(key)
            if step is None:  # its step was deleted by a reload: the event waits for it, no attempt counted
                return Delivery(Fate.RETRY, REMOVED_STEP_DELAY, counted=False)
            self._in_flight += 1
            self._idle.clear()
            try:
                return await deliver(event, step)
            finally:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.set()

        async def deliver(event: QueuedEvent, step: Step) -> Delivery:
            max_retries = step.queue.max_retries
            req = InvokeRequest(
                step,
                Trigger.EVENT,
                event.data_json,
                event.trace_id,
                event.topic,
                event.attempts,
                parent_id=event.parent_id,
            )
            now = time.time()
            try:
                outcome = await self._invoke(req)
            except RunnerError as exc:
                if self._free_retry(event, exc):
                    self._logger.warn(
                        f"{event.topic!r} for {step.name} did not run ({exc}); it stays queued, no attempt counted",
                        step=step.name,
                        trace_id=event.trace_id,
                    )
                    return Delivery(Fate.RETRY, self._free_retry_delay(exc), counted=False)
                failure = AttemptFailure(event.attempts, now, type(exc).__name__, str(exc), kind=_kind_of(exc))
                return self._retry_or_bury(step, event, max_retries, failure, retry_after_ms=0, non_retryable=False)
            except Exception as exc:  # never let a consumer die
                self._logger.error(f"delivering {event.topic!r} to {step.name} failed in the core: {exc!r}")
                failure = AttemptFailure(event.attempts, now, type(exc).__name__, str(exc), kind="core_error")
                return self._retry_or_bury(step, event, max_retries, failure, retry_after_ms=0, non_retryable=False)
            self._losses.pop(event.id, None)
            if outcome.failure is None:
                return Delivery(Fate.ACK)
            f = outcome.failure
            if f.kind is FailureKind.SHUTTING_DOWN or self.stopping:
                # refused by a draining runner, or failed while the core stops (its calls refused, its
                # handler cut off): never a shutdown's fault to use up a retry or bury an event
                return Delivery(Fate.RETRY, STOPPING_RELEASE_DELAY, counted=False)
            failure = AttemptFailure(
                event.attempts, now, f.error_type, f.message, f.stack[:4000], outcome.runner, f.kind.name.lower()
            )
            return self._retry_or_bury(step, event, max_retries, failure, f.retry_after_ms, f.non_retryable)

        return consume

    async def idle(self, timeout: float) -> bool:
        """Wait until no delivery is in flight (their fates are written); False if `timeout` ran out."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _free_retry(self, event: QueuedEvent, exc: RunnerError) -> bool:
        """Does this runner failure give the attempt back? Always while the core stops, and when no
        runner could take the event; a lost runner only FREE_RUNNER_LOSSES times per event, so a
        handler that kills its own runner still ends in the dead letters."""
        if self.stopping:
            return True
        if not isinstance(exc, RunnerLost):
            return True  # RunnerUnavailable, AdmissionTimeout: the handler never started
        losses = self._losses.get(event.id, 0)
        if losses >= FREE_RUNNER_LOSSES:
            return False  # from now on every loss of this event counts (dropped when it is buried)
        self._losses[event.id] = losses + 1
        return True

    def _free_retry_delay(self, exc: RunnerError) -> float:
        if self.stopping:
            return STOPPING_RELEASE_DELAY
        # a lost runner is being replaced and session_for waits for it; "no runner" would spin without a pause
        return 0.0 if isinstance(exc, RunnerLost) else self.retry_base_delay

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
            self._losses.pop(event.id, None)
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


def undeclared_emit(topic: str, allowed: tuple[str, ...], source: str | None) -> str | None:
    """Why an emit is dropped for its topic (Motia's `isAllowedToEmit`: an empty `emits` allows any
    topic), or None when the step may emit it."""
    if not allowed or topic in allowed:
        return None
    declared = ", ".join(repr(t) for t in allowed)
    return f"{source} emitted {topic!r}, which is not in its config.emits ({declared})"


def subscription_key(topic: str, step: Step) -> str:
    return f"{topic}::{step.id}"


def is_event_step(step: Step) -> bool:
    return step.type is StepType.EVENT
