"""Exceptions raised by the motia SDK.

The tree (every class is importable from ``motia``)::

    MotiaError                    base of every error this package raises on purpose
    ├── CallError                 the core answered a context call (emit, state.*) with an error;
    │                             ``.code`` is a CallErrorCode, ``str(err)`` is the core's message
    ├── NotJsonError              a value handed to emit / state.set, or a handler's return value,
    │                             cannot be encoded as JSON (also a TypeError)
    ├── StreamNotDeclaredError    ``ctx.streams.<name>`` for a stream the project does not declare
    │                             (also an AttributeError, so ``hasattr`` and ``getattr(.., default)``
    │                             behave, and a LookupError for ``ctx.streams["name"]``)
    ├── RetryAfter                raised BY A HANDLER: fail this attempt, retry it after ``seconds``
    ├── NonRetryableError         raised BY A HANDLER: fail this attempt and do not retry it
    └── MotiaAppError             ``motia.testing.MotiaApp`` (the ``motia_app`` fixture): the core did not
                                  start or exited, or a ``wait_for_*`` timed out (also an AssertionError;
                                  importable from ``motia.testing``, not ``motia``)

    asyncio.CancelledError
    └── InvocationCancelledError  a context call (emit, state.*, streams.*) made after the core
                                  cancelled the invocation (its timeout elapsed, or the core is
                                  stopping). A BaseException like asyncio's, so ``except Exception``
                                  does not swallow it and a cooperative ``def`` handler stops.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
import math


class CallErrorCode(enum.IntEnum):
    """Why the core refused a call. The values are the wire values of ``CallError.Code``."""

    UNSPECIFIED = 0  # the core gave no code
    INVALID_ARGUMENT = 1  # e.g. bad JSON, missing topic
    REJECTED = 2  # e.g. emit data failed a subscriber's schema in strict mode
    UNKNOWN_INVOCATION = 3  # the invocation is not (or no longer) known to the core
    INTERNAL = 4  # the core failed
    UNAVAILABLE = 5  # a backend (state store, queue) is unavailable


class MotiaError(Exception):
    """Base class of the errors raised by the motia SDK."""


class CallError(MotiaError):
    """The core answered a context call with an error."""

    def __init__(self, message: str, code: CallErrorCode = CallErrorCode.UNSPECIFIED, op: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.op = op

    def __repr__(self) -> str:
        return f"CallError({self.message!r}, code={self.code.name}, op={self.op!r})"


class NotJsonError(MotiaError, TypeError):
    """A value cannot be encoded as JSON."""


class StreamNotDeclaredError(MotiaError, AttributeError, LookupError):
    """``ctx.streams.<name>`` names a stream that the project does not declare."""

    def __init__(self, name: str) -> None:
        super().__init__(f"stream '{name}' is not declared in this project")
        self.stream_name = name

    def __str__(self) -> str:
        return str(self.args[0])


class RetryAfter(MotiaError):
    """Raise from a handler to fail this attempt and have it retried after ``seconds``.

    ``seconds`` (a number or a ``datetime.timedelta``) replaces the step's backoff for this one retry;
    ``0`` keeps the default backoff. The attempt still counts against the step's retry limit::

        if response.status_code == 429:
            raise RetryAfter(float(response.headers.get("retry-after", 30)), message="rate limited")

    The runner reports it as a handler error with ``retry_after_ms`` set. Any exception with an
    int ``retry_after_ms`` attribute is treated the same way.
    """

    def __init__(self, seconds: float | datetime.timedelta, message: str = "") -> None:
        value = seconds.total_seconds() if isinstance(seconds, datetime.timedelta) else float(seconds)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"RetryAfter needs a finite number of seconds >= 0, got {seconds!r}")
        super().__init__(message or f"retry after {value:g}s")
        self.message = str(self.args[0])
        self.seconds = value
        # 0 means "the default backoff" on the wire, so a positive delay never rounds down to it.
        self.retry_after_ms = max(1, math.ceil(value * 1000)) if value > 0 else 0

    def __repr__(self) -> str:
        return f"RetryAfter({self.seconds!r}, message={self.message!r})"


class NonRetryableError(MotiaError):
    """Raise from a handler to fail this attempt for good: the core does not retry it (an event goes
    straight to the dead letters) whatever retries the step allows::

        if not order.get("sku"):
            raise NonRetryableError("the order has no sku; retrying will not help")

    Any exception with a ``non_retryable = True`` attribute is treated the same way.
    """

    non_retryable = True

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class InvocationCancelledError(asyncio.CancelledError):
    """The core cancelled the invocation; raised by context calls made after that.

    ``reason`` is ``"timeout"`` (the step's handler timeout elapsed), ``"shutdown"`` or
    ``"cancelled"``. Let it propagate: the runner reports the handler as stopped once it returns.
    """

    def __init__(self, reason: str = "cancelled") -> None:
        super().__init__(f"the invocation was cancelled ({reason})")
        self.reason = reason
