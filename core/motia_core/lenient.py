"""Emits Motia 0.x drops: counted in /metrics and added to the emitting step's span.

Motia drops an emit it cannot deliver (positional arguments, a non-object argument, no topic, a
topic the step does not declare), prints a warning and lets the handler finish; motia-core does the
same (docs/compatibility.md, "Lenient edges"). The shape problems are only visible in the runner,
which logs a warning carrying ``{"motia": "emit_dropped", "reason", "topic"?, "file"?, "line"?}``;
the undeclared topic is decided here, in the core, when the Emit arrives. Either way the drop is
counted once (``motia_emits_dropped_total{step, reason}``) and becomes an ``emit_dropped`` event of
the step's span, so it shows in /__motia/traces like Motia's ``emit {success: false}`` trace event.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from motia_core.metrics import EMITS_DROPPED, Counter
from motia_core.runners.transport import InvocationScope
from motia_core.steps import Step, StepType
from motia_core.tracing import Span, TraceStore

MARKER = "emit_dropped"  # the "motia" field of a runner's warning about a dropped emit
UNDECLARED = "undeclared_topic"  # decided and counted by the core; the runner's warning only adds file/line
RUNNER_REASONS = frozenset({"positional", "not_object", "no_topic"})
MAX_SPAN_EVENTS = 50  # drops one span lists one by one; later ones are only counted on the last event


class EmitDrops:
    def __init__(self, traces: TraceStore | None = None, counter: Counter = EMITS_DROPPED) -> None:
        self.traces = traces
        self.counter = counter

    def record(
        self, scope: InvocationScope, reason: str, topic: str | None, file: Any = None, line: Any = None
    ) -> None:
        """Count one dropped emit and add it to the span of the invocation that made it."""
        self.counter.inc(scope.step_name, reason)
        span = self._span(scope)
        if span is None:
            return
        event: dict[str, Any] = {"type": MARKER, "reason": reason, "time": int(time.time() * 1000)}
        if topic:
            event["topic"] = topic
        if isinstance(file, str) and file:
            event["file"] = file
            if isinstance(line, int):
                event["line"] = line
        drops = [e for e in span.events if e.get("type") == MARKER]
        if len(drops) < MAX_SPAN_EVENTS:
            span.events.append(event)
        else:  # a handler emitting in a loop must not grow its span without bound
            drops[-1]["more"] = int(drops[-1].get("more", 0)) + 1
        span.changed()  # a shared trace storage copies the new version

    def from_log(self, scope: InvocationScope | None, fields: dict[str, Any]) -> None:
        """A runner's warning about an emit it dropped: count it and trace it. The warning about an
        undeclared topic was counted when the core dropped it; it only adds the file and line."""
        if scope is None or fields.get("motia") != MARKER:
            return
        reason = fields.get("reason")
        topic = fields.get("topic")
        topic = topic if isinstance(topic, str) else None
        if reason == UNDECLARED:
            self._locate(scope, topic, fields.get("file"), fields.get("line"))
        elif reason in RUNNER_REASONS:
            self.record(scope, str(reason), topic, fields.get("file"), fields.get("line"))

    def _locate(self, scope: InvocationScope, topic: str | None, file: Any, line: Any) -> None:
        span = self._span(scope)
        if span is None or not isinstance(file, str):
            return
        for event in reversed(span.events):
            if event.get("type") == MARKER and event.get("reason") == UNDECLARED and "file" not in event:
                if event.get("topic") == topic:
                    event["file"] = file
                    if isinstance(line, int):
                        event["line"] = line
                    span.changed()
                    return

    def _span(self, scope: InvocationScope) -> Span | None:
        # the emitting invocation's span has its invocation id
        return self.traces.span(scope.invocation_id) if self.traces is not None else None


def config_warnings(step: Step) -> list[str]:
    """Configs Motia accepts, that motia-core serves as Motia does, but that are likely mistakes."""
    where = step.file.relative_path
    out: list[str] = []
    if step.type is StepType.EVENT and not step.subscribes:
        out.append(f"{where}: config.subscribes is empty: {step.name} never runs")
    timeout, lease = step.handler_timeout, step.queue.visibility_timeout
    if step.type is StepType.EVENT and timeout and lease <= timeout:
        # Motia's infrastructure validator refuses this and leaves the handler unsubscribed (logged);
        # dropping a user's subscription is worse than serving it with the risk spelled out
        out.append(
            f"{where}: infrastructure.queue.visibilityTimeout ({lease:g} s) is not above handler.timeout "
            f"({timeout:g} s): an event may be delivered again while its handler still runs (Motia 0.x does not "
            "subscribe such a handler; motia-core does)"
        )
    return out


def deviation_notices(steps: Sequence[Step]) -> list[str]:
    """One start-up line per deliberate difference from Motia 0.x that this project's steps meet, so
    a migrated project never changes behaviour without a word (docs/compatibility.md)."""
    notices: list[str] = []
    with_schema = sorted(s.name for s in steps if s.type is StepType.API and s.body_schema)
    if with_schema:
        notices.append(
            f"bodySchema is enforced for {_names(with_schema)}: a body failing it gets 400 with every error and the "
            "handler is not called (Motia 0.x never checked it)"
        )
    if any(s.language == "python" for s in steps):
        notices.append(
            "Python context.state.get returns the stored value (None when missing), not Motia 0.x's "
            "{'data': ...} wrapper"
        )
    retries = sorted(s.name for s in steps if "maxRetries" in _queue_config(s))
    if retries:
        notices.append(
            f"maxRetries of {_names(retries)} means 1 try + maxRetries retries with exponential backoff "
            "(Motia 0.x: maxRetries tries in memory, maxRetries + 1 on BullMQ, 2 s apart)"
        )
    return notices


def _queue_config(step: Step) -> dict[str, Any]:
    infrastructure = step.config.get("infrastructure")
    queue = infrastructure.get("queue") if isinstance(infrastructure, dict) else None
    return queue if isinstance(queue, dict) else {}


def _names(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
