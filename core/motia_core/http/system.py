"""POST /emit (Motia's) and GET /__motia/state (groups, or one group's items), and the parameter
checks every admin module shares (limit, ids). The other /__motia/* routes live in http/admin_*.py.

All of them are admin routes: each goes behind the AdminGuard (docs/security.md), answers JSON
without CORS headers, and validates its parameters (400, never a text 500). Dependencies are passed
in: the body limit, the live trace store, the event bus (a callable: it exists once the core has
started) and the state store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson
from aiohttp import web

from motia_core.errors import CallFailed, StorageUnavailable
from motia_core.events import EventBus
from motia_core.http.body import read_body
from motia_core.http.common import admin_json_response as json_response
from motia_core.http.guard import AdminGuard
from motia_core.state.base import StateStore
from motia_core.tracing import TraceStore, new_trace_id

MAX_LIMIT = 1000  # most traces one listing returns
MAX_ID_CHARS = 1024  # longest id a query or path parameter may carry


def bad_parameter(name: str, value: str, expected: str) -> web.Response:
    shown = value if len(value) <= 64 else value[:64] + f"... ({len(value)} characters)"
    return json_response(400, {"error": "Invalid parameter", "message": f"{name}: expected {expected}, got {shown!r}"})


def query_limit(request: web.Request, default: int = 100) -> int | web.Response:
    raw = request.query.get("limit")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= MAX_LIMIT):
        return bad_parameter("limit", raw, f"an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def id_parameter(name: str, value: str | None) -> str | None | web.Response:
    """An id from the query or the path: at most MAX_ID_CHARS characters (None: absent or empty)."""
    if not value:
        return None
    if len(value) > MAX_ID_CHARS or "\x00" in value:
        return bad_parameter(name, value, f"an id of at most {MAX_ID_CHARS} characters, without NUL")
    return value


def add_system_routes(
    app: web.Application,
    guard: AdminGuard,
    max_body: int,
    traces: TraceStore,
    bus: Callable[[], EventBus],
    state: StateStore,
) -> None:
    """`bus` raises RunnerUnavailable while the core is still starting (MotiaCore.bus_or_fail)."""

    async def emit(request: web.Request) -> web.Response:
        raw = await read_body(request, max_body, json_response)  # 413 over --max-body
        if isinstance(raw, web.Response):
            return raw
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return json_response(400, {"error": "Invalid request body", "message": f"malformed JSON: {exc}"})
        if not isinstance(doc, dict) or not isinstance(doc.get("topic"), str) or not doc["topic"]:
            return json_response(400, {"error": "Invalid request body", "message": "expected {topic: string, data}"})
        trace_id = new_trace_id()
        traces.begin(trace_id, "emit")
        data = doc.get("data")
        try:
            # shielded: a client that hangs up mid-request (handlers are cancelled then) must not cut
            # the fan-out between two subscribers' copies
            group = str(doc.get("messageGroupId") or "")
            await asyncio.shield(bus().emit(doc["topic"], orjson.dumps(data), trace_id, group))
        except StorageUnavailable as exc:  # queue.db lost or failing: refused, not accepted into a gone file
            return json_response(503, {"error": "Service unavailable", "message": str(exc)}, trace_id)
        except CallFailed as exc:
            return json_response(400, {"error": "Event rejected", "message": str(exc)}, trace_id)
        return json_response(200, {"success": True, "emitted": {"topic": doc["topic"], "data": data}}, trace_id)

    async def state_groups(request: web.Request) -> web.Response:
        group = id_parameter("groupId", request.query.get("groupId"))
        if isinstance(group, web.Response):
            return group
        if group is None:
            return json_response(200, {"groups": await state.groups()})
        items = await state.items(group)
        return json_response(200, {"items": [{"groupId": group, "key": k, "value": orjson.loads(v)} for k, v in items]})

    app.router.add_route("POST", "/emit", guard.wrap(emit))
    app.router.add_get("/__motia/state", guard.wrap(state_groups))  # and HEAD
