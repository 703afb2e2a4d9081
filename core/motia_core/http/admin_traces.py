"""GET /__motia/traces (filtered, paged) and GET /__motia/traces/{id} (docs/observability.md#traces).

The one dependency is the TraceStorage (tracing.py) the core reads traces from: the live store itself
on a single-process backend, the shared one (Redis) otherwise, so every instance lists every trace."""

from __future__ import annotations

from aiohttp import web

from motia_core.errors import StorageUnavailable
from motia_core.http.admin_logs import time_parameter
from motia_core.http.common import admin_json_response as json_response
from motia_core.http.guard import AdminGuard
from motia_core.http.system import bad_parameter, id_parameter, query_limit
from motia_core.tracing import SpanStatus
from motia_core.tracing_storage import TraceFilter, TraceStorage

_STATUSES = ", ".join(s.value for s in SpanStatus)


def parse_trace_filter(request: web.Request) -> TraceFilter | web.Response:
    """`status`, `step`, `name`, `since`, `until` from the query, each validated (400 naming it)."""
    status: SpanStatus | None = None
    raw_status = request.query.get("status")
    if raw_status:
        try:
            status = SpanStatus(raw_status)
        except ValueError:
            return bad_parameter("status", raw_status, f"one of {_STATUSES}")
    names: dict[str, str | None] = {}
    for name in ("step", "name"):
        value = id_parameter(name, request.query.get(name))
        if isinstance(value, web.Response):
            return value
        names[name] = value
    since = time_parameter(request, "since")
    if isinstance(since, web.Response):
        return since
    until = time_parameter(request, "until")
    if isinstance(until, web.Response):
        return until
    if since is not None and until is not None and since > until:
        return bad_parameter("until", str(until), f"a time at or after since ({since})")
    return TraceFilter(status, names["step"], names["name"], since, until)


def add_trace_routes(app: web.Application, guard: AdminGuard, storage: TraceStorage) -> None:
    # paged newest first, `before` = the `next` of the previous page
    async def traces(request: web.Request) -> web.Response:
        limit = query_limit(request)
        if isinstance(limit, web.Response):
            return limit
        before = id_parameter("before", request.query.get("before"))
        if isinstance(before, web.Response):
            return before
        where = parse_trace_filter(request)
        if isinstance(where, web.Response):
            return where
        try:
            page = await storage.list_traces(limit, before, where)
        except StorageUnavailable as exc:
            return json_response(503, {"error": "Service unavailable", "message": str(exc)})
        return json_response(200, {"traces": page.traces, "next": page.next})

    async def trace(request: web.Request) -> web.Response:
        trace_id = id_parameter("trace id", request.match_info["trace_id"])
        if isinstance(trace_id, web.Response):
            return trace_id
        try:
            doc = await storage.get_trace(trace_id or "")
        except StorageUnavailable as exc:
            return json_response(503, {"error": "Service unavailable", "message": str(exc)})
        if doc is None:
            return json_response(404, {"error": "Not found", "message": "no such trace (or it was evicted)"})
        return json_response(200, doc)

    app.router.add_get("/__motia/traces", guard.wrap(traces))
    app.router.add_get("/__motia/traces/{trace_id}", guard.wrap(trace))
