"""Exceptions raised by the motia SDK.

The tree (every class is importable from ``motia``)::

    MotiaError                    base of every error this package raises on purpose
    ├── CallError                 the core answered a context call (emit, state.*) with an error;
    │                             ``.code`` is a CallErrorCode, ``str(err)`` is the core's message
    ├── NotJsonError              a value handed to emit / state.set, or a handler's return value,
    │                             cannot be encoded as JSON (also a TypeError)
    └── StreamNotDeclaredError    ``ctx.streams.<name>`` for a stream the project does not declare
                                  (also an AttributeError, so ``hasattr`` and ``getattr(.., default)``
                                  behave, and a LookupError for ``ctx.streams["name"]``)
"""

from __future__ import annotations

import enum


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
