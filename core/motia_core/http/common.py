"""What every route module shares: the JSON response shape, the trace header, Motia's CORS headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TRACE_HEADER = "x-motia-trace-id"

# Motia sends these on every response. Added per response rather than by an aiohttp middleware:
# a middleware wraps every request in two more calls, measurable on the hot path.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Max-Age": "600",
}


def json_response(status: int, doc: object, trace_id: str | None = None) -> web.Response:
    headers = {**CORS_HEADERS, TRACE_HEADER: trace_id} if trace_id else CORS_HEADERS
    return web.Response(status=status, body=orjson.dumps(doc), content_type="application/json", headers=headers)
