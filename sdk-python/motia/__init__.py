"""motia: the Python API of motia-core steps.

A step file exports ``config`` (a dict, see :class:`ApiRouteConfig` and friends) and ``handler``::

    from motia import ApiRequest, ApiResponse, ApiRouteConfig, FlowContext

    config: ApiRouteConfig = {"type": "api", "name": "Hello", "path": "/hello", "method": "GET", "emits": []}

    async def handler(req: ApiRequest, context: FlowContext) -> ApiResponse:
        context.logger.info("hello", {"query": req.query_params})
        return {"status": 200, "body": {"traceId": context.trace_id}}

A handler steers retries by raising :class:`RetryAfter` (retry after a delay) or
:class:`NonRetryableError` (do not retry); a cancelled invocation's context calls raise
:class:`InvocationCancelledError` (see ``context.cancelled``).

Step files written for Motia 0.x need no import at all. Test helpers are in :mod:`motia.testing`;
the transport contract a context is built on is in :mod:`motia.transport`.
"""

from ._context import Context, Logger, PendingCall, State, Stream, Streams
from ._errors import (
    CallError,
    CallErrorCode,
    InvocationCancelledError,
    MotiaError,
    NonRetryableError,
    NotJsonError,
    RetryAfter,
    StreamNotDeclaredError,
)
from ._request import ApiRequest
from ._types import (
    ApiHandler,
    ApiMiddleware,
    ApiResponse,
    ApiRouteConfig,
    CronConfig,
    CronHandler,
    EmitDescriptor,
    EmitEvent,
    EmitTarget,
    EventConfig,
    EventHandler,
    FlowContext,
    HttpMethod,
    NextFn,
    NoopConfig,
    QueryParam,
    StateManager,
    StepConfig,
    SyncApiMiddleware,
    SyncFlowContext,
    SyncNextFn,
    SyncStateManager,
)
from ._version import __version__

__all__ = [
    "ApiHandler",
    "ApiMiddleware",
    "ApiRequest",
    "ApiResponse",
    "ApiRouteConfig",
    "CallError",
    "CallErrorCode",
    "Context",
    "CronConfig",
    "CronHandler",
    "EmitDescriptor",
    "EmitEvent",
    "EmitTarget",
    "EventConfig",
    "EventHandler",
    "FlowContext",
    "HttpMethod",
    "InvocationCancelledError",
    "Logger",
    "MotiaError",
    "NextFn",
    "NonRetryableError",
    "NoopConfig",
    "NotJsonError",
    "PendingCall",
    "QueryParam",
    "RetryAfter",
    "State",
    "StateManager",
    "StepConfig",
    "Stream",
    "StreamNotDeclaredError",
    "Streams",
    "SyncApiMiddleware",
    "SyncFlowContext",
    "SyncNextFn",
    "SyncStateManager",
    "__version__",
]
