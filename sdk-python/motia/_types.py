"""Types for step authors: configs, request/response/event shapes, handlers and the context.

Configs are plain dicts, exactly as in Motia 0.x; annotate them to have them type-checked::

    config: ApiRouteConfig = {"type": "api", "name": "CreateOrder", "path": "/orders",
                              "method": "POST", "emits": ["order.created"]}

Schemas (``bodySchema``, ``input``, ``responseSchema[status]``) may be JSON Schema dicts or pydantic
model classes; the runner converts the latter with ``model_json_schema()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict

from ._request import ApiRequest

if TYPE_CHECKING:
    from ._context import Logger, Streams

# ---------------------------------------------------------------------------------------------
# Shapes handlers consume and produce.


class _EmitDescriptorRequired(TypedDict):
    topic: str


class EmitDescriptor(_EmitDescriptorRequired, total=False):
    """An ``emits`` entry in its long form."""

    label: str
    conditional: bool


EmitTarget = str | EmitDescriptor
"""An ``emits`` entry: a topic, or ``{"topic", "label"?, "conditional"?}``."""


class _EmitEventRequired(TypedDict):
    topic: str
    data: Any


class EmitEvent(_EmitEventRequired, total=False):
    """What ``ctx.emit`` takes. ``messageGroupId`` orders events within a FIFO queue group."""

    messageGroupId: str


class _ApiResponseRequired(TypedDict):
    status: int
    body: Any


class ApiResponse(_ApiResponseRequired, total=False):
    """What an API handler returns: ``{"status", "body", "headers"?}``."""

    headers: Mapping[str, str]


class _QueryParamRequired(TypedDict):
    name: str


class QueryParam(_QueryParamRequired, total=False):
    """A documented query parameter of an API step."""

    description: str


# ---------------------------------------------------------------------------------------------
# The context, as handlers see it.


class StateManager(Protocol):
    """``ctx.state`` inside ``async def`` code: every method returns an awaitable."""

    def get(self, group_id: str, key: str) -> Coroutine[Any, Any, Any]: ...
    def set(self, group_id: str, key: str, value: Any) -> Coroutine[Any, Any, Any]: ...
    def delete(self, group_id: str, key: str) -> Coroutine[Any, Any, Any]: ...
    def get_group(self, group_id: str) -> Coroutine[Any, Any, list[Any]]: ...
    def getGroup(self, group_id: str) -> Coroutine[Any, Any, list[Any]]: ...
    def clear(self, group_id: str) -> Coroutine[Any, Any, None]: ...


class _ContextBase(Protocol):
    """What both handler contexts share; they differ in ``state`` and ``emit`` (async or blocking)."""

    @property
    def trace_id(self) -> str: ...
    @property
    def traceId(self) -> str: ...
    @property
    def flows(self) -> list[str]: ...
    @property
    def logger(self) -> Logger: ...
    @property
    def streams(self) -> Streams: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def cancel_reason(self) -> str | None: ...
    def is_cancelled(self) -> bool: ...
    def raise_if_cancelled(self) -> None: ...


class FlowContext(_ContextBase, Protocol):
    """The context of an ``async def`` handler or middleware (the Motia way)."""

    @property
    def state(self) -> StateManager: ...
    def emit(self, event: EmitEvent) -> Coroutine[Any, Any, None]: ...


class SyncStateManager(Protocol):
    """``ctx.state`` inside a ``def`` handler (run in a worker thread): methods return values."""

    def get(self, group_id: str, key: str) -> Any: ...
    def set(self, group_id: str, key: str, value: Any) -> Any: ...
    def delete(self, group_id: str, key: str) -> Any: ...
    def get_group(self, group_id: str) -> list[Any]: ...
    def getGroup(self, group_id: str) -> list[Any]: ...
    def clear(self, group_id: str) -> None: ...


class SyncFlowContext(_ContextBase, Protocol):
    """The context of a ``def`` handler or middleware: calls block and return their values."""

    @property
    def state(self) -> SyncStateManager: ...
    def wait_cancelled(self, timeout: float | None = None) -> bool: ...
    def emit(self, event: EmitEvent) -> None: ...


# ---------------------------------------------------------------------------------------------
# Handlers and middleware.

NextFn = Callable[[], Awaitable[ApiResponse]]
"""``next_fn`` of an async middleware: runs the rest of the chain and resolves to its response."""

SyncNextFn = Callable[[], ApiResponse]
"""``next_fn`` of a ``def`` middleware: runs the rest of the chain and returns its response."""

ApiMiddleware = Callable[[ApiRequest, FlowContext, NextFn], Awaitable[ApiResponse]]
"""``async def mw(req, ctx, next_fn)``: ``return await next_fn()``, or return a response early."""

SyncApiMiddleware = Callable[[ApiRequest, SyncFlowContext, SyncNextFn], ApiResponse]
"""``def mw(req, ctx, next_fn)``, run in a worker thread."""

ApiHandler = Callable[[ApiRequest, FlowContext], Awaitable[ApiResponse]]
"""``async def handler(req, context) -> ApiResponse``."""

EventHandler = Callable[[Any, FlowContext], Awaitable[Any]]
"""``async def handler(input, context)``; ``input`` is the event's data as decoded JSON."""

CronHandler = Callable[[FlowContext], Awaitable[Any]]
"""``async def handler(context)``."""

# ---------------------------------------------------------------------------------------------
# Step configs (same camelCase keys as Motia).

HttpMethod = Literal["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]


class _ApiRouteConfigRequired(TypedDict):
    type: Literal["api"]
    name: str
    path: str
    method: HttpMethod
    emits: Sequence[EmitTarget]


class ApiRouteConfig(_ApiRouteConfigRequired, total=False):
    """``config`` of an API step."""

    description: str
    flows: Sequence[str]
    virtualEmits: Sequence[EmitTarget]
    virtualSubscribes: Sequence[str]
    middleware: Sequence[ApiMiddleware | SyncApiMiddleware]
    bodySchema: Any
    responseSchema: Mapping[int | str, Any]
    queryParams: Sequence[QueryParam]
    includeFiles: Sequence[str]


class _EventConfigRequired(TypedDict):
    type: Literal["event"]
    name: str
    subscribes: Sequence[str]
    emits: Sequence[EmitTarget]


class EventConfig(_EventConfigRequired, total=False):
    """``config`` of an event step."""

    description: str
    flows: Sequence[str]
    virtualEmits: Sequence[EmitTarget]
    virtualSubscribes: Sequence[str]
    input: Any
    includeFiles: Sequence[str]
    infrastructure: Mapping[str, Any]


class _CronConfigRequired(TypedDict):
    type: Literal["cron"]
    name: str
    cron: str
    emits: Sequence[EmitTarget]


class CronConfig(_CronConfigRequired, total=False):
    """``config`` of a cron step (node-cron syntax, 5 or 6 fields)."""

    description: str
    flows: Sequence[str]
    virtualEmits: Sequence[EmitTarget]
    virtualSubscribes: Sequence[str]
    includeFiles: Sequence[str]


class _NoopConfigRequired(TypedDict):
    type: Literal["noop"]
    name: str
    virtualEmits: Sequence[EmitTarget]
    virtualSubscribes: Sequence[str]


class NoopConfig(_NoopConfigRequired, total=False):
    """``config`` of a noop step (a node in the flow diagram, no handler)."""

    description: str
    flows: Sequence[str]


StepConfig = ApiRouteConfig | EventConfig | CronConfig | NoopConfig
"""Any step's ``config``."""
