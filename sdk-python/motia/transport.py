"""The contract between a step's context and whatever carries its calls to the core.

A :class:`CallSink` is the only thing a :class:`motia.Context` talks to. The Python runner supplies
one backed by its gRPC stream; :mod:`motia.testing` supplies an in-memory one; a test can write its
own in a few lines. The context does the JSON work, so a sink only moves bytes:

* ``call(request)`` is invoked **on the event loop thread** that owns the sink. It must *start* the
  operation before it returns (the runner enqueues the wire message at once, so a non-awaited
  ``ctx.emit(...)`` still goes out) and return an awaitable of the reply: the JSON of the value
  (``b""`` means null). A failure is raised as :class:`motia.CallError`. Returning a coroutine is
  allowed (it is scheduled as a task at once) but is not eager in the strict sense.
* ``log(record)`` is fire-and-forget, also invoked on the loop thread, and must not raise.

The request types mirror the runner protocol's ``Call`` operations one to one.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class EmitCall:
    """``ctx.emit({topic, data, messageGroupId?})``; replies null."""

    topic: str
    data_json: bytes
    message_group_id: str = ""


@dataclasses.dataclass(frozen=True)
class StateGetCall:
    """``ctx.state.get(group_id, key)``; replies the value or null."""

    group_id: str
    key: str


@dataclasses.dataclass(frozen=True)
class StateSetCall:
    """``ctx.state.set(group_id, key, value)``; replies the stored value."""

    group_id: str
    key: str
    value_json: bytes


@dataclasses.dataclass(frozen=True)
class StateDeleteCall:
    """``ctx.state.delete(group_id, key)``; replies the old value or null."""

    group_id: str
    key: str


@dataclasses.dataclass(frozen=True)
class StateGetGroupCall:
    """``ctx.state.get_group(group_id)``; replies an array of values."""

    group_id: str


@dataclasses.dataclass(frozen=True)
class StateClearCall:
    """``ctx.state.clear(group_id)``; replies null."""

    group_id: str


@dataclasses.dataclass(frozen=True)
class StreamGetCall:
    """``ctx.streams.<stream>.get(group_id, id)``; replies the item or null."""

    stream: str
    group_id: str
    id: str


@dataclasses.dataclass(frozen=True)
class StreamSetCall:
    """``ctx.streams.<stream>.set(group_id, id, data)``; replies the stored item (``{...data, "id": id}``)."""

    stream: str
    group_id: str
    id: str
    data_json: bytes


@dataclasses.dataclass(frozen=True)
class StreamDeleteCall:
    """``ctx.streams.<stream>.delete(group_id, id)``; replies the removed item or null."""

    stream: str
    group_id: str
    id: str


@dataclasses.dataclass(frozen=True)
class StreamGetGroupCall:
    """``ctx.streams.<stream>.get_group(group_id)``; replies an array of items, oldest first."""

    stream: str
    group_id: str


@dataclasses.dataclass(frozen=True)
class StreamSendCall:
    """``ctx.streams.<stream>.send({groupId, id?}, {type, data})``; an ephemeral event, replies null."""

    stream: str
    group_id: str
    id: str  # "" = the whole group
    type: str
    data_json: bytes


CallRequest = (
    EmitCall
    | StateGetCall
    | StateSetCall
    | StateDeleteCall
    | StateGetGroupCall
    | StateClearCall
    | StreamGetCall
    | StreamSetCall
    | StreamDeleteCall
    | StreamGetGroupCall
    | StreamSendCall
)
"""Every operation a context can ask of the core."""


class LogLevel(enum.IntEnum):
    """Severity of a log line. The values are the wire values of ``Log.Level``."""

    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4


@dataclasses.dataclass(frozen=True)
class LogRecord:
    """One ``ctx.logger.<level>(message, args)`` line."""

    level: LogLevel
    message: str
    fields_json: bytes  # a JSON object of extra fields; b"" = none
    time_unix_ms: int


class CallSink(Protocol):
    """Carries a context's calls and log lines (see the module docstring for the rules)."""

    def call(self, request: CallRequest) -> Awaitable[bytes]:
        """Start ``request`` now and return an awaitable of the reply's value JSON (b"" = null)."""
        ...

    def log(self, record: LogRecord) -> None:
        """Send one log line; never raises, never waits."""
        ...


__all__ = [
    "CallRequest",
    "CallSink",
    "EmitCall",
    "LogLevel",
    "LogRecord",
    "StateClearCall",
    "StateDeleteCall",
    "StateGetCall",
    "StateGetGroupCall",
    "StateSetCall",
    "StreamDeleteCall",
    "StreamGetCall",
    "StreamGetGroupCall",
    "StreamSendCall",
    "StreamSetCall",
]
