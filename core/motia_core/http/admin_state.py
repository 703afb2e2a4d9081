"""State by group, and changing it by hand (docs/observability.md#state):

    GET    /__motia/state/{group}        -> {"items": [{"key", "value"}]}
    PUT    /__motia/state/{group}/{key}  JSON body = the new value -> {"key", "value"}
    DELETE /__motia/state/{group}/{key}  -> {"deleted": true|false}

The one dependency is the StateStore, passed in. A value is checked as a handler's would be (JSON,
not too big or deep for a runner); changes need Content-Type: application/json (the admin guard)."""

from __future__ import annotations

import orjson
from aiohttp import web

from motia_core.errors import CallFailed, StorageUnavailable
from motia_core.http.body import read_body
from motia_core.http.common import admin_json_response as json_response
from motia_core.http.guard import AdminGuard
from motia_core.http.system import id_parameter
from motia_core.limits import MAX_PAYLOAD_BYTES, check_value
from motia_core.state.base import StateStore


def _ids(request: web.Request, *names: str) -> list[str] | web.Response:
    out = []
    for name in names:
        value = id_parameter(name, request.match_info[name])
        if isinstance(value, web.Response):
            return value
        out.append(value or "")
    return out


def add_state_routes(app: web.Application, guard: AdminGuard, state: StateStore) -> None:
    async def group(request: web.Request) -> web.Response:
        ids = _ids(request, "group")
        if isinstance(ids, web.Response):
            return ids
        try:
            items = await state.items(ids[0])
        except StorageUnavailable as exc:
            return json_response(503, {"error": "Service unavailable", "message": str(exc)})
        return json_response(200, {"items": [{"key": k, "value": orjson.loads(v)} for k, v in items]})

    async def put(request: web.Request) -> web.Response:
        ids = _ids(request, "group", "key")
        if isinstance(ids, web.Response):
            return ids
        raw = await read_body(request, MAX_PAYLOAD_BYTES + 1, json_response)
        if isinstance(raw, web.Response):
            return raw
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return json_response(400, {"error": "Invalid request body", "message": f"malformed JSON: {exc}"})
        encoded = orjson.dumps(value)
        try:
            check_value(encoded, f"state value {ids[0]}/{ids[1]}")
            await state.set(ids[0], ids[1], encoded)
        except StorageUnavailable as exc:
            return json_response(503, {"error": "Service unavailable", "message": str(exc)})
        except CallFailed as exc:
            return json_response(400, {"error": "Invalid request body", "message": str(exc)})
        return json_response(200, {"key": ids[1], "value": value})

    async def delete(request: web.Request) -> web.Response:
        ids = _ids(request, "group", "key")
        if isinstance(ids, web.Response):
            return ids
        try:
            old = await state.delete(ids[0], ids[1])
        except StorageUnavailable as exc:
            return json_response(503, {"error": "Service unavailable", "message": str(exc)})
        return json_response(200, {"deleted": old is not None})

    app.router.add_get("/__motia/state/{group}", guard.wrap(group))
    app.router.add_put("/__motia/state/{group}/{key}", guard.wrap(put))
    app.router.add_delete("/__motia/state/{group}/{key}", guard.wrap(delete))
