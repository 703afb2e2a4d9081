"""The runner transport interface: all the domain code knows about runners.

A `RunnerSession` is one connected runner: load step files into it, invoke steps in it, shut it
down. Runner->core calls (emit, state, log) arrive at a `CallHandler` the core supplies. Two
implementations: `grpc_server.GrpcSession` (real processes over gRPC) and `fake.FakeSession`
(in-process Python callables, for tests of the layers above). Nothing outside runners/grpc_server.py and
runners/grpc_session.py imports grpc.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from typing import Protocol

from motia_core.project import StepFile
from motia_core.runners.http_body import HttpRequestBody, HttpResult


class Trigger(enum.IntEnum):
    # values match proto motia.runner.v1.Trigger
    API = 1
    EVENT = 2
    CRON = 3
    STREAM_ACCESS = 4  # a stream's config.canAccess(subscription, authContext)
    STREAM_AUTH = 5  # the stream auth file's handler({headers, url, authToken}, ctx)


class FailureKind(enum.IntEnum):
    # values match proto motia.runner.v1.FailureKind
    UNSPECIFIED = 0
    HANDLER_ERROR = 1
    UNKNOWN_STEP = 2
    BAD_PAYLOAD = 3
    BAD_RESULT = 4
    SHUTTING_DOWN = 5
    TIMEOUT = 6


@dataclass(slots=True)
class Invocation:
    invocation_id: str
    step_id: str
    trigger: Trigger
    payload: bytes
    trace_id: str
    flows: tuple[str, ...]
    fencing_token: int
    attempt: int = 1
    deadline_ms: int = 0
    topic: str = ""
    # API: the body as bytes; a runner with the http_body_bytes capability gets `payload` and this,
    # any other `http_body.legacy_payload(payload)` (runners/http_body.py)
    http_body: HttpRequestBody | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    kind: FailureKind
    error_type: str
    message: str
    stack: str = ""
    non_retryable: bool = False
    retry_after_ms: int = 0


@dataclass(slots=True)
class Outcome:
    """What a runner reported for one invocation: a JSON payload (b"" for no return value) or a failure."""

    payload: bytes = b""
    failure: Failure | None = None
    runner: str = ""  # which runner answered, e.g. "python pid 4242" (set by the dispatcher)
    http: HttpResult | None = None  # an API response the runner encoded (then payload is b"")

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True, slots=True)
class InvocationScope:
    """What the core needs to serve calls made during one invocation."""

    invocation_id: str
    trace_id: str
    step_name: str
    language: str
    flows: tuple[str, ...] = ()
    emits: tuple[str, ...] = ()


@dataclass(frozen=True)
class ManifestEntry:
    step_id: str
    config_json: bytes
    has_handler: bool
    middleware_count: int = 0


@dataclass(frozen=True)
class LoadFailure:
    step_id: str
    error_type: str
    message: str
    stack: str = ""


@dataclass(frozen=True)
class Manifest:
    steps: list[ManifestEntry] = field(default_factory=list)
    errors: list[LoadFailure] = field(default_factory=list)


@dataclass(frozen=True)
class RunnerInfo:
    language: str
    runtime_version: str
    sdk_version: str
    instance_id: str
    pid: int
    slots: int
    protocol_version: int
    capabilities: frozenset[str] = frozenset()  # Hello.capabilities


class CallHandler(Protocol):
    """The core's side of runner->core calls. Values are JSON bytes; errors raise CallFailed."""

    async def emit(self, scope: InvocationScope | None, topic: str, data_json: bytes, group_id: str) -> bytes: ...

    async def state_get(self, scope: InvocationScope | None, group_id: str, key: str) -> bytes: ...

    async def state_set(self, scope: InvocationScope | None, group_id: str, key: str, value_json: bytes) -> bytes: ...

    async def state_delete(self, scope: InvocationScope | None, group_id: str, key: str) -> bytes: ...

    async def state_get_group(self, scope: InvocationScope | None, group_id: str) -> bytes: ...

    async def state_clear(self, scope: InvocationScope | None, group_id: str) -> bytes: ...

    async def stream_get(self, scope: InvocationScope | None, stream: str, group_id: str, item_id: str) -> bytes: ...

    async def stream_set(
        self, scope: InvocationScope | None, stream: str, group_id: str, item_id: str, data_json: bytes
    ) -> bytes: ...

    async def stream_delete(self, scope: InvocationScope | None, stream: str, group_id: str, item_id: str) -> bytes: ...

    async def stream_get_group(self, scope: InvocationScope | None, stream: str, group_id: str) -> bytes: ...

    async def stream_send(
        self,
        scope: InvocationScope | None,
        stream: str,
        group_id: str,
        item_id: str,
        event_type: str,
        data_json: bytes,
    ) -> bytes: ...

    def log(
        self,
        scope: InvocationScope | None,
        info: RunnerInfo,
        level: int,
        message: str,
        fields_json: bytes,
        time_ms: int,
    ) -> None: ...


class RunnerSession(Protocol):
    info: RunnerInfo
    closed: asyncio.Future[str]  # resolves with the reason once the session has ended

    @property
    def in_flight(self) -> int: ...

    async def load_steps(self, files: list[StepFile], timeout: float) -> Manifest: ...

    async def invoke(
        self,
        invocation: Invocation,
        scope: InvocationScope,
        admission_timeout: float,
        timeout: float | None = None,
    ) -> Outcome:
        """Run one invocation. Raises RunnerLost if the session ends first, AdmissionTimeout if no
        slot frees up within admission_timeout seconds. After `timeout` seconds the invocation is
        cancelled in the runner and fails with FailureKind.TIMEOUT."""
        ...

    async def ping(self, timeout: float) -> float:
        """Round trip in seconds."""
        ...

    async def shutdown(self, grace: float, reason: str) -> None: ...

    def abort(self, reason: str) -> None:
        """End the session now; in-flight invocations fail with RunnerLost."""
        ...
